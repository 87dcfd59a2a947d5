"""Review queue against chart order and random order: answers needed for a span F1 (a benchmark, not a test).

A simulated annotator answers from a ground truth: (1) the sample data's planted spans
(`ml_platform.sample_data.generate_partition`, shape only, in memory), (2) the rule-based
labels of real prices (`bench/real_data.py` + `ml_platform.shapes.rules.detect_shapes`).
Each series is cut into a *pool* (its first 70%: what the annotator reviews) and a
held-out *test* part (its last 30% after a 100-candle gap).

One *answer* = one stretch shown and judged. The annotator sees the stretch with
``MARGIN`` candles either side (chart order and random show fixed ``WINDOW``-candle tiles
instead) and marks every true span that shares a candle with what is shown, whole; a
predicted span there that no true span matches is dismissed (an ``O`` annotation, as on
the chart). What was shown (widened to the marked spans) is then fully labelled: the
detector is refitted on these labelled stretches only (merged, one training series each),
never on the unreviewed candles (which would make every unmarked pattern a negative).

Strategies: *queue* (`ml_platform.review.build_review_queue` over every pool series with
the current model, default `ReviewSettings`: batch ranking with class balance; items merged
by score, the 10 best answered; a stretch matching one answered this round is skipped;
reviewed records kept); *queue-static* (the same with ``batch=False, balance=False``: the
static rule measured on 2026-11-28); *chart* (the tiles in time order, series after
series); *random* (the same tiles in a seeded random order); *oracle* (a ground-truth
reference, not a strategy the platform could run: each answer shows an unmarked true span, of
the least-marked label, with the queue's margin; `oracle_round`). All start from
the same seed answers (the first ``SEED_ANSWERS`` tiles of chart order, more until they hold a
span), then retrain every ``ROUND`` answers (`SpanDetector`, XGBoost 100 trees of depth 4,
2 threads) and score span F1 (same label, IoU >= 0.5) on the test parts.

    python bench/bench_review_queue.py                         # both ground truths, 3 seeds
    python bench/bench_review_queue.py --data sample --seeds 1 --budget 40
    python bench/bench_review_queue.py --data sample --density 0.25 --candles 20000 --round 5   # sparse

Sparse variant: ``--density d`` plants a pattern every 120/d-200/d candles instead of
every 120-200 (the generator's ``spacing``; same background process, no splicing), so
patterns are rare and finding them is most of the work; ``--round`` retrains more often.
Fit options (`review_sim_model.FitOptions`; defaults = the detector's and the config's):
``--negatives-per-positive``, ``--class-weights balanced|none``, ``--train-empty``, ``--calibration``,
``--calibration-folds``. Every
checkpoint also records span precision / recall / predicted spans (a second table).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import pickle
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench_learning.py: spinning OpenMP threads

from review_sim_data import SAMPLE_CANDLES, Labelled, Run, Series, _frame, real_data, sample_data  # noqa: E402
from review_sim_model import DEFAULT_FIT, MIN_TRAIN_CANDLES, FitOptions, ceiling, fit, span_scores  # noqa: E402
from review_sim_report import ROUND, SEED_ANSWERS, pr_cell, precision_recall, report  # noqa: E402

from ml_platform.review import (  # noqa: E402
    ModelView,
    ReviewSettings,
    build_review_queue,
    mark_reviewed,
    view_from_detector,
)
from ml_platform.review.intervals import match_matrix  # noqa: E402
from ml_platform.shapes.detector import SpanDetector  # noqa: E402

WINDOW = 120  # chart-order / random tile, = ReviewSettings().coverage_length
MARGIN = 30  # candles shown either side of a queue stretch

logger = logging.getLogger("bench_review_queue")


# --------------------------------------------------------------------------- annotator


def answer(series: Series, state: Labelled, lo: int, hi: int, predicted: pd.DataFrame | None) -> tuple[int, int]:
    """The annotator looks at candles lo..hi: marks the true spans touching them, dismisses false predictions."""
    lo, hi = max(lo, 0), min(hi, state.n - 1)
    t = series.spans
    touching = t[(t["end"] >= lo) & (t["start"] <= hi)]
    for r in touching.itertuples():
        state.marks[(int(r.start), int(r.end))] = str(r.label)
        lo, hi = min(lo, int(r.start)), max(hi, int(r.end))
    state.shown[lo : hi + 1] = True
    if predicted is not None and len(predicted):
        p = predicted[(predicted["start"] >= lo) & (predicted["end"] <= hi)]
        if len(p):
            ts, te = t["start"].to_numpy(np.int64), t["end"].to_numpy(np.int64)
            hit = match_matrix(p["start"].to_numpy(np.int64), p["end"].to_numpy(np.int64), ts, te).any(axis=1)
            state.dismissed |= {(int(a), int(b)) for a, b in zip(p["start"][~hit], p["end"][~hit], strict=True)}
    return lo, hi


def predicted_frame(view: ModelView | None) -> pd.DataFrame | None:
    if view is None:
        return None
    return pd.DataFrame({"start": view.predicted.start, "end": view.predicted.end})


def training_series(
    pools: Sequence[Series], states: Sequence[Labelled], keep_empty: bool = False
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Each maximal run of labelled candles as its own series, with the marks inside it.

    Runs without a marked span are left out unless `keep_empty` (``--train-empty``).
    """
    out = []
    for series, state in zip(pools, states, strict=True):
        padded = np.concatenate([[False], state.shown, [False]]).astype(np.int8)
        edges = np.diff(padded)
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True):
            rows = [(s - a, e - a, lab) for (s, e), lab in state.marks.items() if s >= a and e <= b]
            if not rows and not keep_empty:  # the detector samples a series' negatives per positive of that series
                continue
            out.append((series.candles.iloc[a : b + 1].reset_index(drop=True), _frame(rows)))
    return out


# --------------------------------------------------------------------------- strategies

QUEUES = {
    "queue": lambda settings: settings,
    "queue-static": lambda settings: msgspec.structs.replace(settings, batch=False, balance=False),
}
"""Queue strategies: the default ranking, and the static rule measured before batch ranking (2026-11-28)."""


def tiles(pools: Sequence[Series]) -> list[tuple[int, int, int]]:
    """(series, lo, hi) of every WINDOW-candle tile, in time order, series after series."""
    return [
        (k, lo, min(lo + WINDOW, len(s.candles)) - 1)
        for k, s in enumerate(pools)
        for lo in range(0, len(s.candles), WINDOW)
    ]


def checkpoint(
    run: Run,
    answers: int,
    model: SpanDetector | None,
    train: Sequence[tuple[pd.DataFrame, pd.DataFrame]],
    states: Sequence[Labelled],
    tests: Sequence[Series],
) -> None:
    """Record the model's test scores and what the annotator has done after `answers` answers."""
    scores = span_scores(model, tests)
    run.curve.append((answers, scores["span_f1"]))
    run.scores.append(scores)
    run.candles_shown.append(int(sum(st.shown.sum() for st in states)))
    run.spans_marked.append(sum(len(st.marks) for st in states))
    used = [(c, s) for c, s in train if len(c) >= MIN_TRAIN_CANDLES]
    run.train_candles_per_span.append(sum(len(c) for c, _ in used) / max(1, sum(len(s) for _, s in used)))


def simulate(
    strategy: str,
    pools: Sequence[Series],
    tests: Sequence[Series],
    *,
    budget: int,
    seed: int,
    settings: ReviewSettings,
    every: int = ROUND,
    options: FitOptions = DEFAULT_FIT,
) -> Run:
    run = Run(strategy)
    started = time.perf_counter()
    states = [Labelled(len(s.candles), np.zeros(len(s.candles), dtype=bool)) for s in pools]
    order = tiles(pools)
    answers = 0
    for k, lo, hi in order:  # the shared seed answers
        answer(pools[k], states[k], lo, hi, None)
        answers += 1
        if answers >= SEED_ANSWERS and any(st.marks for st in states):
            break
    seeded = answers
    rest = order[seeded:]
    if strategy == "random":
        rest = [rest[i] for i in np.random.default_rng(seed).permutation(len(rest))]
    train = training_series(pools, states, options.train_empty)
    model = fit(train, seed, options)
    checkpoint(run, answers, model, train, states, tests)
    views = [view_from_detector(model, s.candles) if model is not None else None for s in pools]
    while answers < budget:
        todo = min(every, budget - answers)
        if strategy in QUEUES:
            answers += queue_round(pools, states, views, todo, QUEUES[strategy](settings), run)
        elif strategy == "oracle":
            given = oracle_round(pools, states, views, todo)
            if given == 0:  # every true span of the pool is marked
                break
            answers += given
        else:
            for k, lo, hi in rest[:todo]:
                answer(pools[k], states[k], lo, hi, predicted_frame(views[k]))
            rest = rest[todo:]
            answers += todo
        train = training_series(pools, states, options.train_empty)
        model = fit(train, seed, options) or model
        views = [view_from_detector(model, s.candles) if model is not None else None for s in pools]
        checkpoint(run, answers, model, train, states, tests)
        if strategy in ("chart", "random") and not rest:
            break
    run.seconds = time.perf_counter() - started
    return run


def queue_round(
    pools: Sequence[Series],
    states: Sequence[Labelled],
    views: Sequence[ModelView | None],
    todo: int,
    settings: ReviewSettings,
    run: Run,
) -> int:
    """Answer the `todo` best queue items over every pool series; returns the answers given."""
    items = []
    for k, (series, state, view) in enumerate(zip(pools, states, views, strict=True)):
        if view is None:
            continue
        times = series.candles["time"].to_numpy(np.int64)
        queue = build_review_queue(
            times, view, state.human(), reviewed=state.records, settings=settings, limit=5 * todo
        )
        items += [(item.score, k, item) for item in queue.items]
    items.sort(key=lambda row: -row[0])
    answered: list[tuple[int, int, int]] = []
    for _, k, item in items:
        if len(answered) >= todo:
            break
        mine = [(a, b) for kk, a, b in answered if kk == k]
        if (
            mine
            and match_matrix(
                np.asarray([item.start]), np.asarray([item.end]), *(np.asarray(x) for x in zip(*mine, strict=True))
            ).any()
        ):
            continue
        state, series, view = states[k], pools[k], views[k]
        answer(series, state, item.start - MARGIN, item.end + MARGIN, predicted_frame(view))
        times = series.candles["time"].to_numpy(np.int64)
        record = mark_reviewed(item.start, item.end, times=times, view=view, step=settings.fingerprint_step)
        state.records = [
            r for r in state.records if not (r.start_time == record.start_time and r.end_time == record.end_time)
        ]
        state.records.append(record)
        run.reentered += int(item.reentered)
        key = f"{item.source}/{item.reason}"
        run.reasons[key] = run.reasons.get(key, 0) + 1
        answered.append((k, item.start, item.end))
    if not answered:  # no model yet: the next unseen tile, as chart order would
        for k, lo, hi in tiles(pools):
            if not states[k].shown[lo : hi + 1].all():
                answer(pools[k], states[k], lo, hi, None)
                return 1
    return max(len(answered), 1)


def oracle_round(
    pools: Sequence[Series], states: Sequence[Labelled], views: Sequence[ModelView | None], todo: int
) -> int:
    """A ground-truth reference, not a strategy: show unmarked true spans, the least marked label first.

    Each answer is a true span nobody marked yet (``MARGIN`` either side, as a queue item),
    of the label with the fewest marks so far, taking the series in turn. Returns the answers
    given: fewer than `todo` (0) once every true span of the pool is marked.
    """
    given = 0
    for _ in range(todo):
        marked: dict[str, int] = {}
        for st in states:
            for lab in st.marks.values():
                marked[lab] = marked.get(lab, 0) + 1
        left = [
            (marked.get(str(r.label), 0), k, int(r.start), int(r.end))
            for k, (series, st) in enumerate(zip(pools, states, strict=True))
            for r in series.spans.itertuples()
            if (int(r.start), int(r.end)) not in st.marks
        ]
        if not left:
            break
        fewest = min(row[0] for row in left)
        left = [row for row in left if row[0] == fewest]
        _, k, a, b = left[given % len(left)]
        answer(pools[k], states[k], a - MARGIN, b + MARGIN, predicted_frame(views[k]))
        given += 1
    return given


# --------------------------------------------------------------------------- report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="sample,real")
    parser.add_argument("--strategies", default="queue,queue-static,chart,random,oracle")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--round", type=int, default=ROUND, help="answers between retrains")
    parser.add_argument("--density", type=float, default=1.0, help="sample data: share of the usual pattern rate")
    parser.add_argument("--candles", type=int, default=SAMPLE_CANDLES, help="sample data: candles per series")
    parser.add_argument("--first-seed", type=int, default=0, help="run seeds first-seed .. first-seed+seeds-1")
    parser.add_argument("--output", default="", help="also write the Markdown here")
    parser.add_argument(
        "--save", default="", help="also pickle {data: (runs, ceilings, full-label scores)} here, to merge runs"
    )
    parser.add_argument(
        "--negatives-per-positive",
        type=float,
        default=None,
        help="DetectorSettings.negatives_per_positive for every fit (default: the settings' 30; 0 keeps every O)",
    )
    parser.add_argument(
        "--class-weights",
        choices=("balanced", "none"),
        default=None,
        help="training.class_weights of every fit (default: the config's, balanced)",
    )
    parser.add_argument(
        "--train-empty",
        action="store_true",
        help="also fit on labelled stretches without a marked span (adds rows only with --negatives-per-positive 0)",
    )
    parser.add_argument(
        "--calibration", type=float, default=None, help="DetectorSettings.calibration of every fit (default 0: off)"
    )
    parser.add_argument(
        "--calibration-folds", type=int, default=None, help="DetectorSettings.calibration_folds (default 1)"
    )
    parser.add_argument(
        "--calibration-tolerance", type=float, default=None, help="calibration_tolerance of every fit (default 0.05)"
    )
    args = parser.parse_args()
    options = FitOptions(**{field.name: getattr(args, field.name) for field in dataclasses.fields(FitOptions)})
    logging.basicConfig(level=logging.WARNING)
    settings = ReviewSettings()
    sections, saved = [], {}
    for data in args.data.split(","):
        runs: dict[str, list[Run]] = {s: [] for s in args.strategies.split(",")}
        ceilings, full = [], []
        for i in range(args.first_seed, args.first_seed + args.seeds):
            seed = 20240601 + i
            pools, tests = sample_data(seed, args.density, args.candles) if data == "sample" else real_data()
            full.append(ceiling(pools, tests, seed, options))
            ceilings.append(full[-1]["span_f1"])
            info = f"{data} seed {seed}: pool {sum(len(s.candles) for s in pools)} candles / {sum(len(s.spans) for s in pools)} spans, test {sum(len(s.spans) for s in tests)} spans"
            print(info, f"full-label F1 {ceilings[-1]:.3f}", f"(P/R/predicted {pr_cell(full[-1])})", flush=True)
            for strategy in runs:
                run = simulate(
                    strategy,
                    pools,
                    tests,
                    budget=args.budget,
                    seed=seed,
                    settings=settings,
                    every=args.round,
                    options=options,
                )
                runs[strategy].append(run)
                print(
                    f"  {strategy}: " + ", ".join(f"{a}:{f:.2f}" for a, f in run.curve),
                    f"({run.seconds:.0f} s)",
                    flush=True,
                )
                print(f"    marked {run.spans_marked}, re-reviews {run.reentered}, picks {run.reasons}", flush=True)
                print(
                    "    P/R/predicted "
                    + ", ".join(f"{a}:{pr_cell(x)}" for (a, _), x in zip(run.curve, run.scores, strict=True)),
                    flush=True,
                )
        title = "Sample data (planted spans)" if data == "sample" else "Real prices (rule labels)"
        if data == "sample" and (args.density != 1.0 or args.candles != SAMPLE_CANDLES):
            title += f", density {args.density:g}, {args.candles} candles per series"
        if options.describe():
            title += f"; {options.describe()}"
        saved[data] = (runs, ceilings, full)
        if args.save:  # before the report: a report error does not lose the runs
            Path(args.save).write_bytes(pickle.dumps(saved))
        sections.append(report(title, runs, ceilings, args.budget, every=args.round))
        sections.append(precision_recall(title, runs, full))
    text = "\n\n".join(sections)
    print("\n" + text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
