"""The pipeline configuration and data locations as one Dagster resource."""

from __future__ import annotations

from dagster import ConfigurableResource

from ml_platform.config import PipelineConfig, load_config


class PipelineResource(ConfigurableResource):
    """Loads `config/pipeline.yaml` (or `config_path`, else ``ML_PLATFORM_CONFIG``) and names files.

    Assets take it as a typed parameter (``pipeline: PipelineResource``) and never build
    a data path by hand, so a partition key reaches the file system only after validation.
    """

    config_path: str | None = None

    def load(self) -> PipelineConfig:
        """The validated configuration (re-read on each call so an edited file takes effect)."""
        return load_config(self.config_path)
