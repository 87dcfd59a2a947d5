"""The Dagster `Definitions`: what `dagster dev` and `dagster asset materialize -m assets.definitions` load."""

from dagster import Definitions, in_process_executor

from assets.automation import nightly_retrain, retrain_job
from assets.candles import raw_candles
from assets.checks import FEATURE_CHECKS, RAW_CANDLE_CHECKS
from assets.features import enriched_features
from assets.labels import LABEL_ASSETS, build_annotations_sensor, labeled_windows
from assets.models import trained_model
from resources.mlflow import MlflowResource
from resources.pipeline import PipelineResource
from resources.run_store import RunStoreResource

defs = Definitions(
    assets=[raw_candles, enriched_features, *LABEL_ASSETS, trained_model],
    asset_checks=[*RAW_CANDLE_CHECKS, *FEATURE_CHECKS],
    jobs=[retrain_job],
    schedules=[nightly_retrain],
    # a changed annotations export relabels and retrains exactly the partitions it touches
    sensors=[build_annotations_sensor([labeled_windows, trained_model])],
    resources={"pipeline": PipelineResource(), "mlflow": MlflowResource(), "run_store": RunStoreResource()},
    # One process per run: a step is seconds of numpy work, while a process per step costs
    # ~5 s of imports each on this 2-core machine. Parallelism comes from concurrent runs.
    executor=in_process_executor,
)
