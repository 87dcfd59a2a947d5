"""The pipeline configuration and data locations as one Dagster resource."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from dagster import ConfigurableResource

from ml_platform.config import PipelineConfig, load_config
from ml_platform.partitions import validate_pair


class PipelineResource(ConfigurableResource):
    """Loads `config/pipeline.yaml` (or `config_path`, else ``ML_PLATFORM_CONFIG``) and names files.

    Assets take it as a typed parameter (``pipeline: PipelineResource``) and never build
    a data path by hand, so a partition key reaches the file system only after validation.
    """

    config_path: str | None = None

    def load(self) -> PipelineConfig:
        """The validated configuration (re-read on each call so an edited file takes effect)."""
        return load_config(self.config_path)

    def load_with_pairs(self, pairs: Iterable[str]) -> PipelineConfig:
        """`load`, with the `pairs` the config does not list appended to ``partitions.pairs``.

        For the pairs added to the Dagster instance without a redeploy (`assets.partitions`): the
        labelling then accepts their annotations, and a model bundle records its own pair.
        """
        return with_pairs(self.load(), pairs)


def with_pairs(config: PipelineConfig, pairs: Iterable[str]) -> PipelineConfig:
    """`config` with the (validated) `pairs` it does not list appended to ``partitions.pairs``, in order."""
    listed = list(config.partitions.pairs)
    extra = [validate_pair(pair) for pair in dict.fromkeys(pairs) if pair not in listed]
    if not extra:
        return config
    partitions = msgspec.structs.replace(config.partitions, pairs=[*listed, *extra])
    return msgspec.structs.replace(config, partitions=partitions)
