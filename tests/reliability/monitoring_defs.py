"""The code location the live ``dagster-daemon`` of ``test_run_monitoring_daemon.py`` loads.

The real ``trained_model`` asset and its resources, in-process execution (the default
``execution.engine``), the real run-failure sensor evaluated every second instead of every 30,
and a sensor that requests one run of ``EURUSD|1h`` (the daemon queues it, dequeues it and
launches it through the default run launcher: a subprocess of the code server). The config is
``ML_PLATFORM_CONFIG``, as in ``assets/definitions.py``.
"""

from dagster import (
    DefaultSensorStatus,
    Definitions,
    MultiPartitionKey,
    RunRequest,
    define_asset_job,
    in_process_executor,
    sensor,
)

from assets.models import trained_model
from assets.run_failure import build_close_failed_training_runs
from resources.mlflow import MlflowResource
from resources.pipeline import PipelineResource
from resources.run_store import RunStoreResource

train_job = define_asset_job("train_only", selection=[trained_model])


@sensor(job=train_job, minimum_interval_seconds=1, default_status=DefaultSensorStatus.RUNNING)
def request_one_training() -> RunRequest:
    return RunRequest(run_key="once", partition_key=MultiPartitionKey({"pair": "EURUSD", "timeframe": "1h"}))


defs = Definitions(
    assets=[trained_model],
    jobs=[train_job],
    sensors=[request_one_training, build_close_failed_training_runs(minimum_interval_seconds=1)],
    resources={"pipeline": PipelineResource(), "mlflow": MlflowResource(), "run_store": RunStoreResource()},
    executor=in_process_executor,
)
