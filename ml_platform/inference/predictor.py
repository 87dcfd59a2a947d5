"""`Predictor`: a loaded model bundle that labels candles, in chunks that never change a value.

`Predictor.from_bundle` resolves the bundle's config, labeling mode and context once and
measures the indicators' warm-up on `probe_candles`. `predict` labels a request's candles,
`predict_range` stored candles with the history before them, `predict_series` a whole
stored series once so that `range_of_series` answers any range by slicing it (the rows
both pick come from `ml_platform.inference.rows`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ml_platform.bundle import ModelBundle
from ml_platform.config import PipelineConfig
from ml_platform.features import FeatureFrame, InsufficientCandlesError, build_features
from ml_platform.features.errors import FeatureError
from ml_platform.inference import messages
from ml_platform.inference.errors import NotEnoughCandlesError
from ml_platform.inference.results import CandlePredictions, SeriesPredictions
from ml_platform.inference.rows import LabelledRows, history_end, labelled_rows
from ml_platform.model_inputs import bio_model_inputs, window_model_inputs

logger = logging.getLogger(__name__)

_PROBE_CANDLES = 4096  # synthetic candles used once per bundle to measure the indicators' warm-up


@dataclass(frozen=True)
class Predictor:
    """A loaded bundle with what prediction needs, resolved once (the config is parsed at load).

    mode : "bio", "window" or "span" (span bundles: `ml_platform.inference.span_predictor.SpanPredictor`)
    before, after : int
        Feature rows a prediction reads before and after its candle (context or half-window).
    warmup_rows : int or None
        The indicators' warm-up measured on synthetic candles (None if it could not be).
    """

    bundle: ModelBundle
    config: PipelineConfig
    mode: Literal["bio", "window", "span"]
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
        mode = bundle.meta.mode
        if mode == "span":
            from ml_platform.inference.span_predictor import SpanPredictor

            return SpanPredictor.from_span_bundle(bundle, n_jobs=n_jobs)
        if n_jobs is not None:
            _set_threads(bundle.model, n_jobs)
        config = bundle.config
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
        end = history_end(len(candles), last, after=self.after)
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
        end = history_end(n, last, after=self.after)  # the candles predict_range would read
        plan = labelled_rows(
            first, last, warmup=warmup, n_feature_rows=end - warmup, before=self.before, after=self.after
        )
        if not plan.rows:
            return None
        whole = series.predictions
        bounds = (plan.rows.start + warmup, plan.rows.stop + warmup)
        a, b = np.searchsorted(whole.indices, bounds)
        sa, sb = np.searchsorted(whole.skipped, bounds)
        return CandlePredictions(
            n_candles=last - first + 1,
            indices=whole.indices[a:b] - first,
            times=whole.times[a:b],
            class_ids=whole.class_ids[a:b],
            confidences=whole.confidences[a:b],
            classes=whole.classes,
            unlabeled_leading=plan.leading,
            unlabeled_trailing=plan.trailing,
            skipped=whole.skipped[sa:sb] - first,
            reason=self._reason(plan, warmup, first, end - last - 1, int(sb - sa)),
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
        plan = labelled_rows(
            first, last, warmup=warmup, n_feature_rows=len(frame), before=self.before, after=self.after
        )
        if not plan.rows:
            raise NotEnoughCandlesError(
                f"{n_candles} candles leave none to label: {self._needs(warmup)}"
                + ("" if history_before == 0 else f" ({history_before} stored candles precede the range)")
            )
        rows, class_ids, confidences = self.predict_rows(frame, plan.rows, batch_size=batch_size)
        skipped = np.setdiff1d(np.arange(plan.rows.start, plan.rows.stop), rows) + warmup - first
        times = frame["time"].to_numpy()[rows]
        return CandlePredictions(
            n_candles=n_candles,
            indices=rows + warmup - first,
            times=times,
            class_ids=class_ids,
            confidences=confidences,
            classes=self.classes,
            unlabeled_leading=plan.leading,
            unlabeled_trailing=plan.trailing,
            skipped=skipped.astype(np.int64),
            reason=self._reason(plan, warmup, history_before, candles_after, len(skipped)),
        )

    # ------------------------------------------------------------------ messages

    def _require(self, n: int) -> None:
        minimum = self.min_candles
        if minimum is not None and n < minimum:
            raise NotEnoughCandlesError(f"{n} candles leave none to label: {self._needs()}")

    def _words(self) -> tuple[str, str]:
        return messages.context_words(self.mode, self.config, before=self.before, after=self.after)

    def _needs(self, warmup: int | None = None) -> str:
        warmup = self.warmup_rows if warmup is None else warmup
        return messages.needs(self._words(), warmup=warmup, before=self.before, after=self.after)

    def _reason(self, plan: LabelledRows, warmup: int, history_before: int, candles_after: int, skipped: int) -> str:
        return messages.unlabeled_reason(
            self._words(),
            leading=plan.leading,
            trailing=plan.trailing,
            warmup=warmup,
            history_before=history_before,
            candles_after=candles_after,
            skipped=skipped,
        )


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
