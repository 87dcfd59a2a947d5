"""The chart-shape benchmark's model paths: the per-candle ``bio`` and ``window`` paths of the
platform and the span detector (`SpanPath`), each with ``fit(parts)`` and ``predict(part)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import numpy as np
import pandas as pd
from shapes_data import SEED, THREADS, Part

from ml_platform.config import PipelineConfig, config_from_dict
from ml_platform.features import build_features
from ml_platform.labeling import label_partition
from ml_platform.labeling.annotations import Annotation
from ml_platform.model_inputs import bio_model_inputs, window_feature_columns, window_model_inputs
from ml_platform.shapes.rules import SHAPE_LABELS
from ml_platform.training.dataset import excluded_patterns, select_base_columns
from ml_platform.training.evaluation import bio_spans
from ml_platform.training.models import get_model_type
from ml_platform.training.weights import class_weight_map

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


MIRROR = {
    "double_top": "double_bottom",
    "double_bottom": "double_top",
    "head_and_shoulders": "inverse_head_and_shoulders",
    "inverse_head_and_shoulders": "head_and_shoulders",
    "bull_flag": "bear_flag",
    "bear_flag": "bull_flag",
}
"""Each shape label's mirror image: the span path trains on every series upside down too."""


SPAN_SCALES = (1.0, 1.5, 2.0, 2.5, 4.0, 6.0)
"""The default zigzag scales plus 2.0 (the rules' own reversal: see the circularity note in BENCHMARKS)."""


def span_settings(*, iou_scoring: bool = False) -> Any:
    """The span path's `DetectorSettings`: the defaults with `SPAN_SCALES`, no breakout ends, mirrored `MIRROR`.

    Chosen by the ablation in docs/BENCHMARKS.md ("Chart shapes on real prices"). The
    ``span_iou`` path turns on `iou_scoring` (IoU-aware NMS ranking) and nothing else.
    """
    from ml_platform.shapes.settings import DetectorSettings

    settings = DetectorSettings(
        scales=SPAN_SCALES, breakout_ends=False, mirror_labels=dict(MIRROR), iou_scoring=iou_scoring
    )
    return _overridden(settings, training=False)


SPAN_PATHS = ("span", "span_iou", "span_iou_only", "span_refine")
"""The span detector as is; with IoU-aware NMS ranking (probability x predicted IoU); ranked by predicted IoU
alone; NMS by probability, then each winner moved to the candidate of highest predicted IoU near it."""
REFINE_IOU = 0.5
"""``span_refine``: a winner may move to any candidate overlapping it with at least this IoU."""
span_overrides: dict[str, Any] = {}
"""Dotted-key replacements for ablations (``bench_shapes.py --span-set``): `DetectorSettings` fields
(``edge_features``) in `span_settings`, ``training.*`` entries (``training.xgboost.max_depth``) in
`span_training_config`; JSON values, validated by msgspec."""
span_seed = SEED
"""The span detector's seed (``bench_shapes.py --span-seed``: the spread between seeds shows the noise)."""


def _overridden(struct: Any, *, training: bool) -> Any:
    """`struct` with its `span_overrides` set (the ``training.*`` ones, or the others), converted and validated."""
    chosen = {
        key.removeprefix("training."): value
        for key, value in span_overrides.items()
        if key.startswith("training.") == training
    }
    if not chosen:
        return struct
    values = msgspec.to_builtins(struct)
    for dotted, value in chosen.items():
        *parents, leaf = dotted.split(".")
        node = values
        for key in parents:
            node = node[key]
        node[leaf] = value
    return msgspec.convert(values, type(struct))


def span_training_config() -> Any:
    """The `TrainingConfig` the span path fits with: the defaults with the ``training.*`` overrides."""
    from ml_platform.config import TrainingConfig

    return _overridden(TrainingConfig(), training=True)


class SpanPath:
    """`ml_platform.shapes.detector.SpanDetector` with `span_settings` (imported when the path runs).

    ``rank="iou"`` (the ``span_iou_only`` path, an experiment outside the detector): the
    candidates above the threshold are ranked for NMS by their predicted IoU alone.
    ``rank="refine"`` (``span_refine``): NMS by class probability picks the patterns, then
    each winner's edges move to those of the candidate (any class) overlapping it with IoU >=
    `REFINE_IOU` that has the highest predicted IoU; a second NMS drops refined duplicates.
    """

    def __init__(self, model_type: str, *, iou_scoring: bool = False, rank: str = "settings") -> None:
        self.model_type, self.iou_scoring, self.rank = model_type, iou_scoring, rank
        self.detector: Any = None

    def fit(self, parts: Sequence[Part]) -> SpanPath:
        from ml_platform.shapes.detector import SpanDetector

        series = [(p.candles, p.spans) for p in parts]
        self.detector = SpanDetector.fit(
            series,
            settings=span_settings(iou_scoring=self.iou_scoring),
            model_type=self.model_type,
            seed=span_seed,
            training=span_training_config(),
        )
        return self

    def predict(self, part: Part) -> pd.DataFrame:
        if self.rank not in ("iou", "refine"):
            return self.detector.predict(part.candles).loc[:, ["start", "end", "label"]]
        from ml_platform.shapes.nms import non_max_suppression, span_iou

        settings = self.detector.settings
        everything = self.detector.score(part.candles)
        scored = everything.loc[everything["confidence"] >= settings.threshold].reset_index(drop=True)
        start, end = scored["start"].to_numpy(), scored["end"].to_numpy()
        rank = scored["iou" if self.rank == "iou" else "confidence"].to_numpy()
        chosen = scored.loc[non_max_suppression(start, end, rank, iou_threshold=settings.nms_iou)]
        if self.rank == "refine":
            all_start, all_end, all_iou = (everything[c].to_numpy() for c in ("start", "end", "iou"))
            refined = chosen.copy()
            for i, row in enumerate(chosen.itertuples(index=False)):
                near = np.flatnonzero(span_iou(all_start, all_end, int(row.start), int(row.end)) >= REFINE_IOU)
                best = near[np.argmax(all_iou[near])]
                refined.iloc[i, [0, 1]] = [all_start[best], all_end[best]]
            s, e = refined["start"].to_numpy(), refined["end"].to_numpy()
            chosen = refined.iloc[
                non_max_suppression(s, e, refined["confidence"].to_numpy(), iou_threshold=settings.nms_iou)
            ]
        return chosen.loc[:, ["start", "end", "label"]].sort_values(["start", "end"]).reset_index(drop=True)


def span_path_available() -> str | None:
    """None when the span detector can be imported, else why not."""
    try:
        from ml_platform.shapes.detector import DetectorSettings, SpanDetector  # noqa: F401
    except Exception as exc:  # the module is being written: any import failure means "not yet"
        return f"{type(exc).__name__}: {exc}"
    return None


def path_factory(name: str, model_type: str, instruments: Sequence[str]) -> Callable[[], Any]:
    if name in SPAN_PATHS:
        rank = {"span_iou_only": "iou", "span_refine": "refine"}.get(name, "settings")
        return lambda: SpanPath(model_type, iou_scoring=name != "span", rank=rank)
    return lambda: CandlePath(name, model_type, instruments)
