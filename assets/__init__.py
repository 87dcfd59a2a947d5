"""Dagster assets, checks, sensors and schedules; `assets.definitions` holds the `Definitions`."""

import warnings

from dagster import PreviewWarning

# Partitioned asset checks are "preview" in Dagster 1.13; the warning would print on every load.
warnings.filterwarnings("ignore", category=PreviewWarning)
