"""A study's report: `study.json` (every run and every number), `study.md` (tables and verdict
lines a reader checks) and one plot per metric, all from the runs that finished.

`study.json` schema (version 1):
- `study`, `schema_version`, `grid` ({arms: {name: overrides}, orders, seeds});
- `runs`: one record per planned run: `arm`, `order`, `seed`, `run_dir` (relative to the study's
  output_dir), `status` (done / failed / pending), and when done `metrics`, `matrix`, `splits`,
  `wall_seconds`, `per_example` (the run's per-pair margins) and, when it generated answers,
  `generations` (its generations.jsonl); when failed `error`;
- `summary`: arm -> metric -> {mean, low, high, n, level} (Student-t over the arm's runs);
- `verdicts`: name, claim, outcome (met / not met / not shown) and each check's rule, args,
  outcome, text and numbers;
- `missing`: the runs not finished (pending or failed), so no mean silently averages fewer;
- `judges`: per hand-labelled split, the judges' agreement with the blind labels and Cohen's
  kappa (lit_align/study/labels.py), or how many rows are labelled so far.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lit_align.io import atomic_write_json, atomic_write_text
from lit_align.study.check import resolve_rule
from lit_align.study.schema import StudyConfig
from lit_align.study.stats import t_interval
from lit_align.study.verdicts import Verdict, all_of

SCHEMA_VERSION = 1


def _no_nan(node: Any) -> Any:
    """NaN (no finished run measured it) is written as null, at any depth: study.json stays
    standard JSON."""
    if isinstance(node, dict):
        return {k: _no_nan(v) for k, v in node.items()}
    return None if isinstance(node, float) and math.isnan(node) else node


def summarise(study: StudyConfig, values: dict[str, dict[Any, dict[str, float]]]) -> dict[str, dict[str, Any]]:
    return {arm: {metric: _no_nan(t_interval([run[metric] for run in runs.values()]).as_dict())
                  for metric in study.metrics} for arm, runs in values.items()}


def judge(study: StudyConfig, values: dict[str, dict[Any, dict[str, float]]]) -> list[dict[str, Any]]:
    judged = []
    for verdict in study.verdicts:
        checks: list[Verdict] = []
        for item in verdict.checks:
            rule = resolve_rule(item.rule, f"verdict {verdict.name}")
            checks.append(rule(values, **item.args))
        judged.append({"name": verdict.name, "claim": verdict.claim, "outcome": all_of(checks),
                       "checks": [{"rule": item.rule, "args": item.args, "outcome": c.outcome, "text": c.text,
                                   "numbers": c.numbers} for item, c in zip(verdict.checks, checks, strict=True)]})
    return judged


def _cell(interval: dict[str, Any]) -> str:
    if interval["n"] == 0 or interval["mean"] is None:
        return "-"
    if interval["n"] == 1:
        return f"{interval['mean']:+.3f} (n=1)"
    return f"{interval['mean']:+.3f} [{interval['low']:+.3f}, {interval['high']:+.3f}] (n={interval['n']})"


def markdown(study: StudyConfig, report: dict[str, Any]) -> str:
    runs = report["runs"]
    done = sum(r["status"] == "done" for r in runs)
    lines = [f"# Study: {study.name}", "",
             f"{len(study.arms)} arm(s) x {len(study.order_names)} order(s) x {len(study.seeds)} seed(s): "
             f"{done} of {len(runs)} runs finished. Means with 95% Student-t intervals over each arm's runs.", "",
             "| arm | " + " | ".join(study.metrics) + " |", "|---" * (len(study.metrics) + 1) + "|"]
    for arm, metrics in report["summary"].items():
        lines.append(f"| {arm} | " + " | ".join(_cell(metrics[m]) for m in study.metrics) + " |")
    if report["verdicts"]:
        lines += ["", "## Verdicts (written in the study file before the runs)", ""]
        for verdict in report["verdicts"]:
            lines.append(f"- **{verdict['name']}: {verdict['outcome']}**. {verdict['claim']}")
            lines += [f"  - {c['rule']}: {c['outcome']}: {c['text']}" for c in verdict["checks"]]
    if report.get("judges"):
        lines += ["", "## Judges against blind hand labels", "",
                  "| split | judge | agree | rate | kappa | judge yes, human no | judge no, human yes |",
                  "|---|---|---|---|---|---|---|"]
        for split, found in report["judges"].items():
            if "rule" not in found:
                lines.append(f"| {split} | (labelled {found['labelled']} of {found['of']}) | | | | | |")
                continue
            for name in ("rule", "rule_and_sound", "soundness"):
                a = found[name]
                kappa = "-" if a["kappa"] is None or math.isnan(a["kappa"]) else f"{a['kappa']:.2f}"
                lines.append(f"| {split} | {name} | {a['agree']}/{a['n']} | {a['rate']:.2f} | {kappa} | "
                             f"{a['judge_yes_human_no']} | {a['judge_no_human_yes']} |")
    if report["missing"]:
        lines += ["", f"## Missing runs ({len(report['missing'])}): not in any mean above", ""]
        lines += [f"- {m['label']}: {m['status']}" + (f" ({m['error']})" if m.get("error") else "")
                  for m in report["missing"]]
    lines += ["", "Per-run metrics, matrices and the paths of each run's per-example margins and generated "
              "answers: `study.json`.", ""]
    return "\n".join(lines)


def plot(study: StudyConfig, summary: dict[str, dict[str, Any]], directory: Path) -> list[Path]:
    """One bar chart per metric: each arm's mean with its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    arms = list(summary)
    for metric in study.metrics:
        cells = [summary[a][metric] for a in arms]
        means = [c["mean"] if c["n"] and c["mean"] is not None else math.nan for c in cells]
        errors = [[c["mean"] - c["low"] if c["n"] > 1 else 0 for c in cells],
                  [c["high"] - c["mean"] if c["n"] > 1 else 0 for c in cells]]
        fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(arms)), 3))
        ax.bar(arms, means, yerr=errors, capsize=4, color="#4c72b0")
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_title(f"{study.name}: {metric} (95% t interval)")
        fig.tight_layout()
        path = directory / f"{metric.replace('.', '_')}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def write_report(study: StudyConfig, root: Path, values: dict[str, dict[Any, dict[str, float]]],
                 records: list[dict[str, Any]], judges: dict[str, Any] | None = None) -> dict[str, Any]:
    missing = [{"label": f"{r['arm']}/{r['order']}-{r['seed']}", "status": r["status"],
                **({"error": r["error"]} if "error" in r else {})} for r in records if r["status"] != "done"]
    report = {
        "study": study.name,
        "schema_version": SCHEMA_VERSION,
        "grid": {"arms": study.arms, "orders": study.orders or {"o0": None}, "seeds": study.seeds},
        "runs": records,
        "summary": summarise(study, values),
        "verdicts": judge(study, values),
        "missing": missing,
        **({"judges": _no_nan(judges)} if judges else {}),
    }
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_json(root / "study.json", report)
    atomic_write_text(root / "study.md", markdown(study, report))
    if any(r["status"] == "done" for r in records):
        plot(study, report["summary"], root / "plots")
    return report
