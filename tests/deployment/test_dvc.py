"""DVC versioning of the raw candles and the annotation exports, against the real `dvc` and a temporary remote.

Each test works in its own DVC repository (``dvc init --no-scm`` in tmp_path) with a pipeline
config whose data paths and remote point into it; DVC's site cache and global/system config
go to tmp_path too, so nothing outside it is written or read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
import yaml

from ml_platform.config import (
    DEFAULT_CONFIG_PATH,
    PROJECT_ROOT,
    DataConfig,
    PipelineConfig,
    config_from_dict,
    load_config,
)
from ml_platform.data_version import (
    VERSION_PREFIX,
    file_md5,
    folder_md5,
    partition_dvc_version,
    resolve_dataset_version,
)
from ml_platform.partitions import Partition
from ml_platform.sample_data import write_sample_data
from scripts import data_versioning

DVC = Path(sys.executable).with_name("dvc")
EURUSD, GBPUSD = Partition("EURUSD", "1h"), Partition("GBPUSD", "1h")
EXPORT = {
    "version": 1,
    "exported_at": "2026-11-26T10:00:00Z",
    "annotations": [
        {
            "id": "a1",
            "pair": "EURUSD",
            "timeframe": "1h",
            "label": "spike",
            "start_time": 1700003600,
            "end_time": 1700010800,
            "confidence": 0.9,
            "source": "human",
            "model_prediction": None,
            "note": "",
            "created_at": "2026-11-20T09:00:00Z",
        }
    ],
}


@pytest.fixture(autouse=True)
def _isolated_dvc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No analytics, and DVC's site cache and global/system config inside tmp_path."""
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "dvc-site-cache"))
    monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(tmp_path / "dvc-global"))
    monkeypatch.setenv("DVC_SYSTEM_CONFIG_DIR", str(tmp_path / "dvc-system"))
    monkeypatch.delenv("ML_PLATFORM_CONFIG", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@dataclass(frozen=True)
class Project:
    """A DVC repository with two partitions' raw CSVs, an annotations export and a pipeline.yaml."""

    root: Path
    config_file: Path
    config: PipelineConfig
    remote: Path

    @property
    def raw(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def annotations(self) -> Path:
        return self.root / "data" / "annotations"

    def dvc(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(DVC), *args], cwd=self.root, text=True, capture_output=True, check=False)
        assert result.returncode == 0, f"dvc {' '.join(args)}: {result.stderr}"
        return result

    def dvc_status(self) -> dict:
        return json.loads(self.dvc("status", "--json", "data/raw.dvc", "data/annotations.dvc").stdout)

    def script(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`python -m scripts.data_versioning ...` as the Makefile runs it, config from ML_PLATFORM_CONFIG."""
        env = {**os.environ, "ML_PLATFORM_CONFIG": str(self.config_file)}
        return subprocess.run(
            [sys.executable, "-m", "scripts.data_versioning", *args],
            cwd=PROJECT_ROOT,
            env=env,
            text=True,
            capture_output=True,
            check=False,
            timeout=120,
        )

    def recorded(self, name: str) -> str:
        """The md5 the .dvc file of data/{name} records."""
        return yaml.safe_load((self.root / "data" / f"{name}.dvc").read_text())["outs"][0]["md5"]

    def manifest(self, name: str) -> dict[str, str]:
        """The folder's files and md5s as `dvc add` stored them in the cache (the `.dir` object)."""
        digest = self.recorded(name).removesuffix(".dir")
        data = (self.root / ".dvc" / "cache" / "files" / "md5" / digest[:2] / f"{digest[2:]}.dir").read_bytes()
        return {entry["relpath"]: entry["md5"] for entry in json.loads(data)}


def _candles_csv(seed: int) -> str:
    lines = ["timestamp,open,high,low,close,volume"]
    for i in range(50):
        price = 1.1 + 0.001 * ((i * (seed + 3)) % 7)
        lines.append(f"{1_700_000_000 + 3600 * i},{price},{price + 0.002},{price - 0.002},{price + 0.001},{100 + i}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "repo"
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "annotations").mkdir()
    subprocess.run([str(DVC), "init", "--no-scm", "-q"], cwd=root, check=True)
    for seed, partition in enumerate((EURUSD, GBPUSD)):
        (root / "data" / "raw" / f"{partition.stem}.csv").write_text(_candles_csv(seed))
    (root / "data" / "annotations" / "export.json").write_text(json.dumps(EXPORT, indent=1))
    raw = {
        "data": DataConfig.paths_under(root / "data"),
        "partitions": {"pairs": ["EURUSD", "GBPUSD"], "timeframes": ["1h"]},
        "dvc": {"remote_name": "testremote", "remote_path": str(tmp_path / "remote")},
        # random candles hold no chart shape for the span detector to match: the per-candle path
        "labeling": {"mode": "bio"},
    }
    config_file = tmp_path / "pipeline.yaml"
    config_file.write_text(yaml.safe_dump(raw))
    return Project(root, config_file, config_from_dict(raw), tmp_path / "remote")


# --------------------------------------------------------------------------- push, pull, status


def test_push_then_pull_restores_identical_files_from_the_remote(project: Project) -> None:
    pushed = project.script("push")
    assert pushed.returncode == 0, pushed.stderr
    assert "[data] dvc add data/raw data/annotations" in pushed.stdout and "push done" in pushed.stdout
    assert project.recorded("raw").endswith(".dir") and any(project.remote.rglob("*.dir"))
    local_config = (project.root / ".dvc" / "config.local").read_text()
    assert "testremote" in local_config and str(project.remote) in local_config
    assert str(project.remote) not in (project.root / ".dvc" / "config").read_text()  # the shared config stays clean
    moved = msgspec.structs.replace(
        project.config, dvc=msgspec.structs.replace(project.config.dvc, remote_path=str(project.remote) + "-moved")
    )
    assert data_versioning._remote_configured(data_versioning.Workspace.from_config(project.config))
    assert not data_versioning._remote_configured(data_versioning.Workspace.from_config(moved))  # set again
    before = {p.relative_to(project.root): p.read_bytes() for p in (project.root / "data").rglob("*") if p.is_file()}

    status = project.script("status")
    assert status.returncode == 0 and "up to date" in status.stdout, status.stdout + status.stderr

    shutil.rmtree(project.raw)
    shutil.rmtree(project.annotations)
    shutil.rmtree(project.root / ".dvc" / "cache")  # so the files can only come from the remote
    pulled = project.script("pull")
    assert pulled.returncode == 0, pulled.stderr
    after = {p.relative_to(project.root): p.read_bytes() for p in (project.root / "data").rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize(
    ("command", "prepare", "message"),
    [
        ("push", "no_raw", "make sample-data"),
        ("pull", "", "not tracked yet (no .dvc file): run `make data-push`"),
        ("pull", "added", "is empty: run `make data-push`"),
        ("status", "", "not tracked"),
    ],
)
def test_errors_name_the_make_target(
    project: Project, capsys: pytest.CaptureFixture[str], command: str, prepare: str, message: str
) -> None:
    if prepare == "no_raw":
        shutil.rmtree(project.raw)
    if prepare == "added":
        project.dvc("add", "data/raw", "data/annotations")
    code = data_versioning.main([command, "--config", str(project.config_file)])
    out = capsys.readouterr()
    assert code in (1, 2) and message in out.out + out.err


def test_a_data_folder_outside_a_dvc_repository_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = tmp_path / "pipeline.yaml"
    config_file.write_text(
        yaml.safe_dump({"data": {"raw_path": str(tmp_path / "raw"), "annotations_path": str(tmp_path / "annotations")}})
    )
    assert data_versioning.main(["push", "--config", str(config_file)]) == 2
    assert "not in a DVC repository" in capsys.readouterr().err


def test_the_makefile_targets_run_the_script() -> None:
    result = subprocess.run(
        ["make", "-n", "data-push", "data-pull"], cwd=PROJECT_ROOT, text=True, capture_output=True, check=True
    )
    assert "python -m scripts.data_versioning push" in result.stdout
    assert "python -m scripts.data_versioning pull" in result.stdout


# --------------------------------------------------------------------------- the dataset version


def test_dataset_version_is_what_dvc_recorded_and_falls_back_when_the_data_changed(
    project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    untracked = resolve_dataset_version(project.config, EURUSD, content_hash="0123456789abcdef")
    assert (untracked.value, untracked.source) == ("0123456789abcdef", "content_hash")
    assert "not tracked by DVC" in untracked.params["dataset.dvc_skipped"]

    project.dvc("add", "data/raw", "data/annotations")
    assert project.dvc_status() == {}
    raw_md5 = project.manifest("raw")["EURUSD_1h.csv"]  # what dvc recorded for this partition's file
    annotations_md5 = project.recorded("annotations")
    version = partition_dvc_version(project.config, EURUSD)
    assert version.version == f"{VERSION_PREFIX}{raw_md5[:16]}-{annotations_md5.removesuffix('.dir')[:16]}"
    assert len(version.version) <= 64  # training_runs.dataset_version is String(64)
    assert version.params()["dvc_raw_md5"] == raw_md5 == file_md5(project.raw / "EURUSD_1h.csv")
    assert version.params()["dvc_annotations_md5"] == annotations_md5
    assert folder_md5(project.raw) == project.recorded("raw")  # the .dir hash computed here is dvc's
    assert partition_dvc_version(project.config, GBPUSD).version != version.version

    with (project.raw / "EURUSD_1h.csv").open("a") as handle:  # changed without `dvc add`
        handle.write(f"{1_700_000_000 + 3600 * 50},1.1,1.2,1.0,1.15,100\n")
    assert project.dvc_status() == {"data/raw.dvc": [{"changed outs": {"data/raw": "modified"}}]}
    with caplog.at_level(logging.INFO, logger="ml_platform.data_version"):
        fallback = resolve_dataset_version(project.config, EURUSD, content_hash="0123456789abcdef")
    assert (fallback.value, fallback.source) == ("0123456789abcdef", "content_hash")
    assert "data/raw/EURUSD_1h.csv differs from what data/raw.dvc records" in caplog.text
    assert "make data-push" in fallback.params["dataset.dvc_skipped"]
    # another partition's file is unchanged, and dvc's manifest says so
    assert resolve_dataset_version(project.config, GBPUSD, content_hash="x").source == "dvc"

    project.dvc("add", "data/raw")
    assert project.dvc_status() == {}
    readded = partition_dvc_version(project.config, EURUSD)
    new_md5 = project.manifest("raw")["EURUSD_1h.csv"]
    assert new_md5 != raw_md5 and readded.version.startswith(f"{VERSION_PREFIX}{new_md5[:16]}-")
    assert readded.version != version.version


def test_without_the_cache_the_folder_must_match_as_a_whole(project: Project) -> None:
    """A fresh clone: the committed .dvc files, regenerated data, no .dvc/cache."""
    project.dvc("add", "data/raw", "data/annotations")
    expected = partition_dvc_version(project.config, EURUSD).version
    shutil.rmtree(project.root / ".dvc" / "cache")
    assert partition_dvc_version(project.config, EURUSD).version == expected

    (project.annotations / "later.json").write_text(json.dumps({**EXPORT, "annotations": []}))
    assert project.dvc_status()["data/annotations.dvc"]  # dvc sees the change too ("not in cache" here)
    assert resolve_dataset_version(project.config, EURUSD, content_hash="x").source == "content_hash"
    (project.annotations / "later.json").unlink()
    (project.raw / "GBPUSD_1h.csv").write_text(_candles_csv(9))
    fallback = resolve_dataset_version(project.config, EURUSD, content_hash="x")
    assert "the DVC cache has no manifest" in fallback.params["dataset.dvc_skipped"]


def test_a_training_run_records_the_dvc_version(project: Project) -> None:
    from mlflow import MlflowClient

    from ml_platform.db import RunStore
    from ml_platform.training.tracking import Tracker
    from ml_platform.training.train import dataset_version, train_partition
    from tests.training.helpers import labeled_bio_frame, small_config

    config = small_config(project.root / "data", mlflow={"register": False, "experiment_name": "dvc-test"})
    assert config.data.raw_dir == project.raw
    assert config.data.annotations_dir == project.annotations
    project.dvc("add", "data/raw", "data/annotations")
    expected = partition_dvc_version(config, EURUSD)
    labeled = project.root / "data" / "labeled" / "EURUSD_1h.parquet"
    labeled.parent.mkdir(parents=True)
    labeled_bio_frame(config).to_parquet(labeled, index=False)

    store = RunStore(config.database.url)
    try:
        result = train_partition(
            config,
            EURUSD,
            labeled_path=labeled,
            bundle_dir=project.root / "models",
            run_store=store,
            tracker=Tracker.from_config(config),
        )
        (row,) = store.list_runs()
    finally:
        store.dispose()
    assert row.dataset_version == result.meta.dataset_version == expected.version
    params = MlflowClient(tracking_uri=config.mlflow.tracking_uri).get_run(result.mlflow_run_id).data.params
    assert params["dataset.version"] == expected.version and params["dataset.version_source"] == "dvc"
    assert params["dvc_raw_md5"] == project.manifest("raw")["EURUSD_1h.csv"]
    assert params["dvc_annotations_md5"] == project.recorded("annotations")
    assert params["dataset.content_hash"] == dataset_version(labeled.read_bytes())


# --------------------------------------------------------------------------- the committed files


def test_the_committed_dvc_files_match_make_sample_data(tmp_path: Path) -> None:
    """data/raw.dvc and data/annotations.dvc are what `dvc add` writes for `make sample-data`'s output.

    When this fails after a change to the sample data or to config/pipeline.yaml's partitions:
    `make sample-data && make data-push`, then commit the two .dvc files.
    """
    project_config = load_config(DEFAULT_CONFIG_PATH)
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run([str(DVC), "init", "--no-scm", "-q"], cwd=repo, check=True)
    folders = {"raw_path": project_config.data.raw_dir, "annotations_path": project_config.data.annotations_dir}
    committed = {field: Path(f"{folder}.dvc") for field, folder in folders.items()}
    layout = {field: repo / path.relative_to(PROJECT_ROOT).with_suffix("") for field, path in committed.items()}
    data = msgspec.structs.replace(
        project_config.data,
        raw_path=str(layout["raw_path"]),
        annotations_path=str(layout["annotations_path"]),
        ground_truth_path=str(tmp_path / "ground_truth.json"),
    )
    write_sample_data(msgspec.structs.replace(project_config, data=data))
    subprocess.run([str(DVC), "add", "-q", *map(str, layout.values())], cwd=repo, check=True)
    for field, path in committed.items():
        fresh = Path(f"{layout[field]}.dvc").read_text()
        assert path.is_file() and path.read_text() == fresh, (
            f"{path.relative_to(PROJECT_ROOT)} is stale: `make sample-data && make data-push`, then commit it"
        )


def test_git_keeps_the_dvc_files_and_ignores_the_data() -> None:
    if shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=PROJECT_ROOT).returncode == 0

    assert not any(ignored(p) for p in ("data/raw.dvc", "data/annotations.dvc", ".dvc/config", ".dvcignore"))
    assert all(
        ignored(p)
        for p in (
            "data/raw/EURUSD_1h.csv",
            "data/dvc-remote/files/md5/ab/cd",
            ".dvc/config.local",
            ".dvc/cache/files/md5/ab/cd",
            ".dvc/tmp/lock",
        )
    )
    shared = (PROJECT_ROOT / ".dvc" / "config").read_text()
    assert "analytics = false" in shared and "autostage" not in shared and "url" not in shared


def test_an_annotations_file_tracked_on_its_own(project: Project) -> None:
    """``data.annotations_path`` may be one export file: its md5 is DVC 3's, the bytes as they are (CRLF kept)."""
    export = project.root / "data" / "export.json"
    export.write_bytes(json.dumps(EXPORT, indent=1).replace("\n", "\r\n").encode())
    config = msgspec.structs.replace(
        project.config, data=msgspec.structs.replace(project.config.data, annotations_path=str(export))
    )
    project.dvc("add", "data/raw", "data/export.json")
    recorded = yaml.safe_load((project.root / "data" / "export.json.dvc").read_text())["outs"][0]["md5"]
    assert recorded == file_md5(export) == hashlib.md5(export.read_bytes()).hexdigest()
    assert partition_dvc_version(config, EURUSD).version.endswith(f"-{recorded[:16]}")
    export.write_bytes(export.read_bytes().replace(b"\r\n", b"\n"))
    assert resolve_dataset_version(config, EURUSD, content_hash="x").source == "content_hash"
