"""The sample-data generator: real files in tmp_path, written from a config YAML."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml_platform.config import PipelineConfig, load_config
from ml_platform.partitions import TIMEFRAME_SECONDS
from ml_platform.sample_data import (
    PATTERN_LABELS,
    START_TIME,
    generate_partition,
    main,
    write_sample_data,
)

N_CANDLES = 3000
ANNOTATION_KEYS = {
    "id",
    "pair",
    "timeframe",
    "label",
    "start_time",
    "end_time",
    "confidence",
    "source",
    "model_prediction",
    "note",
    "created_at",
}
SPAN_KEYS = {"pair", "timeframe", "label", "start_time", "end_time", "start_index", "end_index"}


def _config(root: Path) -> PipelineConfig:
    path = root / "pipeline.yaml"
    path.write_text(
        "data:\n"
        f"  raw_path: {root / 'raw'}\n"
        f"  annotations_path: {root / 'annotations'}\n"
        f"  ground_truth_path: {root / 'truth' / 'ground_truth.json'}\n",
        encoding="utf-8",
    )
    return load_config(path)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    write_sample_data(_config(root), n_candles=N_CANDLES, seed=11)
    return root


@pytest.fixture(scope="module")
def truth(written: Path) -> dict:
    return json.loads((written / "truth" / "ground_truth.json").read_text())


@pytest.fixture(scope="module")
def export(written: Path) -> dict:
    return json.loads((written / "annotations" / "sample_annotations.json").read_text())


def _read_csv(path: Path) -> pd.DataFrame:
    """The CSV as time (epoch s) + lower-case OHLCV, whatever its time format."""
    frame = pd.read_csv(path)
    frame.columns = [name.lower() for name in frame.columns]
    if "timestamp" in frame:
        stamps = pd.to_datetime(frame.pop("timestamp"), utc=True, format="%Y-%m-%dT%H:%M:%SZ")
        frame.insert(0, "time", (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1))
    else:
        frame["time"] = frame["time"] // 1000
    return frame


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for root in (first, second):
        root.mkdir()
        write_sample_data(_config(root), n_candles=400, seed=5)
    a, b = _files(first), _files(second)
    a.pop("pipeline.yaml"), b.pop("pipeline.yaml")  # names its own folder
    assert len(a) == 6 + 2
    assert a == b


def test_another_seed_gives_other_candles() -> None:
    one, _ = generate_partition("EURUSD", "1h", 400, seed=1)
    two, _ = generate_partition("EURUSD", "1h", 400, seed=2)
    assert not one["close"].equals(two["close"])


def test_every_file_is_written_and_no_temporary_is_left(written: Path) -> None:
    names = {p.name for p in (written / "raw").iterdir()}
    assert names == {f"{pair}_{tf}.csv" for pair in ("EURUSD", "GBPUSD", "BTC-USDT") for tf in ("1h", "4h")}
    assert not [p for p in written.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


@pytest.mark.parametrize("pair", ["EURUSD", "GBPUSD", "BTC-USDT"])
@pytest.mark.parametrize("timeframe", ["1h", "4h"])
def test_candles_are_consistent_and_evenly_spaced(written: Path, pair: str, timeframe: str) -> None:
    candles = _read_csv(written / "raw" / f"{pair}_{timeframe}.csv")
    assert list(candles.columns) == ["time", "open", "high", "low", "close", "volume"]
    assert len(candles) == N_CANDLES
    assert candles["time"].iloc[0] == START_TIME
    assert (candles["time"].diff().iloc[1:] == TIMEFRAME_SECONDS[timeframe]).all()
    prices = candles[["open", "high", "low", "close"]]
    assert (prices > 0).all().all() and (candles["volume"] > 0).all()
    assert (candles["high"] >= prices[["open", "close"]].max(axis=1)).all()
    assert (candles["low"] <= prices[["open", "close"]].min(axis=1)).all()
    assert (candles["open"].iloc[1:].to_numpy() == candles["close"].iloc[:-1].to_numpy()).all()  # no jumps


def test_price_levels_look_like_the_pair() -> None:
    for pair, low, high in [("EURUSD", 0.7, 1.6), ("GBPUSD", 0.8, 1.9), ("BTC-USDT", 5_000, 150_000)]:
        candles, _ = generate_partition(pair, "1h", 2000)
        assert low < candles["close"].min() and candles["close"].max() < high, pair


def test_csv_time_formats_vary_across_files(written: Path) -> None:
    headers = {p.stem: p.read_text().split("\n", 2)[:2] for p in (written / "raw").glob("*.csv")}
    assert headers["EURUSD_4h"][0] == "time,open,high,low,close,volume"
    assert headers["EURUSD_4h"][1].split(",")[0] == str(START_TIME * 1000)
    assert headers["GBPUSD_4h"][0] == "Timestamp,Open,High,Low,Close,Volume"
    iso = [stem for stem, (header, _) in headers.items() if header.startswith("timestamp,")]
    assert len(iso) == 4
    assert all(headers[stem][1].startswith("2016-01-01T00:00:00Z,") for stem in iso)


def test_ground_truth_spans_lie_inside_their_series(written: Path, truth: dict) -> None:
    assert truth["version"] == 1 and truth["generator"]["seed"] == 11
    spans = pd.DataFrame(truth["spans"])
    assert set(spans.columns) == SPAN_KEYS
    assert set(spans["label"]) == set(PATTERN_LABELS)
    for (pair, timeframe), group in spans.groupby(["pair", "timeframe"]):
        times = _read_csv(written / "raw" / f"{pair}_{timeframe}.csv")["time"].to_numpy()
        assert 10 <= len(group) <= N_CANDLES // 120
        assert (group["start_index"] >= 0).all() and (group["end_index"] < len(times)).all()
        assert (times[group["start_index"]] == group["start_time"]).all()
        assert (times[group["end_index"]] == group["end_time"]).all()
        lengths = group["end_index"] - group["start_index"] + 1
        assert lengths.between(20, 45).all()
        assert (group["start_index"].iloc[1:].to_numpy() > group["end_index"].iloc[:-1].to_numpy()).all()


def _has_its_shape(label: str, path: np.ndarray, before: float) -> bool:
    third = len(path) // 3
    if label == "head_and_shoulders":
        return bool(path[third : 2 * third].max() > max(path[:third].max(), path[2 * third :].max()))
    if label == "double_top":
        first, second = path[: len(path) // 2].max(), path[len(path) // 2 :].max()
        return bool(abs(first - second) < 0.2 * (path.max() - path.min()))
    return bool(int(np.argmax(path)) < len(path) // 2 and path[-1] > before)


def test_planted_shapes_have_their_defining_features() -> None:
    """Drawn cleanly (telltale noise) every shape is exact; with the background's noise most still are."""
    for telltales, share in (("noise", 1.0), (None, 0.8)):
        candles, spans = generate_partition("GBPUSD", "4h", 6000, telltales=telltales)
        close = candles["close"].to_numpy()
        hits = [
            _has_its_shape(s.label, close[s.start_index : s.end_index + 1], close[s.start_index - 1]) for s in spans
        ]
        assert np.mean(hits) >= share, (telltales, np.mean(hits))


def _texture(candles: pd.DataFrame, spans: list) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per cue, (values inside spans, values on the 50 candles before each span).

    wicks: upper plus lower wick in log units (the volatility changes slowly, so the candles
    just before a span are its yardstick); volume: log volume.
    """
    o, h, lo, c, v = (np.log(candles[k].to_numpy()) for k in ("open", "high", "low", "close", "volume"))
    inside, before = np.zeros(len(c), dtype=bool), np.zeros(len(c), dtype=bool)
    for s in spans:
        inside[s.start_index : s.end_index + 1] = True
        before[s.start_index - 50 : s.start_index] = True
    values = {"wicks": h - lo - np.abs(c - o), "volume": v}
    return {cue: (x[inside], x[before & ~inside]) for cue, x in values.items()}


def test_patterns_are_shape_only_by_default() -> None:
    """Inside a span, wicks and volume are drawn as outside; each telltale, asked for, shows."""
    candles, spans = generate_partition("EURUSD", "1h", 20_000)
    plain = _texture(candles, spans)
    inside, outside = plain["wicks"]
    assert 0.9 < np.median(inside) / np.median(outside) < 1.1
    assert np.std(inside) / np.mean(inside) > 0.5  # random, like the background's
    inside, outside = plain["volume"]
    assert abs(np.median(inside) - np.median(outside)) < 0.05 and 0.9 < np.std(inside) / np.std(outside) < 1.1
    marked_candles, marked_spans = generate_partition("EURUSD", "1h", 20_000, telltales="noise,wicks,volume")
    assert [(s.start_index, s.end_index, s.label) for s in marked_spans] == [
        (s.start_index, s.end_index, s.label) for s in spans
    ]
    marked = _texture(marked_candles, marked_spans)
    inside, outside = marked["wicks"]
    assert np.std(inside) / np.mean(inside) < 0.75 * np.std(outside) / np.mean(outside)  # a regular texture
    inside, outside = marked["volume"]
    assert abs(np.median(inside) - np.median(outside)) > 0.1  # the shapes' volume profiles


def test_the_background_is_the_same_whatever_the_telltales() -> None:
    plain, spans = generate_partition("EURUSD", "1h", 1000)
    marked, _ = generate_partition("EURUSD", "1h", 1000, telltales=["wicks"])
    before = spans[0].start_index
    assert plain.iloc[:before].equals(marked.iloc[:before])
    assert plain["close"].equals(marked["close"])  # wicks change highs and lows only
    with pytest.raises(ValueError, match="unknown telltale"):
        generate_partition("EURUSD", "1h", 400, telltales="colour")


def test_a_wider_spacing_plants_fewer_patterns_on_the_same_background() -> None:
    """The review-queue benchmark's sparse variant: rarer patterns, no seam, no other change."""
    dense, dense_spans = generate_partition("EURUSD", "1h", 6000)
    sparse, sparse_spans = generate_partition("EURUSD", "1h", 6000, spacing=(480, 800))
    starts = [s.start_index for s in sparse_spans]
    assert all(480 <= b - a <= 800 for a, b in zip(starts, starts[1:], strict=False))
    assert 3 * len(sparse_spans) < len(dense_spans)

    def quiet_returns(candles: pd.DataFrame, spans: list) -> np.ndarray:  # outside every pattern
        inside = np.zeros(len(candles), dtype=bool)
        for span in spans:
            inside[span.start_index : span.end_index + 1] = True
        return np.diff(np.log(candles["close"].to_numpy()))[~inside[1:]]

    # the same background process around the patterns (the same noise draws; only the level's drift differs)
    assert np.std(quiet_returns(sparse, sparse_spans)) == pytest.approx(
        np.std(quiet_returns(dense, dense_spans)), rel=0.1
    )
    with pytest.raises(ValueError, match="spacing"):
        generate_partition("EURUSD", "1h", 1000, spacing=(30, 40))  # patterns (up to 45 candles) would overlap


def test_annotations_follow_the_export_format(written: Path, export: dict) -> None:
    assert set(export) == {"version", "exported_at", "annotations"} and export["version"] == 1
    annotations = export["annotations"]
    assert all(set(a) == ANNOTATION_KEYS for a in annotations)
    assert len({a["id"] for a in annotations}) == len(annotations)
    for a in annotations:
        uuid.UUID(a["id"])
        assert a["label"] in (*PATTERN_LABELS, "O") and a["note"] == ""
        assert a["created_at"].endswith("Z") and a["start_time"] <= a["end_time"]
        assert a["source"] == ("human" if a["label"] != "O" else "human_correction")
        assert (a["model_prediction"] is None) == (a["label"] != "O")
        times = set(_read_csv(written / "raw" / f"{a['pair']}_{a['timeframe']}.csv")["time"].tolist())
        assert a["start_time"] in times and a["end_time"] in times


def test_annotations_are_imperfect_like_a_human(export: dict, truth: dict) -> None:
    positives = [a for a in export["annotations"] if a["label"] != "O"]
    planted = {(s["pair"], s["timeframe"], s["label"]): [] for s in truth["spans"]}
    for s in truth["spans"]:
        planted[(s["pair"], s["timeframe"], s["label"])].append((s["start_time"], s["end_time"]))
    exact = sum((a["start_time"], a["end_time"]) in planted[(a["pair"], a["timeframe"], a["label"])] for a in positives)
    confidences = np.array([a["confidence"] for a in positives])
    assert 0.8 * len(truth["spans"]) <= len(positives) < len(truth["spans"])  # some missed
    assert 0.4 * len(positives) <= exact < len(positives)  # some boundaries off
    assert 0 < (confidences < 0.5).sum() <= 0.1 * len(positives)
    assert confidences.min() >= 0.3 and confidences.max() <= 1.0 and confidences.std() > 0.05


def test_negative_annotations_sit_on_stretches_without_a_pattern(export: dict, truth: dict) -> None:
    negatives = [a for a in export["annotations"] if a["label"] == "O"]
    assert len(negatives) >= 6
    for a in negatives:
        prediction = a["model_prediction"]
        assert set(prediction) == {"label", "confidence", "model_version"}
        assert prediction["label"] in PATTERN_LABELS and 0 <= prediction["confidence"] <= 1
        for s in truth["spans"]:
            if (s["pair"], s["timeframe"]) == (a["pair"], a["timeframe"]):
                assert a["end_time"] < s["start_time"] or a["start_time"] > s["end_time"]


def test_generate_partition_validates_its_input() -> None:
    with pytest.raises(ValueError, match="at least 300"):
        generate_partition("EURUSD", "1h", 100)
    with pytest.raises(ValueError, match="pair 'eurusd' is not valid"):
        generate_partition("eurusd", "1h", 400)


def test_cli_writes_where_the_config_says(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _config(tmp_path)
    assert main(["--config", str(tmp_path / "pipeline.yaml"), "--candles", "400", "--seed", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("EURUSD|1h: 400 candles, ") and "planted spans" in lines[0]
    assert len(lines) == 6 + 2
    generator = json.loads((tmp_path / "truth" / "ground_truth.json").read_text())["generator"]
    assert generator["seed"] == 3 and generator["telltales"] == []
    assert main(["--config", str(tmp_path / "pipeline.yaml"), "--candles", "400", "--telltales", "wicks,noise"]) == 0
    generator = json.loads((tmp_path / "truth" / "ground_truth.json").read_text())["generator"]
    assert generator["telltales"] == ["noise", "wicks"]
    with pytest.raises(SystemExit):
        main(["--config", str(tmp_path / "pipeline.yaml"), "--telltales", "volume,glow"])
