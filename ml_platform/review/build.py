"""One partition's queue from the pipeline's files: what the ``review_queue`` asset and the CLI run.

Inputs (all from the config's data paths):

- the stored candles ``{data.raw_store}/{PAIR}_{TF}.parquet`` (the whole series);
- the served model: the partition's champion bundle ``{data.models_path}/{PAIR}_{TF}/``,
  run in-process through `ml_platform.inference.Predictor.predict_series` (the service's code
  path, ``serving.batch_size`` rows per model call) and read with `view_from_candle_predictions`;
- the partition's annotations from ``data.annotations_path`` (negatives included), placed on
  the candles by time (a span outside the stored series is left out; no export yet: none);
- the programmatic (CDL) spans of ``labeling.cdl.patterns`` when ``labeling.cdl.enabled``.

No reviewed records here: the web keeps them and filters the served items (docs/DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from ml_platform.bundle import load_bundle
from ml_platform.config import PipelineConfig
from ml_platform.inference import Predictor
from ml_platform.labeling import annotations_hash, label_candles, load_annotations, pattern_label
from ml_platform.labeling.annotations import Annotation
from ml_platform.partitions import Partition
from ml_platform.review.model_view import view_from_candle_predictions
from ml_platform.review.queue import build_review_queue
from ml_platform.review.settings import ReviewSettings
from ml_platform.review.store import FORMAT_VERSION, ReviewQueueFile

FILE_LIMIT = 500
"""Items written to the file: far more than a session reviews; the endpoint serves ``limit`` of them."""

SPAN_COLUMNS = ["start", "end", "label"]


@dataclass(frozen=True)
class BuildInputs:
    """What a partition's queue was built from (for the asset's metadata)."""

    n_candles: int
    annotations: int
    annotations_outside: int
    programmatic: int
    model_version: str


def annotation_positions(annotations: list[Annotation], times: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Human spans as ``start``, ``end`` (inclusive candle positions), ``label``; and how many fell outside `times`."""
    t = np.asarray(times, dtype=np.int64)
    rows = []
    outside = 0
    for a in annotations:
        start = int(np.searchsorted(t, a.start_time, side="left"))
        end = int(np.searchsorted(t, a.end_time, side="right")) - 1
        if start > end or start >= len(t) or end < 0:
            outside += 1
            continue
        rows.append((start, end, a.label))
    frame = pd.DataFrame(rows, columns=SPAN_COLUMNS).astype({"start": "int64", "end": "int64"})
    return frame, outside


def programmatic_spans(config: PipelineConfig, candles: pd.DataFrame) -> tuple[pd.DataFrame | None, list[str]]:
    """The CDL spans of the configured patterns and every label they can give (None, [] when disabled)."""
    cdl = config.labeling.cdl
    if not cdl.enabled or not cdl.patterns:
        return None, []
    spans = label_candles(candles, cdl.patterns).spans
    frame = pd.DataFrame({"start": spans.start, "end": spans.end, "label": spans.label.astype(str)})
    labels = sorted({pattern_label(name, sign) for name in cdl.patterns for sign in (1, -1)})
    return frame, labels


def build_partition_queue(
    config: PipelineConfig,
    partition: Partition,
    *,
    settings: ReviewSettings | None = None,
    limit: int = FILE_LIMIT,
    now: datetime | None = None,
) -> tuple[ReviewQueueFile, BuildInputs]:
    """The partition's `ReviewQueueFile` (not written) and a summary of its inputs.

    Raises
    ------
    FileNotFoundError
        When the partition has no stored candles (materialize raw_candles).
    ml_platform.bundle.BundleError
        When it has no loadable bundle (materialize trained_model).
    ml_platform.inference.InferenceError
        When the stored series is too short for the model.
    """
    candles_path = config.data.partition_file("candles", partition)
    if not candles_path.is_file():
        raise FileNotFoundError(f"{candles_path}: no stored candles for {partition.key}; materialize raw_candles")
    candles = pd.read_parquet(candles_path)
    times = candles["time"].to_numpy(np.int64)
    bundle = load_bundle(config.data.bundle_dir(partition))
    predictor = Predictor.from_bundle(bundle)
    series = predictor.predict_series(candles, batch_size=config.serving.batch_size)
    view = view_from_candle_predictions(series.predictions)
    source = config.data.annotations_dir
    own = load_annotations(source).for_partition(partition.key) if source.exists() else []
    human, outside = annotation_positions(own, times)
    programmatic, programmatic_labels = programmatic_spans(config, candles)
    queue = build_review_queue(
        times,
        view,
        human,
        programmatic=programmatic,
        programmatic_labels=programmatic_labels or None,
        settings=settings,
        limit=limit,
    )
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    built = ReviewQueueFile(
        format_version=FORMAT_VERSION,
        pair=partition.pair,
        timeframe=partition.timeframe,
        built_at=stamp,
        model_version=str(bundle.meta.model_version),
        annotations_hash=annotations_hash(own),
        n_candles=len(times),
        first_time=int(times[0]) if len(times) else None,
        last_time=int(times[-1]) if len(times) else None,
        queue=queue,
    )
    inputs = BuildInputs(
        n_candles=len(times),
        annotations=len(own),
        annotations_outside=outside,
        programmatic=0 if programmatic is None else len(programmatic),
        model_version=built.model_version,
    )
    return built, inputs
