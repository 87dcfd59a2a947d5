"""Ingestion of the web's annotation export (docs/DESIGN.md, "Annotations").

``data.annotations_path`` is one export file or a folder of them (``*.json``, read in name
order; hidden files are ignored). The export is decoded straight into msgspec Structs,
so a file that is not JSON, or not the documented shape, fails with the file and the
position: ``line L, column C`` for malformed JSON, the JSON path for a wrong value
(``$.annotations[3].start_time: Expected `int`, got `str```). Unknown extra keys are
ignored so a newer web export still loads.

Sources: ``human`` and ``model`` (a model's span an annotator kept) are positive spans;
label ``O`` is a negative annotation ("no pattern here"), normally from
``human_correction``, whatever its source.

Content checks that concern one annotation (unknown pair, end before start, a
confidence outside [0, 1], a label outside the label set) are not format errors: they
are made by `ml_platform.labeling.validation`, which skips and counts such annotations.

When a folder holds several exports and one annotation id occurs more than once, the
version from the latest export wins (by ``exported_at``, then file name; within one file
the later entry wins), it is counted once, and a warning names the duplicated ids (warn and
deduplicate, not fail: re-exporting into the same folder is the normal workflow, so the
same id in an older and a newer export is expected, not corrupt data).

Partition files: the web app rewrites ``{PAIR}_{TF}.json`` (e.g. ``EURUSD_1h.json``) in the folder
on every save and delete (``ANNOTATIONS_EXPORT_DIR``). Such a file is authoritative for its
partition: that partition's annotations come from it alone (entries of other partitions in it
are ignored), and annotations of that partition in any other file of the folder (a manual
Export download, the demo's ``sample_annotations.json``) are ignored, so a span deleted in the
web disappears from the labels. Other files still supply the partitions that have no
partition file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from ml_platform.labeling.errors import AnnotationFormatError, LabelingError
from ml_platform.labeling.spans import NEGATIVE_LABEL

logger = logging.getLogger(__name__)

EXPORT_VERSION = 1
AnnotationSource = Literal["human", "human_correction", "model"]
_FORMAT_HINT = (
    'expected {"version": 1, "exported_at": ..., "annotations": [{"id", "pair", "timeframe", "label", '
    '"start_time", "end_time", "confidence", "source", ...}]} (docs/DESIGN.md, "Annotations")'
)


class ModelPrediction(msgspec.Struct, frozen=True, kw_only=True):
    """What the model said about a span a human then corrected."""

    label: str
    confidence: float
    model_version: str | None = None


class Annotation(msgspec.Struct, frozen=True, kw_only=True):
    """One span, as the web exports it.

    start_time, end_time : int
        Epoch seconds (UTC) of the span's first and last candle, inclusive.
    confidence : float
        The annotator's confidence; checked to lie in [0, 1] by validation, not here.
    label : str
        A pattern label, or ``O`` for a negative annotation ("no pattern here").
    """

    id: str
    pair: str
    timeframe: str
    label: str
    start_time: int
    end_time: int
    confidence: float
    source: AnnotationSource
    model_prediction: ModelPrediction | None = None
    note: str = ""
    created_at: str | None = None

    @property
    def partition_key(self) -> str:
        """``PAIR|TF``, the Dagster partition key the annotation belongs to."""
        return f"{self.pair}|{self.timeframe}"

    @property
    def is_negative(self) -> bool:
        """An explicit "no pattern" (label ``O``), whatever its source."""
        return self.label == NEGATIVE_LABEL


class AnnotationExport(msgspec.Struct, frozen=True, kw_only=True):
    """One export file."""

    version: int
    exported_at: str | None = None
    annotations: list[Annotation]


@dataclass(frozen=True)
class AnnotationSet:
    """Every annotation read from ``data.annotations_path``.

    annotations : tuple of Annotation
        Sorted by pair, timeframe, start_time, end_time, id; ids are unique.
    files : tuple of Path
        The export files read, in name order.
    duplicate_ids : tuple of str
        Ids found more than once (across files or within one), each kept once (latest export).
    """

    annotations: tuple[Annotation, ...]
    files: tuple[Path, ...]
    duplicate_ids: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.annotations)

    def for_partition(self, partition_key: str) -> list[Annotation]:
        """The annotations of one ``PAIR|TF`` partition."""
        return [a for a in self.annotations if a.partition_key == partition_key]

    def counts(self) -> dict[str, int]:
        """Annotations per ``PAIR|TF`` (also for pairs and timeframes that are not configured)."""
        return dict(sorted(Counter(a.partition_key for a in self.annotations).items()))

    @property
    def content_hash(self) -> str:
        """A hash of the annotations' content (not of the files: a re-export without changes keeps it)."""
        return annotations_hash(self.annotations)

    def partition_hashes(self) -> dict[str, str]:
        """``{PAIR|TF: hash of that partition's annotations}`` for every partition that has some."""
        by_key: dict[str, list[Annotation]] = {}
        for annotation in self.annotations:
            by_key.setdefault(annotation.partition_key, []).append(annotation)
        return {key: annotations_hash(group) for key, group in sorted(by_key.items())}


def annotations_hash(annotations: Iterable[Annotation]) -> str:
    """SHA-256 of the annotations' canonical JSON, in id order (independent of file layout)."""
    ordered = sorted(annotations, key=lambda annotation: annotation.id)
    return hashlib.sha256(msgspec.json.encode(ordered)).hexdigest()


def load_annotations(path: str | os.PathLike[str]) -> AnnotationSet:
    """Read one export file or every ``*.json`` export in a folder.

    Parameters
    ----------
    path : path-like
        ``data.annotations_path``: a ``.json`` file or a folder of them.

    Returns
    -------
    AnnotationSet
        An empty set (with a logged warning) for a folder without exports.

    Raises
    ------
    AnnotationFormatError
        A file that is empty, not valid JSON, not the export shape, or of another export
        version: the message names the file and the position.
    LabelingError
        `path` does not exist.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if p.is_file() and not p.name.startswith("."))
        if not files:
            logger.warning("%s: no *.json annotation export in this folder; every candle is unannotated", path)
    elif path.is_file():
        files = [path]
    else:
        raise LabelingError(
            f"{path}: annotations not found (data.annotations_path must be an export .json file or a folder of them)"
        )
    exports = [(read_export(file), file) for file in files]
    exports.sort(key=lambda pair: (pair[0].exported_at or "", pair[1].name))
    owned = {key for key in map(partition_file_key, files) if key is not None}
    by_id: dict[str, Annotation] = {}
    found_in: dict[str, list[str]] = {}
    for export, file in exports:
        own_key = partition_file_key(file)
        for annotation in export.annotations:
            if not _belongs(annotation.partition_key, own_key, owned):
                continue
            by_id[annotation.id] = annotation
            found_in.setdefault(annotation.id, []).append(file.name)
    duplicates = {key: names for key, names in found_in.items() if len(names) > 1}
    if duplicates:
        examples = "; ".join(f"{key!r} in {', '.join(names)}" for key, names in list(duplicates.items())[:3])
        logger.warning(
            "%s: %d annotation ids occur more than once (%s%s); each is counted once, with the latest export's "
            "version (by exported_at, then file name): remove the older exports to silence this",
            path,
            len(duplicates),
            examples,
            ", ..." if len(duplicates) > 3 else "",
        )
    ordered = sorted(by_id.values(), key=lambda a: (a.pair, a.timeframe, a.start_time, a.end_time, a.id))
    return AnnotationSet(annotations=tuple(ordered), files=tuple(files), duplicate_ids=tuple(sorted(duplicates)))


_PARTITION_FILE = re.compile(r"^(?P<pair>[A-Z0-9]+(?:-[A-Z0-9]+)*)_(?P<timeframe>1m|5m|15m|30m|1h|4h|1d|1w)\.json$")


def partition_file_name(partition_key: str) -> str:
    """``EURUSD|1h`` -> ``EURUSD_1h.json``: the partition file the web app rewrites on every save."""
    pair, _, timeframe = partition_key.partition("|")
    return f"{pair}_{timeframe}.json"


def partition_file_key(file: str | os.PathLike[str]) -> str | None:
    """``.../EURUSD_1h.json`` -> ``EURUSD|1h``; None for a file not named like a partition file."""
    match = _PARTITION_FILE.match(Path(file).name)
    return f"{match.group('pair')}|{match.group('timeframe')}" if match else None


def _belongs(key: str, own_key: str | None, owned: set[str]) -> bool:
    """Whether an annotation of partition `key` read from a file owning `own_key` (None: no partition) counts."""
    if own_key is not None:
        return key == own_key
    return key not in owned


def load_partition_annotations(path: str | os.PathLike[str], partition_key: str) -> AnnotationSet:
    """The annotations of one ``PAIR|TF`` partition, as `load_annotations` would give them.

    When `path` is a folder holding the partition's file (``EURUSD_1h.json``), only that file is
    read, so a malformed file of another partition does not block this one; otherwise the whole
    of `path` is read. Raises as `load_annotations`.
    """
    folder = Path(path)
    own = folder / partition_file_name(partition_key)
    loaded = load_annotations(own if folder.is_dir() and own.is_file() else folder)
    kept = tuple(a for a in loaded.annotations if a.partition_key == partition_key)
    return AnnotationSet(annotations=kept, files=loaded.files, duplicate_ids=loaded.duplicate_ids)


def read_export(file: str | os.PathLike[str]) -> AnnotationExport:
    """Decode and shape-check one export file (see `load_annotations` for the errors)."""
    file = Path(file)
    data = file.read_bytes()
    if not data.strip():
        raise AnnotationFormatError(f"{file}: line 1, column 1: the file is empty; {_FORMAT_HINT}")
    try:
        export = msgspec.json.decode(data, type=AnnotationExport)
    except msgspec.ValidationError as exc:
        raise AnnotationFormatError(f"{file}: {_shape_error(exc, data)}; {_FORMAT_HINT}") from None
    except msgspec.DecodeError as exc:
        raise AnnotationFormatError(f"{file}: {_json_error(exc, data)}") from None
    if export.version != EXPORT_VERSION:
        raise AnnotationFormatError(
            f"{file}: at $.version: export version {export.version} is not supported (this pipeline reads "
            f"version {EXPORT_VERSION}); re-export from the web or upgrade the pipeline"
        )
    return export


_BYTE_POSITION = re.compile(r"\s*\(byte (\d+)\)\s*$")
_JSON_PATH = re.compile(r"^(?P<reason>.*) - at `(?P<path>\$[^`]*)`$")
_ANNOTATION_INDEX = re.compile(r"^\$\.annotations\[(\d+)\]")


def _line_column(data: bytes, position: int) -> str:
    position = max(0, min(position, len(data)))
    line = data.count(b"\n", 0, position) + 1
    column = position - (data.rfind(b"\n", 0, position) + 1) + 1
    return f"line {line}, column {column}"


def _json_error(exc: msgspec.DecodeError, data: bytes) -> str:
    """``line L, column C: not valid JSON: <reason>`` from msgspec's ``... (byte N)``."""
    message = str(exc)
    match = _BYTE_POSITION.search(message)
    if match:
        position = int(match.group(1))
        reason = message[: match.start()]
    else:  # "Input data was truncated": the document ends too early
        position = len(data.rstrip())
        reason = message
    reason = reason.removeprefix("JSON is malformed: ")
    return f"{_line_column(data, position)}: not valid JSON: {reason}"


def _shape_error(exc: msgspec.ValidationError, data: bytes) -> str:
    """``at $.annotations[3].start_time (annotation id 'x'): <reason>``."""
    message = str(exc)
    match = _JSON_PATH.match(message)
    reason, json_path = (match.group("reason"), match.group("path")) if match else (message, "$")
    where = f"at {json_path}"
    index = _ANNOTATION_INDEX.match(json_path)
    if index:
        annotation_id = _annotation_id(data, int(index.group(1)))
        if annotation_id is not None:
            where += f" (annotation id {annotation_id!r})"
    return f"{where}: {reason}"


def _annotation_id(data: bytes, index: int) -> str | None:
    """The id of the annotation at `index`, when the document can be read without a schema."""
    try:
        entry = msgspec.json.decode(data)["annotations"][index]
        return str(entry["id"]) if isinstance(entry, dict) and "id" in entry else None
    except (msgspec.DecodeError, KeyError, IndexError, TypeError):
        return None
