"""Pooled against per-partition models on real prices (``bench/bench_shapes.py --parts pooled``).

The platform's own pooled path (`ml_platform.training.pooled.fit_pooled`, span mode) on the
benchmark's real daily instruments: each training part becomes a labeled partition (the
enriched features plus the BIO tags of its rule spans, what `labeled_windows` writes) and
keeps its own chronological split (``training.split`` 0.8/0.1/0.1 here). A per-partition
model is `fit_pooled` with one member (the same code, the same split); the pooled model has
two: a partition with all its annotations (SP500 1d, first 70%) and one with *few* (the
earliest `FEW_SPANS` rule spans of another daily instrument's first 70%, its candles up to
the last of them). Scored like the rest of the benchmark (`shapes_runs.evaluate`: span F1 per
label, IoU >= 0.5, against the clean rule labels, warm-up left out) on

- the few-labels instrument's *later* candles (its last 30% after the gap);
- SP500's *later* candles (does pooling cost the well-annotated member?);
- instruments in neither model: the third daily instrument and EURUSD 1h (another timeframe:
  a 1d pool would not serve it in the platform; a transfer check only).

Both few-labels instruments take a turn (GOOG, then NASDAQ), with clean and noisy training
labels; seed 7 (``--pooled-seeds`` adds fits with other seeds: the detector's negative sampling
and XGBoost's subsampling; the noisy labels keep seed 7). The per-label table shows the first
seed, the summary the mean over the seeds and each seed's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
from shapes_data import SEED, Part, first_spans, pooled_scores, with_noise
from shapes_paths import shape_config, span_settings
from shapes_runs import evaluate

from ml_platform.config import PipelineConfig, config_from_dict
from ml_platform.features import build_features
from ml_platform.shapes.rules import SHAPE_LABELS
from ml_platform.shapes.tags import spans_to_tags
from ml_platform.training.pooled import Member, fit_pooled, member_dataset

FEW_SPANS = 10
RICH = "SP500"
FEW = ("GOOG", "NASDAQ")
SPLIT = {"train": 0.8, "validation": 0.1, "test": 0.1}


def pool_config(instruments: Sequence[str], seed: int = SEED) -> PipelineConfig:
    """`shape_config` in span mode with the benchmark's `span_settings`, `seed` and split."""
    raw = shape_config("span", instruments).to_dict()
    raw["labeling"]["span"] = msgspec.to_builtins(span_settings())
    raw["training"]["seed"] = seed
    raw["training"]["split"] = {**raw["training"]["split"], **SPLIT}
    return config_from_dict(raw)


def member(part: Part, config: PipelineConfig, base: list[str] | None = None) -> Member:
    """`part` as a labeled partition (features + BIO tags of its spans) and its dataset."""
    enriched = build_features(part.candles, config)
    frame = enriched.frame.copy()
    frame["tag"] = spans_to_tags(part.spans, len(part.candles))[enriched.warmup_rows :]
    dataset = member_dataset(frame, config, version=part.name, base_feature_columns=base)
    return Member(part.partition, dataset)


class Fitted:
    """A `fit_pooled` model as the harness predicts with it (``predict(part)`` -> spans)."""

    def __init__(self, members: Sequence[Member], config: PipelineConfig) -> None:
        started = time.perf_counter()
        self.fit = fit_pooled(members, config)
        self.seconds = time.perf_counter() - started

    def predict(self, part: Part) -> Any:
        return self.fit.model.detector.predict(part.candles).loc[:, ["start", "end", "label"]]


def bench_pooled(
    train: list[Part], later: list[Part], whole: list[Part], seeds: Sequence[int] = (SEED,)
) -> list[dict[str, Any]]:
    """Per-partition and pooled models per few-labels instrument and label condition; scores per test set.

    train, later : the first 70% and the later part of `RICH` and every `FEW` instrument
    whole : every instrument's whole series (the unseen tests)
    """
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        rows += _bench_seed(train, later, whole, seed)
    return rows


def _bench_seed(train: list[Part], later: list[Part], whole: list[Part], seed: int) -> list[dict[str, Any]]:
    later_of = {p.instrument: p for p in later}
    whole_of = {p.instrument: p for p in whole}
    config = pool_config(list(whole_of), seed)
    rows: list[dict[str, Any]] = []
    for labels in ("clean", "noisy"):
        parts = {p.instrument: p for p in (train if labels == "clean" else with_noise(train))}
        rich = member(parts[RICH], config)
        base = rich.dataset.base_feature_columns
        rich_model = Fitted([rich], config)
        for few_name in FEW:
            few_part = first_spans([parts[few_name]], FEW_SPANS)[0]
            few = member(few_part, config, base)
            models = {  # role -> (name, model)
                "own": (f"per-partition {few_name} ({len(few_part.spans)} spans)", Fitted([few], config)),
                "neighbour": (f"per-partition {RICH} ({len(parts[RICH].spans)} spans)", rich_model),
                "pooled": (f"pooled {RICH} + {few_name}", Fitted([rich, few], config)),
            }
            tests = {  # name -> (role, part)
                f"{few_name} later (few labels)": ("few later", later_of[few_name]),
                f"{RICH} later": (f"{RICH} later", later_of[RICH]),
            }
            for name, part in whole_of.items():
                if name not in (RICH, few_name):
                    tests[f"{name} {part.timeframe} unseen"] = (f"unseen {part.timeframe}", part)
            for role, (model_name, model) in models.items():
                for test_name, (test_role, test_part) in tests.items():
                    scores = pooled_scores(evaluate(model, [test_part]))
                    rows.append(
                        {
                            "seed": seed,
                            "labels": labels,
                            "few": few_name,
                            "model": model_name,
                            "role": role,
                            "test": test_name,
                            "test_role": test_role,
                            "scores": scores,
                            "fit_seconds": model.seconds,
                        }
                    )
                    print(
                        f"[pooled seed {seed} {labels} few={few_name}] {model_name} -> {test_name}: span F1 "
                        f"{scores['all']['f1']:.3f} ({int(scores['all']['true'])} true), fit {model.seconds:.0f}s",
                        flush=True,
                    )
    return rows


def pooled_parts(series: Sequence[Any], rules: Any) -> tuple[list[Part], list[Part], list[Part]]:
    """The first 70% and later parts of `RICH` and the `FEW` instruments; every other instrument whole."""
    from shapes_data import make_parts

    train, later, _, _ = make_parts(series, [RICH, *FEW], [], rules)
    _, _, whole, _ = make_parts(series, [], [s.instrument for s in series], rules)
    return train, later, whole


def markdown_pooled(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The table of docs/BENCHMARKS.md's "Pooled models" subsection."""
    lines = [
        "",
        f"Pooled against per-partition models (`ml_platform.training.pooled.fit_pooled`, span mode; "
        f"few labels: the earliest {FEW_SPANS} rule spans; split {SPLIT['train']}/{SPLIT['validation']}/"
        f"{SPLIT['test']} per member; seed {rows[0]['seed'] if rows else SEED}). Span F1 per label "
        "(true spans in brackets):",
        "",
        "| labels | few | model | test | " + " | ".join(SHAPE_LABELS) + " | P | R | F1 | fit s |",
        "| --- | --- | --- | --- |" + " ---: |" * (len(SHAPE_LABELS) + 4),
    ]
    for r in rows:
        if r["seed"] != rows[0]["seed"]:
            continue
        cells = []
        for label in SHAPE_LABELS:
            s = r["scores"].get(label)
            cells.append(f"{s['f1']:.2f} ({int(s['true'])})" if s and s["true"] else "- (0)")
        a = r["scores"]["all"]
        lines.append(
            f"| {r['labels']} | {r['few']} | {r['model']} | {r['test']} | {' | '.join(cells)} | "
            f"{a['precision']:.3f} | {a['recall']:.3f} | **{a['f1']:.3f}** | {r['fit_seconds']:.0f} |"
        )
    return lines + summary(rows)


def summary(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Mean span F1 per model role and test role over the few-labels instruments and label conditions.

    One row per role with the mean over every seed, then one per role and seed when there are several.
    """
    tests = sorted({r["test_role"] for r in rows}, key=lambda t: ("few" not in t, "unseen" in t, t))
    seeds = sorted({r["seed"] for r in rows})
    runs = len({(r["few"], r["labels"]) for r in rows})
    lines = [
        "",
        f"Mean span F1 over the {runs} runs (few-labels instrument x clean/noisy) and seeds {seeds}; *own*: the "
        f"few-labels partition's per-partition model, *neighbour*: {RICH}'s per-partition model, *pooled*: "
        "both partitions' model:",
        "",
        "| model | seed | " + " | ".join(tests) + " |",
        "| --- | --- |" + " ---: |" * len(tests),
    ]
    for seed in ["all", *seeds] if len(seeds) > 1 else ["all"]:
        for role in ("own", "neighbour", "pooled"):
            chosen = [r for r in rows if r["role"] == role and seed in ("all", r["seed"])]
            values = [np.mean([r["scores"]["all"]["f1"] for r in chosen if r["test_role"] == t]) for t in tests]
            lines.append(f"| {role} | {seed} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    return lines
