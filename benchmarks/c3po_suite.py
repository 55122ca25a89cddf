"""C3PO vs DPO vs in-scope SFT on the synthetic feedback rules (target F3), and LoRA-delta composition.

Protocol per rule and seed: pi_0 = the synthetic suite's base model; `lit-align feedback build`
makes the data (in-scope pairs: pi_0's greedy answer and its rule-revised version; near- and
out-of-scope prompts with pi_0's answers; 25% of every scope held out). Three methods train one
LoRA adapter each on the same rows with the same budget:
  c3po  DPO on in-scope pairs + 0.2 NLL(out-of-scope) + 0.1 NLL(near-scope), reference = adapter off
  dpo   DPO on the in-scope pairs only (the paper's DPO baseline)
  sft   SFT on the revised in-scope answers (the paper's SCD-like baseline)
Each exported model answers the held-out prompts greedily; the rule's heuristic score against pi_0's
answer gives S_in, S_out (mean |score| over near- and out-of-scope) and S_overall. Composition: the
five C3PO models of a seed are added as deltas onto pi_0 (`lit-align compose`) and scored on every rule.

    python -m benchmarks.c3po_suite                       # 5 rules x seeds 0-2, ~20 min on 2 cores
    python -m benchmarks.c3po_suite --rules exclaim_animals --seeds 0 --name c3po_pilot
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

from benchmarks.results_io import write_results_json  # noqa: E402
from benchmarks.suites import synthetic  # noqa: E402
from benchmarks.suites.feedback_scores import report_scores, score, typed  # noqa: E402,F401
from benchmarks.suites.synthetic import fit_task  # noqa: E402
from lit_align.study.stats import mean_half_width  # noqa: E402

RULES = ("exclaim_animals", "summary_prefix", "sky_mention", "technical_code", "quote_keyword")
METHODS = ("c3po", "dpo", "sft")
LORA = {"r": 16, "alpha": 32, "target_modules": "all-linear"}
SHAPE = {"batch_size": 8, "max_length": 64, "max_prompt_length": 32}
WORK = REPO / "benchmarks" / ".cache" / "c3po"


def feedback_config(rule: str, seed: int, base: Path, work: Path) -> dict[str, Any]:
    from lit_align.feedback.synthetic import RULES as ALL_RULES

    return {"feedback": ALL_RULES[rule].feedback, "seed": seed,
            "generator": {"class_path": "synthetic_feedback", "init_args": {"rule": rule}},
            "model": {"class_path": "hf", "init_args": {"name_or_path": str(base)}},
            "output_dir": str(work / "data"), "judge": {"class_path": "rule_judge", "init_args": {"rule": rule}},
            "n_in": 48, "n_near": 48, "n_out": 48, "test_fraction": 0.25,
            "sampling": {"max_new_tokens": 16, "temperature": 0.0, "batch_size": 32}}


def method_task(method: str, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    optimizer = {"lr": args.lr, "warmup_steps": 2}
    if method == "sft":  # the revised answers as plain SFT targets
        rows = [json.loads(line) for line in (data / "train.jsonl").read_text().splitlines()]
        sft = data / "sft.jsonl"
        sft.write_text("".join(json.dumps({"prompt": r["prompt"], "completion": r["chosen"]}) + "\n" for r in rows))
        node = {"class_path": "sft", "init_args": {"optimizer": optimizer}}
        train = str(sft)
    else:
        init = {"beta": args.beta, "reference": "adapter", "optimizer": optimizer}
        if method == "c3po":
            init |= {"lambda_out": args.lambda_out, "lambda_near": args.lambda_near}
        node = {"class_path": method, "init_args": init}
        train = str(data / "train.jsonl")
    return {"name": method, "method": node, "data": {"train": {"path": "json", "data_files": train}, **SHAPE}}


def fit(method: str, data: Path, base: Path, seed: int, out: Path, args: argparse.Namespace) -> Path:
    model = {"class_path": "hf", "init_args": {"name_or_path": str(base), "lora": LORA}}
    return fit_task(method, model, method_task(method, data, args), out, seed, args.epochs)


def one(rule: str, seed: int, base: Path, args: argparse.Namespace) -> dict[str, Any]:
    from lit_align.feedback.build import build_feedback_data

    work = args.work / f"{rule}-s{seed}"
    raw = feedback_config(rule, seed, base, work)
    report = build_feedback_data(typed(raw), raw)
    result: dict[str, Any] = {"rule": rule, "seed": seed, "data": {k: report[k] for k in
                                                                   ("train_rows", "test_rows", "left_out")}}
    for method in args.methods:
        cached = work / f"{method}-score.json"
        if cached.is_file():
            result[method] = json.loads(cached.read_text())
            continue
        start = time.perf_counter()
        model_dir = fit(method, work / "data", base, seed, work / method, args)
        result[method] = score(raw, model_dir) | {"seconds": round(time.perf_counter() - start, 1),
                                                  "model": str(model_dir)}
        cached.write_text(json.dumps(result[method]))
    return result


def composed(seed: int, base: Path, runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Every rule scored on pi_0 + the sum of the five C3PO deltas of this seed."""
    from lit_align.compose import compose_updates

    mine = [r for r in runs if r["seed"] == seed and "c3po" in r]
    out = args.work / f"composed-s{seed}"
    if not (out / "config.json").is_file():
        compose_updates(str(base), [r["c3po"]["model"] for r in mine], str(out))
    return {r["rule"]: score(feedback_config(r["rule"], seed, base, args.work / f"{r['rule']}-s{seed}"), out)
            for r in mine}


def markdown(runs: list[dict[str, Any]], composition: dict[int, dict[str, Any]], meta: dict[str, Any]) -> str:
    keys = ("s_in", "s_out", "s_near", "s_outside", "s_overall", "changed_in", "changed_out")
    lines = [f"# C3PO on the synthetic feedback rules ({len(meta['rules'])} rules x seeds "
             f"{', '.join(map(str, meta['seeds']))})", "",
             "Scores are the paper's heuristic score against pi_0's answer on held-out prompts, averaged per "
             "(rule, seed) then over all of them; mean +- 95% CI (Student t) over the rule-seed cells. S_in: adherence "
             "gained where the feedback applies (higher is better); S_out: behaviour change outside it "
             "(near and out of scope together, lower is better); S_overall = (S_in + 1 - S_out) / 2.", "",
             f"Setup: {json.dumps(meta['setup'])}", "",
             "changed_in / changed_out: share of in-scope / outside answers that differ from pi_0's at all "
             "(judge-free; a model that degenerates changes everything while the rule scores it 0).", "",
             "| method | S_in | S_out | S_near | S_outside | S_overall | changed in | changed out |",
             "|---|---|---|---|---|---|---|---|"]
    means: dict[str, dict[str, float]] = {}
    for method in meta["methods"]:
        cells = []
        for k in keys:
            m, h = mean_half_width([r[method][k] for r in runs])
            means.setdefault(method, {})[k] = m
            cells.append(f"{m:.3f} +- {h:.3f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    if "c3po" in means and "dpo" in means:
        c, d = means["c3po"], means["dpo"]
        ratio_in = c["s_in"] / d["s_in"] if d["s_in"] else float("nan")
        ratio_out = c["s_out"] / d["s_out"] if d["s_out"] else float("nan")
        met = ratio_in >= 0.8 and ratio_out <= 0.5
        lines += ["", f"**F3** (S_in >= 0.8x DPO's, S_out <= 0.5x DPO's): S_in ratio {ratio_in:.2f}, "
                      f"S_out ratio {ratio_out:.2f} -> {'met' if met else 'NOT met'}."]
    lines += ["", "Per rule (mean over seeds):", "",
              "| rule | method | S_in | S_out | S_overall |", "|---|---|---|---|---|"]
    for rule in meta["rules"]:
        for method in meta["methods"]:
            vals = [r[method] for r in runs if r["rule"] == rule]
            lines.append(f"| {rule} | {method} | " + " | ".join(
                f"{sum(v[k] for v in vals) / len(vals):.3f}" for k in ("s_in", "s_out", "s_overall")) + " |")
    if composition:
        lines += ["", "Composition: pi_0 + the sum of the five per-rule C3PO deltas (`lit-align compose`), "
                      "scored on every rule, vs each rule's own C3PO model:", "",
                  "| model | S_in | S_out | S_overall |", "|---|---|---|---|"]
        single = [r["c3po"] for r in runs if r["seed"] in composition]
        together = [v for per_seed in composition.values() for v in per_seed.values()]
        for name, vals in (("one C3PO adapter per rule", single), ("five composed", together)):
            lines.append(f"| {name} | " + " | ".join(
                f"{mean_half_width([v[k] for v in vals])[0]:.3f}" for k in ("s_in", "s_out", "s_overall")) + " |")
    data = [r["data"] for r in runs]
    lines += ["", f"Data per (rule, seed): {min(d['train_rows'] for d in data)}-{max(d['train_rows'] for d in data)} "
                  "training rows; what was left out is in the JSON next to this file.", "",
              f"Wall time {meta['minutes']:.1f} min on {meta['machine']}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", nargs="+", default=list(RULES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1.0e-3)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--lambda-out", type=float, default=0.2)
    parser.add_argument("--lambda-near", type=float, default=0.1)
    parser.add_argument("--no-compose", action="store_true")
    parser.add_argument("--tag", default="main", help="cache subfolder (change it when changing hyperparameters)")
    parser.add_argument("--name", default="c3po_suite", help="results file name under benchmarks/results/")
    args = parser.parse_args()
    args.work = WORK / args.tag
    start = time.perf_counter()
    base = synthetic.build_base_model(REPO / "benchmarks" / ".cache" / "suite" / "base")
    runs = [one(rule, seed, base, args) for seed in args.seeds for rule in args.rules]
    composition = {} if args.no_compose or "c3po" not in args.methods or len(args.rules) < 2 else {
        seed: composed(seed, base, runs, args) for seed in args.seeds}
    meta = {"rules": args.rules, "seeds": args.seeds, "methods": args.methods,
            "setup": {"epochs": args.epochs, "lr": args.lr, "beta": args.beta, "lambda_out": args.lambda_out,
                      "lambda_near": args.lambda_near, "lora": LORA, **SHAPE},
            "minutes": (time.perf_counter() - start) / 60, "machine": "2 CPU cores (x86_64), torch CPU"}
    results = REPO / "benchmarks" / "results"
    write_results_json(results / f"{args.name}.json", {"meta": meta, "runs": runs, "composition": composition},
                       indent=1)
    text = markdown(runs, composition, meta)
    (results / f"{args.name}.md").write_text(text)
    print(text)
    shutil.rmtree(args.work / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
