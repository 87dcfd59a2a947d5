"""POST /predict and POST /predict/batch."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency

from serving.controllers.dependencies import PREDICT
from serving.errors import error_responses
from serving.schemas import BatchPredictRequest, PredictRequest, PredictResponse
from serving.service import PredictService


class PredictController(Controller):
    tags = ["predict"]
    dependencies = PREDICT

    @post(
        "/predict",
        operation_id="predict",
        status_code=200,
        sync_to_thread=True,
        responses=error_responses(400, 401, 404, 413, 422, 503),
    )
    def predict(self, data: PredictRequest, predict_service: NamedDependency[PredictService]) -> PredictResponse:
        """Label each candle of the request and group the labels into spans.

        Features are computed with the model bundle's own config (the training code), so
        the request's candles get exactly the features training saw. `predictions` holds
        one entry per labelled candle: `label` is the pattern name (B-/I- stripped, `O` for
        none), `tag` the raw class, `index` the position in `candles`. The first
        `unlabeled_leading` candles (indicator warm-up + previous-candle context, or half a
        window) and the last `unlabeled_trailing` (look-ahead context) get no label;
        `reason` says why. `spans` group consecutive candles with the same pattern (a `B-`
        tag starts a new span); their indices point into `candles`.
        """
        return predict_service.predict(data)

    @post(
        "/predict/batch",
        operation_id="predictBatch",
        status_code=200,
        sync_to_thread=True,
        responses=error_responses(400, 401, 404, 422, 503),
    )
    def predict_batch(
        self, data: BatchPredictRequest, predict_service: NamedDependency[PredictService]
    ) -> PredictResponse:
        """Label the stored candles with `start <= time <= end`, in `batch_size` chunks.

        Features are computed once over the stored history up to the range (so recursive
        indicators equal the training features bit for bit); the model runs in chunks that
        each carry their context rows, so the answer equals one pass over the range
        whatever `batch_size`. Indices point into the range's candles (0 = the first
        candle at or after `start`).
        """
        return predict_service.predict_batch(data)
