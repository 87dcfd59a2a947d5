"""Pairs, timeframes and partition keys: validated before they are ever part of a path.

A pair is upper-case letters and digits, optionally joined by ``-`` (``EURUSD``,
``BTC-USDT``); a timeframe is one of ``1m 5m 15m 30m 1h 4h 1d 1w``. Dagster's multi-partition
key reads ``EURUSD|1h`` (dimension names sorted, so pair first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PAIR_PATTERN = re.compile(r"[A-Z0-9]+(-[A-Z0-9]+)*")
TIMEFRAME_SECONDS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14400,
    "1d": 86400,
    "1w": 604800,
}
TIMEFRAMES: tuple[str, ...] = tuple(TIMEFRAME_SECONDS)


class PartitionError(ValueError):
    """A pair, timeframe or partition key that does not have the allowed form."""


def validate_pair(pair: str) -> str:
    """Return `pair` unchanged if it is upper-case letters/digits joined by '-', else raise."""
    if not isinstance(pair, str) or not PAIR_PATTERN.fullmatch(pair):
        raise PartitionError(
            f"pair {pair!r} is not valid: use upper-case letters and digits, "
            "optionally joined by '-' (e.g. EURUSD, BTC-USDT)"
        )
    return pair


def validate_timeframe(timeframe: str) -> str:
    """Return `timeframe` unchanged if it is one of the supported ones, else raise."""
    if timeframe not in TIMEFRAME_SECONDS:
        raise PartitionError(f"timeframe {timeframe!r} is not valid: use one of {' '.join(TIMEFRAMES)}")
    return timeframe


@dataclass(frozen=True)
class Partition:
    """One pair x timeframe slice of the data; constructing one validates both parts."""

    pair: str
    timeframe: str

    def __post_init__(self) -> None:
        validate_pair(self.pair)
        validate_timeframe(self.timeframe)

    @classmethod
    def from_key(cls, key: str) -> Partition:
        """Parse Dagster's ``EURUSD|1h`` key."""
        pair, sep, timeframe = str(key).partition("|")
        if not sep:
            raise PartitionError(f"partition key {key!r} is not of the form 'PAIR|TIMEFRAME' (e.g. 'EURUSD|1h')")
        return cls(pair, timeframe)

    @classmethod
    def from_stem(cls, stem: str) -> Partition | None:
        """Parse a file name stem (``EURUSD_1h``, the inverse of `stem`); None when it names no valid partition."""
        pair, sep, timeframe = stem.rpartition("_")
        if not sep:
            return None
        try:
            return cls(pair, timeframe)
        except PartitionError:
            return None

    @property
    def key(self) -> str:
        return f"{self.pair}|{self.timeframe}"

    @property
    def stem(self) -> str:
        """The file name stem every stage uses: ``EURUSD_1h``."""
        return f"{self.pair}_{self.timeframe}"

    @property
    def seconds(self) -> int:
        """The timeframe's length in seconds."""
        return TIMEFRAME_SECONDS[self.timeframe]
