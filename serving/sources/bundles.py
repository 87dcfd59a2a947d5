"""The ``bundle`` model source: every ``{data.models_path}/{PAIR}_{TF}/bundle.json``.

Scanning reads only each folder's `bundle_version`, so polling loads only new or changed bundles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ml_platform.bundle import BUNDLE_FILE, bundle_version, load_bundle
from ml_platform.partitions import Partition, PartitionError
from serving.sources.base import Candidate, LoadedModel, check_partition, loaded_model


def partition_of_stem(stem: str) -> Partition | None:
    """``EURUSD_1h`` -> Partition, or None for a name that is not a valid partition stem."""
    pair, sep, timeframe = stem.rpartition("_")
    if not sep:
        return None
    try:
        return Partition(pair, timeframe)
    except PartitionError:
        return None


class BundleSource:
    """Bundles under ``data.models_path``."""

    kind: Literal["bundle"] = "bundle"

    def __init__(self, models_path: Path) -> None:
        self.models_path = models_path

    def scan(self) -> list[Candidate]:
        if not self.models_path.is_dir():
            return []
        candidates = []
        for directory in sorted(self.models_path.iterdir()):
            partition = partition_of_stem(directory.name) if directory.is_dir() else None
            if partition is None or not (directory / BUNDLE_FILE).exists():
                continue
            candidates.append(Candidate(partition, str(directory), bundle_version(directory)))
        return candidates

    def load(self, candidate: Candidate) -> LoadedModel:
        bundle = load_bundle(Path(candidate.location))
        check_partition(bundle.meta, candidate.partition, candidate.location)
        return loaded_model(bundle, candidate, "bundle", token=bundle.meta.model_version, metrics=bundle.meta.metrics)
