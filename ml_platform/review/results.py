"""The review queue's typed result, ready to be the JSON of ``GET /review-queue``, and its table."""

from __future__ import annotations

import msgspec

from ml_platform.timestamps import iso_utc


class ReviewItem(msgspec.Struct, frozen=True, kw_only=True):
    """One stretch to review.

    rank : int
        1 for the first.
    start, end : int
        Inclusive candle positions in the series the queue was built over.
    start_time, end_time : int
        Epoch seconds of those candles.
    score : float
        The weighted sum of the components (`ranking`); it never rises down the queue.
    components : dict of str to float
        Each component's value in [0, 1] (unweighted), as the item was ranked: with the
        batch ranking, coverage counts the items above as annotated and uncertainty carries
        the class balance (`ranking`).
    reason : str
        The component with the largest weighted term.
    source : str
        Where the stretch came from (`stretches.SOURCES`).
    prediction : str
        The model's answer there: a pattern label, or ``O``.
    confidence : float
        Its confidence (for ``O``: the highest pattern probability of the candidates there).
    predicted_start, predicted_end : int or None
        The predicted span giving that answer (None for ``O``).
    disagreement : str or None
        The weightiest disagreement kind matching the stretch, if any.
    fingerprint : str
        The model's answer fingerprint, to store when the stretch is reviewed.
    reentered : bool
        True when the stretch was reviewed before and the model has changed its answer since.
    """

    rank: int
    start: int
    end: int
    start_time: int
    end_time: int
    score: float
    components: dict[str, float]
    reason: str
    source: str
    prediction: str
    confidence: float
    predicted_start: int | None
    predicted_end: int | None
    disagreement: str | None
    fingerprint: str
    reentered: bool


class ReviewQueue(msgspec.Struct, frozen=True, kw_only=True):
    """A ranked queue over one series.

    n_candles : int
    weights : dict of str to float
        The weights the scores were computed with.
    considered : int
        Stretches proposed (before hiding reviewed ones and suppression).
    hidden : int
        Proposed stretches hidden as reviewed with the model's answer unchanged.
    items : list of ReviewItem
        Best first.
    """

    n_candles: int
    weights: dict[str, float]
    considered: int
    hidden: int
    items: list[ReviewItem]

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)


def queue_table(queue: ReviewQueue, *, top: int = 10) -> str:
    """The top `top` items as a Markdown table (rank, stretch, score, components, model, reason)."""
    names = list(queue.weights)
    head = ["rank", "candles", "from", "to", "score", *names, "model", "reason", "source"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for item in queue.items[:top]:
        model = item.prediction if item.prediction == "O" else f"{item.prediction} {item.confidence:.2f}"
        reason = item.reason + (
            f" ({item.disagreement})" if item.reason == "disagreement" and item.disagreement else ""
        )
        cells = [
            str(item.rank),
            f"{item.start}..{item.end}",
            iso_utc(item.start_time),
            iso_utc(item.end_time),
            f"{item.score:.3f}",
            *(f"{item.components.get(n, 0.0):.2f}" for n in names),
            model + (" (re-entered)" if item.reentered else ""),
            reason,
            item.source,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
