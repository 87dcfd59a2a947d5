"""Reading the web's export: the Structs, a folder of exports, and errors that name the file and position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml_platform.labeling import AnnotationFormatError, LabelingError, load_annotations


def test_reads_one_export_into_structs(kit, tmp_path: Path) -> None:
    path = kit.write_export(
        tmp_path / "export.json",
        [
            kit.ann("double_top", 5, 9, id="b"),
            {
                **json.loads(kit.export([kit.ann("O", 1, 2, id="a")]))["annotations"][0],
                "model_prediction": {"label": "bull_flag", "confidence": 0.7, "model_version": "3"},
                "extra_key": 1,
            },
        ],
    )
    loaded = load_annotations(path)
    assert [a.id for a in loaded.annotations] == ["a", "b"]  # sorted by time
    negative = loaded.annotations[0]
    assert negative.is_negative and negative.source == "human_correction"
    assert negative.model_prediction.label == "bull_flag" and negative.model_prediction.model_version == "3"
    assert loaded.annotations[1].start_time == kit.t(5) and loaded.annotations[1].end_time == kit.t(9)
    assert loaded.counts() == {"EURUSD|1h": 2}
    assert loaded.files == (path,)


def test_a_folder_of_exports_is_read_in_order_and_the_latest_version_wins(kit, tmp_path: Path) -> None:
    kit.write_export(
        tmp_path / "b.json", [kit.ann("bull_flag", 1, 3, id="x", confidence=0.6)], exported_at="2026-11-01T00:00:00Z"
    )
    kit.write_export(
        tmp_path / "a.json",
        [kit.ann("bull_flag", 1, 3, id="x", confidence=0.95), kit.ann("bull_flag", 7, 9, id="y", pair="BTC-USDT")],
        exported_at="2026-11-20T00:00:00Z",
    )
    (tmp_path / ".a.json.tmp").write_text("{half")
    (tmp_path / ".hidden.json").write_text("not json")
    (tmp_path / "notes.txt").write_text("not an export")
    loaded = load_annotations(tmp_path)
    assert [p.name for p in loaded.files] == ["a.json", "b.json"]
    by_id = {a.id: a for a in loaded.annotations}
    assert by_id["x"].confidence == 0.95  # a.json is the later export
    assert loaded.counts() == {"BTC-USDT|1h": 1, "EURUSD|1h": 1}


def test_the_content_hash_ignores_file_layout_and_export_time(kit, tmp_path: Path) -> None:
    a, b = kit.ann("bull_flag", 1, 3, id="x"), kit.ann("double_top", 5, 9, id="y")
    one = load_annotations(kit.write_export(tmp_path / "one" / "e.json", [a, b]))
    kit.write_export(tmp_path / "two" / "1.json", [b], exported_at="2027-01-01T00:00:00Z")
    kit.write_export(tmp_path / "two" / "2.json", [a])
    two = load_annotations(tmp_path / "two")
    assert one.content_hash == two.content_hash
    assert one.partition_hashes() == two.partition_hashes()
    edited = load_annotations(kit.write_export(tmp_path / "three.json", [a, kit.ann("double_top", 5, 10, id="y")]))
    assert edited.content_hash != one.content_hash


def test_an_empty_folder_is_an_empty_set(tmp_path: Path) -> None:
    assert len(load_annotations(tmp_path)) == 0


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LabelingError, match="annotations not found"):
        load_annotations(tmp_path / "nowhere")


BAD_JSON = '{\n  "version": 1,\n  "annotations": [\n    {"id": "a" "pair": "EURUSD"}\n  ]\n}\n'


@pytest.mark.parametrize(
    ("content", "position"),
    [
        (BAD_JSON, "line 4, column 16: not valid JSON: expected ',' or '}'"),
        ('{"version": 1, "annotations": [', "line 1, column 32: not valid JSON: Input data was truncated"),
        ("", "line 1, column 1: the file is empty"),
        ("version: 1\n", "line 1, column 1: not valid JSON"),
    ],
    ids=["syntax", "truncated", "empty", "yaml"],
)
def test_a_file_that_is_not_json_names_the_file_and_the_position(tmp_path: Path, content: str, position: str) -> None:
    path = tmp_path / "export.json"
    path.write_text(content)
    with pytest.raises(AnnotationFormatError) as error:
        load_annotations(tmp_path)
    assert str(error.value).startswith(f"{path}: {position}")


def _annotation_dict(kit, **changes) -> dict:
    return {**json.loads(kit.export([kit.ann("bull_flag", 1, 3, id="a")]))["annotations"][0], **changes}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (lambda kit: [1, 2], "at $: Expected `object`, got `array`"),
        (lambda kit: {"version": 1}, "at $: Object missing required field `annotations`"),
        (
            lambda kit: {
                "version": 1,
                "annotations": [_annotation_dict(kit), _annotation_dict(kit, id="b", start_time="x")],
            },
            "at $.annotations[1].start_time (annotation id 'b'): Expected `int`, got `str`",
        ),
        (
            lambda kit: {
                "version": 1,
                "annotations": [{k: v for k, v in _annotation_dict(kit).items() if k != "end_time"}],
            },
            "at $.annotations[0] (annotation id 'a'): Object missing required field `end_time`",
        ),
        (
            lambda kit: {"version": 1, "annotations": [_annotation_dict(kit, source="robot")]},
            "at $.annotations[0].source (annotation id 'a'): Invalid enum value 'robot'",
        ),
        (lambda kit: {"version": 2, "annotations": []}, "at $.version: export version 2 is not supported"),
    ],
    ids=["array", "no-annotations", "string-time", "missing-field", "bad-source", "version"],
)
def test_a_file_of_the_wrong_shape_names_the_file_and_the_json_path(kit, tmp_path: Path, document, message) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document(kit)))
    with pytest.raises(AnnotationFormatError) as error:
        load_annotations(path)
    assert str(error.value).startswith(f"{path}: {message}")
