"""The ``data`` and ``partitions`` sections: where each stage's files live, and what is partitioned."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec

from ml_platform.config.base import Section
from ml_platform.config.paths import resolve_path
from ml_platform.partitions import PAIR_PATTERN, TIMEFRAMES, Partition


class ValidationSettings(Section, frozen=True):
    """How strictly raw candles are checked.

    ohlc_inconsistency : "error" or "warn", default "error"
        A high below open/close or a low above them fails the load, or only warns.
    max_gap_multiple : float, default 5.0
        The `raw_candles` gap check flags a jump between candles larger than this many
        timeframe lengths (weekends in FX data are expected: raise it for such data).
    """

    ohlc_inconsistency: Literal["error", "warn"] = "error"
    max_gap_multiple: Annotated[float, msgspec.Meta(gt=1)] = 5.0


Store = Literal["candles", "features", "labeled"]
"""The partitioned Parquet stores: one file per partition in each."""

_STORE_FIELDS: dict[str, str] = {"candles": "raw_store", "features": "enriched_path", "labeled": "labeled_path"}


class DataConfig(Section, frozen=True):
    """Where every stage reads and writes its files (see docs/DESIGN.md, "Files between stages")."""

    raw_path: str = "data/raw"
    raw_store: str = "data/candles"
    enriched_path: str = "data/enriched"
    labeled_path: str = "data/labeled"
    models_path: str = "data/models"
    annotations_path: str = "data/annotations"
    review_path: str = "data/review"
    ground_truth_path: str = "data/ground_truth.json"
    validation: ValidationSettings = ValidationSettings()

    # Every path below is absolute: relative settings start at the project root.

    @property
    def raw_dir(self) -> Path:
        """Where the raw ``{PAIR}_{TF}.csv|.parquet`` files are dropped (``raw_path``)."""
        return resolve_path(self.raw_path)

    @property
    def annotations_dir(self) -> Path:
        """The folder of annotation export files (``annotations_path``)."""
        return resolve_path(self.annotations_path)

    @property
    def models_dir(self) -> Path:
        """The folder of per-partition model bundles (``models_path``)."""
        return resolve_path(self.models_path)

    @property
    def ground_truth_file(self) -> Path:
        """The sample data's planted spans (``ground_truth_path``)."""
        return resolve_path(self.ground_truth_path)

    @classmethod
    def paths_under(cls, root: Path) -> dict[str, str]:
        """A ``data`` section with every path inside `root`, named as the defaults name them.

        ``{"raw_path": "{root}/raw", "raw_store": "{root}/candles", ..., "ground_truth_path":
        "{root}/ground_truth.json"}``: a self-contained data tree for tests, fixtures and benchmarks.
        """
        defaults = cls()
        return {
            name: str(root / Path(value).name)
            for name in cls.__struct_fields__
            if isinstance(value := getattr(defaults, name), str)
        }

    def store_dir(self, store: Store) -> Path:
        """The folder of one partitioned Parquet store."""
        return resolve_path(getattr(self, _STORE_FIELDS[store]))

    def partition_file(self, store: Store, partition: Partition) -> Path:
        """``{store folder}/{PAIR}_{TF}.parquet``: the one place a partition's Parquet file is named.

        store : "candles", "features" or "labeled"
            ``raw_candles`` (``raw_store``), ``enriched_features`` (``enriched_path``) or
            ``labeled_windows`` (``labeled_path``).
        """
        return self.store_dir(store) / f"{partition.stem}.parquet"

    def review_file(self, partition: Partition) -> Path:
        """``{review_path}/{PAIR}_{TF}.json``: the partition's built review queue (``review_queue`` asset)."""
        return resolve_path(self.review_path) / f"{partition.stem}.json"

    def bundle_dir(self, partition: Partition) -> Path:
        """``{models_path}/{PAIR}_{TF}/``: the partition's model bundle folder."""
        return self.models_dir / partition.stem


class PartitionsConfig(Section, frozen=True):
    """The pairs and timeframes the pipeline is partitioned over."""

    pairs: list[str] = msgspec.field(default_factory=lambda: ["EURUSD", "GBPUSD", "BTC-USDT"])
    timeframes: list[str] = msgspec.field(default_factory=lambda: ["1h", "4h"])

    def __post_init__(self) -> None:
        for index, pair in enumerate(self.pairs):
            if not isinstance(pair, str) or not PAIR_PATTERN.fullmatch(pair):
                raise ValueError(f"pairs[{index}]: {pair!r} is not upper-case letters and digits joined by '-'")
        for index, timeframe in enumerate(self.timeframes):
            if timeframe not in TIMEFRAMES:
                raise ValueError(f"timeframes[{index}]: {timeframe!r} is not one of {' '.join(TIMEFRAMES)}")
        if not self.pairs or not self.timeframes:
            raise ValueError("pairs, timeframes: need at least one pair and one timeframe")
