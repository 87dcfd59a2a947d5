"""The `review_queue` asset on a real (temporary) Dagster instance: file, metadata table, automation condition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    Definitions,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
    TableMetadataValue,
    evaluate_automation_conditions,
    materialize,
)

from assets.partitions import PAIR_TIMEFRAME_PARTITIONS
from assets.review import review_queue
from ml_platform.candles import write_candles
from ml_platform.config import load_config
from ml_platform.partitions import Partition
from ml_platform.review import read_queue_file
from ml_platform.sample_data import generate_partition
from resources.pipeline import PipelineResource
from tests.serving.conftest import train_bundle, write_serving_config

pytestmark = pytest.mark.slow

KEY = "EURUSD|1h"


def _register_partition(instance: DagsterInstance, key: str) -> None:
    """Add the key to any dynamic dimension (the partitions may become dynamic); a no-op for static ones."""
    definition = PAIR_TIMEFRAME_PARTITIONS
    if isinstance(definition, DynamicPartitionsDefinition) and definition.name:
        instance.add_dynamic_partitions(definition.name, [key])
    if isinstance(definition, MultiPartitionsDefinition):
        for dimension, part in zip(definition.partitions_defs, key.split("|"), strict=True):
            inner = dimension.partitions_def
            if isinstance(inner, DynamicPartitionsDefinition) and inner.name:
                instance.add_dynamic_partitions(inner.name, [part])


@pytest.fixture
def platform(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """Stored candles and a trained bundle for EURUSD 1h, every path in tmp_path."""
    config_path = write_serving_config(tmp_path)
    config = load_config(config_path)
    candles, spans = generate_partition("EURUSD", "1h", n_candles=1200, seed=11)
    tags = np.array(["O"] * len(candles), dtype=object)
    for span in spans:
        tags[span.start_index] = f"B-{span.label}"
        tags[span.start_index + 1 : span.end_index + 1] = f"I-{span.label}"
    write_candles(candles, config.data.partition_file("candles", Partition("EURUSD", "1h")))
    train_bundle(config.data.models_dir, config, candles, tags)
    return config_path, candles


def test_materializes_the_queue_file_and_its_table(platform: tuple[Path, pd.DataFrame]) -> None:
    config_path, candles = platform
    config = load_config(config_path)
    with DagsterInstance.ephemeral() as instance:
        _register_partition(instance, KEY)
        result = materialize(
            [review_queue],
            instance=instance,
            partition_key=KEY,
            resources={"pipeline": PipelineResource(config_path=str(config_path))},
        )
        assert result.success
        (event,) = result.asset_materializations_for_node("review_queue")
    path = config.data.review_file(Partition("EURUSD", "1h"))
    built = read_queue_file(path)
    assert built is not None and built.queue.items and built.model_version == "v1"
    assert built.n_candles == len(candles)
    metadata = event.metadata
    assert metadata["path"].value == str(path)
    assert metadata["stretches"].value == len(built.queue.items)
    table = metadata["top_10_stretches"]
    assert isinstance(table, TableMetadataValue)
    names = [c.name for c in table.schema.columns]
    assert names[:5] == ["rank", "start", "end", "candles", "score"]
    assert {"uncertainty", "disagreement", "conflict", "coverage", "reason", "model_label", "model_confidence"} <= set(
        names
    )
    rows = [r.data for r in table.records]
    assert len(rows) == min(10, len(built.queue.items))
    first = built.queue.items[0]
    assert rows[0]["rank"] == 1 and rows[0]["model_label"] == first.prediction
    assert rows[0]["score"] == pytest.approx(first.score, abs=1e-4)
    assert "Ranking rule" in (review_queue.descriptions_by_key[AssetKey("review_queue")] or "")


def test_a_new_model_or_new_annotations_request_it() -> None:
    defs = Definitions(assets=[review_queue], resources={"pipeline": PipelineResource()})
    assert set(review_queue.asset_deps[AssetKey("review_queue")]) == {
        AssetKey("trained_model"),
        AssetKey("annotations"),
    }
    with DagsterInstance.ephemeral() as instance:
        _register_partition(instance, KEY)
        first = evaluate_automation_conditions(defs=defs, instance=instance)
        for key in ("trained_model", "review_queue"):  # the annotations asset never materialized
            instance.report_runless_asset_event(AssetMaterialization(asset_key=key, partition=KEY))
        quiet = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        assert KEY not in _requested(quiet)
        instance.report_runless_asset_event(AssetMaterialization(asset_key="trained_model", partition=KEY))
        after_model = evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
        assert _requested(after_model) == {KEY}  # only the retrained partition
        instance.report_runless_asset_event(AssetMaterialization(asset_key="review_queue", partition=KEY))
        settled = evaluate_automation_conditions(defs=defs, instance=instance, cursor=after_model.cursor)
        assert KEY not in _requested(settled)
        instance.report_runless_asset_event(AssetMaterialization(asset_key="annotations"))
        after_annotations = evaluate_automation_conditions(defs=defs, instance=instance, cursor=settled.cursor)
        assert KEY in _requested(after_annotations)


def _requested(result: Any) -> set[str]:
    """Partition keys of review_queue the evaluation requested (an EvaluateAutomationConditionsResult)."""
    return {str(key) for key in result.get_requested_partitions(AssetKey("review_queue"))}
