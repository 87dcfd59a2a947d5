"""`SpanModel`: what a ``labeling.mode: span`` bundle holds.

A span model is a folder (the bundle's ``model_file``, ``model-{model_version}.span/``):

- ``detector/``: the chart-pattern `SpanDetector` (`SpanDetector.save`);
- ``cdl.json`` and ``cdl{suffix}``: the optional per-candle BIO estimator of the CDL labels
  (chart-label tags set to ``O`` when it was fitted), its classes in ``predict_proba``
  column order; absent when the partition had no CDL tags.

`ml_platform.training.span_pyfunc` wraps it for the MLflow registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from ml_platform import storage
from ml_platform.shapes.detector import SpanDetector
from ml_platform.training.models import get_model_type

SPAN_MODEL_SUFFIX = ".span"
DETECTOR_FOLDER = "detector"
CDL_META_FILE = "cdl.json"
CDL_MODEL_STEM = "cdl"


class _CdlMeta(msgspec.Struct, frozen=True, kw_only=True):
    model_type: str
    classes: list[str]
    model_file: str


@dataclass
class SpanModel:
    """A span detector plus the optional CDL BIO estimator.

    detector : SpanDetector
    cdl_estimator : fitted classifier with ``predict_proba`` (integer classes ``0..n-1``), or None
    cdl_classes : list of str
        The CDL estimator's classes (``O`` and ``B-``/``I-`` CDL tags); empty without one.
    cdl_model_type : str
        ``xgboost`` or ``random_forest``.
    """

    detector: SpanDetector
    cdl_estimator: Any | None
    cdl_classes: list[str]
    cdl_model_type: str

    @property
    def feature_importances_(self) -> np.ndarray:
        """The detector's feature importances (one per `SpanDetector.feature_names`)."""
        return np.asarray(self.detector.estimator.feature_importances_, dtype=np.float64)

    def cdl_proba(self, X: np.ndarray) -> np.ndarray:
        """CDL class probabilities, shape (n_rows, len(cdl_classes)), columns in `cdl_classes` order."""
        if self.cdl_estimator is None:
            raise ValueError("this span model has no CDL part")
        n_classes = len(self.cdl_classes)
        if len(X) == 0:
            return np.zeros((0, n_classes))
        raw = np.asarray(self.cdl_estimator.predict_proba(np.asarray(X, dtype=np.float64)), dtype=np.float64)
        order = [int(value) for value in self.cdl_estimator.classes_]
        if order == list(range(n_classes)):
            return raw
        out = np.zeros((len(X), n_classes))
        out[:, order] = raw
        return out

    def save(self, directory: Path) -> Path:
        """Write the folder described in the module docstring (created); returns it."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.detector.save(directory / DETECTOR_FOLDER)
        if self.cdl_estimator is not None:
            model_type = get_model_type(self.cdl_model_type)
            model_file = f"{CDL_MODEL_STEM}{model_type.file_suffix}"
            storage.write_atomic(directory / model_file, lambda path: model_type.save(self.cdl_estimator, path))
            meta = _CdlMeta(model_type=self.cdl_model_type, classes=self.cdl_classes, model_file=model_file)
            encoded = msgspec.json.encode(meta)
            storage.write_atomic(directory / CDL_META_FILE, lambda path: path.write_bytes(encoded))
        return directory

    @classmethod
    def load(cls, directory: Path) -> SpanModel:
        """Read a folder written by `save` (raises FileNotFoundError/ValueError naming the file)."""
        directory = Path(directory)
        detector = SpanDetector.load(directory / DETECTOR_FOLDER)
        meta_path = directory / CDL_META_FILE
        if not meta_path.is_file():
            return cls(detector=detector, cdl_estimator=None, cdl_classes=[], cdl_model_type=detector.model_type)
        try:
            meta = msgspec.json.decode(meta_path.read_bytes(), type=_CdlMeta)
        except msgspec.DecodeError as exc:
            raise ValueError(f"{meta_path}: not a valid CDL model description: {exc}") from None
        estimator = get_model_type(meta.model_type).load(directory / meta.model_file)
        return cls(detector=detector, cdl_estimator=estimator, cdl_classes=meta.classes, cdl_model_type=meta.model_type)
