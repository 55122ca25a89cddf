"""Run the synthetic continual-alignment suite: methods x task orders x seeds.

    python benchmarks/run_suite.py                     # default: every method x 2 orders x 3 seeds
    python benchmarks/run_suite.py --quick             # CI size: 2 methods, 3 domains, few steps
    python benchmarks/run_suite.py --methods sequential_dpo dpo_replay --seeds 0 1
    python benchmarks/run_suite.py --seeds 3 4 5 --name suite_synthetic_heldout   # seeds no tuning saw

Reports mean +- 95% CI (Student t over orders x seeds) of the final average
score, BWT, forgetting and negative flip rate per method; writes Markdown and
JSON to benchmarks/results/ (or --out) and logs every run to one MLflow store,
so `lit-align compare --experiment suite-synthetic --tracking-uri ...` shows them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.results_io import write_results_json  # noqa: E402
from benchmarks.suites import synthetic  # noqa: E402

CACHE = REPO / "benchmarks" / ".cache"
REPORTED = ("average_score", "bwt", "forgetting", "nfr_mean_consecutive", "plasticity")
GENERATED = ("average_score", "bwt")  # of the gold-scored generated answers
# two-sided 95% Student t critical values by degrees of freedom
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
       12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}


def ci95(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% confidence interval (0 for a single value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0
    df = len(values) - 1
    t = T95.get(df) or next((T95[k] for k in sorted(T95) if k >= df), 1.96)
    return mean, t * statistics.stdev(values) / math.sqrt(len(values))


def orders_for(domains: tuple[str, ...], n: int) -> list[list[str]]:
    base = list(domains)
    candidates = [base, base[::-1], base[1:] + base[:1], base[2:] + base[:2]]
    return candidates[:n]


def run_one(config: dict[str, Any], path: Path) -> dict[str, Any]:
    from lit_align.cli import main

    path.write_text(json.dumps(config))
    if main(["fit", "--config", str(path)]) != 0:
        raise RuntimeError(f"suite run {path} failed")
    results = json.loads((Path(config["output_dir"]) / "results.json").read_text())
    return summary_of(results)


def plasticity(matrix: list[list[float]]) -> float | None:
    """Mean of a_ii: how well each task is learned right after training on it (F2's 'similar plasticity')."""
    square = [row[i] for i, row in enumerate(matrix) if i < len(row)]
    return statistics.fmean(square) if len(square) == len(matrix) > 1 else None


def summary_of(results: dict[str, Any]) -> dict[str, Any]:
    metrics = dict(results["metrics"])
    if (value := plasticity(results["matrix"])) is not None:
        metrics["plasticity"] = value
    return {"metrics": metrics, "matrix": results["matrix"], "splits": results["splits"],
            "generation": results.get("generation"), "seconds": results["timings"]["wall"]}


def summarise(runs: list[dict[str, Any]], methods: list[str]) -> dict[str, dict[str, list[float]]]:
    table: dict[str, dict[str, list[float]]] = {}
    for method in methods:
        rows = [r for r in runs if r["method"] == method]
        table[method] = {}
        for key in REPORTED:
            values = [r["metrics"][key] for r in rows if key in r["metrics"]]
            if values:
                table[method][key] = list(ci95(values)) + [len(values)]
        for key in GENERATED:
            values = [r["generation"]["metrics"][key] for r in rows
                      if r.get("generation") and key in r["generation"]["metrics"]]
            if values:
                table[method][f"generated_{key}"] = list(ci95(values)) + [len(values)]
    return table


def markdown(table: dict[str, dict[str, list[float]]], meta: dict[str, Any]) -> str:
    lines = [
        "# Synthetic continual-alignment suite",
        "",
        f"{meta['machine']}; torch {meta['torch']}; the runs' wall times add up to {meta['wall_minutes']:.1f} min "
        "(each measured when it ran, other jobs sharing the 2 cores at times; cached runs are reused).",
        f"Domains {', '.join(meta['domains'])}; {meta['n_orders']} order(s) x seeds {meta['seeds']}; "
        f"{meta['epochs']} epoch(s) per task; base model: tiny GPT-2 pretrained by SFT on every domain.",
        "Scores: preference accuracy on held-out pairs against the base model; mean +- 95% CI "
        "(Student t over orders x seeds). NFR: negative flip rate between consecutive tasks.",
        "",
        "Generated: mean gold reward of greedy answers to 32 prompts per domain, and its BWT.",
        "",
        "| method | final average score | BWT | forgetting | NFR | plasticity (mean a_ii) | generated score "
        "| generated BWT | n |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for method, metrics in table.items():
        cells = []
        for key in (*REPORTED, *(f"generated_{k}" for k in GENERATED)):
            if key in metrics:
                mean, half, _ = metrics[key]
                cells.append(f"{mean:+.3f} +- {half:.3f}")
            else:
                cells.append("-")
        n = int(next(iter(metrics.values()))[2]) if metrics else 0
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {n} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=list(synthetic.METHODS), choices=list(synthetic.METHODS))
    parser.add_argument("--orders", type=int, default=2)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=-1)
    parser.add_argument("--quick", action="store_true", help="CI size: 2 methods, 3 domains, 1 order, 1 seed")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--name", default=None, help="file stem of the report (default suite_synthetic[_quick])")
    parser.add_argument("--work", type=Path, default=CACHE / "suite")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    domains = synthetic.DOMAINS
    n_train, n_eval, base_steps = 256, 64, -1
    if args.quick:
        domains, n_train, n_eval, base_steps = domains[:3], 32, 16, 30
        args.methods = [m for m in args.methods if m in ("sequential_dpo", "dpo_replay")] or args.methods[:2]
        args.orders, args.seeds, args.max_steps = 1, args.seeds[:1], 4
    base = synthetic.build_base_model(args.work / ("base_quick" if args.quick else "base"), domains=domains,
                                      max_steps=base_steps)
    tracking_uri = f"sqlite:///{(args.work / 'mlflow.db').resolve()}"
    runs = []
    for seed in args.seeds:
        data = synthetic.write_data(args.work / "data", domains=domains, n_train=n_train, n_eval=n_eval, seed=seed)
        for o, order in enumerate(orders_for(domains, args.orders)):
            for method in args.methods:
                name = f"{method}-o{o}-s{seed}"
                out_dir = args.work / "runs" / name
                config = synthetic.run_config(method, order, seed, data_dir=data, base_model=base, output_dir=out_dir,
                                              tracking_uri=tracking_uri, epochs=args.epochs,
                                              max_steps=args.max_steps, run_name=name)
                if (out_dir / "results.json").exists() and json.loads((out_dir / "results.json").read_text())[
                        "complete"]:
                    result = summary_of(json.loads((out_dir / "results.json").read_text()))
                else:
                    result = run_one(config, args.work / f"{name}.json")
                runs.append({"method": method, "order": o, "seed": seed, **result})
                print(f"[suite] {name}: " + ", ".join(f"{k}={result['metrics'].get(k, float('nan')):+.3f}"
                                                     for k in REPORTED), flush=True)
    import torch

    meta = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__,
            "domains": list(domains), "n_orders": args.orders, "seeds": args.seeds, "epochs": args.epochs,
            "wall_minutes": sum(r["seconds"] for r in runs) / 60, "quick": args.quick, "tracking_uri": tracking_uri}
    table = summarise(runs, args.methods)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.name or ("suite_synthetic_quick" if args.quick else "suite_synthetic")
    write_results_json(args.out / f"{stem}.json", {"meta": meta, "summary": table, "runs": runs}, indent=2)
    (args.out / f"{stem}.md").write_text(markdown(table, meta))
    print(markdown(table, meta))


if __name__ == "__main__":
    main()
