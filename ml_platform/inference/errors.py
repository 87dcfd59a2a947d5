"""The errors of prediction: valid JSON that still cannot be predicted, each naming what to send instead."""

from __future__ import annotations


class InferenceError(ValueError):
    """Candles that are valid JSON but cannot be predicted; the message says what to send instead."""


class InvalidCandlesError(InferenceError):
    """A non-finite, non-positive or OHLC-inconsistent candle, or times not strictly increasing.

    index : int
        Position of the first bad candle in the input.
    """

    def __init__(self, message: str, *, index: int) -> None:
        super().__init__(message)
        self.index = index


class NotEnoughCandlesError(InferenceError):
    """Too few candles for the indicators' warm-up plus the model's context: none can be labelled."""
