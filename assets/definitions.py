"""The Dagster `Definitions`: what `dagster dev` and `dagster asset materialize -m assets.definitions` load.

`build_definitions(config)` builds them; the module's `defs` is built from `load_config()` when the
module is loaded, and the configured pairs are then added to the ``DAGSTER_HOME`` instance
(`seed_dagster_home`): the ``pair`` dimension is dynamic (`assets.partitions`), and the CLI checks
``--partition 'EURUSD|1h'`` against the instance before it runs anything.
"""

from dagster import AssetSelection, Definitions

from assets.automation import build_pair_schedules, pipeline_job, relabel_job, retrain_job
from assets.candles import raw_candles
from assets.checks import FEATURE_CHECKS, RAW_CANDLE_CHECKS
from assets.execution import build_executor
from assets.features import enriched_features
from assets.labels import LABEL_ASSETS, labeled_windows
from assets.models import trained_model
from assets.partitions import seed_dagster_home
from assets.pooled import build_pooled_model
from assets.review import review_queue
from assets.run_failure import close_failed_training_runs
from assets.sensors import build_annotations_sensor, build_automation_sensor, build_raw_data_sensor
from ml_platform.config import PipelineConfig, load_config
from resources.mlflow import MlflowResource
from resources.pipeline import PipelineResource
from resources.run_store import RunStoreResource


def build_definitions(config: PipelineConfig) -> Definitions:
    """The Definitions for `config`: its backfill schedules and its executor (the partitions need no config)."""
    # pooled_model (one model per timeframe over several pairs) exists only with training.pool.enabled: it is
    # partitioned by timeframe, so `--select '*' --partition 'EURUSD|1h'` would otherwise mix two partitionings
    pooled = [build_pooled_model(config)] if config.training.pool.enabled else []
    return Definitions(
        assets=[raw_candles, enriched_features, *LABEL_ASSETS, trained_model, *pooled, review_queue],
        asset_checks=[*RAW_CANDLE_CHECKS, *FEATURE_CHECKS],
        jobs=[pipeline_job, relabel_job, retrain_job],
        # one staggered backfill schedule per configured pair, and one for the pairs added beyond them
        schedules=build_pair_schedules(config),
        sensors=[
            # a changed annotations export relabels and retrains exactly the partitions it touches
            build_annotations_sensor(relabel_job),
            # a new or changed data/raw/{PAIR}_{TF} file materializes raw_candles; the chain follows (eager)
            build_raw_data_sensor(),
            # named and described in place of Dagster's default_automation_condition_sensor
            build_automation_sensor(
                AssetSelection.assets(enriched_features, labeled_windows, trained_model, *pooled, review_queue)
            ),
            # a failed run leaves no MLflow run RUNNING and no training_runs row running
            close_failed_training_runs,
        ],
        resources={"pipeline": PipelineResource(), "mlflow": MlflowResource(), "run_store": RunStoreResource()},
        # execution.engine (ML_PLATFORM_EXECUTION_ENGINE) selects it. in_process (the default): one
        # process per run, since a step is seconds of numpy work while a process per step costs ~5 s
        # of imports on a 2-core machine; parallelism comes from concurrent runs. celery: each step on
        # a Celery worker, the workers on as many hosts as there are (assets/execution.py).
        executor=build_executor(config),
    )


_config = load_config()
defs = build_definitions(_config)
seed_dagster_home(_config)  # the config's pairs seed the instance's pair partitions (the CLI validates against them)
