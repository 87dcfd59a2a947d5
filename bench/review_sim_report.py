"""The review-queue benchmark's tables: answers to each threshold, F1 at marks, the per-strategy summary."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from review_sim_data import Run

THRESHOLDS = (0.7, 0.8)
Crossing = Callable[[Sequence[tuple[int, float]], float], "int | None"]
SEED_ANSWERS = 3
ROUND = 10


def needed(curve: Sequence[tuple[int, float]], threshold: float) -> int | None:
    return next((a for a, f1 in curve if f1 >= threshold), None)


def held(curve: Sequence[tuple[int, float]], threshold: float) -> int | None:
    """Answers after which F1 reaches `threshold` and the next retrain stays there (a steadier crossing)."""
    pairs = zip(curve, curve[1:], strict=False)
    return next((a for (a, f1), (_, after) in pairs if f1 >= threshold and after >= threshold), None)


def f1_at(curve: Sequence[tuple[int, float]], answers: int) -> float:
    """F1 of the last model trained with at most `answers` answers."""
    eligible = [f for a, f in curve if a <= answers]
    return eligible[-1] if eligible else float("nan")


def marked_at(run: Run, answers: int) -> int:
    """True spans marked once `answers` answers were given (the last checkpoint at or before)."""
    eligible = [m for (a, _), m in zip(run.curve, run.spans_marked, strict=True) if a <= answers]
    return eligible[-1] if eligible else 0


def targets(ceilings: Sequence[float]) -> list[tuple[str, list[float], Crossing]]:
    """(name, threshold per seed, crossing): F1 0.7 and 0.8 (first and held), 80% and 90% of each seed's full F1."""
    out: list[tuple[str, list[float], Crossing]] = [(f"F1 {t}", [t] * len(ceilings), needed) for t in THRESHOLDS]
    out += [(f"F1 {t} held", [t] * len(ceilings), held) for t in THRESHOLDS]
    return out + [(f"{p}% of full", [p / 100 * c for c in ceilings], needed) for p in (80, 90)]


def summary(runs: dict[str, list[Run]], ceilings: Sequence[float]) -> list[str]:
    """Per strategy: answers to each target summed over the seeds (and against chart order), mean early F1."""
    out = []
    goals = targets(ceilings)
    chart = runs.get("chart", [])
    base = (
        {name: [cross(r.curve, t) for r, t in zip(chart, ts, strict=True)] for name, ts, cross in goals}
        if chart
        else {}
    )
    for strategy, group in runs.items():
        parts = []
        for name, ts, cross in goals:
            mine = [cross(r.curve, t) for r, t in zip(group, ts, strict=True)]
            if any(v is None for v in mine):
                parts.append(f"{name}: not reached in every seed")
                continue
            text = f"{name}: {sum(v for v in mine if v is not None)} answers"
            if strategy != "chart" and chart and all(v is not None for v in base[name]):
                text += f" ({sum(mine) / sum(base[name]):.2f}x chart order)"  # type: ignore[arg-type]
            parts.append(text)
        early = [np.mean([f for a, f in r.curve if SEED_ANSWERS < a <= SEED_ANSWERS + 50]) for r in group]
        parts.append(
            f"mean F1 of the retrains after {SEED_ANSWERS + 1}-{SEED_ANSWERS + 50} answers: {np.mean(early):.3f}"
        )
        rates = [r.spans_marked[-1] / max(1, r.curve[-1][0]) for r in group]
        parts.append(f"spans marked per answer {' / '.join(f'{x:.2f}' for x in rates)}")
        out.append(f"- {strategy}: " + "; ".join(parts))
    return out


def report(name: str, runs: dict[str, list[Run]], ceilings: list[float], budget: int, every: int = ROUND) -> str:
    marks = [m for m in (10, 20, 30, 40, 60, 80, 100, 150) if m <= budget and (m >= 20 or every < ROUND)]
    head = [
        "strategy",
        *(f"answers to F1 {t}" for t in THRESHOLDS),
        *(f"answers to F1 {t} held 2 retrains" for t in THRESHOLDS),
        "answers to 80% of full",
        "answers to 90% of full",
        *(f"F1 at {m}" for m in marks),
    ]
    head += [f"spans marked at {m}" for m in marks[:3]]
    head += ["spans marked at the end", "candles shown at the end", "re-reviews", "s per run"]
    lines = [f"**{name}** (full-label F1, every pool span: {' / '.join(f'{c:.3f}' for c in ceilings)})", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for strategy, group in runs.items():

        def cell(values: list[int | None]) -> str:
            return " / ".join(str(v) if v is not None else f">{budget}" for v in values)

        row = [strategy]
        row += [cell([needed(r.curve, t) for r in group]) for t in THRESHOLDS]
        row += [cell([held(r.curve, t) for r in group]) for t in THRESHOLDS]
        row += [cell([needed(r.curve, p * c) for r, c in zip(group, ceilings, strict=True)]) for p in (0.8, 0.9)]
        row += [" / ".join(f"{f1_at(r.curve, m):.2f}" for r in group) for m in marks]
        row += [" / ".join(str(marked_at(r, m)) for r in group) for m in marks[:3]]
        row += [" / ".join(str(r.spans_marked[-1]) for r in group)]
        row += [" / ".join(str(r.candles_shown[-1]) for r in group)]
        row += [" / ".join(str(r.reentered) for r in group)]
        row += [" / ".join(f"{r.seconds:.0f}" for r in group)]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines += summary(runs, ceilings)
    lines.append("")
    lines.append("Curves (answers: span F1), first seed:")
    lines.append("")
    for strategy, group in runs.items():
        lines.append(f"- {strategy}: " + ", ".join(f"{a}: {f:.2f}" for a, f in group[0].curve))
    return "\n".join(lines)


PR_AT = 40


def pr_cell(scores: dict[str, float]) -> str:
    """``P / R / predicted`` of one model on the test parts."""
    return f"{scores['span_precision']:.2f} / {scores['span_recall']:.2f} / {scores['predicted_spans']:.0f}"


def scores_at(run: Run, answers: int) -> tuple[int, dict[str, float]] | None:
    """(checkpoint, scores) of the last model trained on at most `answers` answers."""
    eligible = [(a, x) for (a, _), x in zip(run.curve, run.scores, strict=True) if a <= answers]
    return eligible[-1] if eligible else None


def precision_recall(name: str, runs: dict[str, list[Run]], full: Sequence[dict[str, float]]) -> str:
    """Span precision / recall / predicted spans at ~PR_AT answers and at the last checkpoint, per seed (`; `)."""
    if not full:
        return ""
    true = " / ".join(f"{x['true_spans']:.0f}" for x in full)
    lines = [f"**{name}: span precision / recall / predicted spans** (test spans {true}; seeds separated by `;`)", ""]
    head = [
        "strategy",
        f"at {PR_AT} (checkpoint)",
        "at the end (checkpoint)",
        "F1 at the end",
        "labelled candles per marked span at the end",
    ]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for strategy, group in runs.items():
        early = [scores_at(r, PR_AT) for r in group]
        row = [
            strategy,
            "; ".join(f"{pr_cell(x[1])} ({x[0]})" if x else "-" for x in early),
            "; ".join(f"{pr_cell(r.scores[-1])} ({r.curve[-1][0]})" for r in group),
            "; ".join(f"{r.curve[-1][1]:.2f}" for r in group),
            "; ".join(f"{r.train_candles_per_span[-1]:.0f}" for r in group),
        ]
        lines.append("| " + " | ".join(row) + " |")
    row = [
        "every pool span labelled",
        "",
        "; ".join(pr_cell(x) for x in full),
        "; ".join(f"{x['span_f1']:.2f}" for x in full),
        "",
    ]
    lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
