"""The body of ``GET /review-queue``: a partition's built review queue, as the ``review_queue`` asset wrote it.

Items are `ml_platform.review.ReviewItem` (the file's own type, so the file and the answer
cannot drift); the envelope says which model and annotations the queue was built from.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from ml_platform.review import ReviewItem
from serving.schemas import Schema

MAX_REVIEW_LIMIT = 500
"""Largest ``limit``: the asset writes at most this many items (`ml_platform.review.build.FILE_LIMIT`)."""


class ReviewQueueResponse(Schema):
    """The first ``limit`` stretches of the partition's queue, best first."""

    pair: str
    timeframe: str
    built_at: Annotated[str, msgspec.Meta(description="When the review_queue asset built it, ISO-8601 UTC.")]
    model_version: Annotated[str, msgspec.Meta(description="The bundle whose predictions ranked the stretches.")]
    annotations_hash: Annotated[str, msgspec.Meta(description="Hash of the partition's annotations it saw.")]
    n_candles: Annotated[int, msgspec.Meta(description="Stored candles the queue was built over.")]
    total: Annotated[int, msgspec.Meta(description="Stretches in the built queue (before `limit`).")]
    weights: Annotated[dict[str, float], msgspec.Meta(description="Component weights of the score.")]
    items: list[ReviewItem]
