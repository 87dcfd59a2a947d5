"""Chart shapes on real prices: rule labels, every model path, span F1 (a benchmark, not a test).

Real OHLCV shipped in installed wheels (`bench/real_data.py`: S&P 500, NASDAQ Composite and
GOOG daily, EUR/USD hourly) is labelled by the textbook rules of `ml_platform.shapes.rules`
(double top/bottom, head and shoulders and its inverse, bull/bear flag). On real prices a
pattern is nothing but its shape, so this is the honest test the sample data's planted
telltales used to hide. Runs:

1. Train on the first 70% of the training instruments (``--train``), score span F1 per label
   (same label, IoU >= 0.5) (a) on their later candles (after a gap) and (b) on instruments
   never seen (``--unseen``). Every model path: the per-candle BIO path and the window path
   (`ml_platform.labeling.label_partition` + `ml_platform.training` models, as
   `bench/bench_learning.py` drives them) and the span detector
   (`ml_platform.shapes.detector.SpanDetector`, when the module exists).
2. The same with annotator noise on the training labels: 10% of the spans dropped, 20% with
   each boundary moved by up to 3 candles (evaluation against the clean rule labels).
3. Learning curve: span F1 (both test sets pooled) after 10, 20, 40 and 80 annotated spans
   (the earliest spans of the training instruments, their stretch of candles only).
4. Control: the same harness on the sample data, with and without its telltales.
5. TA-Lib CDL labels on real candles: trained on the training instruments, macro F1 per
   candle on an instrument never seen, with variants that probe the weak engulfing class.

    python bench/bench_shapes.py                      # everything, prints and writes Markdown
    python bench/bench_shapes.py --parts shapes --paths bio,span
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench_learning.py: spinning OpenMP threads

from real_data import RealSeries, load_all  # noqa: E402

from ml_platform.config import PipelineConfig, config_from_dict  # noqa: E402
from ml_platform.features import build_features  # noqa: E402
from ml_platform.labeling import label_partition  # noqa: E402
from ml_platform.labeling.annotations import Annotation  # noqa: E402
from ml_platform.labeling.bio import training_tags  # noqa: E402
from ml_platform.model_inputs import bio_model_inputs, window_feature_columns, window_model_inputs  # noqa: E402
from ml_platform.partitions import Partition  # noqa: E402
from ml_platform.shapes.rules import SHAPE_LABELS, RuleSettings, detect_shapes  # noqa: E402
from ml_platform.training.dataset import excluded_patterns, select_base_columns  # noqa: E402
from ml_platform.training.evaluation import bio_spans, classification_metrics  # noqa: E402
from ml_platform.training.models import get_model_type  # noqa: E402
from ml_platform.training.weights import class_weight_map  # noqa: E402

THREADS = 2
TRAIN_SHARE = 0.7
GAP = 100  # candles left out between a training instrument's training and later parts
MIN_IOU = 0.5
CURVE = (10, 20, 40, 80)
SCORED_FROM = 60  # the indicators' warm-up (49 candles) plus context: no per-candle model labels these
SEED = 7
CDL_PATTERNS = ["CDLENGULFING", "CDLHAMMER", "CDLDOJI", "CDLSHOOTINGSTAR", "CDLHARAMI"]


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


# --------------------------------------------------------------------------- model paths


def shape_config(mode: str, instruments: Sequence[str]) -> PipelineConfig:
    """Default features; the six shape labels; no CDL labels; 2 threads."""
    return config_from_dict(
        {
            "partitions": {"pairs": list(instruments), "timeframes": ["1h", "1d"]},
            "labeling": {
                "mode": mode,
                "labels": [{"name": label, "color": "#888888"} for label in SHAPE_LABELS],
                "cdl": {"enabled": False},
            },
            "training": {"random_forest": {"n_jobs": THREADS}, "xgboost": {"n_jobs": THREADS}},
        }
    )


def _annotations(part: Part) -> list[Annotation]:
    times = part.candles["time"].to_numpy()
    return [
        Annotation(
            id=f"{part.instrument}-{k}",
            pair=part.instrument,
            timeframe=part.timeframe,
            label=str(row.label),
            start_time=int(times[int(row.start)]),
            end_time=int(times[int(row.end)]),
            confidence=1.0,
            source="human",
            model_prediction=None,
            note="",
            created_at="2026-11-28T00:00:00Z",
        )
        for k, row in enumerate(part.spans.itertuples(index=False))
    ]


def _runs(labels: Sequence[str], positions: np.ndarray) -> pd.DataFrame:
    """Maximal runs of one non-O label (consecutive rows), as spans of candle positions."""
    rows, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start] or positions[i] != positions[i - 1] + 1:
            if labels[start] != "O":
                rows.append((int(positions[start]), int(positions[i - 1]), labels[start]))
            start = i
    return pd.DataFrame(rows, columns=["start", "end", "label"])


class CandlePath:
    """The platform's per-candle paths: ``bio`` (context columns, BIO tags) or ``window`` (centred windows)."""

    def __init__(self, mode: str, model_type: str, instruments: Sequence[str]) -> None:
        self.mode, self.model_type = mode, model_type
        self.config = shape_config(mode, instruments)
        self.base: list[str] = []
        self.classes: list[str] = []
        self.estimator: Any = None

    def _inputs(self, part: Part) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
        enriched = build_features(part.candles, self.config)
        self.base = self.base or select_base_columns(enriched.feature_columns, exclude=excluded_patterns(self.config))
        if self.mode == "bio":
            inputs, valid = bio_model_inputs(enriched.frame, self.base, self.config.features.context)
        else:
            inputs, valid = window_model_inputs(enriched.frame, self.base, self.config.labeling.window.size)
        keep = np.zeros(len(inputs), dtype=bool)
        keep[valid] = True
        return enriched.frame, inputs, keep & np.isfinite(inputs.to_numpy(np.float64)).all(axis=1)

    def _rows(self, part: Part) -> tuple[np.ndarray, np.ndarray]:
        frame, inputs, keep = self._inputs(part)
        labeled = label_partition(frame, part.candles, _annotations(part), part.partition, self.config).frame
        if self.mode == "bio":
            keep &= labeled["label_known"].to_numpy(bool)
            return inputs.to_numpy(np.float64)[keep], labeled["tag"].astype(str).to_numpy()[keep]
        X = labeled.loc[:, window_feature_columns(self.base, self.config.labeling.window.size)].to_numpy(np.float64)
        finite = np.isfinite(X).all(axis=1)
        return X[finite], labeled["label"].astype(str).to_numpy()[finite]

    def fit(self, parts: Sequence[Part]) -> CandlePath:
        rows = [self._rows(p) for p in parts]
        X, tags = np.vstack([r[0] for r in rows]), np.concatenate([r[1] for r in rows])
        self.classes = sorted(set(tags.tolist()))
        y = np.searchsorted(self.classes, tags)
        model = get_model_type(self.model_type)(self.config.training)
        weights = class_weight_map(y, self.classes, self.config.training.class_weights)
        self.estimator = model.fit(X, y, class_weight=weights)
        return self

    def predict(self, part: Part) -> pd.DataFrame:
        frame, inputs, keep = self._inputs(part)
        raw_index = {int(t): i for i, t in enumerate(part.candles["time"].to_numpy().tolist())}
        positions = np.array([raw_index[int(t)] for t in frame["time"].to_numpy()[keep]])
        predicted = [self.classes[i] for i in self.estimator.predict(inputs.to_numpy(np.float64)[keep])]
        if self.mode == "window":
            return _runs(predicted, positions)
        spans = bio_spans(predicted, split_on_begin=False)
        rows = [(int(positions[s.start]), int(positions[s.end]), s.label) for s in spans]
        return pd.DataFrame(rows, columns=["start", "end", "label"])


class SpanPath:
    """`ml_platform.shapes.detector.SpanDetector` (imported when the path runs)."""

    def __init__(self, model_type: str) -> None:
        self.model_type = model_type
        self.detector: Any = None

    def fit(self, parts: Sequence[Part]) -> SpanPath:
        from ml_platform.shapes.detector import DetectorSettings, SpanDetector

        series = [(p.candles, p.spans) for p in parts]
        self.detector = SpanDetector.fit(series, settings=DetectorSettings(), model_type=self.model_type, seed=SEED)
        return self

    def predict(self, part: Part) -> pd.DataFrame:
        return self.detector.predict(part.candles).loc[:, ["start", "end", "label"]]


def span_path_available() -> str | None:
    """None when the span detector can be imported, else why not."""
    try:
        from ml_platform.shapes.detector import DetectorSettings, SpanDetector  # noqa: F401
    except Exception as exc:  # the module is being written: any import failure means "not yet"
        return f"{type(exc).__name__}: {exc}"
    return None


def path_factory(name: str, model_type: str, instruments: Sequence[str]) -> Callable[[], Any]:
    if name == "span":
        return lambda: SpanPath(model_type)
    return lambda: CandlePath(name, model_type, instruments)


# --------------------------------------------------------------------------- runs


def evaluate(model: Any, tests: Sequence[Part]) -> list[dict[str, tuple[int, int, int]]]:
    """Matches per test part; spans starting in the first `SCORED_FROM` candles (feature warm-up) left out."""

    def scored(spans: pd.DataFrame) -> pd.DataFrame:
        return spans[spans["start"] >= SCORED_FROM]

    return [match(scored(p.spans), scored(model.predict(p))) for p in tests]


def bench_paths(
    paths: Sequence[str],
    model_type: str,
    train: list[Part],
    later: list[Part],
    unseen: list[Part],
    instruments: list[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs 1-3: clean and noisy labels per path; the learning curve per path."""
    main_rows, curve_rows = [], []
    for path in paths:
        make = path_factory(path, model_type, instruments)
        for labels, parts in (("clean", train), ("noisy", with_noise(train))):
            started = time.perf_counter()
            model = make().fit(parts)
            seconds = time.perf_counter() - started
            for test_set, tests in (("later", later), ("unseen", unseen)):
                scores = pooled_scores(evaluate(model, tests))
                main_rows.append(
                    {"path": path, "labels": labels, "test": test_set, "scores": scores, "fit_seconds": seconds}
                )
                print(
                    f"[{path} {labels} -> {test_set}] span F1 all {scores['all']['f1']:.3f} "
                    f"(P {scores['all']['precision']:.3f} R {scores['all']['recall']:.3f}, "
                    f"{int(scores['all']['true'])} true, {int(scores['all']['predicted'])} predicted), "
                    f"fit {seconds:.0f}s",
                    flush=True,
                )
        for n_spans in CURVE:
            parts = first_spans(train, n_spans)
            try:
                model = make().fit(parts)
            except Exception as exc:  # e.g. a single class with too few spans
                curve_rows.append({"path": path, "spans": n_spans, "error": f"{type(exc).__name__}: {exc}"[:120]})
                print(f"[{path} curve {n_spans}] failed: {exc}", flush=True)
                continue
            scores = pooled_scores(evaluate(model, later + unseen))
            used = sum(len(p.spans) for p in parts)
            curve_rows.append({"path": path, "spans": used, "scores": scores})
            print(f"[{path} curve {used} spans] span F1 {scores['all']['f1']:.3f}", flush=True)
    return main_rows, curve_rows


# --------------------------------------------------------------------------- control: the sample data


def _sample_part(pair: str, telltales: str | None, lo: int, hi: int, n_candles: int) -> Part:
    from ml_platform.sample_data import generate_partition

    candles, planted = generate_partition(pair, "1h", n_candles, telltales=telltales)
    spans = pd.DataFrame([(s.start_index, s.end_index, s.label) for s in planted], columns=["start", "end", "label"])
    inside = spans[(spans["start"] >= lo) & (spans["end"] < hi)].copy()
    inside[["start", "end"]] -= lo
    return Part(f"{pair}|1h", pair, "1h", candles.iloc[lo:hi].reset_index(drop=True), inside.reset_index(drop=True))


def bench_control(paths: Sequence[str], model_type: str, n_candles: int = 8000) -> list[dict[str, Any]]:
    """The same harness on the sample data, planted spans as labels, with and without the telltales.

    Trained on the first 75% of EURUSD and GBPUSD 1h, scored on EURUSD's rest and on BTC-USDT:
    checks the harness (the telltales make the per-candle path score as it used to) and shows
    what the shape alone leaves to learn.
    """
    cut = int(0.75 * n_candles)
    rows = []
    for telltales in ("noise,wicks,volume", None):
        train = [_sample_part(pair, telltales, 0, cut, n_candles) for pair in ("EURUSD", "GBPUSD")]
        tests = [
            _sample_part("EURUSD", telltales, cut + GAP, n_candles, n_candles),
            _sample_part("BTC-USDT", telltales, 0, n_candles, n_candles),
        ]
        for path in paths:
            model = path_factory(path, model_type, ["EURUSD", "GBPUSD", "BTC-USDT"])().fit(train)
            scores = pooled_scores(evaluate(model, tests))
            rows.append({"telltales": telltales or "none (shape only)", "path": path, "scores": scores})
            print(f"[control {telltales} {path}] span F1 {scores['all']['f1']:.3f}", flush=True)
    return rows


# --------------------------------------------------------------------------- CDL on real candles


def cdl_config(
    instruments: Sequence[str],
    *,
    context: tuple[int, int] = (3, 2),
    class_weights: str = "balanced",
    custom: bool = False,
) -> PipelineConfig:
    features: dict[str, Any] = {
        "indicators": [],
        "candle_geometry": True,
        "candle_averages": True,
        "context": {"previous": context[0], "next": context[1]},
    }
    if custom:
        features["custom"] = [{"name": "body_ends", "function": "bench_shapes:body_ends"}]
    return config_from_dict(
        {
            "partitions": {"pairs": list(instruments), "timeframes": ["1h", "1d"]},
            "features": features,
            "labeling": {"mode": "bio", "cdl": {"enabled": True, "patterns": CDL_PATTERNS}},
            "training": {
                "class_weights": class_weights,
                "random_forest": {"n_jobs": THREADS},
                "xgboost": {"n_jobs": THREADS},
            },
        }
    )


def body_ends(candles: pd.DataFrame) -> pd.DataFrame:
    """Where this candle's body ends sit against the previous body's, in units of the previous body.

    TA-Lib's engulfing asks ``close >= prior open and open <= prior close`` (bullish), and
    scores +80 instead of +100 when one of them is an equality: on real daily index data the
    open very often *equals* the prior close, a razor-thin boundary that ratios to the range
    blur. These columns put both comparisons on one scale, signed, so 0 is the boundary.
    """
    o, c = candles["open"].to_numpy(float), candles["close"].to_numpy(float)
    po, pc = np.roll(o, 1), np.roll(c, 1)
    body = np.maximum(np.abs(pc - po), 1e-12 * np.abs(pc))
    top, bottom, ptop, pbottom = np.maximum(o, c), np.minimum(o, c), np.maximum(po, pc), np.minimum(po, pc)
    frame = pd.DataFrame(
        {
            "top_vs_prior_top": (top - ptop) / body,
            "bottom_vs_prior_bottom": (bottom - pbottom) / body,
            "top_equals_prior_top": (top == ptop).astype(float),
            "bottom_equals_prior_bottom": (bottom == pbottom).astype(float),
        }
    )
    frame.iloc[0] = np.nan
    return frame


def merged_tags(frame: pd.DataFrame) -> np.ndarray:
    """The platform's training tags: ``tag`` with its ``O`` candles filled from ``tag_2``, ... (`training_tags`)."""
    tracks = [c for c in frame.columns if c == "tag" or (c.startswith("tag_") and c[4:].isdigit())]
    return training_tags([frame[c].to_numpy() for c in tracks])


def _cdl_rows(
    series: RealSeries, config: PipelineConfig, *, merge: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    enriched = build_features(series.candles, config)
    partition = Partition(series.instrument, series.timeframe)
    frame = label_partition(enriched.frame, series.candles, [], partition, config).frame
    inputs, valid = bio_model_inputs(frame, enriched.feature_columns, config.features.context)
    X = inputs.to_numpy(np.float64)
    keep = np.zeros(len(frame), dtype=bool)
    keep[valid] = True
    keep &= frame["label_known"].to_numpy(bool) & np.isfinite(X).all(axis=1)
    values = _engulfing_values(series.candles, enriched.frame["time"].to_numpy())
    tags = merged_tags(frame) if merge else frame["tag"].astype(str).to_numpy()
    return X[keep], tags[keep], values[keep]


def _engulfing_values(candles: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """TA-Lib's CDLENGULFING value (+-100, +-80, 0) on each enriched row."""
    import talib

    values = talib.CDLENGULFING(*(candles[c].to_numpy(float) for c in ("open", "high", "low", "close")))
    position = {int(t): i for i, t in enumerate(candles["time"].to_numpy().tolist())}
    return np.array([values[position[int(t)]] for t in times])


def _share_80(values: np.ndarray) -> float:
    marked = np.abs(values[values != 0])
    return float(np.mean(marked == 80)) if len(marked) else 0.0


def bench_cdl(series: Sequence[RealSeries], train: Sequence[str], test: str, model_type: str) -> list[dict[str, Any]]:
    instruments = [s.instrument for s in series]
    variants: dict[str, dict[str, Any]] = {
        "track 1 only (the platform before this change)": {},
        "track 1 only, class weights none": {"class_weights": "none"},
        "track 1 only, context 1/1": {"context": (1, 1)},
        "track 1 only, + body_ends features": {"custom": True},
        "tag tracks merged (the platform's default now)": {"merge": True},
        "tag tracks merged + body_ends": {"merge": True, "custom": True},
    }
    rows = []
    for name, options in variants.items():
        merge = bool(options.pop("merge", False))
        config = cdl_config(instruments, **options)
        parts = [_cdl_rows(s, config, merge=merge) for s in series if s.instrument in train]
        X = np.vstack([p[0] for p in parts])
        tags = np.concatenate([p[1] for p in parts])
        X_test, tags_test, engulf_test = next(_cdl_rows(s, config, merge=merge) for s in series if s.instrument == test)
        classes = sorted(set(tags.tolist()))
        y = np.searchsorted(classes, tags)
        model = get_model_type(model_type)(config.training)
        started = time.perf_counter()
        estimator = model.fit(X, y, class_weight=class_weight_map(y, classes, config.training.class_weights))
        seconds = time.perf_counter() - started
        predicted = np.array([classes[i] for i in estimator.predict(X_test)])
        metrics = classification_metrics(tags_test.tolist(), predicted.tolist(), sorted(set(classes) | set(tags_test)))
        engulfing = np.char.find(tags_test.astype(str), "engulfing") >= 0
        by_value = {}
        for value in (80, 100):
            rows_v = engulfing & (np.abs(engulf_test) == value)
            by_value[value] = (
                int(rows_v.sum()),
                float((predicted[rows_v] == tags_test[rows_v]).mean()) if rows_v.any() else 0.0,
            )
        rows.append(
            {
                "test": test,
                "variant": name,
                "model_type": model_type,
                "train_rows": len(y),
                "test_rows": len(tags_test),
                "f1_macro": metrics["f1_macro"],
                "per_class": {k: v["f1"] for k, v in metrics["per_class"].items()},
                "engulfing_by_value": by_value,
                "share_80_train": _share_80(np.concatenate([p[2] for p in parts])),
                "fit_seconds": seconds,
            }
        )
        worst = sorted(metrics["per_class"].items(), key=lambda kv: kv[1]["f1"])[:3]
        print(
            f"[cdl {name}] macro F1 {metrics['f1_macro']:.3f} on {test}; weakest "
            + ", ".join(f"{k} {v['f1']:.2f}" for k, v in worst)
            + f"; engulfing rows right: +-80 {by_value[80]}, +-100 {by_value[100]}; fit {seconds:.0f}s",
            flush=True,
        )
    return rows


# --------------------------------------------------------------------------- report


def _f1_cells(scores: dict[str, dict[str, float]]) -> str:
    cells = []
    for label in SHAPE_LABELS:
        s = scores.get(label)
        cells.append(f"{s['f1']:.2f} ({int(s['true'])})" if s and s["true"] else "- (0)")
    a = scores["all"]
    return " | ".join(cells) + f" | {a['precision']:.3f} | {a['recall']:.3f} | **{a['f1']:.3f}**"


def markdown_report(results: dict[str, Any]) -> str:
    args = results["args"]
    lines = ["## Chart shapes on real prices: `bench/bench_shapes.py`", ""]
    lines += ["| instrument | timeframe | candles | source (license) |", "| --- | --- | ---: | --- |"]
    for key, n, dataset in results["series"]:
        instrument, timeframe = key.split("|")
        lines.append(
            f"| {instrument} | {timeframe} | {n:,} | {dataset.description}: `{dataset.package}/"
            f"{dataset.relative_path}` ({dataset.license}) |"
        )
    lines += [
        "",
        "Rule labels per instrument (`ml_platform.shapes.rules.detect_shapes`, default `RuleSettings`, "
        "overlaps resolved):",
        "",
    ]
    lines += ["| instrument | " + " | ".join(SHAPE_LABELS) + " |", "| --- |" + " ---: |" * len(SHAPE_LABELS)]
    for key, row in results["counts"].items():
        lines.append(f"| {key} | " + " | ".join(str(row[label]) for label in SHAPE_LABELS) + " |")
    if results.get("main"):
        lines += [
            "",
            f"Span F1 per label (IoU >= {MIN_IOU}; true spans in brackets), trained on the first "
            f"{TRAIN_SHARE:.0%} of {args['train']}; *later*: their candles after a {GAP}-candle gap; "
            f"*unseen*: {args['unseen']}. Model: {args['model']}, default hyperparameters, {THREADS} threads. "
            "*noisy*: training labels with 10% of spans dropped and 20% with boundaries moved by up to 3 "
            "candles (scored against the clean labels).",
            "",
        ]
        header = "| path | training labels | test | " + " | ".join(SHAPE_LABELS) + " | P | R | F1 | fit s |"
        lines += [header, "| --- | --- | --- |" + " ---: |" * (len(SHAPE_LABELS) + 4)]
        for r in results["main"]:
            lines.append(
                f"| {r['path']} | {r['labels']} | {r['test']} | {_f1_cells(r['scores'])} | {r['fit_seconds']:.0f} |"
            )
    if results.get("curve"):
        lines += [
            "",
            "Learning curve: span F1 (all labels, later and unseen pooled) against the annotated "
            "training spans (the earliest ones of each training instrument, their candles only):",
            "",
        ]
        lines += ["| path | training spans | span P | span R | span F1 |", "| --- | ---: | ---: | ---: | ---: |"]
        for r in results["curve"]:
            if "error" in r:
                lines.append(f"| {r['path']} | {r['spans']} | - | - | failed: {r['error']} |")
            else:
                a = r["scores"]["all"]
                lines.append(
                    f"| {r['path']} | {r['spans']} | {a['precision']:.3f} | {a['recall']:.3f} | **{a['f1']:.3f}** |"
                )
    if results.get("control"):
        labels = ("bull_flag", "double_top", "head_and_shoulders")
        lines += [
            "",
            "Control, the same harness on the sample data (planted spans as labels; trained on the first 75% "
            "of 8,000 EURUSD and GBPUSD 1h candles, scored on EURUSD's rest and on BTC-USDT), span F1:",
            "",
            "| telltales | path | " + " | ".join(labels) + " | all |",
            "| --- | --- |" + " ---: |" * (len(labels) + 1),
        ]
        for r in results["control"]:
            cells = " | ".join(f"{r['scores'].get(label, {'f1': 0.0})['f1']:.2f}" for label in labels)
            lines.append(f"| {r['telltales']} | {r['path']} | {cells} | **{r['scores']['all']['f1']:.3f}** |")
    for path, why in results["skipped"].items():
        lines += ["", f"The `{path}` path did not run: {why}."]
    if results.get("cdl"):
        lines += [
            "",
            f"TA-Lib CDL labels ({', '.join(p.removeprefix('CDL') for p in CDL_PATTERNS)}) on real "
            f"candles: for each test instrument ({args['cdl_test']}), trained on the others of "
            f"{args['cdl_train']}, macro F1 per candle (BIO tags) on the test instrument, never seen. Features: "
            "candle geometry and rolling candle averages (no indicators), context 3 previous / 2 next unless "
            "the variant says otherwise. Engulfing rows right: the share of the test's marked engulfing candles "
            "(+-80: bodies share an end, +-100: strict) whose tag is predicted exactly.",
            "",
        ]
        lines += [
            "| test | variant | train rows | macro F1 | bullish / bearish engulfing F1 (B-, I-) | engulfing +-80 right | "
            "engulfing +-100 right | fit s |",
            "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |",
        ]
        for r in results["cdl"]:
            pc = r["per_class"]
            eng = " / ".join(f"{pc.get(f'{p}-{d}_engulfing', 0.0):.2f}" for d in ("bullish", "bearish") for p in "BI")
            (n80, a80), (n100, a100) = r["engulfing_by_value"][80], r["engulfing_by_value"][100]
            lines.append(
                f"| {r['test']} | {r['variant']} | {r['train_rows']} | **{r['f1_macro']:.3f}** | {eng} | "
                f"{a80:.2f} (n={n80}) | {a100:.2f} (n={n100}) | {r['fit_seconds']:.0f} |"
            )
        lines.append("")
        shares = {r["test"]: r["share_80_train"] for r in results["cdl"]}
        lines.append(
            "Share of +-80 among the training engulfings: "
            + ", ".join(f"{share:.0%} (test {test})" for test, share in shares.items())
            + "."
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="shapes,control,cdl")
    parser.add_argument("--paths", default="bio,window,span")
    parser.add_argument("--model", default="xgboost")
    parser.add_argument("--train", default="SP500,EURUSD")
    parser.add_argument("--unseen", default="NASDAQ,GOOG")
    parser.add_argument("--cdl-train", default="SP500,NASDAQ,GOOG,EURUSD", help="the others of these train")
    parser.add_argument("--cdl-test", default="EURUSD,GOOG", help="each is a run")
    parser.add_argument("--output", default=str(ROOT / "bench" / "shapes_results.md"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("ml_platform.labeling").setLevel(logging.ERROR)  # rule spans in the warm-up are skipped
    parts = set(args.parts.split(","))
    series = load_all()
    rules = RuleSettings()
    train_names, unseen_names = args.train.split(","), args.unseen.split(",")
    train, later, unseen, counts = make_parts(series, train_names, unseen_names, rules)
    for key, row in counts.items():
        print(key, row)
    paths = args.paths.split(",")
    skipped = {}
    if "span" in paths and (why := span_path_available()):
        skipped["span"] = why
        paths.remove("span")
        print(f"span detector path skipped: {why}")
    results: dict[str, Any] = {"counts": counts, "rules": rules, "skipped": skipped, "args": vars(args)}
    results["series"] = [(s.key, len(s.candles), s.dataset) for s in series]
    if "shapes" in parts:
        instruments = [s.instrument for s in series]
        results["main"], results["curve"] = bench_paths(paths, args.model, train, later, unseen, instruments)
        results["test_spans"] = {p.name: len(p.spans) for p in later + unseen}
    if "control" in parts:
        results["control"] = bench_control(paths, args.model)
    if "cdl" in parts:
        results["cdl"] = []
        for test in args.cdl_test.split(","):
            train_names = [name for name in args.cdl_train.split(",") if name != test]
            results["cdl"] += bench_cdl(series, train_names, test, args.model)
    text = markdown_report(results)
    print(text)
    Path(args.output).write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
