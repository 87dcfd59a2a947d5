"""Which partitions' annotations changed since the last look: shared by the Dagster sensors.

The cursor is JSON ``{"PAIR|TF": sha256 of that partition's annotations}`` (partitions
without annotations are left out). A partition has changed when its hash differs from
the cursor's, including when its annotations appeared or all went away. The hash covers
the annotations' content, not the files, so rewriting an export with the same content
(a new ``exported_at``) requests nothing. A cursor that is not valid JSON counts as empty:
every partition with annotations is then "changed".
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence

from ml_platform.labeling.annotations import load_annotations

logger = logging.getLogger(__name__)


def parse_cursor(cursor: str | None) -> dict[str, str]:
    """The ``{partition key: hash}`` mapping stored in a sensor cursor (empty when absent or unreadable)."""
    if not cursor:
        return {}
    try:
        value = json.loads(cursor)
    except json.JSONDecodeError:
        logger.warning("annotations sensor cursor is not JSON; treating every partition as changed")
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(key): str(digest) for key, digest in value.items()}


def changed_partitions(
    previous_cursor: str | None,
    annotations_path: str | os.PathLike[str],
    partition_keys: Sequence[str] | None = None,
) -> tuple[list[str], str]:
    """Partition keys whose annotations differ from `previous_cursor`, and the new cursor.

    Parameters
    ----------
    previous_cursor : str or None
        The cursor from the last evaluation (None on the first).
    annotations_path : path-like
        ``data.annotations_path`` (an export file or a folder of them).
    partition_keys : sequence of str, optional
        Only these partitions are reported (and kept in the cursor), in this order;
        default: every partition that has annotations now or had them before, sorted.

    Returns
    -------
    keys : list of str
    cursor : str
        JSON, sorted keys.

    Raises
    ------
    AnnotationFormatError, LabelingError
        As `load_annotations`: an unreadable export changes nothing.
    """
    previous = parse_cursor(previous_cursor)
    current = load_annotations(annotations_path).partition_hashes()
    keys = list(partition_keys) if partition_keys is not None else sorted(set(previous) | set(current))
    changed = [key for key in keys if previous.get(key) != current.get(key)]
    cursor = {key: current[key] for key in keys if key in current}
    return changed, json.dumps(cursor, sort_keys=True)
