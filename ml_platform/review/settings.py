"""`ReviewSettings`: the review queue's weights and knobs, as one frozen msgspec Struct.

Imports only msgspec, so a pipeline config can embed it later without a cycle. Every
field has a default; the docstring says what each trades off.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Weight = Annotated[float, msgspec.Meta(ge=0)]
Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]
Candles = Annotated[int, msgspec.Meta(ge=1)]

COMPONENTS: tuple[str, ...] = ("uncertainty", "disagreement", "conflict", "coverage")
"""The scoring components, in the order `ranking.combine` breaks ties for the reason."""


class ReviewSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How stretches are proposed, scored and remembered.

    Parameters
    ----------
    weights : dict of str to float, default={"uncertainty": 1.0, "disagreement": 1.0, "conflict": 0.5, "coverage": 0.5}
        Weight of each component (`COMPONENTS`) in the score; each component lies in [0, 1],
        so a stretch's score lies in [0, sum of the weights]. A missing key weighs 0.
    uncertainty : {"entropy", "margin"}, default="entropy"
        The per-candidate uncertainty: normalised entropy of the class probabilities, or one
        minus the margin between the two most probable classes (`components`).
    aggregate : {"max", "mean"}, default="max"
        How the uncertainties of the candidates inside a stretch become the stretch's.
    min_uncertainty : float, default=0.5
        Candidate spans at least this uncertain become stretches of their own (``uncertain``).
    max_uncertain : int, default=200
        At most this many of them (the most uncertain, after suppressing matching ones).
    kind_weights : dict of str to float, default={"missed_by_model": 1.0, "label_mismatch": 1.0, "missed_by_human": 0.6}
        The disagreement component's value for each kind the chart draws: a human span no
        prediction matches (inside the predicted range), a prediction matched only by human
        spans of other labels, a prediction no human span matches. A missing kind counts 0.
    coverage_length : int, default=120
        Candles in a coverage stretch (the series is tiled with them).
    coverage_scale : int, default=200
        Candles from the nearest annotation at which the coverage component reaches
        ``1 - 1/e``: ``coverage = 1 - exp(-distance / coverage_scale)``.
    coverage_min_gap : int, default=60
        A coverage stretch is proposed only when it is at least this many candles from every
        annotation (human span or reviewed stretch).
    fingerprint_step : float, default=0.25
        The model's confidence in a stretch is rounded down to a multiple of this in the
        reviewed fingerprint: smaller re-opens reviewed stretches on smaller changes.
    batch : bool, default=True
        Rank greedily as a batch (`ranking.rank_batch`): each stretch's coverage counts the
        stretches ranked above it as annotated, so consecutive items do not sit side by
        side. False: static scores sorted once (`ranking.rank`).
    balance : bool, default=True
        With `batch`, multiply the uncertainty by the class balance of the model's label
        there (`ranking`): labels people marked often (counting the items ranked above) wait
        behind rare ones.
    """

    weights: dict[str, Weight] = msgspec.field(
        default_factory=lambda: {"uncertainty": 1.0, "disagreement": 1.0, "conflict": 0.5, "coverage": 0.5}
    )
    uncertainty: Literal["entropy", "margin"] = "entropy"
    aggregate: Literal["max", "mean"] = "max"
    min_uncertainty: Fraction = 0.5
    max_uncertain: Annotated[int, msgspec.Meta(ge=0)] = 200
    kind_weights: dict[str, Weight] = msgspec.field(
        default_factory=lambda: {"missed_by_model": 1.0, "label_mismatch": 1.0, "missed_by_human": 0.6}
    )
    coverage_length: Candles = 120
    coverage_scale: Candles = 200
    coverage_min_gap: Annotated[int, msgspec.Meta(ge=0)] = 60
    fingerprint_step: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.25
    batch: bool = True
    balance: bool = True

    def __post_init__(self) -> None:
        if unknown := sorted(set(self.weights) - set(COMPONENTS)):
            raise ValueError(f"ReviewSettings.weights has unknown components {unknown}; use keys from {COMPONENTS}")
        kinds = ("missed_by_model", "label_mismatch", "missed_by_human")
        if unknown := sorted(set(self.kind_weights) - set(kinds)):
            raise ValueError(f"ReviewSettings.kind_weights has unknown kinds {unknown}; use keys from {kinds}")
        if not any(self.weights.values()):
            raise ValueError("ReviewSettings.weights are all 0: give at least one component a positive weight")
