"""The errors labeling raises: each message names the file, annotation or key at fault and the fix."""

from __future__ import annotations


class LabelingError(ValueError):
    """Labeling cannot go on (stale upstream files, a bad CDL pattern name, strict mode)."""


class AnnotationFormatError(LabelingError):
    """An annotations file that is not valid JSON or not the export shape of docs/DESIGN.md.

    The message starts with the file and the position: ``line L, column C`` for malformed
    JSON, the JSON path (``$.annotations[3].start_time``) for a value of the wrong shape.
    """


class InvalidAnnotationsError(LabelingError):
    """``labeling.strict`` is set and some annotations are invalid (the message lists them)."""
