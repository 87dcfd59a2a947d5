"""The built queue's file: ``{data.review_path}/{PAIR}_{TF}.json`` (`ReviewQueueFile`), written and read here only.

The ``review_queue`` asset writes it (``python -m ml_platform.review`` too); the service's
``GET /review-queue`` reads it and never recomputes. The JSON is one object::

    {"format_version": 1, "pair": "EURUSD", "timeframe": "1h", "built_at": "2026-11-29T03:00:00Z",
     "model_version": "v3", "annotations_hash": "9f2c...", "n_candles": 4000,
     "first_time": 1700000000, "last_time": 1714396400,
     "queue": {"n_candles": 4000, "weights": {...}, "considered": 812, "hidden": 0, "items": [ReviewItem, ...]}}

Items are best first, with candle positions into the stored series the queue was built over
and their epoch-second times (`results.ReviewItem`).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from ml_platform.review.results import ReviewQueue
from ml_platform.storage import write_atomic

FORMAT_VERSION = 1


class ReviewQueueFile(msgspec.Struct, frozen=True, kw_only=True):
    """One partition's built queue and what it was built from.

    format_version : int
        `FORMAT_VERSION` (1).
    pair, timeframe : str
    built_at : str
        ISO-8601 UTC, to the second.
    model_version : str
        The served bundle's ``model_version`` the predictions came from.
    annotations_hash : str
        Hash of the partition's annotations the queue saw (`ml_platform.labeling.annotations_hash`).
    n_candles : int
        Stored candles the queue was built over.
    first_time, last_time : int or None
        Epoch seconds of the first and last of them (None when there are none).
    queue : ReviewQueue
    """

    format_version: int
    pair: str
    timeframe: str
    built_at: str
    model_version: str
    annotations_hash: str
    n_candles: int
    first_time: int | None
    last_time: int | None
    queue: ReviewQueue


class ReviewFileError(ValueError):
    """The queue file exists but cannot be read as a `ReviewQueueFile` (the message names the file)."""


def write_queue_file(built: ReviewQueueFile, path: Path) -> Path:
    """Write `built` to `path` atomically (a reader sees the old file or the new one); return `path`."""
    data = msgspec.json.encode(built)
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def read_queue_file(path: Path) -> ReviewQueueFile | None:
    """The file at `path`; None when it does not exist.

    Raises
    ------
    ReviewFileError
        When it is not valid JSON of the format, or of another ``format_version``.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        built = msgspec.json.decode(data, type=ReviewQueueFile)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ReviewFileError(f"{path}: not a review queue file: {exc}; materialize review_queue again") from None
    if built.format_version != FORMAT_VERSION:
        raise ReviewFileError(
            f"{path}: format_version {built.format_version}, this code reads {FORMAT_VERSION}: "
            "materialize review_queue again"
        )
    return built
