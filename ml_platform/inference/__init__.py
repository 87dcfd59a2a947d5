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

Modules: `validation` (step 1), `predictor` (steps 2-3, `Predictor`), `rows` (which feature
rows label a range: one arithmetic for computed and cached answers), `results` (what a
prediction returns), `messages` (why candles got no label), `spans` (step 4), `errors`.

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

from ml_platform.inference.errors import InferenceError, InvalidCandlesError, NotEnoughCandlesError
from ml_platform.inference.predictor import Predictor, probe_candles
from ml_platform.inference.results import OUTSIDE_LABEL, CandlePredictions, SeriesPredictions, class_labels
from ml_platform.inference.spans import SpanRecords, group_spans
from ml_platform.inference.validation import candles_frame, validate_candles

__all__ = [
    "OUTSIDE_LABEL",
    "CandlePredictions",
    "InferenceError",
    "InvalidCandlesError",
    "NotEnoughCandlesError",
    "Predictor",
    "SeriesPredictions",
    "SpanRecords",
    "candles_frame",
    "class_labels",
    "group_spans",
    "probe_candles",
    "validate_candles",
]
