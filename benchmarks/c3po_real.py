"""C3PO on SmolLM2-135M-Instruct (issue 20, target F3r): C3PO vs DPO vs SFT vs in-context feedback.

Per feedback (benchmarks/suites/feedback_real.py) and seed: `lit-align feedback build` with the
programmatic generator (template prompts; revisions that apply the feedback to pi_0's own greedy
answer, checkable by construction: a 135M LLM writer is not usable, see c3po_generator_real.md),
pi_0 = SmolLM2 with the chat template, general prompts outside every scope and apart from the probe
(GENERAL_FILE) as out-of-scope prompts, a third of every scope held out. Three methods train one LoRA
adapter each, same rows and budget:
  c3po  DPO on in-scope pairs + lambda_out NLL(out-of-scope) + lambda_near NLL(near-scope)
        (c3po_anchored: both lambdas at --anchor-lambda, a variant that tests whether a stronger
        anchor keeps the feedback out of the near scope; the paper's lambdas stay the headline)
  dpo   DPO on the in-scope pairs only (dpo_low_lr: the same at a quarter of the learning rate,
        a DPO baseline that does not collapse)
  sft   SFT on the revised in-scope answers
and `in_context` trains nothing: pi_0 with the feedback as a system turn. Each answers the held-out
prompts greedily; the exact adherence test against pi_0's answer gives S_in, S_out (mean |score| over
near and out of scope), S_overall and the judge-free changed rates; the general probe's exact rate
gives the drift. F3r: S_in >= 0.8 x DPO's, out-of-scope change <= 0.5 x DPO's. Every run is written
under --work as it finishes and read back.

    python -m benchmarks.c3po_real [--feedbacks animals_exclaim] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
from benchmarks.results_io import write_results_json, write_results_text  # noqa: E402
from benchmarks.suites.feedback_real import (  # noqa: E402,F401  # noqa: E402
    BUILD_TOKENS,
    FEEDBACKS,
    GENERAL_FILE,
    GGUF,
    WORK,
    evaluation_config,
    feedback_config,
)
from benchmarks.suites.feedback_scores import report_scores, score, typed  # noqa: E402
from benchmarks.suites.real_probe import model_exact_rate  # noqa: E402
from benchmarks.suites.synthetic import fit_task  # noqa: E402
from lit_align.study.stats import mean_half_width  # noqa: E402

LORA = {"r": 16, "alpha": 32, "target_modules": "all-linear"}
SHAPE = {"chat_template": True, "batch_size": 8, "max_length": 160, "max_prompt_length": 48}
METHODS = ("c3po", "c3po_anchored", "dpo", "dpo_low_lr", "sft", "in_context")


def method_task(method: str, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    optimizer = {"lr": args.lr / 4 if method == "dpo_low_lr" else args.lr, "warmup_steps": 2}
    train = str(data / "train.jsonl")
    if method == "sft":  # the revised answers as plain SFT targets
        rows = [json.loads(line) for line in (data / "train.jsonl").read_text().splitlines()]
        train = str(data / "sft.jsonl")
        Path(train).write_text("".join(json.dumps({"prompt": r["prompt"], "completion": r["chosen"]}) + "\n"
                                       for r in rows))
        node = {"class_path": "sft", "init_args": {"optimizer": optimizer}}
    else:
        init = {"beta": args.beta, "reference": "adapter", "optimizer": optimizer}
        if method == "c3po":
            init |= {"lambda_out": args.lambda_out, "lambda_near": args.lambda_near}
        if method == "c3po_anchored":
            init |= {"lambda_out": args.anchor_lambda, "lambda_near": args.anchor_lambda}
        class_path = {"dpo_low_lr": "dpo", "c3po_anchored": "c3po"}.get(method, method)
        node = {"class_path": class_path, "init_args": init}
    return {"method": node, "data": {"train": {"path": "json", "data_files": train}, **SHAPE,
                                     "batch_size": args.batch_size}}


def displacement(run_dir: Path, beta: float) -> dict[str, float] | None:
    """Chosen and rejected log-likelihood drift (nats, policy minus pi_0) at the last training step:
    the logged log-ratios, or the implicit rewards / beta (the sigmoid DPO reward is beta x log-ratio)."""
    results = run_dir / "results.json"
    if not results.is_file():
        return None
    metrics = json.loads(results.read_text())["tasks_detail"][0]["metrics"]
    if "train/chosen_logratio" in metrics:
        return {"chosen": metrics["train/chosen_logratio"], "rejected": metrics["train/rejected_logratio"]}
    if "train/chosen_reward" in metrics:
        return {"chosen": metrics["train/chosen_reward"] / beta, "rejected": metrics["train/rejected_reward"] / beta}
    return None


def run_method(method: str, raw: dict[str, Any], work: Path, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    from lit_align.feedback.build import evaluate_model

    start = time.perf_counter()
    evaluation = evaluation_config(raw, args.eval_tokens)
    if method == "in_context":
        scores = report_scores(evaluate_model(typed(evaluation), None, in_context=True))
        return scores | {"probe_exact": None, "seconds": round(time.perf_counter() - start, 1)}
    model_dir = fit_task(method, GGUF | {"init_args": GGUF["init_args"] | {"lora": LORA}},
                         method_task(method, work / "data", args), work / method, seed, args.epochs)
    return score(evaluation, model_dir) | {"probe_exact": model_exact_rate(model_dir),
                                           "displacement_nats": displacement(work / method, args.beta),
                                           "seconds": round(time.perf_counter() - start, 1)}


def one(name: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    from lit_align.feedback.build import build_feedback_data

    work = args.work / f"{name}-s{seed}"
    raw = feedback_config(name, seed, work, args.n)
    # a report reads what the runs built, without loading pi_0 to check the build
    report = json.loads((work / "data" / "report.json").read_text()) if args.report else \
        build_feedback_data(typed(raw), raw)
    result: dict[str, Any] = {"feedback": name, "seed": seed,
                              "data": {k: report[k] for k in ("train_rows", "test_rows", "left_out")}}
    for method in args.methods:
        cached = work / f"{method}-score.json"
        if not cached.is_file() and not args.report:
            cached.write_text(json.dumps(run_method(method, raw, work, seed, args)))
        if cached.is_file():
            result[method] = json.loads(cached.read_text())
    return result


def markdown(meta: dict[str, Any], runs: list[dict[str, Any]], pi0_probe: float) -> str:
    lines = [f"# C3PO on SmolLM2-135M-Instruct ({meta['date']}, {meta['machine']})", "",
             f"Settings: {meta['args']}; pi_0 probe exact {pi0_probe:.3f}.", "",
             "Drift: chosen / rejected log-likelihood minus pi_0's at the last training step (nats, mean over runs; "
             "both falling far is likelihood displacement).", "",
             "S_out pools S_near (similar prompts the rule must not touch) and S_outside (general prompts).", "",
             "| method | runs | S_in | S_out | S_near | S_outside | S_overall | changed in scope | probe exact "
             "| drift chosen / rejected |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for method in METHODS:
        got = [r[method] for r in runs if method in r]
        if not got:
            continue
        cells = []
        for key in ("s_in", "s_out", "s_near", "s_outside", "s_overall", "changed_in", "probe_exact"):
            values = [g[key] for g in got if g.get(key) is not None]
            mean, half = mean_half_width(values) if values else (None, None)
            cells.append("-" if mean is None else f"{mean:.3f} +- {half:.3f}" if len(values) > 1 else f"{mean:.3f}")
        drifts = [g["displacement_nats"] for g in got if g.get("displacement_nats")]
        cells.append(f"{sum(d['chosen'] for d in drifts) / len(drifts):.1f} / "
                     f"{sum(d['rejected'] for d in drifts) / len(drifts):.1f}" if drifts else "-")
        lines.append(f"| {method} | {len(got)} | " + " | ".join(cells) + " |")
    lines += ["", "| feedback | seed | train rows | " + " | ".join(f"{m} S_in / S_out" for m in METHODS) + " |",
              "|---|---|---|" + "---|" * len(METHODS)]
    for r in runs:
        cells = [f"{r[m]['s_in']:.2f} / {r[m]['s_out']:.2f}" if m in r else "-" for m in METHODS]
        lines.append(f"| {r['feedback']} | {r['seed']} | {r['data']['train_rows']} | " + " | ".join(cells) + " |")
    for method in ("c3po", "c3po_anchored"):
        for baseline in ("dpo", "dpo_low_lr"):
            lines += f3r_verdict([r for r in runs if method in r and baseline in r], method, baseline)
    return "\n".join(lines) + "\n"


def f3r_verdict(both: list[dict[str, Any]], method: str, baseline: str) -> list[str]:
    """A C3PO run's S_in and S_out as multiples of a DPO baseline's; undetermined where the baseline's is 0."""
    if not both:
        return []
    dpo_in, dpo_out = sum(r[baseline]["s_in"] for r in both), sum(r[baseline]["s_out"] for r in both)
    c3po_in, c3po_out = sum(r[method]["s_in"] for r in both), sum(r[method]["s_out"] for r in both)
    if dpo_in <= 0 or dpo_out <= 0:
        return ["", f"F3r, {method} against {baseline} ({len(both)} runs): undetermined: its S_in is "
                f"{dpo_in / len(both):.3f} and its S_out {dpo_out / len(both):.3f}, so {method}'s cannot be read as "
                "a share of them."]
    s_in, s_out = c3po_in / dpo_in, c3po_out / dpo_out
    met = s_in >= 0.8 and s_out <= 0.5
    return ["", f"F3r, {method} against {baseline} ({len(both)} runs): S_in {s_in:.2f}x the baseline's "
            f"(target >= 0.8), S_out {s_out:.2f}x (target <= 0.5): {'met' if met else 'not met'}."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feedbacks", nargs="+", default=[f.name for f in FEEDBACKS],
                        choices=[f.name for f in FEEDBACKS])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--n", type=int, default=24, help="prompts per scope (a third held out)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--eval-tokens", type=int, default=80, help=f"answer budget when scoring (> {BUILD_TOKENS})")
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--lambda-out", type=float, default=0.2)
    parser.add_argument("--lambda-near", type=float, default=0.1)
    parser.add_argument("--anchor-lambda", type=float, default=1.0, help="c3po_anchored's lambda_out and lambda_near")
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--name", default="c3po_real")
    parser.add_argument("--report", action="store_true",
                        help="train nothing: write the results from the runs finished under --work")
    args = parser.parse_args()
    import torch

    started = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    pi0 = args.work / "pi0_probe.json"
    if not pi0.is_file():
        pi0.write_text(json.dumps(model_exact_rate(None)))
    runs = []
    for seed in args.seeds:
        for name in args.feedbacks:
            if args.report and not (args.work / f"{name}-s{seed}" / "data" / "report.json").is_file():
                continue
            run = one(name, seed, args)
            if any(m in run for m in METHODS):  # a build whose methods never ran says nothing
                runs.append(run)
            meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, 2 CPU cores, torch "
                    f"{torch.__version__} CPU", "minutes_this_sitting": round((time.perf_counter() - started) / 60, 1),
                    "args": {k: v for k, v in vars(args).items() if k != "work"}}
            out = REPO / "benchmarks" / "results"
            write_results_json(out / f"{args.name}.json", {"meta": meta, "runs": runs}, indent=1)
            write_results_text(out / f"{args.name}.md", markdown(meta, runs, json.loads(pi0.read_text())))
    print(markdown(meta, runs, json.loads(pi0.read_text())))


if __name__ == "__main__":
    main()
