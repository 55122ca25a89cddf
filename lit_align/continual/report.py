"""Files a sequence leaves behind: results.json, per_example.json, matrix.csv, plots."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from lit_align.continual.paths import contained
from lit_align.io import atomic_write_json, atomic_write_text


def timing_summary(tasks: list[dict[str, Any]], setup_seconds: float) -> dict[str, float]:
    """Wall time per phase over the run, and the share that is not training (targets.md P3)."""
    totals: dict[str, float] = {"setup": setup_seconds}
    for task in tasks:
        for phase, seconds in task["seconds"].items():
            totals[phase] = totals.get(phase, 0.0) + seconds
    wall = totals.get("total", 0.0) + setup_seconds
    train = totals.get("train", 0.0)
    return {**{k: round(v, 3) for k, v in totals.items()}, "wall": round(wall, 3),
            "non_training_share": round(1 - train / wall, 4) if wall else 0.0}


def matrix_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["after_task", *report["splits"]])
    writer.writerow(["(reference)", *report["baseline"]])
    for name, row in zip(report["tasks"], report["matrix"], strict=True):
        writer.writerow([name, *row])
    return buf.getvalue()


def write_results(output_dir: Path, report: dict[str, Any], tasks: list[dict[str, Any]],
                  baseline: dict[str, list[float]], margins_after: list[dict[str, list[float]]], *,
                  complete: bool, plots: bool, setup_seconds: float,
                  generated: dict[str, Any] | None = None,
                  generations: list[dict[str, Any]] | None = None) -> list[Path]:
    """Write (atomically) everything a reader of the run needs; return the paths written."""
    results = contained(output_dir, "results.json")
    atomic_write_json(results, {
        "complete": complete,
        **report,
        "tasks_detail": tasks,
        "timings": timing_summary(tasks, setup_seconds),
    })
    per_example = contained(output_dir, "per_example.json")
    atomic_write_json(per_example, {"splits": report["splits"], "tasks": report["tasks"],
                                    "baseline": baseline, "after": margins_after,
                                    **({"generated": generated} if generated else {})})
    matrix = contained(output_dir, "matrix.csv")
    atomic_write_text(matrix, matrix_csv(report))
    paths = [results, per_example, matrix, contained(output_dir, "config.yaml")]
    if generations:  # every generated answer of every evaluation, with its flags and score: re-readable
        lines = contained(output_dir, "generations.jsonl")
        atomic_write_text(lines, "".join(json.dumps(g, ensure_ascii=False) + "\n" for g in generations))
        paths.append(lines)
    if plots and report["matrix"] and report["splits"]:
        from lit_align.tracking.plots import plot_matrix, plot_scores

        paths += [plot_matrix(report, contained(output_dir, "matrix.png")),
                  plot_scores(report, contained(output_dir, "scores.png"))]
    return paths
