"""The chart-shape benchmark's data: real instruments cut into training, later and unseen parts
with their rule spans, annotator noise, the first-n-spans cuts of the learning curve, and span
scoring (greedy one-to-one matches, same label, IoU >= 0.5). Used by `bench/bench_shapes.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from real_data import RealSeries

from ml_platform.partitions import Partition
from ml_platform.shapes.rules import SHAPE_LABELS, RuleSettings, detect_shapes

THREADS = 2
TRAIN_SHARE = 0.7
GAP = 100  # candles left out between a training instrument's training and later parts
MIN_IOU = 0.5
CURVE = (10, 20, 40, 80)
SCORED_FROM = 60  # the indicators' warm-up (49 candles) plus context: no per-candle model labels these
SEED = 7


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Part:
    """A stretch of one instrument's candles with its rule spans (positions into `candles`)."""

    name: str
    instrument: str
    timeframe: str
    candles: pd.DataFrame
    spans: pd.DataFrame

    @property
    def partition(self) -> Partition:
        return Partition(self.instrument, self.timeframe)


def _stretch(series: RealSeries, spans: pd.DataFrame, lo: int, hi: int, name: str) -> Part:
    inside = spans[(spans["start"] >= lo) & (spans["end"] < hi)].copy()
    inside[["start", "end"]] -= lo
    candles = series.candles.iloc[lo:hi].reset_index(drop=True)
    return Part(name, series.instrument, series.timeframe, candles, inside.reset_index(drop=True))


def make_parts(
    series: Sequence[RealSeries], train: Sequence[str], unseen: Sequence[str], rules: RuleSettings
) -> tuple[list[Part], list[Part], list[Part], dict[str, dict[str, int]]]:
    """Training parts, later parts of the training instruments, unseen instruments; label counts."""
    train_parts, later, others, counts = [], [], [], {}
    for s in series:
        spans = detect_shapes(s.candles, rules)
        counts[s.key] = {label: int((spans["label"] == label).sum()) for label in SHAPE_LABELS}
        counts[s.key]["candles"] = len(s.candles)
        n = len(s.candles)
        if s.instrument in train:
            cut = int(TRAIN_SHARE * n)
            train_parts.append(_stretch(s, spans, 0, cut, f"{s.key} first 70%"))
            later.append(_stretch(s, spans, cut + GAP, n, f"{s.key} later"))
        elif s.instrument in unseen:
            others.append(_stretch(s, spans, 0, n, f"{s.key} unseen"))
    return train_parts, later, others, counts


def annotator_noise(spans: pd.DataFrame, n_candles: int, rng: np.random.Generator) -> pd.DataFrame:
    """10% of the spans dropped, 20% of the rest with each boundary moved by -3..+3 candles (not both 0)."""
    keep = rng.permutation(len(spans))[round(0.1 * len(spans)) :]
    noisy = spans.iloc[np.sort(keep)].reset_index(drop=True).copy()
    shifted = rng.choice(len(noisy), size=round(0.2 * len(noisy)), replace=False) if len(noisy) else []
    for i in shifted:
        moves = np.zeros(2, dtype=int)
        while not moves.any():
            moves = rng.integers(-3, 4, size=2)
        start = int(np.clip(noisy.at[i, "start"] + moves[0], 0, n_candles - 1))
        end = int(np.clip(noisy.at[i, "end"] + moves[1], start, n_candles - 1))
        noisy.at[i, "start"], noisy.at[i, "end"] = start, end
    return noisy


def with_noise(parts: Sequence[Part], seed: int = SEED) -> list[Part]:
    rng = np.random.default_rng(seed)
    return [
        Part(p.name, p.instrument, p.timeframe, p.candles, annotator_noise(p.spans, len(p.candles), rng)) for p in parts
    ]


def first_spans(parts: Sequence[Part], n_spans: int) -> list[Part]:
    """The training parts cut after their earliest spans, `n_spans` in all (round robin over the parts)."""
    share = [0] * len(parts)
    for k in range(n_spans):
        order = [i for i in range(len(parts)) if share[i] < len(parts[i].spans)]
        if not order:
            break
        share[order[k % len(order)]] += 1
    cut_parts = []
    for part, k in zip(parts, share, strict=True):
        if k == 0:
            continue
        spans = part.spans.sort_values("start").iloc[:k].reset_index(drop=True)
        stop = min(len(part.candles), int(spans["end"].max()) + 20)
        cut_parts.append(Part(part.name, part.instrument, part.timeframe, part.candles.iloc[:stop].copy(), spans))
    return cut_parts


# --------------------------------------------------------------------------- scoring


def match(true: pd.DataFrame, predicted: pd.DataFrame) -> dict[str, tuple[int, int, int]]:
    """Per label (matched, true, predicted): greedy one-to-one matches, same label, IoU >= MIN_IOU."""
    out: dict[str, tuple[int, int, int]] = {}
    for label in sorted(set(true["label"]) | set(predicted["label"])):
        t = true[true["label"] == label][["start", "end"]].to_numpy()
        p = predicted[predicted["label"] == label][["start", "end"]].to_numpy()
        pairs = []
        for i, (ps, pe) in enumerate(p):
            for j, (ts, te) in enumerate(t):
                inter = min(pe, te) - max(ps, ts) + 1
                if inter > 0:
                    pairs.append((inter / (max(pe, te) - min(ps, ts) + 1), i, j))
        used_p, used_t = set(), set()
        for iou, i, j in sorted(pairs, reverse=True):
            if iou >= MIN_IOU and i not in used_p and j not in used_t:
                used_p.add(i), used_t.add(j)
        out[label] = (len(used_p), len(t), len(p))
    return out


def pooled_scores(results: Sequence[dict[str, tuple[int, int, int]]]) -> dict[str, dict[str, float]]:
    """Span P/R/F1 per label and over all labels (``all``), counts summed over the parts."""
    totals: dict[str, np.ndarray] = {}
    for result in results:
        for label, counts in result.items():
            totals[label] = totals.get(label, np.zeros(3)) + np.asarray(counts)
    totals["all"] = sum(totals.values(), np.zeros(3))
    scores = {}
    for label, (matched, n_true, n_pred) in totals.items():
        p = matched / n_pred if n_pred else 0.0
        r = matched / n_true if n_true else 0.0
        scores[label] = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "true": n_true}
        scores[label]["predicted"] = n_pred
    return scores
