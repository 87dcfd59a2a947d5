"""The `training_runs` store (PostgreSQL or SQLite) as a Dagster resource."""

from dagster import ConfigurableResource

from ml_platform.config import PipelineConfig
from ml_platform.db import RunStore, database_url


class RunStoreResource(ConfigurableResource):
    """Opens a `RunStore` on ``url``, else ``DATABASE_URL``, else ``database.url`` of the config.

    The schema is brought to the newest Alembic migration on first use. Call
    ``store.dispose()`` when done (the asset does).
    """

    url: str | None = None

    def store(self, config: PipelineConfig) -> RunStore:
        return RunStore(self.url or database_url(config))
