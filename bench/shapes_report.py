"""The chart-shape benchmark's Markdown report (the tables of docs/BENCHMARKS.md's "Chart shapes
on real prices" section).
"""

from __future__ import annotations

from typing import Any

from shapes_cdl import CDL_PATTERNS
from shapes_data import GAP, MIN_IOU, THREADS, TRAIN_SHARE

from ml_platform.shapes.rules import SHAPE_LABELS

# --------------------------------------------------------------------------- report


def _f1_cells(scores: dict[str, dict[str, float]]) -> str:
    cells = []
    for label in SHAPE_LABELS:
        s = scores.get(label)
        cells.append(f"{s['f1']:.2f} ({int(s['true'])})" if s and s["true"] else "- (0)")
    a = scores["all"]
    return " | ".join(cells) + f" | {a['precision']:.3f} | {a['recall']:.3f} | **{a['f1']:.3f}**"


def markdown_report(results: dict[str, Any]) -> str:
    args = results["args"]
    lines = ["## Chart shapes on real prices: `bench/bench_shapes.py`", ""]
    lines += ["| instrument | timeframe | candles | source (license) |", "| --- | --- | ---: | --- |"]
    for key, n, dataset in results["series"]:
        instrument, timeframe = key.split("|")
        lines.append(
            f"| {instrument} | {timeframe} | {n:,} | {dataset.description}: `{dataset.package}/"
            f"{dataset.relative_path}` ({dataset.license}) |"
        )
    lines += [
        "",
        "Rule labels per instrument (`ml_platform.shapes.rules.detect_shapes`, default `RuleSettings`, "
        "overlaps resolved):",
        "",
    ]
    lines += ["| instrument | " + " | ".join(SHAPE_LABELS) + " |", "| --- |" + " ---: |" * len(SHAPE_LABELS)]
    for key, row in results["counts"].items():
        lines.append(f"| {key.replace('|', ' ')} | " + " | ".join(str(row[label]) for label in SHAPE_LABELS) + " |")
    if results.get("main"):
        lines += [
            "",
            f"Span F1 per label (IoU >= {MIN_IOU}; true spans in brackets), trained on the first "
            f"{TRAIN_SHARE:.0%} of {args['train']}; *later*: their candles after a {GAP}-candle gap; "
            f"*unseen*: {args['unseen']}. Model: {args['model']}, default hyperparameters, {THREADS} threads. "
            "*noisy*: training labels with 10% of spans dropped and 20% with boundaries moved by up to 3 "
            "candles (scored against the clean labels).",
            "",
        ]
        header = "| path | training labels | test | " + " | ".join(SHAPE_LABELS) + " | P | R | F1 | fit s |"
        lines += [header, "| --- | --- | --- |" + " ---: |" * (len(SHAPE_LABELS) + 4)]
        for r in results["main"]:
            lines.append(
                f"| {r['path']} | {r['labels']} | {r['test']} | {_f1_cells(r['scores'])} | {r['fit_seconds']:.0f} |"
            )
    if results.get("recall"):
        lines += [
            "",
            "Proposal recall of the span path: the share of rule spans that some candidate overlaps with "
            "IoU >= 0.5 (the ceiling of the span path's recall), with the median best IoU per span:",
            "",
            "| part | rule spans | candidates | proposal recall | median best IoU |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for r in results["recall"]:
            lines.append(
                f"| {r['part'].replace('|', ' ')} | {r['spans']} | {r['candidates']:,} | {r['recall']:.3f} | {r['median_iou']:.2f} |"
            )
    errors = [r for r in results.get("main", []) if "errors" in r]
    if errors:
        names = list(errors[0]["errors"])
        lines += [
            "",
            "Span path errors (scored candles): each true span is matched, wrong label (a prediction at "
            "IoU >= 0.5 with another label), boundary (best overlap below 0.5) or missed (no overlapping "
            "prediction); false positives overlap no true span:",
            "",
            "| training labels | test | " + " | ".join(names) + " |",
            "| --- | --- |" + " ---: |" * len(names),
        ]
        for r in errors:
            lines.append(f"| {r['labels']} | {r['test']} | " + " | ".join(str(r["errors"][k]) for k in names) + " |")
    if results.get("curve"):
        lines += [
            "",
            "Learning curve: span F1 (all labels, later and unseen pooled) against the annotated "
            "training spans (the earliest ones of each training instrument, their candles only):",
            "",
        ]
        lines += [
            "| path | training spans | span P | span R | span F1 | span F1, unseen only |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in results["curve"]:
            if "error" in r:
                lines.append(f"| {r['path']} | {r['spans']} | - | - | failed: {r['error']} | |")
            else:
                a, u = r["scores"]["all"], r["unseen"]["all"]
                lines.append(
                    f"| {r['path']} | {r['spans']} | {a['precision']:.3f} | {a['recall']:.3f} | **{a['f1']:.3f}** "
                    f"| {u['f1']:.3f} |"
                )
    if results.get("control"):
        labels = ("bull_flag", "double_top", "head_and_shoulders")
        lines += [
            "",
            "Control, the same harness on the sample data (planted spans as labels; trained on the first 75% "
            "of 8,000 EURUSD and GBPUSD 1h candles, scored on EURUSD's rest and on BTC-USDT), span F1:",
            "",
            "| telltales | path | " + " | ".join(labels) + " | all |",
            "| --- | --- |" + " ---: |" * (len(labels) + 1),
        ]
        for r in results["control"]:
            cells = " | ".join(f"{r['scores'].get(label, {'f1': 0.0})['f1']:.2f}" for label in labels)
            lines.append(f"| {r['telltales']} | {r['path']} | {cells} | **{r['scores']['all']['f1']:.3f}** |")
    for path, why in results["skipped"].items():
        lines += ["", f"The `{path}` path did not run: {why}."]
    if results.get("cdl"):
        lines += [
            "",
            f"TA-Lib CDL labels ({', '.join(p.removeprefix('CDL') for p in CDL_PATTERNS)}) on real "
            f"candles: for each test instrument ({args['cdl_test']}), trained on the others of "
            f"{args['cdl_train']}, macro F1 per candle (BIO tags) on the test instrument, never seen. Features: "
            "candle geometry and rolling candle averages (no indicators), context 3 previous / 2 next unless "
            "the variant says otherwise. Engulfing rows right: the share of the test's marked engulfing candles "
            "(+-80: bodies share an end, +-100: strict) whose tag is predicted exactly.",
            "",
        ]
        lines += [
            "| test | variant | train rows | macro F1 | bullish / bearish engulfing F1 (B-, I-) | engulfing +-80 right | "
            "engulfing +-100 right | fit s |",
            "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |",
        ]
        for r in results["cdl"]:
            pc = r["per_class"]
            eng = " / ".join(f"{pc.get(f'{p}-{d}_engulfing', 0.0):.2f}" for d in ("bullish", "bearish") for p in "BI")
            (n80, a80), (n100, a100) = r["engulfing_by_value"][80], r["engulfing_by_value"][100]
            lines.append(
                f"| {r['test']} | {r['variant']} | {r['train_rows']} | **{r['f1_macro']:.3f}** | {eng} | "
                f"{a80:.2f} (n={n80}) | {a100:.2f} (n={n100}) | {r['fit_seconds']:.0f} |"
            )
        lines.append("")
        shares = {r["test"]: r["share_80_train"] for r in results["cdl"]}
        lines.append(
            "Share of +-80 among the training engulfings: "
            + ", ".join(f"{share:.0%} (test {test})" for test, share in shares.items())
            + "."
        )
    return "\n".join(lines) + "\n"
