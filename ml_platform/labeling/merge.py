"""Merging human spans with programmatic (CDL) spans, at the level of whole spans.

Negative annotations come first, whatever the strategy: a programmatic span that shares
a candle with a negative ("O") annotation is dropped, since a person said there is no
pattern there. Then ``labeling.merge_strategy`` settles conflicts between the sources:

``human_priority``
    A programmatic span that shares a candle with a human span is dropped.
``programmatic_priority``
    A human span that shares a candle with a programmatic span is dropped.
``both``
    Nothing more is dropped; the BIO file gets separate ``tag_human`` and
    ``tag_programmatic`` columns (and ``tag`` from ``human_priority``), window mode keeps
    the windows of both sources.

Whole spans are kept or dropped (a pattern is never cut in half, so B/I stays valid).
Spans that still overlap (two human spans, two CDL patterns on one candle) all survive
on extra tag tracks. Every dropped span is counted in `MergeResult`, and in the statistics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from ml_platform.labeling.spans import Spans, overlaps_any

logger = logging.getLogger(__name__)

MergeStrategy = Literal["human_priority", "programmatic_priority", "both"]


@dataclass(frozen=True)
class MergeResult:
    """The spans that become labels.

    spans : Spans
        The merged positive spans (human and programmatic), sorted.
    human : Spans
        Human positive spans, as annotated (for ``tag_human``).
    programmatic : Spans
        Programmatic spans after the negative override (for ``tag_programmatic``).
    dropped_by_negative : int
        Programmatic spans inside a negative annotation.
    dropped_by_priority : int
        Spans of the lower-priority source that overlapped the other source's.
    """

    spans: Spans
    human: Spans
    programmatic: Spans
    dropped_by_negative: int
    dropped_by_priority: int


def merge_spans(
    human: Spans, programmatic: Spans, negatives: Spans, strategy: MergeStrategy, n_candles: int
) -> MergeResult:
    """Combine the sources by `strategy` (see the module docstring).

    Parameters
    ----------
    human : Spans
        Human positive spans.
    programmatic : Spans
        CDL spans.
    negatives : Spans
        Negative ("O") annotations.
    strategy : {"human_priority", "programmatic_priority", "both"}
    n_candles : int
        Length of the series the indices point into.
    """
    inside_negative = overlaps_any(programmatic, negatives, n_candles)
    programmatic = programmatic.take(~inside_negative)
    if strategy == "human_priority":
        conflict = overlaps_any(programmatic, human, n_candles)
        merged, dropped = human + programmatic.take(~conflict), int(conflict.sum())
    elif strategy == "programmatic_priority":
        conflict = overlaps_any(human, programmatic, n_candles)
        merged, dropped = programmatic + human.take(~conflict), int(conflict.sum())
    elif strategy == "both":
        merged, dropped = human + programmatic, 0
    else:
        raise ValueError(f"labeling.merge_strategy: {strategy!r} is not human_priority, programmatic_priority or both")
    if dropped:
        loser = "programmatic" if strategy == "human_priority" else "human"
        logger.info("%s: %d %s spans dropped where the other source labels the same candles", strategy, dropped, loser)
    return MergeResult(
        spans=merged.sorted(),
        human=human.sorted(),
        programmatic=programmatic,
        dropped_by_negative=int(inside_negative.sum()),
        dropped_by_priority=dropped,
    )
