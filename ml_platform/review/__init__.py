"""The review queue: send annotators to the candles where a label teaches the model most.

`build_review_queue` ranks stretches of one series (`queue`); the ranking rule is in
`ranking`'s docstring, the components' formulas in `components`'. `build` makes one
partition's queue from the pipeline's files, `store` writes and reads its JSON file.
"""

from __future__ import annotations

from ml_platform.review.model_view import (
    ModelView,
    view_from_candle_predictions,
    view_from_detector,
    view_from_scores,
)
from ml_platform.review.queue import build_review_queue
from ml_platform.review.results import ReviewItem, ReviewQueue, queue_table
from ml_platform.review.reviewed import ReviewedStretch, fingerprint, mark_reviewed
from ml_platform.review.settings import COMPONENTS, ReviewSettings
from ml_platform.review.store import FORMAT_VERSION, ReviewFileError, ReviewQueueFile, read_queue_file, write_queue_file

__all__ = [
    "COMPONENTS",
    "FORMAT_VERSION",
    "ModelView",
    "ReviewItem",
    "ReviewQueue",
    "ReviewFileError",
    "ReviewQueueFile",
    "ReviewSettings",
    "ReviewedStretch",
    "build_review_queue",
    "fingerprint",
    "mark_reviewed",
    "queue_table",
    "read_queue_file",
    "view_from_candle_predictions",
    "view_from_detector",
    "view_from_scores",
    "write_queue_file",
]
