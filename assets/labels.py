"""`annotations` and `labeled_windows`, and the sensor that relabels partitions whose annotations changed.

`annotations` reads the web's export (``data.annotations_path``), rejects a malformed file
and reports per-partition counts and the content hash. `labeled_windows` turns one
partition's enriched rows, raw candles and annotations into training data with
`ml_platform.labeling.label_partition` and writes ``{data.labeled_path}/{PAIR}_{TF}.parquet``.
The sensor that requests the partitions whose annotations changed is in `assets.sensors`;
`labeled_windows` records the hash of the annotations it was built from (``annotations_hash``)
for it.
"""

import numpy as np
import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetSelection,
    AutomationCondition,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.candles import raw_candles
from assets.execution import queue_tags
from assets.features import enriched_features
from assets.label_metadata import ANNOTATIONS_HASH_KEY, LABEL_COLUMN_DESCRIPTIONS, NO_ANNOTATIONS, labeling_metadata
from assets.metadata import frame_metadata, frame_table, records_table
from assets.partitions import PAIR_TIMEFRAME_PARTITIONS, instance_pairs, partition_of
from ml_platform.features.descriptions import column_description, feature_descriptions
from ml_platform.labeling import label_partition, load_annotations, report_skipped, validate_for_config
from ml_platform.labeling.annotations import load_partition_annotations
from ml_platform.storage import write_parquet_atomic
from resources.pipeline import PipelineResource

ANNOTATION_COLUMNS = [
    ("partition", "string", "PAIR|TF the annotations belong to"),
    ("pair", "string", None),
    ("timeframe", "string", None),
    ("annotations", "int", "annotations in the export for this partition (negative 'O' ones included)"),
    (
        "configured",
        "bool",
        "whether the pair (in the config or added to the instance) and the timeframe (in the config) are known "
        "(else skipped)",
    ),
]


@asset(
    group_name="labels",
    kinds={"json"},
    op_tags=queue_tags("default"),
    description="The web's annotation export (data.annotations_path): shape-checked, counted per partition, hashed."
    "\n\nAutomation: none (materialize it to record a new export). The annotations_sensor watches the export "
    "itself and relabels and retrains the partitions whose annotations changed.",
)
def annotations(context: AssetExecutionContext, pipeline: PipelineResource) -> MaterializeResult:
    config = pipeline.load_with_pairs(instance_pairs(context.instance))  # pairs added without a redeploy count
    source = config.data.annotations_dir
    loaded = load_annotations(source)
    _, invalid = validate_for_config(loaded.annotations, config)
    warning = report_skipped(invalid, strict=config.labeling.strict, where=str(source))
    if warning:
        context.log.warning(warning)
    counts = loaded.counts()
    configured = set(config.partition_keys())
    rows = []
    for key, count in counts.items():
        pair, _, timeframe = key.partition("|")
        rows.append(
            {
                "partition": key,
                "pair": pair,
                "timeframe": timeframe,
                "annotations": count,
                "configured": key in configured,
            }
        )
    context.log.info(f"{len(loaded)} annotations in {len(loaded.files)} file(s), {len(invalid)} invalid")
    return MaterializeResult(
        metadata={
            "annotations": MetadataValue.int(len(loaded)),
            "invalid": MetadataValue.int(len(invalid)),
            "per_partition": records_table(rows, ANNOTATION_COLUMNS),
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
    op_tags=queue_tags("default"),
    kinds={"pandas", "parquet"},
    description="Training data: BIO tags per candle (or one row per window) from annotations and TA-Lib CDL labels. "
    "label_statistics counts the samples per label; labeling_measures explains each measure.\n\n"
    "Automation: eager after raw_candles or enriched_features change (automation_condition_sensor; the "
    "annotations asset is ignored there), and annotations_sensor (job relabel_and_retrain) rebuilds the "
    "partitions whose annotation files changed. Both are on by default.",
    # eager on the candles; the unpartitioned annotations asset (materialized by hand) is ignored: a never
    # materialized annotations asset would otherwise count as a missing dep and block every partition.
    automation_condition=AutomationCondition.eager().ignore(AssetSelection.assets("annotations")),
)
def labeled_windows(context: AssetExecutionContext, pipeline: PipelineResource) -> MaterializeResult:
    partition = partition_of(context)
    config = pipeline.load_with_pairs([partition.pair])  # a pair added to the instance, not the config, is known
    enriched = pd.read_parquet(config.data.partition_file("features", partition))
    candles = pd.read_parquet(config.data.partition_file("candles", partition))
    # only this partition's file when the web wrote one: another partition's malformed file does not block it
    loaded = load_partition_annotations(config.data.annotations_dir, partition.key)
    result = label_partition(enriched, candles, loaded, partition, config)
    if result.warning:
        context.log.warning(result.warning)
    path = write_parquet_atomic(result.frame, config.data.partition_file("labeled", partition))
    statistics = result.statistics
    context.log.info(f"{partition.key}: {len(result.frame)} rows -> {path}\n{statistics.to_markdown()}")
    descriptions = feature_descriptions(config)
    columns = {str(name): column_description(str(name), descriptions) for name in result.frame.columns}
    metadata = frame_metadata(result.frame, path, descriptions={**columns, **LABEL_COLUMN_DESCRIPTIONS})
    metadata.update(labeling_metadata(statistics, config))
    metadata["labels_preview"] = frame_table(_labels_preview(result.frame))
    metadata[ANNOTATIONS_HASH_KEY] = MetadataValue.text(loaded.partition_hashes().get(partition.key, NO_ANNOTATIONS))
    if result.skipped:
        metadata["skipped_annotations"] = records_table(
            [{"id": item.id, "kinds": ", ".join(item.kinds), "reason": item.reason} for item in result.skipped],
            [("id", "string", None), ("kinds", "string", None), ("reason", "string", None)],
        )
    return MaterializeResult(metadata=metadata)


def _labels_preview(frame: pd.DataFrame, rows: int = 12) -> pd.DataFrame:
    """The label columns of the first labelled rows (the generic preview cuts wide frames before them)."""
    columns = [
        c
        for c in frame.columns
        if c in ("time", "label", "source", "start_time", "end_time", "label_known") or c.startswith("tag")
    ]
    if "tag" in frame:
        labelled = frame.index[frame["tag"] != "O"]
        start = max(0, int(np.flatnonzero(frame.index == labelled[0])[0]) - 2) if len(labelled) else 0
        return frame.iloc[start : start + rows][columns]
    return frame.head(rows)[columns]


LABEL_ASSETS = [annotations, labeled_windows]
