"""The Dagster `Definitions`: what `dagster dev` and `dagster asset materialize -m assets.definitions` load."""

from dagster import Definitions, in_process_executor

from assets.candles import raw_candles
from assets.checks import FEATURE_CHECKS, RAW_CANDLE_CHECKS
from assets.features import enriched_features
from assets.labels import LABEL_ASSETS, LABEL_SENSORS
from resources.pipeline import PipelineResource

defs = Definitions(
    assets=[raw_candles, enriched_features, *LABEL_ASSETS],
    asset_checks=[*RAW_CANDLE_CHECKS, *FEATURE_CHECKS],
    sensors=[*LABEL_SENSORS],
    resources={"pipeline": PipelineResource()},
    # One process per run: a step is seconds of numpy work, while a process per step costs
    # ~5 s of imports each on this 2-core machine. Parallelism comes from concurrent runs.
    executor=in_process_executor,
)
