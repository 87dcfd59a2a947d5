"""Epoch seconds as text: the one ISO-8601 UTC format of messages, metadata and run parameters."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(seconds: int | float) -> str:
    """``2024-03-01T14:00:00Z`` for epoch seconds (whole seconds: a fraction is dropped).

    Parameters
    ----------
    seconds : int or float
        Seconds since 1970-01-01 UTC, e.g. a candle's ``time`` (numpy integers too).
    """
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
