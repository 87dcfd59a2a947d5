"""Config loading: the shipped file is valid, and every kind of error names the key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_platform.config import (
    DEFAULT_CONFIG_PATH,
    PROJECT_ROOT,
    ConfigError,
    PipelineConfig,
    config_from_dict,
    load_config,
    resolve_path,
    resolve_sqlite_url,
)


def test_shipped_config_is_valid_and_complete() -> None:
    config = load_config(DEFAULT_CONFIG_PATH)
    assert config.partition_keys()[0] == "EURUSD|1h"
    assert {spec.name for spec in config.labeling.labels} >= {"bull_flag", "double_top", "head_and_shoulders"}
    # every section is spelled out in the file, so the file documents the defaults
    assert config == PipelineConfig()


def test_env_var_selects_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("partitions:\n  pairs: [XAUUSD]\n  timeframes: [1d]\n")
    monkeypatch.setenv("ML_PLATFORM_CONFIG", str(other))
    assert load_config().partition_keys() == ["XAUUSD|1d"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"training": {"split": {"train": 1.4}}}, "training.split.train: 1.4 is not in (0, 1)"),
        ({"training": {"split": {"train": 0.8}}}, "training.split: train + validation + test must add up to 1"),
        ({"data": {"raw_pth": "x"}}, "data.raw_pth: unknown key"),
        ({"servng": {}}, "servng: unknown key"),
        (
            {"training": {"xgboost": {"max_depth": "deep"}}},
            "training.xgboost.max_depth: 'deep' expected `int`, got `str`",
        ),
        ({"labeling": {"min_confidence": 2}}, "labeling.min_confidence: 2 must be <= 1.0"),
        ({"labeling": {"mode": "sequence"}}, "labeling.mode: 'sequence'"),
        ({"partitions": {"pairs": ["eur/usd"]}}, "partitions.pairs[0]: 'eur/usd' is not upper-case letters and digits"),
        (
            {"partitions": {"timeframes": ["2h"]}},
            "partitions.timeframes[0]: '2h' is not one of 1m 5m 15m 30m 1h 4h 1d 1w",
        ),
        ({"labeling": {"labels": [{"name": "flag", "color": "green"}]}}, "labeling.labels[0].color: 'green'"),
    ],
)
def test_errors_name_the_key_path_and_value(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_dict(raw, source="pipeline.yaml")
    assert str(error.value).startswith("pipeline.yaml: ")
    assert message in str(error.value)


def test_missing_and_malformed_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml: config file not found"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_config(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    with pytest.raises(ConfigError, match="scalar.yaml: the top level must be a mapping"):
        load_config(scalar)


def test_relative_paths_resolve_against_the_project_root(tmp_path: Path) -> None:
    assert resolve_path("data/raw") == PROJECT_ROOT / "data/raw"
    assert resolve_path(tmp_path) == tmp_path
    assert resolve_sqlite_url("sqlite:///data/x.db") == f"sqlite:///{PROJECT_ROOT}/data/x.db"
    assert resolve_sqlite_url(f"sqlite:///{tmp_path}/x.db") == f"sqlite:///{tmp_path}/x.db"
    assert resolve_sqlite_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"


def test_fingerprint_changes_with_the_config() -> None:
    base = PipelineConfig()
    changed = config_from_dict({"training": {"model_type": "random_forest"}})
    assert base.fingerprint() == PipelineConfig().fingerprint()
    assert base.fingerprint() != changed.fingerprint()
