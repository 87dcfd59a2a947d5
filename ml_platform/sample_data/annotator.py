"""What an imperfect human annotator would export for the planted spans (`annotate`).

About 10% of the patterns missed, a share of the boundaries one or two candles off,
confidence varying (a few below 0.5, so ``labeling.min_confidence`` filters them), and a
couple of negative ("O") corrections per partition on stretches without a pattern.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml_platform.labeling.annotations import Annotation, ModelPrediction
from ml_platform.sample_data.generate import DEFAULT_SEED, partition_rng
from ml_platform.sample_data.records import PlantedSpan
from ml_platform.sample_data.shapes import PATTERN_LABELS

CREATED_AT_BASE = 1_795_165_200  # 2026-11-20T09:00:00Z; annotation k was "created" k minutes later
NEGATIVE_MODEL_VERSION = "sample-model-0"

# Annotator imperfections (shares of the planted spans of one partition).
MISS_RATE = 0.10
SHIFT_RATE = 0.20
MAX_SHIFT = 2
SHIFT_PROBABILITIES = (0.1, 0.2, 0.4, 0.2, 0.1)  # of moving a boundary by -2, -1, 0, +1, +2 candles
LOW_CONFIDENCE_RATE = 0.025
NEGATIVES_PER_PARTITION = 2
NEGATIVE_WARMUP = 60  # no negative annotation before this candle (the indicators' warm-up)

_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "ml-platform/sample-data")


def annotate(
    spans: Sequence[PlantedSpan], times: np.ndarray, *, seed: int = DEFAULT_SEED, first_index: int = 0
) -> list[Annotation]:
    """What an imperfect human annotator would export for one partition's planted spans.

    Exact shares of the spans are missed (`MISS_RATE`), get a confidence below 0.5
    (`LOW_CONFIDENCE_RATE`) or have their boundaries moved by up to `MAX_SHIFT` candles
    (`SHIFT_RATE`); at least one of each when there are 3 spans or more. The rest have a
    confidence in 0.55-1.0. `NEGATIVES_PER_PARTITION` negative ("O") corrections are added
    on stretches at least 10 candles away from any pattern.

    Parameters
    ----------
    spans : sequence of PlantedSpan
        One partition's spans, as `generate_partition` returns them.
    times : ndarray of shape (n_candles,)
        The partition's candle times (epoch seconds); every annotated time is one of them.
    seed : int, default=DEFAULT_SEED
    first_index : int, default=0
        Offset of this partition's annotations in the export (sets `created_at`).

    Returns
    -------
    annotations : list of Annotation
        In time order.
    """
    if not spans:
        return []
    pair, timeframe = spans[0].pair, spans[0].timeframe
    rng = partition_rng(seed, pair, timeframe, stream=1)
    order = rng.permutation(len(spans))
    n_missed, n_low = (_share(len(spans), rate) for rate in (MISS_RATE, LOW_CONFIDENCE_RATE))
    missed = set(order[:n_missed].tolist())
    low = set(order[n_missed : n_missed + n_low].tolist())
    kept = [i for i in range(len(spans)) if i not in missed]
    shifted = set(rng.choice(kept, size=_share(len(kept), SHIFT_RATE), replace=False).tolist())
    drafts: list[tuple[str, int, int, float, ModelPrediction | None]] = []
    for i in kept:
        start, end = spans[i].start_index, spans[i].end_index
        if i in shifted:
            start, end = _shift(start, end, len(times), rng)
        confidence = rng.uniform(0.3, 0.49) if i in low else rng.uniform(0.55, 1.0)
        drafts.append((spans[i].label, start, end, round(float(confidence), 2), None))
    for start, end in _negative_stretches(spans, len(times), rng):
        prediction = ModelPrediction(
            label=str(rng.choice(PATTERN_LABELS)),
            confidence=round(float(rng.uniform(0.5, 0.8)), 2),
            model_version=NEGATIVE_MODEL_VERSION,
        )
        drafts.append(("O", start, end, round(float(rng.uniform(0.8, 1.0)), 2), prediction))
    drafts.sort(key=lambda draft: draft[1])
    return [
        _annotation(pair, timeframe, seed, first_index + k, label, int(times[s]), int(times[e]), conf, pred)
        for k, (label, s, e, conf, pred) in enumerate(drafts)
    ]


def _share(count: int, rate: float) -> int:
    """round(count * rate), but at least 1 when there are 3 items or more."""
    return max(round(count * rate), 1 if count >= 3 else 0)


def _shift(start: int, end: int, n: int, rng: np.random.Generator) -> tuple[int, int]:
    """Move each boundary by -MAX_SHIFT..MAX_SHIFT candles (not both by 0), staying in the series."""
    while True:
        moves = rng.choice(np.arange(-MAX_SHIFT, MAX_SHIFT + 1), size=2, p=SHIFT_PROBABILITIES)
        if moves.any():
            return max(0, start + int(moves[0])), min(n - 1, end + int(moves[1]))


def _negative_stretches(spans: Sequence[PlantedSpan], n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """A few `(start, end)` stretches with no pattern within 10 candles, in distinct gaps.

    None starts before candle `NEGATIVE_WARMUP`, where the features are still warming up.
    """
    margin = 10
    first = NEGATIVE_WARMUP - margin - 1
    bounds = [first] + [b for span in spans for b in (span.start_index, span.end_index)] + [n]
    gaps = [(bounds[i] + 1 + margin, bounds[i + 1] - 1 - margin) for i in range(0, len(bounds), 2)]
    gaps = [(lo, hi) for lo, hi in gaps if hi - lo >= 40]
    chosen = rng.choice(len(gaps), size=min(NEGATIVES_PER_PARTITION, len(gaps)), replace=False)
    stretches = []
    for index in sorted(chosen.tolist()):
        lo, hi = gaps[index]
        length = int(rng.integers(15, 31))
        start = int(rng.integers(lo, hi - length + 2))
        stretches.append((start, start + length - 1))
    return stretches


def _annotation(
    pair: str,
    timeframe: str,
    seed: int,
    index: int,
    label: str,
    start_time: int,
    end_time: int,
    confidence: float,
    prediction: ModelPrediction | None,
) -> Annotation:
    return Annotation(
        id=str(uuid.uuid5(_UUID_NAMESPACE, f"{seed}/{pair}/{timeframe}/{start_time}/{label}")),
        pair=pair,
        timeframe=timeframe,
        label=label,
        start_time=start_time,
        end_time=end_time,
        confidence=confidence,
        source="human" if prediction is None else "human_correction",
        model_prediction=prediction,
        note="",
        created_at=_iso(CREATED_AT_BASE + 60 * index),
    )


def _iso(epoch_seconds: int) -> str:
    return pd.Timestamp(epoch_seconds, unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
