"""GET /review-queue: the partition's review queue, read from the file the ``review_queue`` asset wrote.

The service does not recompute the queue (it would need the annotations and a whole-series
prediction per request): it serves ``{data.review_path}/{PAIR}_{TF}.json`` as built, cut to
``limit``. Reviewed stretches are filtered by the web, which keeps the review marks.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from litestar import Controller, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from ml_platform.review import ReviewFileError, read_queue_file
from serving.errors import NotFoundError, ServiceError, error_responses
from serving.review_schemas import MAX_REVIEW_LIMIT, ReviewQueueResponse
from serving.schemas import ErrorResponse
from serving.service import parse_partition


class QueueNotBuiltError(ServiceError):
    """409: the partition is known but its review queue has not been built (or cannot be read)."""

    status_code: ClassVar[int] = 409
    code: ClassVar[str] = "review_queue_not_built"


NOT_BUILT = {
    409: ResponseSpec(
        data_container=ErrorResponse,
        description="The partition's review queue has not been built: materialize review_queue "
        "(or run python -m ml_platform.review).",
        generate_examples=False,
    )
}


class ReviewController(Controller):
    tags = ["review"]

    @get(
        "/review-queue",
        operation_id="getReviewQueue",
        sync_to_thread=True,
        responses={**error_responses(400, 401, 404), **NOT_BUILT},
    )
    def review_queue(
        self,
        state: State,
        pair: Annotated[str, Parameter(description="E.g. EURUSD or BTC-USDT.", min_length=1, max_length=64)],
        timeframe: Annotated[
            str, Parameter(description="One of 1m 5m 15m 30m 1h 4h 1d 1w.", min_length=1, max_length=8)
        ],
        limit: Annotated[
            int,
            Parameter(ge=1, le=MAX_REVIEW_LIMIT, description="At most this many stretches, best first."),
        ] = 50,
    ) -> ReviewQueueResponse:
        """The partition's review queue as the review_queue asset built it (not recomputed here), best first."""
        settings = state.settings
        partition = parse_partition(pair, timeframe, settings, state.models.current)
        path = settings.config.data.review_file(partition)
        try:
            built = read_queue_file(path)
        except ReviewFileError as exc:
            raise QueueNotBuiltError(str(exc)) from None
        if built is None:
            raise QueueNotBuiltError(
                f"no review queue built for {partition.pair} {partition.timeframe} yet: materialize review_queue "
                f"for '{partition.key}' (or run python -m ml_platform.review); it is written to {path.name}"
            )
        if (built.pair, built.timeframe) != (partition.pair, partition.timeframe):
            raise NotFoundError(f"{path}: holds the queue of {built.pair} {built.timeframe}, not {partition.key}")
        queue = built.queue
        return ReviewQueueResponse(
            pair=built.pair,
            timeframe=built.timeframe,
            built_at=built.built_at,
            model_version=built.model_version,
            annotations_hash=built.annotations_hash,
            n_candles=built.n_candles,
            total=len(queue.items),
            weights=dict(queue.weights),
            items=list(queue.items[:limit]),
        )
