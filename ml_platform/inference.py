"""Per-candle predictions from a model bundle: the inference service's work, without HTTP.

The service (``serving/``) only decodes requests and encodes answers; everything between
candles and labelled spans happens here, with the same code the training side uses:

1. `validate_candles`: finite, positive, OHLC-consistent candles with strictly increasing
   times, or an `InvalidCandlesError` naming the first bad candle.
2. `Predictor.features`: `ml_platform.features.build_features` with the config stored in
   the bundle (preprocessing parity by construction).
3. `Predictor.predict_rows`: the model inputs from `ml_platform.model_inputs` (BIO context
   columns, or one window centred on each candle for windowed models) and
   ``ModelBundle.predict_proba``, in chunks of ``batch_size`` rows. Each chunk carries the
   ``before``/``after`` neighbour rows its inputs read, so chunking never changes a value.
4. `group_spans`: consecutive candles with the same pattern become one span.

Which candles cannot be labelled, and why:

- the first ``warmup_rows`` candles: an indicator is still in its look-back (NaN), e.g. 49
  for ``EMA(50)`` (``build_features`` drops them);
- then ``before`` more: a BIO model reads ``features.context.previous`` earlier candles, a
  windowed model ``size // 2`` (its window is centred on the candle);
- the last ``after`` candles: a BIO model's look-ahead context ``features.context.next``, a
  windowed model's ``size - 1 - size // 2`` later candles. Leakage note: these read the
  future, which is right for annotating history and wrong for live trading (use
  ``features.context.next: 0`` for a causal model).

Recursive indicators (EMA, RSI, MACD, ADX, ATR) depend on all earlier candles, so a value
computed from a shorter history differs in the last bits. `predict_range` therefore computes
features once over the stored history up to the range (exactly what the
``enriched_features`` asset computed) and chunks only the model step.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ml_platform.bundle import ModelBundle, pattern_of
from ml_platform.candles import CANONICAL_COLUMNS
from ml_platform.config import PipelineConfig
from ml_platform.features import FeatureFrame, InsufficientCandlesError, build_features
from ml_platform.features.errors import FeatureError
from ml_platform.model_inputs import bio_model_inputs, window_model_inputs

logger = logging.getLogger(__name__)

OUTSIDE_LABEL = "O"
_PROBE_CANDLES = 4096  # synthetic candles used once per bundle to measure the indicators' warm-up


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


# --------------------------------------------------------------------------- validation


def candles_frame(
    time: Sequence[int] | np.ndarray,
    open_: Sequence[float] | np.ndarray,
    high: Sequence[float] | np.ndarray,
    low: Sequence[float] | np.ndarray,
    close: Sequence[float] | np.ndarray,
    volume: Sequence[float] | np.ndarray,
) -> pd.DataFrame:
    """The canonical candle frame (``time`` int64, prices float64) from columns, after `validate_candles`."""
    columns = {
        "time": np.asarray(time, dtype=np.int64),
        "open": np.asarray(open_, dtype=np.float64),
        "high": np.asarray(high, dtype=np.float64),
        "low": np.asarray(low, dtype=np.float64),
        "close": np.asarray(close, dtype=np.float64),
        "volume": np.asarray(volume, dtype=np.float64),
    }
    validate_candles(columns)
    return pd.DataFrame(columns, copy=False)


def validate_candles(columns: dict[str, np.ndarray]) -> None:
    """Check request candles the way the loader checks stored ones, but strictly (no sorting).

    Parameters
    ----------
    columns : dict of str to arrays of shape (n_candles,)
        ``time`` (int64 epoch seconds) and ``open high low close volume`` (float64).

    Raises
    ------
    InvalidCandlesError
        For the first candle (lowest index) that breaks any rule, with that index and the
        values: a non-finite number, a price <= 0 or a negative volume, a high below
        open/close/low or a low above open/close, a time not after the previous candle's.
    """
    time = columns["time"]
    n = len(time)
    if n == 0:
        raise InvalidCandlesError("no candles: send at least one candle", index=0)
    checks: list[tuple[np.ndarray, str]] = []
    for name in ("open", "high", "low", "close", "volume"):
        checks.append((~np.isfinite(columns[name]), f"{name} is not a finite number"))
    for name in ("open", "high", "low", "close"):
        checks.append((~(columns[name] > 0), f"{name} must be a positive price"))
    checks.append((~(columns["volume"] >= 0), "volume must not be negative"))
    o, h, lo, c = (columns[name] for name in ("open", "high", "low", "close"))
    checks.append((h < np.maximum(np.maximum(o, c), lo), "high is below open, close or low"))
    checks.append((lo > np.minimum(o, c), "low is above open or close"))
    checks.append((time < 0, "time must be epoch seconds >= 0"))
    out_of_order = np.zeros(n, dtype=bool)
    out_of_order[1:] = time[1:] <= time[:-1]
    checks.append(
        (
            out_of_order,
            "time is not after the previous candle's (times must be strictly increasing: "
            "sort the candles and drop duplicates)",
        )
    )
    first = n
    for mask, _ in checks:
        if mask.any():
            first = min(first, int(np.argmax(mask)))
    if first == n:
        return
    problems = [message for mask, message in checks if mask[first]]
    values = ", ".join(f"{name}={columns[name][first]!r}" for name in CANONICAL_COLUMNS)
    if out_of_order[first]:
        values += f"; previous time={int(time[first - 1])}"
    raise InvalidCandlesError(f"candles[{first}]: {'; '.join(problems)} ({values})", index=first)


# --------------------------------------------------------------------------- predictor


@dataclass(frozen=True)
class CandlePredictions:
    """The labels of consecutive candles.

    n_candles : int
        Candles in the input.
    indices : int64 array of shape (n_labeled,)
        Positions of the labelled candles in the input (consecutive, ascending).
    times : int64 array of shape (n_labeled,)
    class_ids : int array of shape (n_labeled,)
        Index into ``classes`` of the most probable class.
    confidences : float64 array of shape (n_labeled,)
        Its probability.
    classes, tags_are_bio : the bundle's classes; whether they are BIO tags (``B-x``/``I-x``).
    unlabeled_leading, unlabeled_trailing : int
        Input candles before the first and after the last labelled one.
    skipped : int64 array
        Positions inside the labelled range whose model inputs were not finite (not predicted).
    reason : str
        Why the leading/trailing candles have no label ("" when every candle has one).
    """

    n_candles: int
    indices: np.ndarray
    times: np.ndarray
    class_ids: np.ndarray
    confidences: np.ndarray
    classes: tuple[str, ...]
    unlabeled_leading: int
    unlabeled_trailing: int
    skipped: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reason: str = ""

    @property
    def tags(self) -> list[str]:
        """The raw class tag of each labelled candle (``B-bull_flag``, ``I-bull_flag``, ``O``)."""
        classes = self.classes
        return [classes[i] for i in self.class_ids.tolist()]

    @property
    def labels(self) -> list[str]:
        """The pattern name of each labelled candle (B-/I- stripped; ``O`` for none)."""
        names = class_labels(self.classes)
        return [names[i] for i in self.class_ids.tolist()]


@dataclass(frozen=True)
class SeriesPredictions:
    """`Predictor.predict_series`: the labels of a whole stored series, to answer ranges by slicing.

    n_candles : int
        Stored candles the series was computed from.
    warmup_rows : int
        The indicators' warm-up measured on them.
    predictions : CandlePredictions
        ``predict_range(candles, 0, n_candles - 1)``: indices are positions in the store.
    """

    n_candles: int
    warmup_rows: int
    predictions: CandlePredictions


def class_labels(classes: Sequence[str]) -> list[str]:
    """The pattern name of each class: ``B-bull_flag`` and ``I-bull_flag`` -> ``bull_flag``, ``O`` -> ``O``."""
    return [pattern_of(tag) or OUTSIDE_LABEL for tag in classes]


@dataclass(frozen=True)
class Predictor:
    """A loaded bundle with what prediction needs, resolved once (the config is parsed at load).

    mode : "bio" or "window"
    before, after : int
        Feature rows a prediction reads before and after its candle (context or half-window).
    warmup_rows : int or None
        The indicators' warm-up measured on synthetic candles (None if it could not be).
    """

    bundle: ModelBundle
    config: PipelineConfig
    mode: Literal["bio", "window"]
    before: int
    after: int
    warmup_rows: int | None

    @classmethod
    def from_bundle(cls, bundle: ModelBundle, *, n_jobs: int | None = 1) -> Predictor:
        """Resolve the bundle's config, mode and context; measure the feature warm-up.

        n_jobs : int or None, default 1
            Threads per prediction call, set on the estimator when it has ``n_jobs``
            (None leaves it). One thread: a service gets its parallelism from concurrent
            requests, and an OpenMP thread team per call on a few hundred rows costs more
            than it gains (XGBoost measured 10-20x slower per small call on a busy 2-core machine).
        """
        if n_jobs is not None:
            _set_threads(bundle.model, n_jobs)
        config = bundle.config
        mode = bundle.meta.mode
        if mode == "bio":
            before, after = config.features.context.previous, config.features.context.next
        elif mode == "window":
            size = config.labeling.window.size
            before, after = size // 2, size - 1 - size // 2
        else:
            raise ValueError(f"bundle mode {mode!r} is neither 'bio' nor 'window'")
        return cls(
            bundle=bundle,
            config=config,
            mode="bio" if mode == "bio" else "window",
            before=before,
            after=after,
            warmup_rows=_measure_warmup(config),
        )

    @property
    def min_candles(self) -> int | None:
        """The fewest candles of which at least one can be labelled."""
        return None if self.warmup_rows is None else self.warmup_rows + self.before + self.after + 1

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.bundle.meta.classes)

    def probe_inputs(self) -> np.ndarray:
        """Finite model inputs of `probe_candles` (for checking an alternative runtime at load); may be empty."""
        try:
            features = self.features(probe_candles())
        except FeatureError as exc:
            logger.warning("no probe inputs: %s", exc)
            return np.zeros((0, len(self.bundle.meta.feature_columns)))
        inputs, valid = self.model_inputs(features.frame)
        X = inputs.to_numpy(dtype=np.float64)[valid]
        return X[np.isfinite(X).all(axis=1)]

    # ------------------------------------------------------------------ steps

    def features(self, candles: pd.DataFrame) -> FeatureFrame:
        """`build_features` with the bundle's config (raises InsufficientCandlesError)."""
        return build_features(candles, self.config)

    def model_inputs(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, slice]:
        """The bundle's input columns for every row of `frame`, and the rows that are complete."""
        meta = self.bundle.meta
        if self.mode == "bio":
            inputs, valid = bio_model_inputs(frame, meta.base_feature_columns, self.config.features.context)
        else:
            inputs, valid = window_model_inputs(frame, meta.base_feature_columns, self.config.labeling.window.size)
        if list(inputs.columns) != list(meta.feature_columns):
            raise FeatureError(
                f"the model inputs built from the bundle's config ({len(inputs.columns)} columns) differ from "
                f"its feature_columns ({len(meta.feature_columns)}): the bundle is inconsistent, retrain it"
            )
        return inputs, valid

    def predict_rows(
        self, frame: pd.DataFrame, rows: range, *, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predict feature rows `rows` of `frame` in chunks of `batch_size`.

        Parameters
        ----------
        frame : DataFrame of shape (n_rows, n_columns)
            A `build_features` frame (consecutive candles).
        rows : range with step 1, inside ``[before, n_rows - after)``
        batch_size : int
            Rows per model call. A chunk ``[s, e)`` reads rows ``s - before .. e + after - 1``,
            so the result does not depend on `batch_size`.

        Returns
        -------
        predicted : int64 array
            The rows (of `frame`) that got a prediction: `rows` minus rows with non-finite inputs.
        class_ids : int64 array, same length
        confidences : float64 array, same length
        """
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be >= 1")
        if rows.start < self.before or rows.stop > len(frame) - self.after:
            raise ValueError(f"rows {rows} need {self.before} rows before and {self.after} after in {len(frame)}")
        predicted, class_ids, confidences = [], [], []
        for start in range(rows.start, rows.stop, batch_size):
            stop = min(start + batch_size, rows.stop)
            chunk = frame.iloc[start - self.before : stop + self.after]
            inputs, valid = self.model_inputs(chunk)
            X = inputs.to_numpy(dtype=np.float64)[valid]
            if len(X) != stop - start:  # the chunk's complete rows are exactly [start, stop)
                raise AssertionError(f"chunk {start}:{stop} gave {len(X)} complete rows")
            finite = np.isfinite(X).all(axis=1)
            positions = np.arange(start, stop, dtype=np.int64)
            if not finite.all():
                X, positions = X[finite], positions[finite]
            proba = self.bundle.predict_proba(X)
            best = proba.argmax(axis=1)
            predicted.append(positions)
            class_ids.append(best)
            confidences.append(proba[np.arange(len(best)), best])
        if not predicted:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
        return np.concatenate(predicted), np.concatenate(class_ids), np.concatenate(confidences)

    # ------------------------------------------------------------------ whole requests

    def predict(self, candles: pd.DataFrame, *, batch_size: int) -> CandlePredictions:
        """Label every candle the warm-up and context allow.

        Parameters
        ----------
        candles : DataFrame of shape (n_candles, 6)
            The canonical frame, validated (`candles_frame`).
        batch_size : int
            Rows per model call (memory bound; the result does not depend on it).

        Raises
        ------
        NotEnoughCandlesError
            When no candle can be labelled; the message gives the minimum and its parts.
        """
        n = len(candles)
        self._require(n)
        try:
            features = self.features(candles)
        except InsufficientCandlesError as exc:
            raise NotEnoughCandlesError(f"{exc}; {self._needs()}") from None
        return self._label(
            features, first=0, last=n - 1, n_candles=n, batch_size=batch_size, history_before=0, candles_after=0
        )

    def predict_range(self, candles: pd.DataFrame, first: int, last: int, *, batch_size: int) -> CandlePredictions:
        """Label stored candles ``first..last`` (inclusive positions in `candles`), using the history around them.

        Features are computed once over ``candles[0 : last + 1 + after]`` (the whole stored
        history before the range, so recursive indicators equal the ``enriched_features``
        asset's values bit for bit; TA-Lib does this in one vectorised pass), then the model
        runs over the range in `batch_size` chunks, each with its context rows. The result
        equals one `predict` call over that same slice, restricted to the range.

        Returns
        -------
        CandlePredictions
            Indices relative to `first` (0 = the range's first candle).
        """
        end = min(len(candles), last + 1 + self.after)
        history = candles.iloc[:end]
        try:
            features = self.features(history)
        except InsufficientCandlesError as exc:
            raise NotEnoughCandlesError(f"the stored history is too short: {exc}; {self._needs()}") from None
        return self._label(
            features,
            first=first,
            last=last,
            n_candles=last - first + 1,
            batch_size=batch_size,
            history_before=first,
            candles_after=end - last - 1,
        )

    def predict_series(self, candles: pd.DataFrame, *, batch_size: int) -> SeriesPredictions:
        """Label every stored candle once: ``predict_range(candles, 0, n - 1)``, kept for `range_of_series`.

        Any range of the same stored candles is then a slice of this (see `range_of_series`):
        `predict_range` computes features from the start of the store and reads the ``after``
        candles past the range, so a range's labelled candles get exactly these values.

        Raises
        ------
        NotEnoughCandlesError
            When no stored candle can be labelled.
        """
        n = len(candles)
        try:
            features = self.features(candles)
        except InsufficientCandlesError as exc:
            raise NotEnoughCandlesError(f"the stored history is too short: {exc}; {self._needs()}") from None
        predictions = self._label(
            features, first=0, last=n - 1, n_candles=n, batch_size=batch_size, history_before=0, candles_after=0
        )
        for array in (
            predictions.indices,
            predictions.times,
            predictions.class_ids,
            predictions.confidences,
            predictions.skipped,
        ):
            array.setflags(write=False)  # shared by every answer sliced from it
        return SeriesPredictions(n_candles=n, warmup_rows=features.warmup_rows, predictions=predictions)

    def range_of_series(self, series: SeriesPredictions, first: int, last: int) -> CandlePredictions | None:
        """``predict_range(candles, first, last)`` from the `predict_series` result of the same candles and model.

        Returns the same arrays (views into `series`, read-only), counts and reason as
        `predict_range`; None when the range has no candle to label (call `predict_range`
        for its exact error).
        """
        n, warmup = series.n_candles, series.warmup_rows
        if not 0 <= first <= last < n:
            raise ValueError(f"range {first}..{last} is outside the {n} stored candles")
        lo = max(first - warmup, self.before)  # feature rows, as `_label` computes them for predict_range
        hi = min(
            last - warmup + 1, n - warmup - self.after
        )  # predict_range's len(frame) is min(n, last+1+after)-warmup
        if hi <= lo:
            return None
        whole = series.predictions
        a, b = np.searchsorted(whole.indices, (lo + warmup, hi + warmup))
        sa, sb = np.searchsorted(whole.skipped, (lo + warmup, hi + warmup))
        leading = lo + warmup - first
        trailing = last - (hi - 1 + warmup)
        candles_after = min(n - 1 - last, self.after)
        return CandlePredictions(
            n_candles=last - first + 1,
            indices=whole.indices[a:b] - first,
            times=whole.times[a:b],
            class_ids=whole.class_ids[a:b],
            confidences=whole.confidences[a:b],
            classes=whole.classes,
            unlabeled_leading=leading,
            unlabeled_trailing=trailing,
            skipped=whole.skipped[sa:sb] - first,
            reason=self._reason(leading, trailing, warmup, first, candles_after, int(sb - sa)),
        )

    @property
    def prefix_stable(self) -> bool:
        """Whether a feature row depends only on the candles up to it, so `range_of_series` equals `predict_range`.

        True for the built-in features (TA-Lib indicators and candle geometry are causal);
        False with custom features, which may read later candles.
        """
        return not self.config.features.custom

    def _label(
        self,
        features: FeatureFrame,
        *,
        first: int,
        last: int,
        n_candles: int,
        batch_size: int,
        history_before: int,
        candles_after: int,
    ) -> CandlePredictions:
        """Predict candles ``first..last`` of the series `features` was built from (positions in that series)."""
        warmup = features.warmup_rows
        frame = features.frame
        lo = max(first - warmup, self.before)  # feature rows
        hi = min(last - warmup + 1, len(frame) - self.after)
        if hi <= lo:
            raise NotEnoughCandlesError(
                f"{n_candles} candles leave none to label: {self._needs(warmup)}"
                + ("" if history_before == 0 else f" ({history_before} stored candles precede the range)")
            )
        rows, class_ids, confidences = self.predict_rows(frame, range(lo, hi), batch_size=batch_size)
        leading = lo + warmup - first
        trailing = last - (hi - 1 + warmup)
        skipped = np.setdiff1d(np.arange(lo, hi), rows) + warmup - first
        times = frame["time"].to_numpy()[rows]
        return CandlePredictions(
            n_candles=n_candles,
            indices=rows + warmup - first,
            times=times,
            class_ids=class_ids,
            confidences=confidences,
            classes=self.classes,
            unlabeled_leading=leading,
            unlabeled_trailing=trailing,
            skipped=skipped.astype(np.int64),
            reason=self._reason(leading, trailing, warmup, history_before, candles_after, len(skipped)),
        )

    # ------------------------------------------------------------------ messages

    def _require(self, n: int) -> None:
        minimum = self.min_candles
        if minimum is not None and n < minimum:
            raise NotEnoughCandlesError(f"{n} candles leave none to label: {self._needs()}")

    def _context_words(self) -> tuple[str, str]:
        if self.mode == "bio":
            context = self.config.features.context
            return (
                f"{self.before} previous-candle context (features.context.previous={context.previous})",
                f"{self.after} look-ahead context (features.context.next={context.next})",
            )
        size = self.config.labeling.window.size
        return (
            f"{self.before} candles of the centred window before the candle (labeling.window.size={size})",
            f"{self.after} candles of the window after it",
        )

    def _needs(self, warmup: int | None = None) -> str:
        warmup = self.warmup_rows if warmup is None else warmup
        before, after = self._context_words()
        if warmup is None:
            return f"send more candles (the indicators' warm-up, then {before} and {after})"
        return (
            f"the model needs at least {warmup + self.before + self.after + 1} candles "
            f"({warmup} indicator warm-up + {before} + {after} + 1 to label)"
        )

    def _reason(
        self, leading: int, trailing: int, warmup: int, history_before: int, candles_after: int, skipped: int
    ) -> str:
        before, after = self._context_words()
        parts = []
        if leading:
            if history_before:
                parts.append(
                    f"the first {leading} candles: the stored history before them is shorter than the "
                    f"{warmup} indicator warm-up + {before}"
                )
            else:
                parts.append(
                    f"the first {leading} candles: {warmup} indicator warm-up (the longest look-back) + "
                    f"{before}; send {leading} earlier candles to label from the first one"
                )
        if trailing:
            where = "no later stored candles" if history_before or candles_after else "no later candles yet"
            parts.append(f"the last {trailing} candles: {after} needs later candles ({where})")
        if skipped:
            parts.append(f"{skipped} candles inside the range: their model inputs are not finite")
        return "; ".join(parts)


def _set_threads(model: object, n_jobs: int) -> None:
    get_params = getattr(model, "get_params", None)
    if get_params is not None and "n_jobs" in get_params():
        model.set_params(n_jobs=n_jobs)  # type: ignore[attr-defined]


def probe_candles(n: int = _PROBE_CANDLES, *, seed: int = 0) -> pd.DataFrame:
    """Deterministic synthetic candles (a random walk with consistent OHLC), for checks at model load."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    spread = 1.0 + np.abs(rng.normal(0.0, 0.002, n))
    return pd.DataFrame(
        {
            "time": np.arange(n, dtype=np.int64) * 3600,
            "open": open_,
            "high": np.maximum(open_, close) * spread,
            "low": np.minimum(open_, close) / spread,
            "close": close,
            "volume": rng.uniform(100.0, 5000.0, n),
        }
    )


def _measure_warmup(config: PipelineConfig) -> int | None:
    """The indicators' warm-up in rows, from `build_features` on `probe_candles`.

    TA-Lib look-backs do not depend on the values, so this is the warm-up of any request.
    None when the features cannot be computed on the probe (e.g. a custom feature rejects it).
    """
    try:
        return build_features(probe_candles(), config).warmup_rows
    except Exception as exc:  # a probe only: report, and fall back to the per-request warm-up
        logger.warning("could not measure the feature warm-up on synthetic candles: %s", exc)
        return None


# --------------------------------------------------------------------------- spans


@dataclass(frozen=True)
class SpanRecords:
    """Spans as columns (one entry per span), for fast encoding.

    label_ids : int array (index into the class-label list), starts/ends : positions
    (inclusive, into the predictions' input), avg_confidence : float64.
    """

    labels: list[str]
    start_indices: np.ndarray
    end_indices: np.ndarray
    avg_confidence: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def group_spans(predictions: CandlePredictions) -> SpanRecords:
    """Group labelled candles into spans.

    Consecutive candles (adjacent input positions) with the same non-``O`` pattern form one
    span; a ``B-`` tag always starts a new span, as does a gap (an unpredicted candle).
    ``avg_confidence`` is the mean confidence of the span's candles.
    """
    classes = predictions.classes
    names = class_labels(classes)
    name_ids = {name: i for i, name in enumerate(dict.fromkeys(names))}
    pattern_of_class = np.array([-1 if name == OUTSIDE_LABEL else name_ids[name] for name in names], dtype=np.int64)
    begins_of_class = np.array([tag.startswith("B-") for tag in classes], dtype=bool)
    if len(predictions.class_ids) == 0:
        return SpanRecords([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    pattern = pattern_of_class[predictions.class_ids]
    in_span = pattern >= 0
    index = predictions.indices
    starts = in_span.copy()
    starts[1:] &= (
        (pattern[1:] != pattern[:-1]) | begins_of_class[predictions.class_ids[1:]] | (index[1:] != index[:-1] + 1)
    )
    span_id = np.cumsum(starts) - 1
    members = np.flatnonzero(in_span)
    count = int(starts.sum())
    if count == 0:
        return SpanRecords([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    ids = span_id[members]
    sums = np.bincount(ids, weights=predictions.confidences[members], minlength=count)
    sizes = np.bincount(ids, minlength=count)
    first = np.flatnonzero(starts)
    last = members[np.r_[np.flatnonzero(np.diff(ids)), len(ids) - 1]]
    id_to_name = list(name_ids)
    return SpanRecords(
        labels=[id_to_name[p] for p in pattern[first].tolist()],
        start_indices=index[first],
        end_indices=index[last],
        avg_confidence=sums / sizes,
    )
