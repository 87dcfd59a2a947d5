"""The chart-shape benchmark's runs: clean and noisy labels per path, the learning curve, the
proposal recall, the span detector's error analysis and the sample-data control.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from shapes_data import CURVE, GAP, MIN_IOU, SCORED_FROM, Part, first_spans, match, pooled_scores, with_noise
from shapes_paths import path_factory, span_settings

# --------------------------------------------------------------------------- runs


def evaluate(model: Any, tests: Sequence[Part]) -> list[dict[str, tuple[int, int, int]]]:
    """Matches per test part; spans starting in the first `SCORED_FROM` candles (feature warm-up) left out."""

    def scored(spans: pd.DataFrame) -> pd.DataFrame:
        return spans[spans["start"] >= SCORED_FROM]

    return [match(scored(p.spans), scored(model.predict(p))) for p in tests]


def proposal_recalls(train: Sequence[Part], tests: Sequence[Part]) -> list[dict[str, Any]]:
    """Per part, the share of its rule spans some span-path candidate overlaps with IoU >= 0.5.

    Candidates as the span path proposes them (`span_settings`, the length range of the
    training parts' spans); also the candidates' count and the median best IoU per span.
    """
    from ml_platform.shapes.candidates import length_range, proposal_recall, propose_candidates, span_best_iou

    settings = span_settings()
    lengths = np.concatenate([(p.spans["end"] - p.spans["start"] + 1).to_numpy() for p in train])
    bounds = length_range(lengths, margin=settings.length_margin)
    rows = []
    for part in [*train, *tests]:
        arrays = (part.candles[c].to_numpy(np.float64) for c in ("high", "low", "close"))
        candidates, _ = propose_candidates(*arrays, settings=settings, lengths=bounds)
        start, end = part.spans["start"].to_numpy(), part.spans["end"].to_numpy()
        best = span_best_iou(candidates.start, candidates.end, start, end)
        rows.append(
            {
                "part": part.name,
                "spans": len(start),
                "candidates": len(candidates),
                "recall": proposal_recall(candidates, start, end),
                "median_iou": float(np.median(best)) if len(best) else 1.0,
            }
        )
        print(f"[proposal recall {part.name}] {rows[-1]}", flush=True)
    return rows


def span_errors(model: Any, tests: Sequence[Part]) -> dict[str, int]:
    """What went wrong, per true span and per prediction (the scored candles only).

    Every true span is one of: ``matched`` (a prediction of its label at IoU >= 0.5, as
    `match` counts them), ``wrong label`` (the best-overlapping prediction has IoU >= 0.5
    but another label), ``boundary`` (the best overlap is below 0.5), ``missed`` (no
    prediction overlaps it). Predictions overlapping no true span are ``false positive``.
    """
    out = {"true": 0, "matched": 0, "wrong label": 0, "boundary": 0, "missed": 0, "predicted": 0}
    out["false positive"] = 0
    for part in tests:
        true = part.spans[part.spans["start"] >= SCORED_FROM].reset_index(drop=True)
        predicted = model.predict(part)
        predicted = predicted[predicted["start"] >= SCORED_FROM].reset_index(drop=True)
        out["true"] += len(true)
        out["predicted"] += len(predicted)
        matched = sum(m[0] for m in match(true, predicted).values())
        out["matched"] += matched
        p_start, p_end = predicted["start"].to_numpy(), predicted["end"].to_numpy()
        right_place = 0
        for row in true.itertuples(index=False):
            inter = np.minimum(p_end, row.end) - np.maximum(p_start, row.start) + 1
            union = np.maximum(p_end, row.end) - np.minimum(p_start, row.start) + 1
            iou = np.where(inter > 0, inter / union, 0.0)
            if not len(iou) or iou.max() <= 0:
                out["missed"] += 1
            elif iou.max() < MIN_IOU:
                out["boundary"] += 1
            elif predicted["label"].iloc[int(np.argmax(iou))] != row.label:
                out["wrong label"] += 1
            else:
                right_place += 1
        # a right-label overlap >= 0.5 that the one-to-one matching gave to another span counts as boundary
        out["boundary"] += max(right_place - matched, 0)
        t_start, t_end = true["start"].to_numpy(), true["end"].to_numpy()
        for row in predicted.itertuples(index=False):
            if not ((np.minimum(t_end, row.end) - np.maximum(t_start, row.start) + 1) > 0).any():
                out["false positive"] += 1
    return out


def bench_paths(
    paths: Sequence[str],
    model_type: str,
    train: list[Part],
    later: list[Part],
    unseen: list[Part],
    instruments: list[str],
    curve: Sequence[int] = CURVE,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs 1-3: clean and noisy labels per path (with `span_errors` for the span path); the learning curves."""
    main_rows, curve_rows = [], []
    for path in paths:
        make = path_factory(path, model_type, instruments)
        for labels, parts in (("clean", train), ("noisy", with_noise(train))):
            started = time.perf_counter()
            model = make().fit(parts)
            seconds = time.perf_counter() - started
            for test_set, tests in (("later", later), ("unseen", unseen)):
                scores = pooled_scores(evaluate(model, tests))
                row = {"path": path, "labels": labels, "test": test_set, "scores": scores, "fit_seconds": seconds}
                if path.startswith("span"):
                    row["errors"] = span_errors(model, tests)
                    print(f"[{path} {labels} -> {test_set}] errors {row['errors']}", flush=True)
                main_rows.append(row)
                print(
                    f"[{path} {labels} -> {test_set}] span F1 all {scores['all']['f1']:.3f} "
                    f"(P {scores['all']['precision']:.3f} R {scores['all']['recall']:.3f}, "
                    f"{int(scores['all']['true'])} true, {int(scores['all']['predicted'])} predicted), "
                    f"fit {seconds:.0f}s",
                    flush=True,
                )
        for n_spans in curve:
            parts = first_spans(train, n_spans)
            try:
                model = make().fit(parts)
            except Exception as exc:  # e.g. a single class with too few spans
                curve_rows.append({"path": path, "spans": n_spans, "error": f"{type(exc).__name__}: {exc}"[:120]})
                print(f"[{path} curve {n_spans}] failed: {exc}", flush=True)
                continue
            matches = evaluate(model, later + unseen)
            scores, on_unseen = pooled_scores(matches), pooled_scores(matches[len(later) :])
            used = sum(len(p.spans) for p in parts)
            curve_rows.append({"path": path, "spans": used, "scores": scores, "unseen": on_unseen})
            print(
                f"[{path} curve {used} spans] span F1 {scores['all']['f1']:.3f} (unseen {on_unseen['all']['f1']:.3f})",
                flush=True,
            )
    return main_rows, curve_rows


# --------------------------------------------------------------------------- control: the sample data


def _sample_part(pair: str, telltales: str | None, lo: int, hi: int, n_candles: int) -> Part:
    from ml_platform.sample_data import generate_partition

    candles, planted = generate_partition(pair, "1h", n_candles, telltales=telltales)
    spans = pd.DataFrame([(s.start_index, s.end_index, s.label) for s in planted], columns=["start", "end", "label"])
    inside = spans[(spans["start"] >= lo) & (spans["end"] < hi)].copy()
    inside[["start", "end"]] -= lo
    return Part(f"{pair}|1h", pair, "1h", candles.iloc[lo:hi].reset_index(drop=True), inside.reset_index(drop=True))


def bench_control(paths: Sequence[str], model_type: str, n_candles: int = 8000) -> list[dict[str, Any]]:
    """The same harness on the sample data, planted spans as labels, with and without the telltales.

    Trained on the first 75% of EURUSD and GBPUSD 1h, scored on EURUSD's rest and on BTC-USDT:
    checks the harness (the telltales make the per-candle path score as it used to) and shows
    what the shape alone leaves to learn.
    """
    cut = int(0.75 * n_candles)
    rows = []
    for telltales in ("noise,wicks,volume", None):
        train = [_sample_part(pair, telltales, 0, cut, n_candles) for pair in ("EURUSD", "GBPUSD")]
        tests = [
            _sample_part("EURUSD", telltales, cut + GAP, n_candles, n_candles),
            _sample_part("BTC-USDT", telltales, 0, n_candles, n_candles),
        ]
        for path in paths:
            model = path_factory(path, model_type, ["EURUSD", "GBPUSD", "BTC-USDT"])().fit(train)
            scores = pooled_scores(evaluate(model, tests))
            rows.append({"telltales": telltales or "none (shape only)", "path": path, "scores": scores})
            print(f"[control {telltales} {path}] span F1 {scores['all']['f1']:.3f}", flush=True)
    return rows
