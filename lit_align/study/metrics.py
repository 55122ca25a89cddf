"""The numbers a study reads from a finished run's `results.json`.

A metric name is one of `DERIVED` (computed from the run's matrix, probe or timings), a key of
`results["metrics"]` (`bwt`, `forgetting`, `average_score`, `nfr_mean_consecutive`, ...), or a
dotted path into `results.json` (`generation.metrics.bwt`). A matrix metric reads another matrix
after its section's name (`generation_sound.plasticity`), and `<section>.learned_gain.<split>` is
one domain's score right after its own task minus the untuned model's (is the domain learnable at
all?). `after_run` hooks add their own names.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any


def plasticity(results: dict[str, Any]) -> float:
    """Mean of a_ii: each task's score right after training on it (F2's "similar plasticity").
    Defined for a square matrix of two or more tasks (multi-task training has one row: NaN)."""
    matrix = results.get("matrix") or []
    if len(matrix) < 2 or any(len(row) != len(matrix) for row in matrix):
        return math.nan
    return statistics.fmean(row[i] for i, row in enumerate(matrix))


def learned_gain(results: dict[str, Any], split: str) -> float:
    """a_ii - b_i for the task named `split`: what training on it taught, over the untuned model.
    NaN when no task of that name trained (multi-task training) or the split is not a column."""
    splits, tasks = results.get("splits") or [], results.get("tasks") or []
    matrix, baseline = results.get("matrix") or [], results.get("baseline") or []
    if split not in splits or split not in tasks or len(baseline) != len(splits):
        return math.nan
    row = tasks.index(split)
    return float(matrix[row][splits.index(split)] - baseline[splits.index(split)]) if row < len(matrix) else math.nan


def probe_worst_exact(results: dict[str, Any]) -> float:
    """The general probe's lowest exact rate after any task (T1: the worst point, not the last)."""
    after = [a.get("exact") for a in ((results.get("probe") or {}).get("after") or [])]
    kept = [a for a in after if a is not None]
    return min(kept) if kept else math.nan


def probe_worst_relative_drop(results: dict[str, Any]) -> float:
    """The largest relative fall of the probe's exact rate from before the first task."""
    after = [a.get("exact_relative_drop") for a in ((results.get("probe") or {}).get("after") or [])]
    kept = [a for a in after if a is not None]
    return max(kept) if kept else math.nan


def wall_minutes(results: dict[str, Any]) -> float:
    return float((results.get("timings") or {}).get("wall", math.nan)) / 60


MATRIX_METRICS: dict[str, Callable[[dict[str, Any]], float]] = {"plasticity": plasticity}
PER_SPLIT: dict[str, Callable[[dict[str, Any], str], float]] = {"learned_gain": learned_gain}
DERIVED: dict[str, Callable[[dict[str, Any]], float]] = {
    **MATRIX_METRICS,
    "probe_worst_exact": probe_worst_exact,
    "probe_worst_relative_drop": probe_worst_relative_drop,
    "wall_minutes": wall_minutes,
}


def read_metric(results: dict[str, Any], name: str, extra: dict[str, float] | None = None) -> float:
    """The run's value of `name`, NaN when the run did not measure it."""
    if extra and name in extra:
        return float(extra[name])
    if name in DERIVED:
        return DERIVED[name](results)
    section, _, rest = name.partition(".")
    if isinstance(results.get(section), dict) and "matrix" in results[section]:
        if rest in MATRIX_METRICS:
            return MATRIX_METRICS[rest](results[section])
        kind, _, split = rest.partition(".")
        if kind in PER_SPLIT and split:
            return PER_SPLIT[kind](results[section], split)
    if section in PER_SPLIT and rest:  # the run's own (pairwise) matrix
        return PER_SPLIT[section](results, rest)
    node: Any = results if "." in name else results.get("metrics", {})
    for part in name.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else math.nan
