"""The model bundle: what `trained_model` writes and the inference service loads.

A bundle is one folder (``{data.models_path}/{PAIR}_{TF}/versions/{model_version}/``, one per
trained version, the served one named by ``champion.json``: `ml_platform.bundle_store`; a legacy
flat bundle lives in ``{PAIR}_{TF}/`` itself), holding

- ``bundle.json``: a `BundleMeta` (model version, classes in ``predict_proba`` column
  order, labels and colours, feature columns, the full pipeline config, metrics, MLflow run
  id and registered version, dataset version, trained_at, the model file's name);
- the model file it names: ``model-{model_version}.ubj`` (XGBoost's native format) or
  ``model-{model_version}.skops`` (RandomForest through skops, trusted types listed); in span
  mode (``mode: "span"``) a folder ``model-{model_version}.span/`` holding the span detector
  and the optional CDL BIO model (`ml_platform.training.span_model.SpanModel`; ``classes``
  are then every per-candle tag the bundle can emit, ``feature_columns`` the CDL part's).
  Bundles written before span mode existed are unchanged and load as before.

Writing order makes hot reload safe: the model file is written under a new, unique name
first, then ``bundle.json`` is replaced atomically (temp file + ``os.replace``, fsynced). A reader
sees either the old json naming the old (still present) model file, or the new json naming
the new one. Model files older than the previous one are removed.

Class indices: every model is trained on integer classes ``0..n-1``; ``meta.classes[i]``
is the tag of class ``i`` (``"B-bull_flag"``, ``"O"``, ...). Use `ModelBundle.predict_proba`
for serving: it returns float64 probabilities in ``meta.classes`` order whatever the
estimator (the MLflow xgboost pyfunc returns labels, not probabilities).
"""

from __future__ import annotations

import colorsys
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from ml_platform.config import LabelSpec, PipelineConfig, config_from_dict
from ml_platform.storage import replace_durably

FORMAT_VERSION = 1
BUNDLE_FILE = "bundle.json"
MODEL_FILE_PREFIX = "model-"
OUTSIDE_TAG = "O"
SPAN_MODE = "span"
SPAN_MODEL_SUFFIX = ".span"  # the span model folder: model-{model_version}.span/
_VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class BundleError(RuntimeError):
    """A bundle that is missing, unreadable or inconsistent; the message names the file."""


class BundleMeta(msgspec.Struct, kw_only=True):
    """What ``bundle.json`` holds (see the module docstring).

    classes : list of str
        ``predict_proba`` column order: ``meta.classes[i]`` is integer class ``i``.
    labels : list of {"name", "color"}
        Every pattern label the model can emit (``O`` excluded), colours from
        ``labeling.labels``, stable generated colours for programmatic (CDL) labels.
    base_feature_columns : list of str
        The `build_features` columns the model uses, before context/windowing.
    feature_columns : list of str
        The final model input columns, in order (`ml_platform.model_inputs` builds them).
    metrics : dict
        ``{"validation": {...}, "test": {...}, "per_class": {...}}``.
    trained_at : str
        ISO-8601 UTC.
    model_file : str
        The model file's name inside the bundle folder (set by `save_bundle`).
    pooled_from : list of str
        A pooled model (`ml_platform.training.pooled`): the ``PAIR|TF`` keys of the partitions
        it was fitted on (``pair`` is then ``POOLED``); empty for a per-partition model and in
        bundles written before pooled models existed.
    """

    format_version: int = FORMAT_VERSION
    model_version: str
    model_type: str
    pair: str
    timeframe: str
    mode: str
    classes: list[str]
    labels: list[dict[str, str]]
    base_feature_columns: list[str]
    feature_columns: list[str]
    pipeline_config: dict[str, Any]
    metrics: dict[str, Any]
    mlflow_run_id: str | None = None
    registered_model_name: str | None = None
    registered_version: str | None = None
    dataset_version: str
    trained_at: str
    model_file: str = ""
    pooled_from: list[str] = msgspec.field(default_factory=list)


class _VersionOnly(msgspec.Struct):
    model_version: str


@dataclass
class ModelBundle:
    """A loaded bundle: its folder, its metadata and the fitted estimator."""

    directory: Path
    meta: BundleMeta
    model: Any

    @property
    def config(self) -> PipelineConfig:
        """The pipeline config the model was trained with (features, context, labeling mode)."""
        return config_from_dict(self.meta.pipeline_config, source=str(self.directory / BUNDLE_FILE))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : array of shape (n_rows, len(meta.feature_columns))
            Built by `ml_platform.model_inputs`, columns in ``meta.feature_columns`` order.

        Returns
        -------
        ndarray of float64, shape (n_rows, len(meta.classes))
            Columns in ``meta.classes`` order.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.meta.feature_columns):
            raise ValueError(
                f"X has shape {X.shape}; the model expects (n_rows, {len(self.meta.feature_columns)}) "
                "columns in meta.feature_columns order (build them with ml_platform.model_inputs)"
            )
        n_classes = len(self.meta.classes)
        if len(X) == 0:
            return np.zeros((0, n_classes), dtype=np.float64)
        raw = np.asarray(self.model.predict_proba(X), dtype=np.float64)
        order = [int(value) for value in self.model.classes_]
        if order == list(range(n_classes)):
            return raw
        out = np.zeros((len(X), n_classes), dtype=np.float64)
        out[:, order] = raw
        return out


# --------------------------------------------------------------------------- labels and colours


def pattern_of(tag: str) -> str | None:
    """The pattern label of a class tag: ``B-bull_flag`` -> ``bull_flag``, ``O`` -> None."""
    if tag == OUTSIDE_TAG:
        return None
    return tag[2:] if tag[:2] in ("B-", "I-") else tag


def generated_color(name: str) -> str:
    """A stable colour for a label without a configured one (same name, same colour, every run)."""
    hue = (zlib.crc32(name.encode("utf-8")) % 360) / 360.0
    red, green, blue = colorsys.hls_to_rgb(hue, 0.5, 0.55)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def pattern_labels(classes: Iterable[str], configured: Sequence[LabelSpec]) -> list[dict[str, str]]:
    """``[{"name", "color"}]`` for every pattern label among `classes`, in first-seen order."""
    colors = {spec.name: spec.color for spec in configured}
    seen: dict[str, str] = {}
    for tag in classes:
        name = pattern_of(tag)
        if name is not None and name not in seen:
            seen[name] = colors.get(name) or generated_color(name)
    return [{"name": name, "color": color} for name, color in seen.items()]


# --------------------------------------------------------------------------- save and load


def _model_type(name: str) -> Any:
    from ml_platform.training.models import get_model_type  # the registry knows each type's file format

    return get_model_type(name)


def save_bundle(directory: Path, meta: BundleMeta, model: Any) -> Path:
    """Write `model` and `meta` into `directory`; return the ``bundle.json`` path.

    The model file goes under a unique name first (``model-{model_version}{suffix}``), then
    ``bundle.json`` is replaced atomically, so a concurrent reader never sees a half-written
    bundle. Model files other than the new one and the one the previous json named are removed.
    """
    if not _VERSION_PATTERN.fullmatch(meta.model_version):
        raise BundleError(f"model_version {meta.model_version!r} must be letters, digits, '.', '_' or '-'")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model_type = _model_type(meta.model_type)
    suffix = SPAN_MODEL_SUFFIX if meta.mode == SPAN_MODE else model_type.file_suffix
    model_file = f"{MODEL_FILE_PREFIX}{meta.model_version}{suffix}"
    previous = _previous_model_file(directory)
    temp_model = directory / f".tmp-{model_file}"  # keeps the suffix: savers pick the format from it
    try:
        if meta.mode == SPAN_MODE:  # a folder: the detector and the optional CDL model (SpanModel.save)
            _remove(temp_model)
            model.save(temp_model)
            _remove(directory / model_file)
        else:
            model_type.save(model, temp_model)
        replace_durably(temp_model, directory / model_file)
    finally:
        _remove(temp_model)
    final_meta = msgspec.structs.replace(meta, model_file=model_file)
    bundle_path = directory / BUNDLE_FILE
    handle, temp_name = tempfile.mkstemp(prefix=f".{BUNDLE_FILE}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(msgspec.json.format(msgspec.json.encode(final_meta), indent=2) + b"\n")
        replace_durably(temp_name, bundle_path)
    finally:
        Path(temp_name).unlink(missing_ok=True)
    keep = {model_file, previous}
    for stale in directory.glob(f"{MODEL_FILE_PREFIX}*"):
        if stale.name not in keep:
            _remove(stale)
    return bundle_path


def _remove(path: Path) -> None:
    """Delete a model file or a span model folder; nothing when absent."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _previous_model_file(directory: Path) -> str | None:
    try:
        return load_meta(directory).model_file
    except BundleError:
        return None


def champion_folder(directory: Path) -> Path:
    """`directory` itself, or, for a partition folder with a ``champion.json``, the champion's version folder.

    (`ml_platform.bundle_store` writes that layout; ``versions/{model_version}/``, else the
    legacy flat bundle when it holds that version.) A pointer that cannot be read leaves `directory`.
    """
    directory = Path(directory)
    try:
        version = msgspec.json.decode((directory / "champion.json").read_bytes(), type=_VersionOnly).model_version
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return directory
    folder = directory / "versions" / version
    return folder if (folder / BUNDLE_FILE).is_file() or not (directory / BUNDLE_FILE).is_file() else directory


def load_meta(directory: Path) -> BundleMeta:
    """Only ``bundle.json``, decoded and checked (no model file is read); a partition folder: its champion's."""
    path = champion_folder(directory) / BUNDLE_FILE
    try:
        meta = msgspec.json.decode(path.read_bytes(), type=BundleMeta)
    except FileNotFoundError:
        raise BundleError(f"{path}: no model bundle here (materialize trained_model for this partition)") from None
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BundleError(f"{path}: not a valid bundle.json: {exc}") from None
    if meta.format_version != FORMAT_VERSION:
        raise BundleError(
            f"{path}: bundle format_version {meta.format_version}, this code reads {FORMAT_VERSION}: retrain the model"
        )
    if Path(meta.model_file).name != meta.model_file or not meta.model_file:
        raise BundleError(f"{path}: model_file {meta.model_file!r} must be a plain file name in the bundle folder")
    return meta


def _load_span_model(path: Path) -> Any:
    from ml_platform.training.span_model import SpanModel  # the detector pulls in the shapes package

    return SpanModel.load(path)


def load_bundle(directory: Path) -> ModelBundle:
    """Load ``bundle.json`` and the model file it names.

    Raises
    ------
    BundleError
        Naming the file that is missing or unreadable, or the unknown model type.
    """
    directory = champion_folder(directory)
    meta = load_meta(directory)
    model_path = directory / meta.model_file
    try:
        model_type = _model_type(meta.model_type)
    except ValueError as exc:
        raise BundleError(f"{directory / BUNDLE_FILE}: {exc}") from None
    span = meta.mode == SPAN_MODE
    if not (model_path.is_dir() if span else model_path.is_file()):
        raise BundleError(f"{model_path}: model {'folder' if span else 'file'} named by {BUNDLE_FILE} is missing")
    try:
        model = _load_span_model(model_path) if span else model_type.load(model_path)
    except Exception as exc:  # every loader's own errors: report the file, not a stack of internals
        raise BundleError(f"{model_path}: cannot load the {meta.model_type} model: {exc}") from exc
    return ModelBundle(directory=directory, meta=meta, model=model)


def bundle_version(directory: Path) -> str | None:
    """The ``model_version`` in ``bundle.json``, or None when there is no readable bundle (cheap: for polling)."""
    try:
        return msgspec.json.decode((Path(directory) / BUNDLE_FILE).read_bytes(), type=_VersionOnly).model_version
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
