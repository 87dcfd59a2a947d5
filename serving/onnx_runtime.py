"""RandomForest prediction through ONNX Runtime, adopted only when it gives the same labels.

scikit-learn's forest predicts tree by tree (about 50 ms for 500 rows x 200 unbounded trees
on one thread here); ONNX Runtime's tree ensemble does the same work about 4x faster. The
conversion (skl2onnx) keeps float64 thresholds and feeds the inputs cast to float32 and
back, which is exactly the comparison scikit-learn's trees make (they cast X to float32),
so the leaves reached are the same; only the summation order of the leaf probabilities
differs (differences around 1e-8).

`accelerate` converts a loaded bundle's forest, checks it on the given rows (every label
equal, probabilities within `MAX_PROBABILITY_DIFFERENCE`), and returns the bundle with the
ONNX model, or the bundle unchanged (logged) when the packages are missing, the conversion
fails or a prediction differs. Optional packages: ``skl2onnx`` and ``onnxruntime``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ml_platform.bundle import ModelBundle

logger = logging.getLogger(__name__)

MAX_PROBABILITY_DIFFERENCE = 1e-6
ONNX_OPSETS = {"": 17, "ai.onnx.ml": 3}  # ai.onnx.ml 3: double-precision tree thresholds


class OnnxForest:
    """`predict_proba` and `classes_` of a fitted RandomForestClassifier, run by ONNX Runtime (one thread)."""

    runtime = "onnxruntime"

    def __init__(self, estimator: Any, n_features: int) -> None:
        import onnxruntime
        from skl2onnx import to_onnx

        model = to_onnx(
            estimator,
            np.zeros((1, n_features), dtype=np.float64),
            options={id(estimator): {"zipmap": False}},
            target_opset=ONNX_OPSETS,
        )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name
        self.proba_name = self.session.get_outputs()[1].name
        self.estimator = estimator
        self.classes_ = estimator.classes_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities, shape (n_rows, n_classes), columns in ``classes_`` order."""
        X = np.asarray(X, dtype=np.float32).astype(np.float64)  # what sklearn's trees compare
        return self.session.run([self.proba_name], {self.input_name: X})[0]

    def __getattr__(self, name: str) -> Any:  # feature_importances_, n_estimators, ...
        return getattr(self.estimator, name)


def accelerate(bundle: ModelBundle, check_rows: np.ndarray) -> tuple[ModelBundle, str]:
    """The bundle with its forest run by ONNX Runtime if that predicts the same; and the runtime's name.

    Parameters
    ----------
    bundle : ModelBundle
        A ``random_forest`` bundle (others are returned unchanged).
    check_rows : array of shape (n_rows, n_features)
        Model inputs both runtimes predict; every label must agree.
    """
    if bundle.meta.model_type != "random_forest":
        return bundle, "native"
    try:
        forest = OnnxForest(bundle.model, len(bundle.meta.feature_columns))
    except ImportError:
        logger.info("%s: skl2onnx/onnxruntime not installed; RandomForest runs in scikit-learn", bundle.directory)
        return bundle, "sklearn"
    except Exception as exc:  # a converter gap: keep the estimator, which is always correct
        logger.warning("%s: ONNX conversion failed (%s); RandomForest runs in scikit-learn", bundle.directory, exc)
        return bundle, "sklearn"
    expected = np.asarray(bundle.model.predict_proba(check_rows), dtype=np.float64)
    got = forest.predict_proba(check_rows)
    same_labels = bool(np.array_equal(expected.argmax(axis=1), got.argmax(axis=1)))
    difference = float(np.abs(expected - got).max()) if len(check_rows) else 0.0
    if not same_labels or difference > MAX_PROBABILITY_DIFFERENCE:
        logger.warning(
            "%s: ONNX predictions differ from scikit-learn's (labels equal: %s, max difference %.3g); not adopted",
            bundle.directory,
            same_labels,
            difference,
        )
        return bundle, "sklearn"
    logger.info(
        "%s: RandomForest runs in ONNX Runtime (checked on %d rows, max difference %.2g)",
        bundle.directory,
        len(check_rows),
        difference,
    )
    return ModelBundle(directory=bundle.directory, meta=bundle.meta, model=forest), OnnxForest.runtime
