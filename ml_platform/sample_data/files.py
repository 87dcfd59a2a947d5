"""Writing the sample data: every partition's CSV, the annotations export and the ground truth.

The same seed and options give byte-identical files (no wall-clock times are written).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import msgspec
import pandas as pd
from tqdm import tqdm

from ml_platform import storage
from ml_platform.config import PipelineConfig
from ml_platform.labeling.annotations import Annotation, AnnotationExport
from ml_platform.partitions import Partition
from ml_platform.sample_data import annotator
from ml_platform.sample_data.generate import (
    DEFAULT_CANDLES,
    DEFAULT_SEED,
    REVERSION_HALF_LIFE,
    START_TIME,
    generate_partition,
)
from ml_platform.sample_data.manifest import RAW_FILES_KEY, check_overwrite, recorded_files
from ml_platform.sample_data.records import GroundTruth, PartitionSummary, PlantedSpan, SampleDataSummary
from ml_platform.sample_data.shapes import (
    AMPLITUDE_K,
    NOISE_FRACTION,
    PATTERN_LABELS,
    PATTERN_LENGTHS,
    PATTERN_SPACING,
    PATTERN_WICKS,
    parse_telltales,
)

EXPORTED_AT = "2026-11-26T10:00:00Z"
ANNOTATIONS_FILE = "sample_annotations.json"


def csv_style(index: int) -> str:
    """The time/column style of the `index`-th partition's CSV (config order).

    ``"epoch_ms"`` for the 2nd file (a ``time`` column in epoch milliseconds),
    ``"iso_capitalised"`` for the 4th (``Timestamp,Open,...``), ``"iso"`` otherwise
    (``timestamp`` as ``2016-01-01T00:00:00Z``, lower-case columns). Exercises the reader.
    """
    return {1: "epoch_ms", 3: "iso_capitalised"}.get(index, "iso")


def candles_to_csv(candles: pd.DataFrame, style: str) -> str:
    """The CSV text of a candle frame in one of the `csv_style` styles."""
    frame = candles.copy()
    if style == "epoch_ms":
        frame["time"] = frame["time"] * 1000
    elif style in ("iso", "iso_capitalised"):
        stamps = pd.to_datetime(frame.pop("time"), unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        frame.insert(0, "timestamp", stamps)
        if style == "iso_capitalised":
            frame.columns = [name.capitalize() for name in frame.columns]
    else:
        raise ValueError(f"unknown CSV style {style!r}: use 'iso', 'iso_capitalised' or 'epoch_ms'")
    return frame.to_csv(index=False, lineterminator="\n")


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it into place."""
    storage.write_atomic(path, lambda temporary: temporary.write_bytes(data))


def _json_bytes(value: msgspec.Struct) -> bytes:
    return msgspec.json.format(msgspec.json.encode(value), indent=2) + b"\n"


def write_sample_data(
    config: PipelineConfig,
    *,
    n_candles: int = DEFAULT_CANDLES,
    seed: int = DEFAULT_SEED,
    progress: bool = False,
    telltales: str | Iterable[str] | None = None,
    force: bool = False,
) -> SampleDataSummary:
    """Generate and write every configured partition's CSV, the annotations and the ground truth.

    Parameters
    ----------
    config : PipelineConfig
        Pairs and timeframes from `partitions`; file locations from `data`.
    n_candles : int, default=20000
        Candles per partition.
    seed : int, default=DEFAULT_SEED
    progress : bool, default=False
        Show a tqdm bar over the partitions.
    telltales : str or iterable of str, optional
        Cues besides the shape (``noise``, ``wicks``, ``volume``); none by default.
    force : bool, default=False
        Replace raw files the generator did not write (see `ml_platform.sample_data.manifest`).

    Returns
    -------
    summary : SampleDataSummary

    Raises
    ------
    SampleDataOverwriteError
        A raw CSV it would write exists and was not written by it (nothing is written then).
    """
    cues = parse_telltales(telltales)
    raw_dir = config.data.raw_dir
    partitions = [(pair, tf) for pair in config.partitions.pairs for tf in config.partitions.timeframes]
    summaries: list[PartitionSummary] = []
    all_spans: list[PlantedSpan] = []
    annotations: list[Annotation] = []
    generated = []
    for index, (pair, timeframe) in enumerate(
        tqdm(partitions, desc="sample data", unit="partition", disable=not progress)
    ):
        candles, spans = generate_partition(pair, timeframe, n_candles, seed, telltales=cues)
        csv_path = raw_dir / f"{Partition(pair, timeframe).stem}.csv"
        generated.append(
            (pair, timeframe, candles, spans, csv_path, candles_to_csv(candles, csv_style(index)).encode())
        )
    # Nothing is written unless every raw file it replaces is its own (manifest or identical bytes).
    targets = {item[4]: item[5] for item in generated}
    check_overwrite(targets, config.data.ground_truth_file, force=force)
    raw_files = recorded_files(targets, config.data.ground_truth_file)
    for pair, timeframe, candles, spans, csv_path, data in generated:
        times = candles["time"].to_numpy()
        partition_annotations = annotator.annotate(spans, times, seed=seed, first_index=len(annotations))
        write_atomic(csv_path, data)
        all_spans.extend(spans)
        annotations.extend(partition_annotations)
        annotated = sum(1 for a in partition_annotations if a.label != "O")
        summaries.append(PartitionSummary(pair, timeframe, len(candles), len(spans), annotated, csv_path))
    annotations_path = config.data.annotations_dir / ANNOTATIONS_FILE
    write_atomic(
        annotations_path, _json_bytes(AnnotationExport(version=1, exported_at=EXPORTED_AT, annotations=annotations))
    )
    ground_truth_path = config.data.ground_truth_file
    generator = {**_generator_params(config, n_candles, seed, cues), RAW_FILES_KEY: raw_files}
    write_atomic(ground_truth_path, _json_bytes(GroundTruth(version=1, generator=generator, spans=all_spans)))
    return SampleDataSummary(summaries, annotations_path, ground_truth_path)


def _generator_params(config: PipelineConfig, n_candles: int, seed: int, cues: frozenset[str]) -> dict[str, object]:
    """The options and constants that determine the sample data, for the ground truth file."""
    return {
        "name": "ml_platform.sample_data",
        "seed": seed,
        "n_candles": n_candles,
        "start_time": START_TIME,
        "pairs": list(config.partitions.pairs),
        "timeframes": list(config.partitions.timeframes),
        "labels": list(PATTERN_LABELS),
        "telltales": sorted(cues),
        "pattern_lengths": {label: list(bounds) for label, bounds in PATTERN_LENGTHS.items()},
        "pattern_spacing": list(PATTERN_SPACING),
        "amplitude_k": list(AMPLITUDE_K),
        "noise_fraction": list(NOISE_FRACTION),
        "pattern_wicks": {label: list(wicks) for label, wicks in PATTERN_WICKS.items()},
        "reversion_half_life": REVERSION_HALF_LIFE,
        "miss_rate": annotator.MISS_RATE,
        "shift_rate": annotator.SHIFT_RATE,
        "shift_probabilities": list(annotator.SHIFT_PROBABILITIES),
        "low_confidence_rate": annotator.LOW_CONFIDENCE_RATE,
        "negatives_per_partition": annotator.NEGATIVES_PER_PARTITION,
    }
