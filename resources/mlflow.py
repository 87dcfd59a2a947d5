"""MLflow as a Dagster resource that opens and closes its own runs.

dagster-mlflow's `mlflow_tracking` starts a run when the resource is built and relies on
a later hook to end it, so runs launched from the UI's Materialize button stay RUNNING.
This resource hands out a `Tracker` whose ``run()`` context manager ends every run
FINISHED or FAILED (`ml_platform.training.tracking.tracked_run`).

The tracking URI: the resource's ``tracking_uri`` if set, else ``MLFLOW_TRACKING_URI``,
else ``mlflow.tracking_uri`` of the pipeline config (embedded SQLite by default).
"""

from dagster import ConfigurableResource

from ml_platform.config import PipelineConfig
from ml_platform.training.tracking import Tracker


class MlflowResource(ConfigurableResource):
    """MLflow tracking and registry for the training assets.

    tracking_uri : str, optional
        Overrides ``MLFLOW_TRACKING_URI`` and the config (e.g. ``http://mlflow:5000`` in compose).
    experiment_name : str, optional
        Overrides ``mlflow.experiment_name``.
    """

    tracking_uri: str | None = None
    experiment_name: str | None = None

    def tracker(self, config: PipelineConfig) -> Tracker:
        """Where runs of `config` are tracked, and whether/how models are registered."""
        return Tracker.from_config(config, uri=self.tracking_uri, experiment_name=self.experiment_name)
