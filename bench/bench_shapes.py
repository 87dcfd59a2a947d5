"""Chart shapes on real prices: rule labels, every model path, span F1 (a benchmark, not a test).

Real OHLCV shipped in installed wheels (`bench/real_data.py`: S&P 500, NASDAQ Composite and
GOOG daily, EUR/USD hourly) is labelled by the textbook rules of `ml_platform.shapes.rules`
(double top/bottom, head and shoulders and its inverse, bull/bear flag). On real prices a
pattern is nothing but its shape, so this is the honest test the sample data's planted
telltales used to hide. Runs:

1. Train on the first 70% of the training instruments (``--train``), score span F1 per label
   (same label, IoU >= 0.5) (a) on their later candles (after a gap) and (b) on instruments
   never seen (``--unseen``). Every model path: the per-candle BIO path and the window path
   (`ml_platform.labeling.label_partition` + `ml_platform.training` models, as
   `bench/bench_learning.py` drives them) and the span detector
   (`ml_platform.shapes.detector.SpanDetector` with `shapes_paths.span_settings`), with an
   error analysis of the span path (matched / wrong label / boundary / missed / false
   positive) and its proposal recall (candidates covering the rule spans at IoU >= 0.5).
2. The same with annotator noise on the training labels: 10% of the spans dropped, 20% with
   each boundary moved by up to 3 candles (evaluation against the clean rule labels).
3. Learning curve: span F1 (both test sets pooled) after 10, 20, 40 and 80 annotated spans
   (the earliest spans of the training instruments, their stretch of candles only).
4. Control: the same harness on the sample data, with and without its telltales.
5. TA-Lib CDL labels on real candles: trained on the training instruments, macro F1 per
   candle on an instrument never seen, with variants that probe the weak engulfing class.
6. Pooled models (``--parts pooled``, `shapes_pooled.py`): one span model fitted on a
   well-annotated and a few-labels daily partition against per-partition models.

The parts live next to this entry point: `shapes_data.py` (parts, noise, scoring),
`shapes_paths.py` (model paths), `shapes_runs.py` (runs 1-4), `shapes_cdl.py` (run 5) and
`shapes_report.py` (the Markdown tables of docs/BENCHMARKS.md), `shapes_pooled.py` (run 6).

    python bench/bench_shapes.py                      # everything, prints and writes Markdown
    python bench/bench_shapes.py --parts shapes --paths bio,span
    python bench/bench_shapes.py --parts shapes --paths span,span_iou   # IoU-aware NMS ranking against the default
    python bench/bench_shapes.py --parts shapes --paths span,span_iou --span-seed 8   # another detector seed
    python bench/bench_shapes.py --parts shapes --paths span --span-set 'edge_features=true;training.xgboost.max_depth=3'
        # ablations: DetectorSettings fields (and training.* config entries) replaced, JSON values
    python bench/bench_shapes.py --parts pooled --output bench/shapes_pooled.md   # run 6 alone (~6 min a seed)
    python bench/bench_shapes.py --parts shapes --paths span --train more --curve 10,20,40,80,160,320
        # trained on 19 instruments: SP500, EURUSD and the vendored MSFT and 16 PSE stocks (bench/data/)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench_learning.py: spinning OpenMP threads

import shapes_paths  # noqa: E402
from real_data import BUNDLED, MORE_TRAIN, load_all  # noqa: E402
from shapes_cdl import bench_cdl  # noqa: E402
from shapes_data import make_parts  # noqa: E402
from shapes_paths import span_path_available  # noqa: E402
from shapes_report import markdown_report  # noqa: E402
from shapes_runs import bench_control, bench_paths, proposal_recalls  # noqa: E402

from ml_platform.shapes.rules import RuleSettings  # noqa: E402

# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="shapes,control,cdl,pooled")
    parser.add_argument("--paths", default="bio,window,span")
    parser.add_argument("--model", default="xgboost")
    parser.add_argument("--train", default="SP500,EURUSD", help=f"instruments, or 'more': {','.join(MORE_TRAIN)}")
    parser.add_argument("--unseen", default="NASDAQ,GOOG")
    parser.add_argument("--cdl-train", default="SP500,NASDAQ,GOOG,EURUSD", help="the others of these train")
    parser.add_argument("--cdl-test", default="EURUSD,GOOG", help="each is a run")
    parser.add_argument(
        "--span-set", default="", help='span detector settings replaced, JSON values: "edge_features=true;nms_iou=0.2"'
    )
    parser.add_argument("--curve", default="10,20,40,80", help="the learning curve's numbers of annotated spans")
    parser.add_argument("--span-seed", type=int, default=None, help="the span detector's seed (default: SEED)")
    parser.add_argument("--pooled-seeds", default="7", help="run 6's seeds (comma-separated)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "shapes_results.md"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("ml_platform.labeling").setLevel(logging.ERROR)  # rule spans in the warm-up are skipped
    parts = set(args.parts.split(","))
    if args.span_seed is not None:
        shapes_paths.span_seed = args.span_seed
    for item in filter(None, args.span_set.split(";")):
        field, _, value = item.partition("=")
        shapes_paths.span_overrides[field.strip()] = json.loads(value)
    train_names = list(MORE_TRAIN) if args.train == "more" else args.train.split(",")
    unseen_names = args.unseen.split(",")
    named = [*BUNDLED, *train_names, *unseen_names, *args.cdl_train.split(","), *args.cdl_test.split(",")]
    series = load_all(list(dict.fromkeys(named)))
    rules = RuleSettings()
    train, later, unseen, counts = make_parts(series, train_names, unseen_names, rules)
    for key, row in counts.items():
        print(key, row)
    paths = args.paths.split(",")
    skipped = {}
    span_paths = [p for p in paths if p.startswith("span")]
    if span_paths and (why := span_path_available()):
        for name in span_paths:
            skipped[name] = why
            paths.remove(name)
        print(f"span detector paths skipped: {why}")
    results: dict[str, Any] = {"counts": counts, "rules": rules, "skipped": skipped, "args": vars(args)}
    results["series"] = [(s.key, len(s.candles), s.dataset) for s in series]
    if "shapes" in parts:
        instruments = [s.instrument for s in series]
        results["main"], results["curve"] = bench_paths(
            paths, args.model, train, later, unseen, instruments, [int(n) for n in args.curve.split(",")]
        )
        results["test_spans"] = {p.name: len(p.spans) for p in later + unseen}
        if any(p.startswith("span") for p in paths):
            results["recall"] = proposal_recalls(train, later + unseen)
    if "control" in parts:
        results["control"] = bench_control(paths, args.model)
    if "cdl" in parts:
        results["cdl"] = []
        for test in args.cdl_test.split(","):
            train_names = [name for name in args.cdl_train.split(",") if name != test]
            results["cdl"] += bench_cdl(series, train_names, test, args.model)
    if "pooled" in parts:
        from shapes_pooled import bench_pooled, markdown_pooled, pooled_parts

        seeds = [int(seed) for seed in args.pooled_seeds.split(",")]
        results["pooled"] = bench_pooled(*pooled_parts(series, rules), seeds=seeds)
    text = markdown_report(results)
    if results.get("pooled"):
        text += "\n".join(markdown_pooled(results["pooled"])) + "\n"
    print(text)
    Path(args.output).write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
