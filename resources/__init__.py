"""Dagster resources: typed handles the assets receive as parameters."""

from resources.pipeline import PipelineResource

__all__ = ["PipelineResource"]
