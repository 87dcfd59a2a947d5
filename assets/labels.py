"""`annotations` and `labeled_windows`, and the sensor that relabels partitions whose annotations changed.

`annotations` reads the web's export (``data.annotations_path``), rejects a malformed file
and reports per-partition counts and the content hash. `labeled_windows` turns one
partition's enriched rows, raw candles and annotations into training data with
`ml_platform.labeling.label_partition` and writes ``{data.labeled_path}/{PAIR}_{TF}.parquet``.
`annotations_sensor` compares each partition's annotation hash with its cursor and
requests only the partitions that changed.
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    asset,
    sensor,
)

from assets.candles import raw_candles
from assets.features import enriched_features
from assets.metadata import frame_metadata, markdown_table
from assets.partitions import PAIR_TIMEFRAME_PARTITIONS, partition_of
from ml_platform.labeling import (
    LabelingError,
    changed_partitions,
    label_partition,
    load_annotations,
    report_skipped,
    validate_for_config,
)
from ml_platform.storage import write_parquet_atomic
from resources.pipeline import PipelineResource


@asset(
    group_name="labels",
    kinds={"json"},
    description="The web's annotation export (data.annotations_path): shape-checked, counted per partition, hashed.",
)
def annotations(context: AssetExecutionContext, pipeline: PipelineResource) -> MaterializeResult:
    config = pipeline.load()
    source = config.data.annotations_dir
    loaded = load_annotations(source)
    _, invalid = validate_for_config(loaded.annotations, config)
    warning = report_skipped(invalid, strict=config.labeling.strict, where=str(source))
    if warning:
        context.log.warning(warning)
    counts = loaded.counts()
    table = pd.DataFrame({"partition": list(counts), "annotations": list(counts.values())})
    context.log.info(f"{len(loaded)} annotations in {len(loaded.files)} file(s), {len(invalid)} invalid")
    return MaterializeResult(
        metadata={
            "annotations": MetadataValue.int(len(loaded)),
            "invalid": MetadataValue.int(len(invalid)),
            "per_partition": MetadataValue.md(table.to_markdown(index=False) if len(table) else "no annotations"),
            "counts": MetadataValue.json(counts),
            "content_hash": MetadataValue.text(loaded.content_hash),
            "files": MetadataValue.json([str(path) for path in loaded.files]),
            "path": MetadataValue.path(str(source)),
        },
        data_version=DataVersion(loaded.content_hash),
    )


@asset(
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    deps=[raw_candles, enriched_features, annotations],
    group_name="labels",
    kinds={"pandas", "parquet"},
    description="Training data: BIO tags per candle (or one row per window) from annotations and TA-Lib CDL labels.",
)
def labeled_windows(context: AssetExecutionContext, pipeline: PipelineResource) -> MaterializeResult:
    config = pipeline.load()
    partition = partition_of(context)
    enriched = pd.read_parquet(config.data.partition_file("features", partition))
    candles = pd.read_parquet(config.data.partition_file("candles", partition))
    loaded = load_annotations(config.data.annotations_dir)
    result = label_partition(enriched, candles, loaded, partition, config)
    if result.warning:
        context.log.warning(result.warning)
    path = write_parquet_atomic(result.frame, config.data.partition_file("labeled", partition))
    statistics = result.statistics
    table = statistics.to_markdown()
    context.log.info(f"{partition.key}: {len(result.frame)} rows -> {path}\n{table}")
    metadata = frame_metadata(result.frame, path)
    metadata["statistics"] = MetadataValue.md(table)
    metadata["labels_preview"] = MetadataValue.md(_labels_preview(result.frame))
    metadata["samples_per_label"] = MetadataValue.json(statistics.samples_per_label())
    metadata["class_distribution_pct"] = MetadataValue.json(statistics.class_distribution())
    metadata["invalid_annotations_skipped"] = MetadataValue.int(statistics.invalid_skipped)
    metadata["below_min_confidence"] = MetadataValue.int(statistics.below_min_confidence)
    metadata["unknown_label_rows"] = MetadataValue.int(statistics.unknown_rows)
    metadata["agreement_candles"] = MetadataValue.int(statistics.agreement_candles)
    if statistics.agreement is not None:
        metadata["human_programmatic_agreement"] = MetadataValue.float(statistics.agreement)
    if statistics.cohens_kappa is not None:
        metadata["cohens_kappa"] = MetadataValue.float(statistics.cohens_kappa)
    if result.skipped:
        metadata["skipped_annotations"] = MetadataValue.json(
            [{"id": item.id, "kinds": list(item.kinds), "reason": item.reason} for item in result.skipped]
        )
    return MaterializeResult(metadata=metadata)


def _labels_preview(frame: pd.DataFrame, rows: int = 12) -> str:
    """The label columns of the first labelled rows (the generic preview cuts wide frames before them)."""
    columns = [
        c
        for c in frame.columns
        if c in ("time", "label", "source", "start_time", "end_time", "label_known") or c.startswith("tag")
    ]
    if "tag" in frame:
        labelled = frame.index[frame["tag"] != "O"]
        start = max(0, int(np.flatnonzero(frame.index == labelled[0])[0]) - 2) if len(labelled) else 0
        return markdown_table(frame.iloc[start : start + rows][columns])
    return markdown_table(frame.head(rows)[columns])


# The assets the sensor requests for a changed partition; add downstream assets (e.g. a
# trained model) with `build_annotations_sensor([...])` rather than a second hash check.
ANNOTATION_SENSOR_TARGETS: list[AssetsDefinition] = [labeled_windows]


def build_annotations_sensor(
    targets: Sequence[AssetsDefinition], *, name: str = "annotations_sensor", minimum_interval_seconds: int = 30
) -> SensorDefinition:
    """A sensor requesting `targets` for each partition whose annotations changed (cursor: per-partition hashes)."""
    target_keys = [key for target in targets for key in target.keys]

    @sensor(
        name=name,
        target=list(targets),
        minimum_interval_seconds=minimum_interval_seconds,
        description="Requests the targets for the partitions whose annotations changed in data.annotations_path.",
    )
    def _annotations_sensor(context: SensorEvaluationContext, pipeline: PipelineResource):
        config = pipeline.load()
        try:
            keys, cursor = changed_partitions(context.cursor, config.data.annotations_dir, config.partition_keys())
        except LabelingError as exc:  # a malformed or missing export: say so, keep the cursor
            return SkipReason(f"annotations not readable: {exc}")
        context.update_cursor(cursor)
        if not keys:
            return SkipReason("no partition's annotations changed")
        return [RunRequest(partition_key=key, asset_selection=target_keys) for key in keys]

    return _annotations_sensor


annotations_sensor = build_annotations_sensor(ANNOTATION_SENSOR_TARGETS)

LABEL_ASSETS = [annotations, labeled_windows]
LABEL_SENSORS = [annotations_sensor]
