"""The review queue: send annotators to the candles where a label teaches the model most.

`build_review_queue` ranks stretches of one series (`queue`); the ranking rule is in
`ranking`'s docstring, the components' formulas in `components`'.
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

__all__ = [
    "COMPONENTS",
    "ModelView",
    "ReviewItem",
    "ReviewQueue",
    "ReviewSettings",
    "ReviewedStretch",
    "build_review_queue",
    "fingerprint",
    "mark_reviewed",
    "queue_table",
    "view_from_candle_predictions",
    "view_from_detector",
    "view_from_scores",
]
