"""Turn stored per-example margins into the result matrix and sequence metrics.

Rows are "after task k" for every task of the sequence; columns are the eval
splits. When every split belongs to a task of the same name, the rows right
after those tasks form the square matrix a[k][j] the continual metrics use;
otherwise (e.g. one multi-task run scored on several domain splits) only the
scores are reported.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lit_align.continual import metrics as M
from lit_align.continual.evaluation import correct, split_score


def square_rows(task_names: list[str], split_names: list[str]) -> list[int] | None:
    """The row index at which each split's task finished training, or None if not square."""
    rows = [task_names.index(s) if s in task_names else None for s in split_names]
    if any(r is None for r in rows) or rows != sorted(rows):
        return None
    return rows  # type: ignore[return-value]


def _flips(before: dict[str, list[float]], after: dict[str, list[float]], splits: list[str]) -> dict[str, Any]:
    per_split = {s: M.flip_rates(correct(before[s]), correct(after[s]))._asdict() for s in splits}
    pooled = M.flip_rates(
        [c for s in splits for c in correct(before[s])], [c for s in splits for c in correct(after[s])]
    )
    return {"overall": pooled._asdict(), "per_split": per_split}


def _continuous(before: dict[str, list[float]], after: dict[str, list[float]], splits: list[str]) -> dict[str, Any]:
    per_split = {s: M.continuous_flips(before[s], after[s])._asdict() for s in splits}
    pooled = M.continuous_flips([v for s in splits for v in before[s]], [v for s in splits for v in after[s]])
    return {"overall": pooled._asdict(), "per_split": per_split}


def sequence_report(
    task_names: list[str],
    split_names: list[str],
    margins_after: list[dict[str, list[float]]],
    baseline_margins: dict[str, list[float]],
    forgetting_form: str = "max",
    *,
    generated: bool = False,
) -> dict[str, Any]:
    """Metrics of a (possibly partial) sequence from its per-example values.

    `margins_after[k][split]` are the per-example values after task k: preference
    margins (scored 1 / 0.5 / 0, discrete flips), or with `generated` the scores of
    generated answers (averaged; MUSCLE's continuous flips).
    """
    score = (lambda values: float(np.nanmean(values)) if not np.all(np.isnan(values)) else math.nan) \
        if generated else split_score
    flips = _continuous if generated else _flips
    matrix = [[score(row[s]) for s in split_names] for row in margins_after]
    baseline = [score(baseline_margins[s]) for s in split_names]
    report: dict[str, Any] = {
        "tasks": task_names[: len(margins_after)],
        "splits": split_names,
        "matrix": matrix,
        "baseline": baseline,
        "metrics": {},
    }
    if not margins_after or not split_names:
        return report
    final = matrix[-1]
    mets: dict[str, Any] = {"final_scores": dict(zip(split_names, final, strict=True))}
    rows = square_rows(task_names, split_names)
    done = len(margins_after)
    if rows is not None and all(r < done for r in rows):
        square = [[matrix[r][j] for j in range(len(split_names))] for r in rows]
        if rows[-1] != done - 1:  # tasks trained after the last scored one: use the latest row
            square[-1] = final
        mets.update(
            average_score=M.average_scores(square)[-1],
            average_scores=M.average_scores(square),
            average_incremental_score=M.average_incremental_score(square),
            bwt=M.backward_transfer(square),
            forgetting=M.forgetting(square, form=forgetting_form),  # type: ignore[arg-type]
            forgetting_form=forgetting_form,
            fwt=M.forward_transfer(square, baseline),
        )
        report["square_rows"] = rows
    else:
        mets["average_score"] = float(np.mean(final))
    mets["flips_consecutive"] = [
        {"from": task_names[k - 1], "to": task_names[k], **flips(margins_after[k - 1], margins_after[k], split_names)}
        for k in range(1, done)
    ]
    if done > 1:
        vs_first = flips(margins_after[0], margins_after[-1], split_names)
        mets["nfr_vs_first"] = vs_first["overall"]["nfr"]
        mets["pfr_vs_first"] = vs_first["overall"]["pfr"]
        consecutive = [f["overall"] for f in mets["flips_consecutive"]]
        mets["nfr_mean_consecutive"] = float(np.mean([f["nfr"] for f in consecutive]))
        mets["pfr_mean_consecutive"] = float(np.mean([f["pfr"] for f in consecutive]))
    report["metrics"] = mets
    return report


SCALAR_METRICS = (
    "average_score", "average_incremental_score", "bwt", "forgetting", "fwt",
    "nfr_vs_first", "pfr_vs_first", "nfr_mean_consecutive", "pfr_mean_consecutive",
)


def scalar_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The headline numbers, as `seq/<name>` keys for trackers and tables."""
    return {f"seq/{k}": float(report["metrics"][k]) for k in SCALAR_METRICS if k in report["metrics"]}
