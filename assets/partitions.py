"""The `pair x timeframe` partitions every asset shares (keys read ``EURUSD|1h``), and the pairs of an instance.

The definition reads no config: it is one `MultiPartitionsDefinition` of

- ``pair``: a `DynamicPartitionsDefinition` named ``pair``. Its keys live in the Dagster instance,
  so a pair is added without a redeploy: `raw_data_sensor` adds the pair of a new
  ``data/raw/{PAIR}_{TF}`` file (an ``AddDynamicPartitionsRequest``), and the config's
  ``partitions.pairs`` seed the set (`add_pairs`; the sensors add the configured pairs that are
  missing on each tick, and `seed_dagster_home` adds them whenever ``assets.definitions`` is loaded
  with ``DAGSTER_HOME`` set, which is what lets ``dagster asset materialize --partition 'EURUSD|1h'``
  validate its key on a fresh instance);
- ``timeframe``: a `StaticPartitionsDefinition` of every timeframe ``ml_platform`` supports
  (``1m 5m 15m 30m 1h 4h 1d 1w``). ``partitions.timeframes`` of the config chooses the ones the
  sensors, schedules and ``make demo`` act on; the other columns of the partition grid stay empty.

So every asset module can import one definition without reading the config at import time, and
adding a pair or changing the timeframes in the config needs no change to the definition.
A pair the instance knows without the config lists it is "added"; `known_pairs` gives both.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from dagster import (
    AssetExecutionContext,
    DagsterInstance,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)

from ml_platform.config import PipelineConfig
from ml_platform.partitions import TIMEFRAMES, Partition, validate_pair

PAIR_DIMENSION = "pair"
"""The name of the pair dimension and of its dynamic partitions in the instance."""

PAIRS = DynamicPartitionsDefinition(name=PAIR_DIMENSION)
PAIR_TIMEFRAME_PARTITIONS = MultiPartitionsDefinition(
    {PAIR_DIMENSION: PAIRS, "timeframe": StaticPartitionsDefinition(list(TIMEFRAMES))}
)

log = logging.getLogger(__name__)


def build_partitions(config: PipelineConfig | None = None) -> MultiPartitionsDefinition:
    """`PAIR_TIMEFRAME_PARTITIONS`. The config no longer shapes it (`config` is accepted for older callers)."""
    return PAIR_TIMEFRAME_PARTITIONS


def partition_of(context: AssetExecutionContext) -> Partition:
    """The validated `Partition` of the run's partition key."""
    return Partition.from_key(str(context.partition_key))


def instance_pairs(instance: DagsterInstance) -> list[str]:
    """The pairs the instance holds (the keys of the ``pair`` dimension), in the order they were added."""
    return list(instance.get_dynamic_partitions(PAIR_DIMENSION))


def known_pairs(instance: DagsterInstance, config: PipelineConfig) -> list[str]:
    """The configured pairs in config order, then the pairs added to the instance beyond them (sorted)."""
    configured = list(config.partitions.pairs)
    return configured + sorted(set(instance_pairs(instance)) - set(configured))


def missing_pairs(instance: DagsterInstance, pairs: Iterable[str]) -> list[str]:
    """The `pairs` (validated) the instance does not hold yet, in the given order, each once."""
    held = set(instance_pairs(instance))
    missing: list[str] = []
    for pair in pairs:
        validate_pair(pair)
        if pair not in held and pair not in missing:
            missing.append(pair)
    return missing


def add_pairs(instance: DagsterInstance, pairs: Iterable[str]) -> list[str]:
    """Add the `pairs` the instance does not hold yet; return those added.

    Safe when another process adds the same pairs at the same moment (several ``dagster asset
    materialize`` started together on a fresh instance): the loser of the race finds them there.
    """
    missing = missing_pairs(instance, pairs)
    if not missing:
        return []
    try:
        instance.add_dynamic_partitions(PAIR_DIMENSION, missing)
    except Exception:  # a concurrent insert of the same key (unique index): fine if they are all there now
        if missing_pairs(instance, missing):
            raise
    return missing


def add_partition_keys(instance: DagsterInstance, keys: Iterable[str]) -> list[str]:
    """Add the pairs of the partition keys (``EURUSD|1h``, validated) the instance lacks; return the pairs added."""
    return add_pairs(instance, [Partition.from_key(key).pair for key in keys])


def seed_dagster_home(config: PipelineConfig) -> list[str]:
    """Add the configured pairs to the instance of ``DAGSTER_HOME``, when it is set; return the pairs added.

    Called when ``assets.definitions`` is loaded, so each process loading the code (``dagster asset
    materialize``, ``dagster dev``'s code server, ``make demo``) finds the configured pairs' partitions
    in its instance. Without ``DAGSTER_HOME`` (the CLI then runs on a temporary instance, tests on
    their own) it does nothing; a failure is logged, never raised: the sensors add the pairs too.
    """
    if not os.environ.get("DAGSTER_HOME"):
        return []
    try:
        with DagsterInstance.get() as instance:
            return add_pairs(instance, config.partitions.pairs)
    except Exception as exc:  # an unreachable instance must not stop the code from loading
        log.warning("could not add the configured pairs to the Dagster instance of DAGSTER_HOME: %s", exc)
        return []
