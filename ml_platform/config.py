"""The pipeline configuration: `config/pipeline.yaml` read into typed msgspec Structs.

Every stage reads its settings from one `PipelineConfig`. Loading fails early, with the
key path and the offending value (``training.split.train: 1.4 is not in (0, 1)``), so a
typo never surfaces as a confusing error three stages later.

The file comes from ``ML_PLATFORM_CONFIG`` (default ``config/pipeline.yaml`` under the
project root). Relative data paths resolve against the project root; absolute ones are
used as they are.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import yaml

from ml_platform.partitions import PAIR_PATTERN, TIMEFRAMES, Partition

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "pipeline.yaml"
CONFIG_ENV_VAR = "ML_PLATFORM_CONFIG"

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
Probability = Annotated[float, msgspec.Meta(ge=0, le=1)]
Color = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")]


class ConfigError(ValueError):
    """The configuration file is missing, unreadable, or has a wrong key or value."""


class _Section(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base for every section: unknown keys are errors, values are immutable."""


# --------------------------------------------------------------------------- data


class ValidationSettings(_Section, frozen=True):
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


class DataConfig(_Section, frozen=True):
    """Where every stage reads and writes its files (see DESIGN.md, "Files between stages")."""

    raw_path: str = "data/raw"
    raw_store: str = "data/candles"
    enriched_path: str = "data/enriched"
    labeled_path: str = "data/labeled"
    models_path: str = "data/models"
    annotations_path: str = "data/annotations"
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

    def bundle_dir(self, partition: Partition) -> Path:
        """``{models_path}/{PAIR}_{TF}/``: the partition's model bundle folder."""
        return self.models_dir / partition.stem


# --------------------------------------------------------------------------- partitions


class PartitionsConfig(_Section, frozen=True):
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


# --------------------------------------------------------------------------- features


class IndicatorSpec(_Section, frozen=True):
    """One TA-Lib indicator: its function name and the parameters that differ from TA-Lib's defaults.

    The column name is the lower-case function name followed by the configured parameter
    values in TA-Lib's parameter order (`RSI` with `timeperiod: 14` gives `rsi_14`).
    """

    name: str
    params: dict[str, float | int] = msgspec.field(default_factory=dict)


class CustomFeatureSpec(_Section, frozen=True):
    """A user function `module:function` or `path/to/file.py:function` returning extra columns.

    name : str
        The column name (a Series result) or the prefix for a DataFrame result's columns.
    params : dict
        Keyword arguments passed to the function after the candle frame.
    """

    name: str
    function: str
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class ContextConfig(_Section, frozen=True):
    """Neighbouring candles' features attached to each row of a per-candle (BIO) model.

    previous : int, default 3
        Candles before the row. Causal: always available.
    next : int, default 2
        Candles after the row (look-ahead). Legitimate when annotating history; set 0 for a
        causal model on live data, where the last candle has no future yet.
    """

    previous: NonNegativeInt = 3
    next: NonNegativeInt = 2


def _default_indicators() -> list[IndicatorSpec]:
    return [
        IndicatorSpec(name="RSI", params={"timeperiod": 14}),
        IndicatorSpec(name="SMA", params={"timeperiod": 20}),
        IndicatorSpec(name="EMA", params={"timeperiod": 50}),
        IndicatorSpec(name="MACD", params={"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}),
        IndicatorSpec(name="BBANDS", params={"timeperiod": 20}),
        IndicatorSpec(name="ATR", params={"timeperiod": 14}),
        IndicatorSpec(name="ADX", params={"timeperiod": 14}),
        IndicatorSpec(name="CCI", params={"timeperiod": 20}),
        IndicatorSpec(name="WILLR", params={"timeperiod": 14}),
        IndicatorSpec(name="ROC", params={"timeperiod": 10}),
    ]


class FeaturesConfig(_Section, frozen=True):
    """Which features `ml_platform.features.build_features` computes."""

    indicators: list[IndicatorSpec] = msgspec.field(default_factory=_default_indicators)
    candle_geometry: bool = True
    candle_averages: bool = True
    custom: list[CustomFeatureSpec] = msgspec.field(default_factory=list)
    context: ContextConfig = ContextConfig()


# --------------------------------------------------------------------------- labeling


class LabelSpec(_Section, frozen=True):
    """A pattern label annotators can choose, with the colour the chart draws it in."""

    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]*$")]
    color: Color


class WindowConfig(_Section, frozen=True):
    """Windowed classification: one fixed-size window per span.

    size : int, default 48
        Candles per window, context padding included.
    context_padding : int, default 4
        Candles kept before and after the span inside the window.
    pad_policy : "edge" or "drop", default "edge"
        A window running past either end of the series repeats the edge candle, or is dropped.
    negative_ratio : float, default 1.0
        Negative ("O") windows sampled per positive window from stretches with no annotation.
    """

    size: PositiveInt = 48
    context_padding: NonNegativeInt = 4
    pad_policy: Literal["edge", "drop"] = "edge"
    negative_ratio: Annotated[float, msgspec.Meta(ge=0)] = 1.0


class CdlConfig(_Section, frozen=True):
    """Programmatic labels from TA-Lib's CDL* candlestick functions."""

    enabled: bool = True
    patterns: list[str] = msgspec.field(
        default_factory=lambda: ["CDLENGULFING", "CDLHAMMER", "CDLDOJI", "CDLSHOOTINGSTAR", "CDLHARAMI"]
    )


def _default_labels() -> list[LabelSpec]:
    return [
        LabelSpec(name="bull_flag", color="#26a69a"),
        LabelSpec(name="double_top", color="#ef5350"),
        LabelSpec(name="head_and_shoulders", color="#ab47bc"),
    ]


class LabelingConfig(_Section, frozen=True):
    """How annotations and TA-Lib CDL labels become training rows."""

    mode: Literal["bio", "window"] = "bio"
    labels: list[LabelSpec] = msgspec.field(default_factory=_default_labels)
    min_confidence: Probability = 0.5
    strict: bool = False
    merge_strategy: Literal["human_priority", "programmatic_priority", "both"] = "human_priority"
    window: WindowConfig = WindowConfig()
    cdl: CdlConfig = CdlConfig()
    seed: int = 7


# --------------------------------------------------------------------------- training


class SplitConfig(_Section, frozen=True):
    """Train/validation/test ratios; chronological unless `shuffle` is set (which leaks the future).

    gap : int or None, default None
        Rows left out between parts; None means the window length (or the context width in
        BIO mode), so overlapping windows never straddle two parts.
    """

    train: float = 0.7
    validation: float = 0.15
    test: float = 0.15
    gap: NonNegativeInt | None = None
    shuffle: bool = False

    def __post_init__(self) -> None:
        for name in ("train", "validation", "test"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ValueError(f"{name}: {value!r} is not in (0, 1)")
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + validation + test must add up to 1, got {total:g}")


class RandomForestParams(_Section, frozen=True):
    n_estimators: PositiveInt = 200
    max_depth: PositiveInt | None = None
    min_samples_leaf: PositiveInt = 2
    max_features: str | float = "sqrt"
    n_jobs: int = -1


class XGBoostParams(_Section, frozen=True):
    n_estimators: PositiveInt = 200
    max_depth: PositiveInt = 6
    learning_rate: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.1
    subsample: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.9
    colsample_bytree: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.8
    tree_method: str = "hist"
    n_jobs: int = -1


class TrainingConfig(_Section, frozen=True):
    """Model choice and hyperparameters (one model per pair x timeframe partition)."""

    model_type: str = "xgboost"
    # fnmatch patterns of feature columns the model leaves out. The defaults are the
    # indicators measured in price units: when the price drifts out of the training range
    # their values carry no signal (span F1 0.60 with them, 0.81-0.87 without: BENCHMARKS.md).
    exclude_features: list[str] = msgspec.field(
        default_factory=lambda: ["sma_*", "ema_*", "macd_*", "bbands_*", "atr_*"]
    )
    class_weights: Literal["balanced", "none"] | dict[str, Annotated[float, msgspec.Meta(gt=0)]] = "balanced"
    split: SplitConfig = SplitConfig()
    random_forest: RandomForestParams = RandomForestParams()
    xgboost: XGBoostParams = XGBoostParams()
    seed: int = 42


# --------------------------------------------------------------------------- tracking, storage, serving


class MlflowConfig(_Section, frozen=True):
    """MLflow tracking; the embedded default is a SQLite store and an artifact folder."""

    tracking_uri: str = "sqlite:///data/mlflow/mlflow.db"
    artifact_location: str = "data/mlflow/artifacts"
    experiment_name: str = "candle-patterns"
    register: bool = True
    registered_model_prefix: str = "candle-patterns"
    alias: str = "champion"


class DatabaseConfig(_Section, frozen=True):
    """The `training_runs` store; `DATABASE_URL` overrides `url`."""

    url: str = "sqlite:///data/training_runs.db"


class ServingConfig(_Section, frozen=True):
    """The Litestar inference service."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8000
    model_source: Literal["bundle", "mlflow"] = "bundle"
    mlflow_alias: str = "champion"
    request_max_body_size: PositiveInt = 10_000_000
    max_candles: PositiveInt = 20_000
    batch_size: PositiveInt = 5_000
    cors_allow_origins: list[str] = msgspec.field(
        default_factory=lambda: ["http://localhost:3001", "http://127.0.0.1:3001"]
    )
    reload_interval_seconds: Annotated[float, msgspec.Meta(ge=0)] = 5.0


class DvcConfig(_Section, frozen=True):
    """Data versioning of `data/raw` and the annotation exports (``make data-push`` / ``make data-pull``).

    remote_name : str, default "local"
        The DVC remote's name (letters, digits, ``_`` and ``-``), made the default remote
        in ``.dvc/config.local`` at push/pull time.
    remote_path : str, default "data/dvc-remote"
        A folder (relative ones start at the project root) or a DVC remote URL
        (``s3://bucket/path``, ``ssh://host/path``: these need the ``dvc-s3`` / ``dvc-ssh`` package).
    """

    remote_name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]+$")] = "local"
    remote_path: Annotated[str, msgspec.Meta(min_length=1)] = "data/dvc-remote"

    @property
    def remote_is_local(self) -> bool:
        """True when `remote_path` is a folder on this machine, False for a URL."""
        return "://" not in self.remote_path

    def remote_url(self) -> str:
        """What ``dvc remote`` is given: a URL as written, a folder as an absolute path."""
        return str(resolve_path(self.remote_path)) if self.remote_is_local else self.remote_path


class PipelineConfig(_Section, frozen=True):
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

    def partition_keys(self) -> list[str]:
        """Every `PAIR|TF` key, in config order (the Dagster multi-partition key format)."""
        return [f"{pair}|{tf}" for pair in self.partitions.pairs for tf in self.partitions.timeframes]

    def to_dict(self) -> dict[str, Any]:
        """Plain builtins, for YAML/JSON dumps (the model bundle stores the whole config)."""
        return msgspec.to_builtins(self)

    def fingerprint(self) -> str:
        """A short hash of the config, recorded with each training run."""
        return hashlib.sha256(msgspec.json.encode(self.to_dict(), order="sorted")).hexdigest()[:16]


# --------------------------------------------------------------------------- loading


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """An absolute path: relative paths are taken from the project root, not the working directory."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate


def config_path_from_env() -> Path:
    """The config file selected by ``ML_PLATFORM_CONFIG``, else the project default."""
    value = os.environ.get(CONFIG_ENV_VAR)
    return resolve_path(value) if value else DEFAULT_CONFIG_PATH


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


def resolve_sqlite_url(url: str) -> str:
    """A SQLAlchemy/MLflow URL whose relative SQLite file path is anchored at the project root.

    ``sqlite:///data/x.db`` names a path relative to the working directory; the pipeline,
    the service and the tests all mean the project's ``data/x.db``. Other URLs pass through.
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/") or url == prefix + ":memory:":
        return url
    return prefix + str(resolve_path(url[len(prefix) :]))
