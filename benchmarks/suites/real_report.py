"""Tables and verdicts of the real-model suite: per run the generated-answer matrix (primary),
pairwise accuracy and the general probe; per method mean +- 95% CI; F1r, F2r and T1 verdicts
computed from those numbers (targets in ../shared/targets.md)."""

from __future__ import annotations

import math
import statistics
from typing import Any

from lit_align.study.metrics import plasticity
from lit_align.study.stats import mean_half_width

HEADLINE = ("average_score", "bwt", "forgetting", "plasticity", "nfr_mean_consecutive")
EXTRA = ("pairwise_average_score", "pairwise_bwt", "probe_exact_drift", "probe_logprob_drift")
LABELS = {"average_score": "final avg gold score", "bwt": "BWT", "forgetting": "forgetting",
          "plasticity": "plasticity (mean a_ii)", "nfr_mean_consecutive": "NFR",
          "pairwise_average_score": "pairwise avg", "pairwise_bwt": "pairwise BWT",
          "probe_exact_drift": "probe exact drift", "probe_logprob_drift": "probe log-prob drift"}
TAX_LIMIT = 0.10  # T1: a relative fall of the probe's exact answers beyond this wrecks it


def run_record(method: str, order: int, seed: int, results: dict[str, Any]) -> dict[str, Any]:
    """One run in the schema of suite_synthetic.json (`method, order, seed, matrix, splits,
    metrics`), the matrix being the gold score of generated answers."""
    gen = results["generation"]
    metrics = {k: v for k, v in gen["metrics"].items() if isinstance(v, (int, float))}
    if not math.isnan(value := plasticity(gen)):
        metrics["plasticity"] = value
    metrics["pairwise_average_score"] = results["metrics"]["average_score"]
    if "bwt" in results["metrics"]:
        metrics["pairwise_bwt"] = results["metrics"]["bwt"]
    probe = results.get("probe") or {}
    final = probe.get("final") or {}
    if final.get("exact_drift") is not None:
        metrics["probe_exact_drift"] = final["exact_drift"]
        metrics["probe_exact_relative_drop"] = final["exact_relative_drop"]
    if "answer_logprob_drift" in final:
        metrics["probe_logprob_drift"] = final["answer_logprob_drift"]
    counts = gen.get("counts", [])  # per evaluation (before the first task, then after each) and split
    generated = {what: sum(c[what] for evaluation in counts for c in evaluation.values())
                 for what in ("unscored", "hit_token_limit")}
    generated["evaluations"] = len(counts)
    return {"method": method, "order": order, "seed": seed, "tasks": gen["tasks"], "splits": gen["splits"],
            "generated_answers": generated,
            "baseline": gen["baseline"], "matrix": gen["matrix"], "metrics": metrics,
            "pairwise": {"baseline": results["baseline"], "matrix": results["matrix"]},
            "probe": probe, "minutes": round(results["timings"]["wall"] / 60, 1),
            "non_training_share": results["timings"]["non_training_share"]}


def summarise(runs: list[dict[str, Any]], methods: list[str]) -> dict[str, dict[str, list[float]]]:
    """Per method and metric: [mean, 95% CI half-width, n]."""
    table: dict[str, dict[str, list[float]]] = {}
    for method in methods:
        rows = [r for r in runs if r["method"] == method]
        table[method] = {}
        for key in (*HEADLINE, *EXTRA):
            values = [r["metrics"][key] for r in rows if key in r["metrics"]]
            if values:
                table[method][key] = [*mean_half_width(values), len(values)]
    return table


def _mean(table: dict[str, dict[str, list[float]]], method: str, key: str) -> float | None:
    cell = table.get(method, {}).get(key)
    return None if cell is None else cell[0]


def verdicts(table: dict[str, dict[str, list[float]]], runs: list[dict[str, Any]]) -> list[str]:
    """F1r, F2r and T1 in words, from the means (or what is missing to judge them)."""
    out = []
    seq, rep = _mean(table, "sequential", "bwt"), _mean(table, "replay", "bwt")
    if seq is None or rep is None:
        out.append("F1r: not judged (needs sequential and replay runs)")
    else:
        met = seq <= -0.05 and rep > seq
        out.append(f"F1r {'met' if met else 'not met'} on the means: sequential DPO BWT {seq:+.3f} (target <= -0.05), "
                   f"replay BWT {rep:+.3f} ({'better' if rep > seq else 'not better'}); "
                   + _overlap(table, "sequential", "replay", "bwt"))
    copr, p_copr, p_rep = _mean(table, "copr", "bwt"), _mean(table, "copr", "plasticity"), _mean(
        table, "replay", "plasticity")
    if copr is None or rep is None or p_copr is None or p_rep is None:
        out.append("F2r: not judged (needs copr and replay runs)")
    else:
        ratio = abs(copr) / abs(rep) if rep else float("inf")
        met = ratio <= 0.7 and abs(p_copr - p_rep) <= 0.05
        out.append(f"F2r {'met' if met else 'not met'}: |BWT| COPR {abs(copr):.3f} vs replay {abs(rep):.3f} "
                   f"(ratio {ratio:.2f}, target <= 0.70); plasticity COPR {p_copr:.3f} vs replay {p_rep:.3f} "
                   f"(gap {abs(p_copr - p_rep):.3f}, target <= 0.05)")
    wrecked = [f"{r['method']}-o{r['order']}-s{r['seed']}" for r in runs
               if r["metrics"].get("probe_exact_relative_drop", 0.0) > TAX_LIMIT]
    out.append("T1: " + (f"the probe's exact answers fell by more than {TAX_LIMIT:.0%} in {', '.join(wrecked)}"
                         if wrecked else f"no run's probe exact answers fell by more than {TAX_LIMIT:.0%}"))
    for method in table:
        drops = [r["metrics"]["probe_exact_relative_drop"] for r in runs
                 if r["method"] == method and "probe_exact_relative_drop" in r["metrics"]]
        if drops and sum(drops) / len(drops) > TAX_LIMIT:
            out.append(f"T1: {method} loses {sum(drops) / len(drops):.1%} of the probe's exact answers on average: "
                       f"its numbers above come with that cost")
    return out


def _overlap(table: dict[str, dict[str, list[float]]], a: str, b: str, key: str) -> str:
    """Whether the two methods' 95% intervals of `key` overlap (then the ordering is not significant)."""
    (ma, ha, na), (mb, hb, nb) = table[a][key], table[b][key]
    if min(na, nb) < 2:
        return "one run each: no interval"
    if abs(ma - mb) > ha + hb:
        return f"the 95% intervals do not overlap (n = {int(na)}, {int(nb)})"
    return f"the 95% intervals overlap (+-{ha:.3f}, +-{hb:.3f}; n = {int(na)}, {int(nb)}): not significant"


def _cell(cell: list[float] | None) -> str:
    return "-" if cell is None else f"{cell[0]:+.3f} +- {cell[1]:.3f}"


def _matrix(run: dict[str, Any]) -> list[str]:
    names = run["splits"]
    lines = ["| after \\ on | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|",
             "| (untuned) | " + " | ".join(f"{v:.3f}" for v in run["baseline"]) + " |"]
    lines += [f"| {t} | " + " | ".join(f"{v:.3f}" for v in row) + " |"
              for t, row in zip(run["tasks"], run["matrix"], strict=True)]
    return lines


def markdown(meta: dict[str, Any], table: dict[str, dict[str, list[float]]], runs: list[dict[str, Any]]) -> str:
    size = meta["size"]
    lines = [
        f"# Real-model continual-alignment suite{' (quick)' if size['quick'] else ''}",
        "",
        f"{meta['model']}; {meta['machine']}; {meta['jobs']} run(s) at once, {meta['threads_per_run']} torch "
        f"thread(s) each. Runs' wall times add up to {meta['run_minutes_total']} min; from the first run's start "
        f"to the last one's end {meta.get('span_minutes', '-')} min of wall time (runs that had finished are read "
        f"back, not rerun).",
        f"Domains {', '.join(meta['domains'])}; orders {meta['orders']}; seeds {meta['seeds']}. Recipe: "
        f"{meta.get('recipe', '-')}; data: the committed on-policy pairs "
        f"(benchmarks/data/smollm2_style/build_report.json); size {size}.",
        *([f"Planned but not run in the time this suite had: {', '.join(meta['not_run'])}."]
          if meta.get("not_run") else []),
        "Primary score: the domain's gold rule on greedy answers to held-out prompts "
        f"({size['gen_prompts']} per domain, {size['new_tokens']} new tokens). Pairwise: preference accuracy on "
        "held-out pairs vs the untuned model. Probe: exact answers to factual questions the untuned model "
        "got right, and the per-token log-prob of its own replies to general prompts, as drift from before "
        "the first task. Mean +- 95% CI (Student t) over orders x seeds.",
        "",
        "| method | " + " | ".join(LABELS[k] for k in (*HEADLINE, *EXTRA)) + " | n |",
        "|---" * (len(HEADLINE) + len(EXTRA) + 2) + "|",
    ]
    for method, cells in table.items():
        n = max((int(c[2]) for c in cells.values()), default=0)
        lines.append(f"| {method} | " + " | ".join(_cell(cells.get(k)) for k in (*HEADLINE, *EXTRA)) + f" | {n} |")
    lines += ["", "## Verdicts", "", *(f"- {v}" for v in verdicts(table, runs)), "", "## Runs", ""]
    for run in runs:
        m = run["metrics"]
        counted = run.get("generated_answers", {})
        total = counted.get("evaluations", 0) * len(run["splits"]) * size["gen_prompts"]
        lines += [f"### {run['method']} order {run['order']} seed {run['seed']} ({run['minutes']} min, "
                  f"{run['non_training_share']:.0%} not training)", "", *_matrix(run), "",
                  ", ".join(f"{k} {m[k]:+.3f}" for k in (*HEADLINE, *EXTRA) if k in m), "",
                  f"Generated answers: {total}; cut at the token limit {counted.get('hit_token_limit', 0)}, "
                  f"unscored {counted.get('unscored', 0)}.", ""]
    times = [r["minutes"] for r in runs]
    if times:
        lines.append(f"Median run: {statistics.median(times):.1f} min.")
    return "\n".join(lines) + "\n"
