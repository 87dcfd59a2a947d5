"""The review-queue benchmark's tables: answers to each threshold, F1 at marks, the per-strategy summary."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from review_sim_data import Run

THRESHOLDS = (0.7, 0.8)
SEED_ANSWERS = 3
ROUND = 10


def needed(curve: Sequence[tuple[int, float]], threshold: float) -> int | None:
    return next((a for a, f1 in curve if f1 >= threshold), None)


def f1_at(curve: Sequence[tuple[int, float]], answers: int) -> float:
    """F1 of the last model trained with at most `answers` answers."""
    eligible = [f for a, f in curve if a <= answers]
    return eligible[-1] if eligible else float("nan")


def summary(runs: dict[str, list[Run]], budget: int) -> list[str]:
    """Per strategy: answers to each threshold summed over the seeds (and against chart order), mean early F1."""
    out = []
    base = {t: [needed(r.curve, t) for r in runs["chart"]] for t in THRESHOLDS} if "chart" in runs else {}
    for strategy, group in runs.items():
        parts = []
        for t in THRESHOLDS:
            mine = [needed(r.curve, t) for r in group]
            if any(v is None for v in mine):
                parts.append(f"F1 {t}: not reached in every seed")
                continue
            text = f"F1 {t}: {sum(v for v in mine if v is not None)} answers"
            if base and all(v is not None for v in base[t]):
                text += f" ({sum(mine) / sum(base[t]):.2f}x chart order)"  # type: ignore[arg-type]
            parts.append(text)
        early = [np.mean([f for a, f in r.curve if SEED_ANSWERS < a <= SEED_ANSWERS + 5 * ROUND]) for r in group]
        parts.append(
            f"mean F1 of the retrains at {SEED_ANSWERS + ROUND}-{SEED_ANSWERS + 5 * ROUND}: {np.mean(early):.3f}"
        )
        out.append(f"- {strategy}: " + "; ".join(parts))
    return out


def report(name: str, runs: dict[str, list[Run]], ceilings: list[float], budget: int) -> str:
    marks = [m for m in (20, 40, 60, 80, 100, 150) if m <= budget]
    head = [
        "strategy",
        *(f"answers to F1 {t}" for t in THRESHOLDS),
        "answers to 90% of full",
        *(f"F1 at {m}" for m in marks),
    ]
    head += ["spans marked at the end", "candles shown at the end", "re-reviews", "s per run"]
    lines = [f"**{name}** (full-label F1, every pool span: {' / '.join(f'{c:.3f}' for c in ceilings)})", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for strategy, group in runs.items():

        def cell(values: list[int | None]) -> str:
            return " / ".join(str(v) if v is not None else f">{budget}" for v in values)

        row = [strategy]
        row += [cell([needed(r.curve, t) for r in group]) for t in THRESHOLDS]
        row += [cell([needed(r.curve, 0.9 * c) for r, c in zip(group, ceilings, strict=True)])]
        row += [" / ".join(f"{f1_at(r.curve, m):.2f}" for r in group) for m in marks]
        row += [" / ".join(str(r.spans_marked[-1]) for r in group)]
        row += [" / ".join(str(r.candles_shown[-1]) for r in group)]
        row += [" / ".join(str(r.reentered) for r in group)]
        row += [" / ".join(f"{r.seconds:.0f}" for r in group)]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines += summary(runs, budget)
    lines.append("")
    lines.append("Curves (answers: span F1), first seed:")
    lines.append("")
    for strategy, group in runs.items():
        lines.append(f"- {strategy}: " + ", ".join(f"{a}: {f:.2f}" for a, f in group[0].curve))
    return "\n".join(lines)
