"""The span detector on the sample data: proposal recall and span F1 per label (a quick check, not a test).

For every pair (1h, ``--candles`` candles from `ml_platform.sample_data.generate_partition`,
shape-only by default), the first ``--train`` share of the candles is for fitting, the rest
(after a gap of 100 candles) for testing. The detector is fitted on the annotator's export
of the training part (``--labels annotations``: missed spans, shifted boundaries,
low-confidence ones dropped) or on the planted spans (``--labels truth``), and scored
against the planted spans of the test part (same label, IoU >= 0.5).

    python bench/bench_spans_sample.py
    python bench/bench_spans_sample.py --model random_forest --labels truth --telltales noise,wicks,volume
    python bench/bench_spans_sample.py --set 'geometry_scales=[]'   # DetectorSettings fields replaced (JSON)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ml_platform.sample_data import annotate, generate_partition  # noqa: E402
from ml_platform.shapes.candidates import proposal_recall, propose_candidates  # noqa: E402
from ml_platform.shapes.detector import DetectorSettings, SpanDetector  # noqa: E402
from ml_platform.training.evaluation import Span, match_spans  # noqa: E402

GAP = 100
MIN_CONFIDENCE = 0.5


def _frame(rows: list[tuple[int, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["start", "end", "label"]).astype({"start": np.int64, "end": np.int64})


def load(
    pair: str, args: argparse.Namespace
) -> tuple[tuple[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]:
    """(train candles, train spans), (test candles, planted test spans) of one pair."""
    candles, planted = generate_partition(pair, "1h", args.candles, args.seed, telltales=args.telltales or None)
    cut = int(len(candles) * args.train)
    times = candles["time"].to_numpy()
    if args.labels == "truth":
        train_rows = [(s.start_index, s.end_index, s.label) for s in planted if s.end_index < cut]
    else:
        train_rows = [
            (int(np.searchsorted(times, a.start_time)), int(np.searchsorted(times, a.end_time)), a.label)
            for a in annotate(planted, times, seed=args.seed)
            if a.label != "O" and a.confidence >= MIN_CONFIDENCE
        ]
        train_rows = [row for row in train_rows if row[1] < cut]
    test_start = cut + GAP
    test_rows = [
        (s.start_index - test_start, s.end_index - test_start, s.label) for s in planted if s.start_index >= test_start
    ]
    train = (candles.iloc[:cut].reset_index(drop=True), _frame(train_rows))
    test = (candles.iloc[test_start:].reset_index(drop=True), _frame(test_rows))
    return train, test


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="EURUSD,GBPUSD,BTC-USDT")
    parser.add_argument("--candles", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--train", type=float, default=0.7)
    parser.add_argument("--labels", choices=["annotations", "truth"], default="annotations")
    parser.add_argument("--model", choices=["xgboost", "random_forest"], default="xgboost")
    parser.add_argument("--telltales", default="", help="sample-data cues to plant: noise,wicks,volume (default none)")
    parser.add_argument("--thresholds", default="0.3,0.5,0.7,0.85")
    parser.add_argument("--set", default="", help='DetectorSettings fields replaced, JSON values: "geometry_scales=[]"')
    args = parser.parse_args()

    fields = {key.strip(): json.loads(value) for key, _, value in (s.partition("=") for s in args.set.split(";") if s)}
    settings = msgspec.convert({**msgspec.to_builtins(DetectorSettings()), **fields}, DetectorSettings)
    parts = [load(pair, args) for pair in args.pairs.split(",")]
    train = [p[0] for p in parts]
    started = time.perf_counter()
    detector = SpanDetector.fit(train, settings=settings, model_type=args.model, seed=7)
    fit_seconds = time.perf_counter() - started
    n_train = sum(len(s) for _, s in train)
    print(
        f"fit: {args.model} on {n_train} {args.labels} spans, {sum(len(c) for c, _ in train)} candles: {fit_seconds:.1f} s"
    )
    print(f"candidate lengths {detector.lengths}, classes {detector.classes}")

    recalls, n_candidates = [], 0
    for candles, spans in (p[1] for p in parts):
        h, l, c = (candles[col].to_numpy() for col in ("high", "low", "close"))
        candidates, _ = propose_candidates(h, l, c, settings=settings, lengths=detector.lengths)
        n_candidates += len(candidates)
        recalls.append(proposal_recall(candidates, spans["start"].to_numpy(), spans["end"].to_numpy()) * len(spans))
    n_test = sum(len(p[1][1]) for p in parts)
    n_candles = sum(len(p[1][0]) for p in parts)
    print(
        f"proposal recall (IoU >= 0.5) on the test parts: {sum(recalls) / n_test:.3f} ({n_candidates} candidates, {n_test} planted spans)"
    )

    for threshold in (float(t) for t in args.thresholds.split(",")):
        true: list[Span] = []
        predicted: list[Span] = []
        started = time.perf_counter()
        for k, (candles, spans) in enumerate(p[1] for p in parts):
            offset = k * 10 * args.candles  # series apart, so no span of one matches another's
            found = detector.predict(candles, threshold=threshold)
            true += [Span(str(r.label), int(r.start) + offset, int(r.end) + offset) for r in spans.itertuples()]
            predicted += [Span(str(r.label), int(r.start) + offset, int(r.end) + offset) for r in found.itertuples()]
        seconds = time.perf_counter() - started
        scores = match_spans(true, predicted)
        print(
            f"\nthreshold {threshold}: span F1 {scores['span_f1']:.3f} (P {scores['span_precision']:.3f}, "
            f"R {scores['span_recall']:.3f}, {len(predicted)} predicted), predict {seconds:.2f} s for {n_candles} candles"
        )
        print("| label | F1 | precision | recall | true | predicted |\n|---|---|---|---|---|---|")
        for label, s in scores["per_label"].items():
            print(
                f"| {label} | {s['span_f1']:.3f} | {s['span_precision']:.3f} | {s['span_recall']:.3f} "
                f"| {s['true_spans']:.0f} | {s['predicted_spans']:.0f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
