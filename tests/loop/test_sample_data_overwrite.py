"""`make sample-data` / `make demo` never replace a raw file they did not write (ml_platform.sample_data.manifest)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ml_platform.config import DataConfig, load_config
from ml_platform.sample_data import write_sample_data
from ml_platform.sample_data.cli import main
from ml_platform.sample_data.manifest import SampleDataOverwriteError, read_manifest

N = 400


def _config(tmp_path: Path) -> Path:
    raw = {
        "data": DataConfig.paths_under(tmp_path),
        "partitions": {"pairs": ["EURUSD", "GBPUSD"], "timeframes": ["1h"]},
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_refuses_a_users_raw_file_and_names_it_and_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_path = _config(tmp_path)
    config = load_config(config_path)
    raw = config.data.raw_dir
    raw.mkdir(parents=True)
    mine = raw / "GBPUSD_1h.csv"
    mine.write_text("timestamp,open,high,low,close,volume\n2020-01-01T00:00:00Z,1,1,1,1,1\n")
    with pytest.raises(SampleDataOverwriteError, match=r"GBPUSD_1h\.csv.*--force.*FORCE=1"):
        write_sample_data(config, n_candles=N, seed=5)
    assert not (raw / "EURUSD_1h.csv").exists()  # nothing written at all
    assert main(["--config", str(config_path), "--candles", str(N)]) == 2
    assert "GBPUSD_1h.csv" in capsys.readouterr().err
    assert mine.read_text().startswith("timestamp")

    write_sample_data(config, n_candles=N, seed=5, force=True)
    assert set(read_manifest(config.data.ground_truth_file)) == {"EURUSD_1h.csv", "GBPUSD_1h.csv"}


def test_rewrites_its_own_files_but_not_once_the_user_changed_them(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    write_sample_data(config, n_candles=N, seed=5)
    write_sample_data(config, n_candles=N + 50, seed=6)  # its own files (manifest): replaced
    edited = config.data.raw_dir / "EURUSD_1h.csv"
    edited.write_text(edited.read_text() + "")  # same bytes: still its own
    write_sample_data(config, n_candles=N, seed=5)
    edited.write_text(edited.read_text().replace("\n", "\n", 1) + "2099-01-01T00:00:00Z,1,1,1,1,1\n")
    with pytest.raises(SampleDataOverwriteError, match="EURUSD_1h.csv"):
        write_sample_data(config, n_candles=N, seed=5)


def test_identical_sample_files_from_before_the_manifest_are_its_own(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    write_sample_data(config, n_candles=N, seed=5)
    config.data.ground_truth_file.unlink()
    write_sample_data(config, n_candles=N, seed=5)  # same bytes as it would write: allowed
