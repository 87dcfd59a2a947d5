"""TA-Lib indicators named `{indicator}_{params}`: `rsi_14`, `macd_12_26_9_macdsignal`.

Each configured indicator is one call of TA-Lib's function API on whole columns (no
per-row Python). The name is fixed by the config alone, so training and serving agree on
column names by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np

from ml_platform.config import IndicatorSpec
from ml_platform.features.errors import FeatureError

try:  # a clear message instead of an ImportError deep inside an asset
    import talib
    from talib import abstract as talib_abstract
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    talib = None  # type: ignore[assignment]
    _TALIB_IMPORT_ERROR: ImportError | None = exc
else:
    _TALIB_IMPORT_ERROR = None


def require_talib() -> Any:
    """The `talib` module, or a FeatureError that says how to install it."""
    if talib is None:
        raise FeatureError(
            f"TA-Lib could not be imported ({_TALIB_IMPORT_ERROR}); install the wheel that bundles the C "
            "library: pip install ta-lib==0.8.2"
        )
    return talib


@cache
def _function_info(name: str) -> dict[str, Any]:
    """TA-Lib's description of one function: inputs, parameters (ordered, with defaults), outputs."""
    lib = require_talib()
    if name not in lib.get_functions():
        close = [known for known in lib.get_functions() if known.startswith(name[:3])][:5]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise FeatureError(f"features.indicators: unknown TA-Lib indicator {name!r}{hint}")
    return talib_abstract.Function(name).info  # type: ignore[attr-defined]


def _format_value(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _ordered_params(spec: IndicatorSpec) -> list[tuple[str, float | int]]:
    """The configured parameters in TA-Lib's order; an unknown one is an error naming the valid ones."""
    known = _function_info(spec.name)["parameters"]
    unknown = sorted(set(spec.params) - set(known))
    if unknown:
        raise FeatureError(
            f"features.indicators: {spec.name} has no parameter {', '.join(map(repr, unknown))} "
            f"(it takes {', '.join(known) or 'none'})"
        )
    return [(key, spec.params[key]) for key in known if key in spec.params]


def indicator_columns(spec: IndicatorSpec) -> list[str]:
    """The output column names of one indicator, in TA-Lib's output order."""
    info = _function_info(spec.name)
    stem = "_".join([spec.name.lower(), *(_format_value(value) for _, value in _ordered_params(spec))])
    outputs = info["output_names"]
    return [stem] if len(outputs) == 1 else [f"{stem}_{output.lower()}" for output in outputs]


def _input_arrays(name: str, prices: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    arrays: list[np.ndarray] = []
    for value in _function_info(name)["input_names"].values():
        for column in [value] if isinstance(value, str) else value:
            arrays.append(prices[column])
    return arrays


def _call_params(spec: IndicatorSpec) -> dict[str, float | int]:
    defaults = _function_info(spec.name)["parameters"]
    return {
        key: int(value) if isinstance(defaults[key], int) and float(value).is_integer() else value
        for key, value in _ordered_params(spec)
    }


def compute_indicators(prices: Mapping[str, np.ndarray], specs: Sequence[IndicatorSpec]) -> dict[str, np.ndarray]:
    """Compute every configured indicator.

    Parameters
    ----------
    prices : mapping of str to float64 arrays of shape (n_candles,)
        ``open high low close volume``.
    specs : sequence of IndicatorSpec

    Returns
    -------
    columns : dict of str to float64 arrays of shape (n_candles,)
        NaN during each indicator's look-back.
    """
    lib = require_talib()
    columns: dict[str, np.ndarray] = {}
    for spec in specs:
        names = indicator_columns(spec)
        try:
            result = getattr(lib, spec.name)(*_input_arrays(spec.name, prices), **_call_params(spec))
        except Exception as exc:  # TA-Lib reports bad parameter values as a bare Exception
            raise FeatureError(f"features.indicators: {spec.name} with {dict(spec.params)} failed: {exc}") from None
        outputs = result if isinstance(result, tuple) else (result,)
        columns.update(zip(names, outputs, strict=True))
    return columns
