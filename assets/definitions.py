"""The Dagster `Definitions`: what `dagster dev` and `dagster asset materialize -m assets.definitions` load."""

from dagster import AssetSelection, Definitions

from assets.automation import nightly_retrain, pipeline_job, relabel_job, retrain_job
from assets.candles import raw_candles
from assets.checks import FEATURE_CHECKS, RAW_CANDLE_CHECKS
from assets.execution import build_executor
from assets.features import enriched_features
from assets.labels import LABEL_ASSETS
from assets.models import trained_model
from assets.run_failure import close_failed_training_runs
from assets.sensors import build_annotations_sensor, build_automation_sensor
from ml_platform.config import load_config
from resources.mlflow import MlflowResource
from resources.pipeline import PipelineResource
from resources.run_store import RunStoreResource

defs = Definitions(
    assets=[raw_candles, enriched_features, *LABEL_ASSETS, trained_model],
    asset_checks=[*RAW_CANDLE_CHECKS, *FEATURE_CHECKS],
    jobs=[pipeline_job, relabel_job, retrain_job],
    schedules=[nightly_retrain],
    sensors=[
        # a changed annotations export relabels and retrains exactly the partitions it touches
        build_annotations_sensor(relabel_job),
        # named and described in place of Dagster's default_automation_condition_sensor
        build_automation_sensor(AssetSelection.assets(enriched_features, trained_model)),
        # a failed run leaves no MLflow run RUNNING and no training_runs row running
        close_failed_training_runs,
    ],
    resources={"pipeline": PipelineResource(), "mlflow": MlflowResource(), "run_store": RunStoreResource()},
    # execution.engine (ML_PLATFORM_EXECUTION_ENGINE) selects it. in_process (the default): one
    # process per run, since a step is seconds of numpy work while a process per step costs ~5 s
    # of imports on a 2-core machine; parallelism comes from concurrent runs. celery: each step on
    # a Celery worker, the workers on as many hosts as there are (assets/execution.py).
    executor=build_executor(load_config()),
)
