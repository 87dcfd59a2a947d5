"""The pipeline configuration: `config/pipeline.yaml` read into typed msgspec Structs.

Every stage reads its settings from one `PipelineConfig`. Loading fails early, with the
key path and the offending value (``training.split.train: 1.4 is not in (0, 1)``), so a
typo never surfaces as a confusing error three stages later.

The file comes from ``ML_PLATFORM_CONFIG`` (default ``config/pipeline.yaml`` under the
project root). Relative data paths resolve against the project root; absolute ones are
used as they are.

Modules: `base` (the Struct base, value types, `ConfigError`), `paths` (project root,
``ML_PLATFORM_CONFIG``, path and SQLite URL resolution), `data` (``data``, ``partitions``),
`stages` (``features``, ``labeling``, ``training``), `services` (``mlflow``, ``database``,
``serving``, ``dvc``), `loading` (`PipelineConfig`, `load_config`, `config_from_dict`).
"""

from ml_platform.config.base import (
    Color,
    ConfigError,
    NonNegativeInt,
    PositiveInt,
    Probability,
)
from ml_platform.config.data import DataConfig, PartitionsConfig, Store, ValidationSettings
from ml_platform.config.loading import PipelineConfig, config_from_dict, load_config
from ml_platform.config.paths import (
    CONFIG_ENV_VAR,
    DEFAULT_CONFIG_PATH,
    PROJECT_ROOT,
    config_path_from_env,
    resolve_path,
    resolve_sqlite_url,
)
from ml_platform.config.services import DatabaseConfig, DvcConfig, MlflowConfig, ServingConfig
from ml_platform.config.stages import (
    CdlConfig,
    ContextConfig,
    CustomFeatureSpec,
    FeaturesConfig,
    IndicatorSpec,
    LabelingConfig,
    LabelSpec,
    PoolConfig,
    RandomForestParams,
    SplitConfig,
    TrainingConfig,
    WindowConfig,
    XGBoostParams,
)

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_PATH",
    "PROJECT_ROOT",
    "CdlConfig",
    "Color",
    "ConfigError",
    "ContextConfig",
    "CustomFeatureSpec",
    "DataConfig",
    "DatabaseConfig",
    "DvcConfig",
    "FeaturesConfig",
    "IndicatorSpec",
    "LabelSpec",
    "LabelingConfig",
    "MlflowConfig",
    "NonNegativeInt",
    "PartitionsConfig",
    "PipelineConfig",
    "PoolConfig",
    "PositiveInt",
    "Probability",
    "RandomForestParams",
    "ServingConfig",
    "SplitConfig",
    "Store",
    "TrainingConfig",
    "ValidationSettings",
    "WindowConfig",
    "XGBoostParams",
    "config_from_dict",
    "config_path_from_env",
    "load_config",
    "resolve_path",
    "resolve_sqlite_url",
]
