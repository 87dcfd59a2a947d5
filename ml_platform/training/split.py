"""Train/validation/test splits: chronological with gaps, or (only on request) shuffled.

Leakage lurks in three places, and the split handles each:

- Time order: a model validated on the past of its training data looks better than it
  will be live. The default split is chronological: train, then validation, then test.
- Overlapping inputs: a per-candle (BIO) row carries the features of the previous ``k``
  and next ``j`` candles, and a window row covers ``size`` candles. Rows on both sides
  of a cut would share candles, so ``gap`` rows are left out between the parts: by
  default the context width ``k + j`` (BIO) or the window length (window mode). For
  window mode, `purge_overlaps` also drops every window that still overlaps, in time,
  one of the part before it.
- Shuffling: ``training.split.shuffle: true`` draws the parts at random. Neighbouring,
  nearly identical candles then sit in train and test alike: the scores flatter the
  model. It is allowed for experiments, with a logged warning, never silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ml_platform.config import SplitConfig

logger = logging.getLogger(__name__)

MIN_PART_ROWS = 5
PART_NAMES = ("train", "validation", "test")


class SplitError(ValueError):
    """The data cannot be split as configured (too few rows for the ratios and the gap)."""


@dataclass(frozen=True)
class Split:
    """Row positions of each part (int arrays, ascending unless shuffled) and how they were drawn.

    gap : int
        Rows left out between consecutive parts (0 when shuffled).
    """

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    gap: int
    shuffled: bool

    def parts(self) -> dict[str, np.ndarray]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


def split_rows(n_rows: int, config: SplitConfig, *, gap: int, seed: int = 0) -> Split:
    """Split ``n_rows`` rows into train/validation/test.

    Parameters
    ----------
    n_rows : int
        Rows in time order.
    config : SplitConfig
        ``train``, ``validation``, ``test`` ratios (adding up to 1) and ``shuffle``.
    gap : int
        Rows dropped between train and validation and between validation and test
        (chronological only). Use at least the rows' overlap: ``k + j`` for BIO context,
        the window length for windows.
    seed : int, default=0
        The permutation seed when shuffling.

    Raises
    ------
    SplitError
        When a part would get fewer than ``MIN_PART_ROWS`` rows; the message gives the
        numbers and what to change.
    """
    if gap < 0:
        raise SplitError(f"gap={gap} must be >= 0")
    if config.shuffle:
        logger.warning(
            "training.split.shuffle is true: rows are split at random, so neighbouring candles land in train "
            "and test alike and future data leaks into training; scores will be optimistic"
        )
        usable = n_rows
        gap = 0
    else:
        usable = n_rows - 2 * gap
    sizes = _part_sizes(usable, config)
    if min(sizes) < MIN_PART_ROWS:
        raise SplitError(
            f"{n_rows} rows are too few to split train/validation/test={config.train:g}/{config.validation:g}/"
            f"{config.test:g} with gap={gap}: the parts would get {sizes[0]}/{sizes[1]}/{sizes[2]} rows, and each "
            f"needs at least {MIN_PART_ROWS}. Need about {minimum_rows(config, gap=gap)} rows: add data "
            "(more candles or annotations), or lower training.split.gap / features.context"
        )
    if config.shuffle:
        order = np.random.default_rng(seed).permutation(n_rows)
        train, validation, test = np.split(order, [sizes[0], sizes[0] + sizes[1]])
        return Split(np.sort(train), np.sort(validation), np.sort(test), gap=0, shuffled=True)
    train_end = sizes[0]
    validation_start = train_end + gap
    validation_end = validation_start + sizes[1]
    test_start = validation_end + gap
    return Split(
        train=np.arange(0, train_end),
        validation=np.arange(validation_start, validation_end),
        test=np.arange(test_start, test_start + sizes[2]),
        gap=gap,
        shuffled=False,
    )


def _part_sizes(usable: int, config: SplitConfig) -> tuple[int, int, int]:
    if usable <= 0:
        return (0, 0, 0)
    train = int(round(usable * config.train))
    validation = int(round(usable * config.validation))
    test = max(0, usable - train - validation)
    return train, validation, test


def minimum_rows(config: SplitConfig, *, gap: int) -> int:
    """The fewest rows for which every part gets ``MIN_PART_ROWS`` rows."""
    smallest = min(config.train, config.validation, config.test)
    return int(np.ceil(MIN_PART_ROWS / smallest)) + 1 + (0 if config.shuffle else 2 * gap)


def purge_overlaps(split: Split, start: np.ndarray, end: np.ndarray) -> Split:
    """Drop validation/test rows whose ``[start, end]`` interval reaches into an earlier part.

    For window rows (``start_time``/``end_time`` per row, in time order): after the row gap,
    a long window may still overlap the last windows of the part before; such rows are
    removed from the later part. A shuffled split is returned unchanged (it leaks anyway).
    """
    if split.shuffled:
        return split
    train_end = end[split.train].max() if len(split.train) else -np.inf
    validation = split.validation[start[split.validation] > train_end]
    horizon = max(train_end, end[validation].max() if len(validation) else -np.inf)
    test = split.test[start[split.test] > horizon]
    dropped = len(split.validation) - len(validation) + len(split.test) - len(test)
    if dropped:
        logger.info("purged %d windows overlapping an earlier part", dropped)
    if len(validation) < MIN_PART_ROWS or len(test) < MIN_PART_ROWS:
        raise SplitError(
            f"after removing windows that overlap an earlier part, validation/test keep {len(validation)}/{len(test)} "
            f"rows (need {MIN_PART_ROWS} each): add annotations or raise training.split.gap"
        )
    return Split(split.train, validation, test, gap=split.gap, shuffled=False)
