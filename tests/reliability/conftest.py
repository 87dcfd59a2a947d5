"""Fixtures for the crash-consistency tests: a real PostgreSQL schema, a real MLflow SQLite store, a config file,
and a training subprocess that can be SIGKILLed at a named point (``ML_PLATFORM_TEST_KILL_AT``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ml_platform.config import PipelineConfig, load_config
from ml_platform.partitions import Partition
from tests.training.helpers import labeled_bio_frame, small_config, write_config

PARTITION = Partition("EURUSD", "1h")
ROOT = Path(__file__).resolve().parents[2]

TRAIN_SCRIPT = """
import json, sys
from pathlib import Path
from ml_platform.config import load_config
from ml_platform.db import RunStore
from ml_platform.partitions import Partition
from ml_platform.training.tracking import Tracker
from ml_platform.training.train import train_partition

config = load_config(sys.argv[1])
partition = Partition("EURUSD", "1h")
store = RunStore(config.database.url)
result = train_partition(
    config, partition, labeled_path=Path(sys.argv[2]), bundle_dir=config.data.bundle_dir(partition),
    run_store=store, tracker=Tracker.from_config(config), dagster_run_id=sys.argv[3],
)
store.dispose()
registration = result.registration
print(json.dumps({"model_version": result.meta.model_version, "run_id": result.run_id,
                  "mlflow_run_id": result.mlflow_run_id, "registered_version": registration.version,
                  "promoted": registration.promoted}))
"""


@dataclass(frozen=True)
class Training:
    returncode: int
    output: dict
    stderr: str


@dataclass(frozen=True)
class Stack:
    """One test's stores and config file; `train` runs a training subprocess."""

    config_file: Path
    config: PipelineConfig
    labeled: Path
    worse_labeled: Path

    @property
    def partition_dir(self) -> Path:
        return self.config.data.bundle_dir(PARTITION)

    def train(self, *, kill_at: str | None = None, worse: bool = False, dagster_run_id: str = "") -> Training:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MLFLOW_TRACKING_URI")}
        env.pop("ML_PLATFORM_TEST_KILL_AT", None)
        if kill_at:
            env["ML_PLATFORM_TEST_KILL_AT"] = kill_at
        labeled = self.worse_labeled if worse else self.labeled
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                TRAIN_SCRIPT,
                str(self.config_file),
                str(labeled),
                dagster_run_id or uuid.uuid4().hex,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        return Training(done.returncode, json.loads(lines[-1]) if lines else {}, done.stderr)


@pytest.fixture
def stack(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Stack:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    prefix = f"r{uuid.uuid4().hex[:8]}"
    config = small_config(
        tmp_path,
        mlflow={"experiment_name": prefix, "registered_model_prefix": prefix},
        database={"url": postgres_url},
        serving={"reload_interval_seconds": 0, "max_candles": 5000, "model_source": "bundle"},
        partitions={"pairs": ["EURUSD"], "timeframes": ["1h"]},
    )
    config_file = write_config(config, tmp_path / "pipeline.yaml")
    frame = labeled_bio_frame(config)
    labeled = tmp_path / "labeled" / "EURUSD_1h.parquet"
    labeled.parent.mkdir(parents=True)
    frame.to_parquet(labeled, index=False)
    worse = frame.copy()  # the same rows with the tags shuffled: a clearly worse model
    worse["tag"] = np.random.default_rng(1).permutation(worse["tag"].to_numpy())
    worse_labeled = tmp_path / "labeled" / "worse.parquet"
    worse.to_parquet(worse_labeled, index=False)
    return Stack(config_file, load_config(config_file), labeled, worse_labeled)
