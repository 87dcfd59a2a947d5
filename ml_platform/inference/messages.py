"""What the service tells a caller about candles that got no label: the minimum to send, and why.

Pure functions of the model's context (`Predictor.mode`, ``config``, ``before``,
``after``) and the counts of one prediction; `Predictor` calls them for its errors and
for ``CandlePredictions.reason``.
"""

from __future__ import annotations

from typing import Literal

from ml_platform.config import PipelineConfig


def context_words(
    mode: Literal["bio", "window", "span"], config: PipelineConfig, *, before: int, after: int
) -> tuple[str, str]:
    """The context read before and after a candle, in words naming the setting behind it."""
    if mode in ("bio", "span"):  # span mode: the context of its CDL part
        context = config.features.context
        return (
            f"{before} previous-candle context (features.context.previous={context.previous})",
            f"{after} look-ahead context (features.context.next={context.next})",
        )
    size = config.labeling.window.size
    return (
        f"{before} candles of the centred window before the candle (labeling.window.size={size})",
        f"{after} candles of the window after it",
    )


def needs(words: tuple[str, str], *, warmup: int | None, before: int, after: int) -> str:
    """The fewest candles to send and their parts; without a measured `warmup`, just "send more"."""
    before_words, after_words = words
    if warmup is None:
        return f"send more candles (the indicators' warm-up, then {before_words} and {after_words})"
    return (
        f"the model needs at least {warmup + before + after + 1} candles "
        f"({warmup} indicator warm-up + {before_words} + {after_words} + 1 to label)"
    )


def unlabeled_reason(
    words: tuple[str, str],
    *,
    leading: int,
    trailing: int,
    warmup: int,
    history_before: int,
    candles_after: int,
    skipped: int,
) -> str:
    """Why the first `leading`, the last `trailing` and `skipped` inner candles have no label ("" when all do).

    history_before : int
        Stored candles before the range (0 for a request's own candles).
    candles_after : int
        Stored candles after the range that the prediction read.
    """
    before, after = words
    parts = []
    if leading:
        if history_before:
            parts.append(
                f"the first {leading} candles: the stored history before them is shorter than the "
                f"{warmup} indicator warm-up + {before}"
            )
        else:
            parts.append(
                f"the first {leading} candles: {warmup} indicator warm-up (the longest look-back) + "
                f"{before}; send {leading} earlier candles to label from the first one"
            )
    if trailing:
        where = "no later stored candles" if history_before or candles_after else "no later candles yet"
        parts.append(f"the last {trailing} candles: {after} needs later candles ({where})")
    if skipped:
        parts.append(f"{skipped} candles inside the range: their model inputs are not finite")
    return "; ".join(parts)
