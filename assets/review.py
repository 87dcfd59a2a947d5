"""`review_queue`: per partition, the stretches of candles where a label is expected to teach the model most.

Built by `ml_platform.review.build.build_partition_queue` (the served model run in-process over
the whole stored series, the partition's annotations, the CDL spans) and written to
``{data.review_path}/{PAIR}_{TF}.json`` (`ml_platform.review.store`), which the service's
``GET /review-queue`` serves as is.
"""

from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AutomationCondition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.execution import queue_tags
from assets.metadata import records_table
from assets.partitions import PAIR_TIMEFRAME_PARTITIONS, partition_of
from ml_platform.review import ReviewQueueFile, write_queue_file
from ml_platform.review.build import BuildInputs, build_partition_queue
from ml_platform.timestamps import iso_utc
from resources.pipeline import PipelineResource

TOP_ROWS = 10

# Eager on a new model or a new annotations materialization; the annotations asset is often never
# materialized (its sensor watches the export itself), so its absence must not hold the queue back.
REVIEW_AUTOMATION = AutomationCondition.eager().replace(
    "any_deps_missing", AutomationCondition.any_deps_missing().ignore(AssetSelection.assets("annotations"))
)

TOP_COLUMNS = [
    ("rank", "int", "1 is reviewed first"),
    ("start", "string", "first candle of the stretch (UTC)"),
    ("end", "string", "last candle of the stretch (UTC)"),
    ("candles", "int", "candles in the stretch"),
    ("score", "float", "weighted sum of the four components"),
    ("uncertainty", "float", "model uncertainty over the stretch, in [0, 1]"),
    ("disagreement", "float", "model vs human disagreement, in [0, 1]"),
    ("conflict", "float", "programmatic vs human conflict, in [0, 1]"),
    ("coverage", "float", "distance from any annotation, in [0, 1]"),
    ("reason", "string", "the component with the largest weighted term"),
    ("model_label", "string", "the model's answer there (O: no pattern)"),
    ("model_confidence", "float", "its confidence"),
]


@asset(
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    deps=[AssetKey("trained_model"), AssetKey("annotations")],
    group_name="review",
    op_tags=queue_tags("default"),
    kinds={"json"},
    automation_condition=REVIEW_AUTOMATION,
)
def review_queue(context: AssetExecutionContext, pipeline: PipelineResource) -> MaterializeResult:
    """The review queue of the partition: stretches of candles ranked by how much a label there is expected to
    teach the model, written to data.review_path/{PAIR}_{TF}.json for GET /review-queue.

    Ranking rule: score = 1.0 x uncertainty (normalised entropy of the served model's class probabilities,
    max over the stretch) + 1.0 x disagreement (model vs human, the three kinds the chart draws) + 0.5 x
    conflict (programmatic CDL vs human labels) + 0.5 x coverage (no annotation near the stretch). Each
    component lies in [0, 1]. The queue is ranked greedily as a batch: each next stretch is the best one
    as if the stretches ranked above it were already reviewed, i.e. its coverage counts them as annotated
    (consecutive items are not neighbours) and its uncertainty is multiplied by the class balance
    (1 + n_min) / (1 + n(label)) of the model's label there (n: human spans of that label plus the
    stretches of that label ranked above; n_min: the least-marked label's count), so labels people
    marked often wait behind rare ones. Scores fall down the queue; a stretch sharing more than half of
    the shorter span with a better one is dropped; reason = the largest weighted term; each item reports
    the component values it was ranked with (ml_platform.review.ranking).
    Metadata: the top stretches as a table (start, end, score, the components, reason, model label and
    confidence).

    Reviewed stretches are kept in the web's database, which leaves them out of the served queue until
    the model's answer there (its fingerprint) changes.

    Automation: eager: recomputed when trained_model (a new model) or annotations (a new export) is
    materialized, once automation_condition_sensor is turned on under Automation; an annotations asset
    never materialized does not hold it back (a changed export retrains the model through
    annotations_sensor, which then rebuilds the queue).
    """
    config = pipeline.load()
    partition = partition_of(context)
    built, inputs = build_partition_queue(config, partition)
    path = write_queue_file(built, config.data.review_file(partition))
    context.log.info(
        f"{partition.key}: {len(built.queue.items)} stretches of {built.queue.considered} considered "
        f"(model {built.model_version}, {inputs.annotations} annotations) -> {path}"
    )
    return MaterializeResult(metadata=review_metadata(built, inputs, str(path)))


def top_rows(built: ReviewQueueFile, top: int = TOP_ROWS) -> list[dict[str, Any]]:
    """The first `top` items as table rows (`TOP_COLUMNS`)."""
    return [
        {
            "rank": item.rank,
            "start": iso_utc(item.start_time),
            "end": iso_utc(item.end_time),
            "candles": item.end - item.start + 1,
            "score": round(item.score, 4),
            **{name: round(item.components.get(name, 0.0), 3) for name in built.queue.weights},
            "reason": item.reason + (f" ({item.disagreement})" if item.disagreement else ""),
            "model_label": item.prediction,
            "model_confidence": round(item.confidence, 3),
        }
        for item in built.queue.items[:top]
    ]


def review_metadata(built: ReviewQueueFile, inputs: BuildInputs, path: str) -> dict[str, Any]:
    """Counts, what it was built from, the top stretches as a table, the file's path."""
    return {
        "stretches": MetadataValue.int(len(built.queue.items)),
        "considered": MetadataValue.int(built.queue.considered),
        "candles": MetadataValue.int(inputs.n_candles),
        "annotations": MetadataValue.int(inputs.annotations),
        "annotations_outside_series": MetadataValue.int(inputs.annotations_outside),
        "programmatic_spans": MetadataValue.int(inputs.programmatic),
        "model_version": MetadataValue.text(built.model_version),
        "weights": MetadataValue.json(dict(built.queue.weights)),
        f"top_{TOP_ROWS}_stretches": records_table(top_rows(built), TOP_COLUMNS),
        "path": MetadataValue.path(path),
    }
