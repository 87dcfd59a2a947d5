"""GET /partitions and GET /candles: the stored candles, for the chart."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from serving.controllers.dependencies import DATA
from serving.errors import error_responses
from serving.schemas import MAX_EPOCH_SECONDS, Candle, PartitionInfo
from serving.service import DataService


class DataController(Controller):
    tags = ["data"]
    dependencies = DATA

    @get("/partitions", operation_id="listPartitions", sync_to_thread=True, responses=error_responses(401))
    def partitions(self, data_service: NamedDependency[DataService]) -> list[PartitionInfo]:
        """Every pair and timeframe with stored candles: count, first and last time, whether a model serves it."""
        return data_service.partitions()

    @get("/candles", operation_id="getCandles", sync_to_thread=True, responses=error_responses(400, 401, 404, 422))
    def candles(
        self,
        data_service: NamedDependency[DataService],
        pair: Annotated[str, Parameter(description="E.g. EURUSD or BTC-USDT.")],
        timeframe: Annotated[str, Parameter(description="One of 1m 5m 15m 30m 1h 4h 1d 1w.")],
        start: Annotated[
            int | None,
            Parameter(
                ge=0,
                le=MAX_EPOCH_SECONDS,
                schema_extra={"minimum": 0},
                description="Earliest candle time, epoch seconds (inclusive).",
            ),
        ] = None,
        end: Annotated[
            int | None,
            Parameter(
                ge=0,
                le=MAX_EPOCH_SECONDS,
                schema_extra={"minimum": 0},
                description="Latest candle time, epoch seconds (inclusive).",
            ),
        ] = None,
        limit: Annotated[
            int | None,
            Parameter(
                ge=1,
                le=MAX_EPOCH_SECONDS,
                description="At most this many candles: the LAST ones up to `end` when `start` is not given "
                "(paging history backwards), else the first ones from `start`.",
            ),
        ] = None,
    ) -> list[Candle]:
        """Stored candles with `start <= time <= end`, in time order."""
        return data_service.candles(pair, timeframe, start=start, end=end, limit=limit)
