"""User-defined features: `module:function` or `path/to/file.py:function` from the config.

The function is called as ``function(candles, **params)`` with the candle frame (time,
open, high, low, close, volume and every feature computed before it) and must return a
Series or array of one value per candle (column named after the spec), or a DataFrame
of such columns (named ``{spec.name}_{column}``).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ml_platform.config import CustomFeatureSpec, resolve_path
from ml_platform.features.errors import FeatureError


def load_function(spec: CustomFeatureSpec) -> Callable[..., object]:
    """Import the function a spec names; errors name the spec and what is missing."""
    target, sep, attribute = spec.function.rpartition(":")
    if not sep or not target or not attribute:
        raise FeatureError(
            f"features.custom {spec.name!r}: function {spec.function!r} must be 'module:function' "
            "or 'path/to/file.py:function'"
        )
    module = _load_file(spec, target) if target.endswith(".py") else _import_module(spec, target)
    function = getattr(module, attribute, None)
    if not callable(function):
        raise FeatureError(f"features.custom {spec.name!r}: {target} has no function {attribute!r}")
    return function


def _import_module(spec: CustomFeatureSpec, module_name: str) -> object:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise FeatureError(f"features.custom {spec.name!r}: cannot import module {module_name!r}: {exc}") from None


def _load_file(spec: CustomFeatureSpec, file_name: str) -> object:
    path = resolve_path(file_name)
    if not Path(path).is_file():
        raise FeatureError(f"features.custom {spec.name!r}: file {path} not found")
    module_spec = importlib.util.spec_from_file_location(f"ml_platform_custom_{spec.name}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise FeatureError(f"features.custom {spec.name!r}: {path} failed to load: {exc!r}") from None
    return module


def compute_custom(frame: pd.DataFrame, spec: CustomFeatureSpec) -> dict[str, np.ndarray]:
    """Call one custom feature and return its columns, checked for length."""
    function = load_function(spec)
    try:
        result = function(frame, **spec.params)
    except Exception as exc:
        raise FeatureError(f"features.custom {spec.name!r}: {spec.function} raised {exc!r}") from exc
    if isinstance(result, pd.DataFrame):
        columns: dict[str, object] = {f"{spec.name}_{column}": result[column] for column in result.columns}
    else:
        columns = {spec.name: result}
    out: dict[str, np.ndarray] = {}
    for name, values in columns.items():
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise FeatureError(f"features.custom {spec.name!r}: column {name!r} is not numeric: {exc}") from None
        if array.ndim != 1 or len(array) != len(frame):
            raise FeatureError(
                f"features.custom {spec.name!r}: {spec.function} returned {len(array) if array.ndim else 0} "
                f"values for column {name!r}, expected {len(frame)} (one per candle)"
            )
        out[name] = array
    return out
