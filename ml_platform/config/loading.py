"""`PipelineConfig`, the whole configuration, and its loading with errors that name the key path and value."""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

import msgspec
import yaml

from ml_platform.config.base import ConfigError, Section
from ml_platform.config.data import DataConfig, PartitionsConfig
from ml_platform.config.execution import ExecutionConfig
from ml_platform.config.paths import CONFIG_ENV_VAR, config_path_from_env, resolve_path
from ml_platform.config.services import DatabaseConfig, DvcConfig, MlflowConfig, ServingConfig
from ml_platform.config.stages import FeaturesConfig, LabelingConfig, TrainingConfig


class PipelineConfig(Section, frozen=True):
    """The whole pipeline configuration, one section per stage."""

    data: DataConfig = DataConfig()
    partitions: PartitionsConfig = PartitionsConfig()
    features: FeaturesConfig = FeaturesConfig()
    labeling: LabelingConfig = LabelingConfig()
    training: TrainingConfig = TrainingConfig()
    mlflow: MlflowConfig = MlflowConfig()
    database: DatabaseConfig = DatabaseConfig()
    serving: ServingConfig = ServingConfig()
    dvc: DvcConfig = DvcConfig()
    execution: ExecutionConfig = ExecutionConfig()

    def partition_keys(self) -> list[str]:
        """Every `PAIR|TF` key, in config order (the Dagster multi-partition key format)."""
        return [f"{pair}|{tf}" for pair in self.partitions.pairs for tf in self.partitions.timeframes]

    def to_dict(self) -> dict[str, Any]:
        """Plain builtins, for YAML/JSON dumps (the model bundle stores the whole config)."""
        return msgspec.to_builtins(self)

    def fingerprint(self) -> str:
        """A short hash of the config, recorded with each training run."""
        return hashlib.sha256(msgspec.json.encode(self.to_dict(), order="sorted")).hexdigest()[:16]


def load_config(path: str | os.PathLike[str] | None = None) -> PipelineConfig:
    """Read and validate a pipeline config file.

    Parameters
    ----------
    path : path-like, optional
        The YAML file; default: ``ML_PLATFORM_CONFIG`` or ``config/pipeline.yaml``.

    Raises
    ------
    ConfigError
        Naming the file, the key path and the value at fault.
    """
    config_file = resolve_path(path) if path is not None else config_path_from_env()
    try:
        raw = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{config_file}: config file not found (set {CONFIG_ENV_VAR} to choose another)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_file}: not valid YAML: {exc}") from None
    return config_from_dict(raw if raw is not None else {}, source=str(config_file))


def config_from_dict(raw: Any, *, source: str = "<config>") -> PipelineConfig:
    """Validate an already parsed mapping (what `load_config` and the model bundle use)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections, got {type(raw).__name__}")
    try:
        return msgspec.convert(raw, PipelineConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {_explain(exc, raw)}") from None


def _explain(exc: msgspec.ValidationError, raw: dict[str, Any]) -> str:
    """Turn msgspec's "<reason> - at `$.a.b[0]`" into "a.b[0]: <value> <reason>"."""
    message = str(exc)
    reason, sep, location = message.rpartition(" - at `$")
    if not sep:
        reason, location = message, ""
    key_path = location.rstrip("`").lstrip(".")
    if reason.startswith("Object contains unknown field"):
        field = reason.split("`")[1]
        return f"{_join(key_path, field)}: unknown key (check the spelling; config/pipeline.yaml lists every key)"
    if _NAMES_ITS_FIELD.match(reason):  # a __post_init__ check that names its own field
        return _join(key_path, reason)
    if _NAMES_NO_FIELD.match(reason):
        return f"{key_path}: {reason}"
    value = _lookup(raw, key_path)
    shown = "" if value is _MISSING else f"{value!r} "
    return f"{key_path}: {shown}{_reword(reason)}"


_NAMES_ITS_FIELD = re.compile(r"^[a-z_]+(\[\d+\])?(, [a-z_]+)*:")
_NAMES_NO_FIELD = re.compile(r"^[a-z_ +]+ must ")


def _join(key_path: str, rest: str) -> str:
    return f"{key_path}.{rest}" if key_path else rest


_MISSING = object()


def _lookup(raw: Any, key_path: str) -> Any:
    """The value at a msgspec key path like ``training.split.train`` or ``pairs[2]``."""
    current = raw
    for part in key_path.replace("[", ".[").split("."):
        if not part:
            continue
        try:
            current = current[int(part[1:-1])] if part.startswith("[") else current[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return _MISSING
    return current


def _reword(reason: str) -> str:
    """Plain language for msgspec's bounds: "Expected `float` <= 1.0" becomes "must be <= 1.0"."""
    bound = re.fullmatch(r"Expected `\w+` ([<>]=?) (\S+)", reason)
    if bound:
        return f"must be {bound.group(1)} {bound.group(2)}"
    return reason[0].lower() + reason[1:] if reason else reason
