"""MLflow pyfunc model of a span bundle, so the registry holds a model version of it.

`SpanPyfunc` wraps `SpanModel.load`: ``predict`` takes candles (DataFrame with ``open high
low close volume``) and returns the detected spans (``start end label confidence``,
positions into the candles). `log_span_model` logs it to the active run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.pyfunc import PythonModel

from ml_platform.training.span_model import SPAN_MODEL_SUFFIX, SpanModel

ARTIFACT_KEY = "span_model"


class SpanPyfunc(PythonModel):
    """Candles in, detected spans out (the span model folder is the artifact ``span_model``)."""

    def load_context(self, context: Any) -> None:
        self.model = SpanModel.load(Path(context.artifacts[ARTIFACT_KEY]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self.model.detector.predict(model_input)


def log_span_model(model: SpanModel) -> str:
    """Log `model` to the active MLflow run as the pyfunc model ``model``; return its URI."""
    with tempfile.TemporaryDirectory() as temp:
        folder = model.save(Path(temp) / f"model{SPAN_MODEL_SUFFIX}")
        info = mlflow.pyfunc.log_model(
            name="model", python_model=SpanPyfunc(), artifacts={ARTIFACT_KEY: str(folder)}, pip_requirements=[]
        )
    return str(info.model_uri)
