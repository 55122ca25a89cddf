"""MUSCLE on SmolLM2-135M-Instruct (issue 20, target F4r): a real base update, retraining vs MUSCLE.

    python -m benchmarks.muscle_real [--seeds 0 1 2] [--masks argmax likelihood old_correct]

Everything through `lit-align fit` and `lit-align compat`, every stage written under --work as it
finishes and reused (a killed study resumes where it stopped):
1. base v2 (once, shared by every seed): SmolLM2 after a base update, full-weight SFT on a shifted
   general mix (the committed general answers of benchmarks/data/lancet_real and the style-shifted
   answers of benchmarks/data/smollm2_style); its probe exact rate says how far it moved;
2. the task (benchmarks/suites/arithmetic_real.py): two-number word problems, one-number answers;
   M_v1 = SmolLM2 + LoRA adapter A_v1; M_v2 = base v2 + A_v2, the same recipe and seed;
3. MUSCLE's compatibility adapter from A_v2 (base v2 + the saved A_v2, trainable), old teacher M_v1,
   distilling the task's training rows, once per mask (argmax = the paper; likelihood and old_correct
   = the ablations);
4. `lit-align compat` of M_v1 -> M_v2 and M_v1 -> M_C on held-out problems: choice (pick the right
   number among it and three slips by mean token log-likelihood) and generative (greedy answer, exact).
F4r: NFR of M_C at least 30% below M_v2's, accuracy no lower. Results: benchmarks/results/muscle_real.*
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
from benchmarks.results_io import write_results_json, write_results_text  # noqa: E402
from benchmarks.suites import arithmetic_real  # noqa: E402
from benchmarks.suites.real_probe import model_exact_rate  # noqa: E402
from benchmarks.suites.synthetic import compat_report, fit_task, write_jsonl  # noqa: E402
from lit_align.study.stats import mean_half_width  # noqa: E402

GGUF = {"class_path": "gguf", "init_args": {"gguf": "smollm2-135m-instruct"}}
LORA = {"r": 16, "alpha": 32, "target_modules": "all-linear"}
SHAPE = {"batch_size": 16, "max_length": 128, "max_prompt_length": 96}
MASKS = ("argmax", "likelihood", "old_correct")
DATA = REPO / "benchmarks" / "data"
GENERAL_MIX = (DATA / "lancet_real" / "clean_train.jsonl",
               *(DATA / "smollm2_style" / f"{s}_train.jsonl"
                 for s in ("certainly", "plain_start", "avoid_the", "brief", "numbered", "detailed")))
WORK = REPO / "benchmarks" / ".cache" / "muscle_real"


def general_mix_rows() -> list[dict[str, Any]]:
    """Prompt/completion rows of the base update; preference rows give their chosen (shifted) answer."""
    rows = []
    for path in GENERAL_MIX:
        for line in path.read_text().splitlines():
            row = json.loads(line)
            rows.append({"prompt": row["prompt"], "completion": row.get("completion", row.get("chosen"))})
    return rows


def base_v2(args: argparse.Namespace) -> Path:
    target = args.work / "base_v2"
    if (target / "config.json").is_file():
        return target
    data = write_jsonl(args.work / "base_update" / "general_mix.jsonl", general_mix_rows())
    task = {"method": {"class_path": "sft", "init_args": {"optimizer": {"lr": args.base_lr, "warmup_steps": 5}}},
            "data": {"train": {"path": "json", "data_files": data}, "chat_template": True, "batch_size": 8,
                     "max_length": 160, "max_prompt_length": 48}}
    model_dir = fit_task("base_update", GGUF, task, args.work / "base_update" / "run", 0, args.base_epochs)
    shutil.copytree(model_dir, target, ignore=shutil.ignore_patterns("adapter"))
    return target


def task_data(work: Path, seed: int, args: argparse.Namespace) -> tuple[str, Path]:
    """Training rows and the compat spec over held-out problems (apart from the training questions)."""
    train = arithmetic_real.problems(args.train_rows, 1000 + seed)
    held_out = arithmetic_real.problems(args.test_rows, 5000 + seed, avoid={p.question for p in train})
    data = write_jsonl(work / "train.jsonl", arithmetic_real.sft_rows(train))
    splits = {"choice": {"source": {"path": "json", "data_files": write_jsonl(
                  work / "test_choice.jsonl", arithmetic_real.choice_rows(held_out))}, "kind": "choice"},
              "generative": {"source": {"path": "json", "data_files": write_jsonl(
                  work / "test_generative.jsonl", arithmetic_real.sft_rows(held_out))}, "kind": "generative"}}
    spec = work / "compat.json"
    spec.write_text(json.dumps({"splits": splits, "similarity": "exact", "normalize": True, "max_new_tokens": 8,
                                "max_length": 128, "max_prompt_length": 96, "batch_size": 32}))
    return data, spec


def sft_task(data: str, args: argparse.Namespace) -> dict[str, Any]:
    return {"method": {"class_path": "sft", "init_args": {"optimizer": {"lr": args.lr, "warmup_steps": 3}}},
            "data": {"train": {"path": "json", "data_files": data}, **SHAPE}}


def muscle_task(data: str, m_v1: Path, mask: str, args: argparse.Namespace) -> dict[str, Any]:
    old = {"class_path": "hf", "init_args": {"name_or_path": str(m_v1)}}
    init = {"old_model": old, "temperature": 2.0, "train_on": "all", "mask": mask,
            "optimizer": {"lr": args.muscle_lr, "warmup_steps": 3}}
    return {"method": {"class_path": "muscle", "init_args": init},
            "data": {"train": {"path": "json", "data_files": data}, **SHAPE}}


def one_seed(seed: int, v2_base: Path, args: argparse.Namespace) -> dict[str, Any]:
    work = args.work / f"seed{seed}"
    data, spec = task_data(work, seed, args)
    start = time.perf_counter()
    m_v1 = fit_task("task_v1", GGUF | {"init_args": GGUF["init_args"] | {"lora": LORA}}, sft_task(data, args),
                    work / "v1", seed, args.epochs)
    on_v2 = {"class_path": "hf", "init_args": {"name_or_path": str(v2_base)}}
    m_v2 = fit_task("task_v2", on_v2 | {"init_args": on_v2["init_args"] | {"lora": LORA}}, sft_task(data, args),
                    work / "v2", seed, args.epochs)
    result: dict[str, Any] = {"seed": seed, "retrained": compat_report(m_v1, m_v2, spec, work / "compat_v2.json")}
    from_a_v2 = on_v2 | {"init_args": on_v2["init_args"] | {"adapter": str(m_v2 / "adapter")}}
    for mask in args.masks:
        if mask != "argmax" and args.ablation_seeds is not None and seed not in args.ablation_seeds:
            continue
        m_c = fit_task(f"muscle_{mask}", from_a_v2, muscle_task(data, m_v1, mask, args), work / f"muscle_{mask}",
                       seed, args.muscle_epochs)
        result[f"muscle_{mask}"] = compat_report(m_v1, m_c, spec, work / f"compat_muscle_{mask}.json")
    result["minutes"] = round((time.perf_counter() - start) / 60, 1)  # this sitting's share (stages reused)
    return result


MEASURES = (("choice", "new_accuracy", "accuracy"), ("choice", "nfr", "NFR"), ("choice", "pfr", "PFR"),
            ("choice", "nfr_mc", "NFR_mc"), ("generative", "new_score", "exact"), ("generative", "nfr", "NFR"),
            ("generative", "pfr", "PFR"))


def summary(runs: list[dict[str, Any]], models: list[str]) -> dict[str, dict[str, list[float]]]:
    """Per model and measure: mean and 95% half-width over seeds."""
    table: dict[str, dict[str, list[float]]] = {}
    for model in models + ["v1"]:
        source = "retrained" if model == "v1" else model
        keys = ((s, "old_accuracy" if s == "choice" else "old_score") for s in ("choice", "generative")) \
            if model == "v1" else ((s, k) for s, k, _ in MEASURES)
        got = [r[source] for r in runs if source in r]
        if got:
            table[model] = {f"{s}_{k}": list(mean_half_width([g["splits"][s][k] for g in got])) for s, k in keys}
    return table


def paired(runs: list[dict[str, Any]], model: str) -> list[dict[str, Any]]:
    """The runs that have `model`: a comparison with retraining uses the same seeds on both sides."""
    return [r for r in runs if model in r]


def f4r_lines(runs: list[dict[str, Any]], masks: list[str]) -> list[str]:
    lines = []
    for mask in masks:
        both = paired(runs, f"muscle_{mask}")
        if not both:
            continue
        table = summary(both, ["retrained", f"muscle_{mask}"])
        base, got = table["retrained"], table[f"muscle_{mask}"]
        for split, score in (("choice", "new_accuracy"), ("generative", "new_score")):
            nfr_v2, nfr_c = base[f"{split}_nfr"][0], got[f"{split}_nfr"][0]
            change = (nfr_c - nfr_v2) / nfr_v2 if nfr_v2 > 0 else None
            gain = got[f"{split}_{score}"][0] - base[f"{split}_{score}"][0]
            met = change is not None and change <= -0.30 and gain >= 0
            lines.append(f"- {mask} ({len(both)} seeds), {split}: NFR {nfr_v2:.3f} -> {nfr_c:.3f} ("
                         + (f"{100 * change:+.0f}%" if change is not None else "no flips to remove")
                         + f"; target <= -30%), {score.replace('new_', '')} {gain:+.3f} (target >= 0): "
                         + ("met" if met else "not met"))
    return lines


def markdown(meta: dict[str, Any], runs: list[dict[str, Any]], masks: list[str]) -> str:
    models = ["retrained"] + [f"muscle_{m}" for m in masks]
    table = summary(runs, models)

    def cell(model: str, key: str) -> str:
        mean, half = table[model][key]
        return f"{mean:.3f} +- {half:.3f}" if len(paired(runs, model if model != "v1" else "retrained")) > 1 \
            else f"{mean:.3f}"

    lines = [f"# MUSCLE on SmolLM2-135M-Instruct: a real base update ({meta['date']}, {meta['machine']})", "",
             f"Settings: {meta['args']}. Seeds: {[r['seed'] for r in runs]}; mean +- 95% CI over seeds.",
             f"Base update: full-weight SFT on {meta['general_rows']} general rows; probe exact rate (general "
             f"facts, greedy) SmolLM2 {meta['probe_v1']:.3f} -> base v2 {meta['probe_v2']:.3f}.",
             f"M_v1 on held-out problems: choice accuracy {cell('v1', 'choice_old_accuracy')}, generative exact "
             f"{cell('v1', 'generative_old_score')}.", "",
             "| new model | seeds | choice acc | choice NFR | choice PFR | choice NFR_mc | generative exact "
             "| generative NFR | generative PFR |", "|---|---|---|---|---|---|---|---|---|"]
    for model in models:
        if model in table:
            lines.append(f"| {model} | {len(paired(runs, model))} | "
                         + " | ".join(cell(model, f"{s}_{k}") for s, k, _ in MEASURES) + " |")
    lines += ["", "F4r (NFR >= 30% below retraining's on the same seeds, accuracy no lower):", *f4r_lines(runs, masks)]
    lines += ["", "Per seed (choice NFR / generative NFR): " + "; ".join(
        f"seed {r['seed']}: " + ", ".join(f"{m} {r[m]['splits']['choice']['nfr']:.3f}/"
                                          f"{r[m]['splits']['generative']['nfr']:.3f}" for m in models if m in r)
        for r in runs)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--masks", nargs="+", default=list(MASKS), choices=MASKS)
    parser.add_argument("--ablation-seeds", nargs="+", type=int, default=None,
                        help="seeds that also run the masks other than argmax (default: every seed)")
    parser.add_argument("--train-rows", type=int, default=192)
    parser.add_argument("--test-rows", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--muscle-epochs", type=int, default=3)
    parser.add_argument("--muscle-lr", type=float, default=1e-3)
    parser.add_argument("--base-epochs", type=int, default=1)
    parser.add_argument("--base-lr", type=float, default=3e-5)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--name", default="muscle_real")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import torch

    started = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    v2_base = base_v2(args)
    probes = args.work / "probes.json"
    if not probes.is_file():
        probes.write_text(json.dumps({"v1": model_exact_rate(None), "v2": model_exact_rate(v2_base)}))
    probe = json.loads(probes.read_text())
    runs = []
    for seed in args.seeds:
        runs.append(one_seed(seed, v2_base, args))
        minutes = round((time.perf_counter() - started) / 60, 1)
        meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, 2 CPU cores (one per study), "
                f"torch {torch.__version__} CPU", "minutes_this_sitting": minutes,
                "args": {k: v for k, v in vars(args).items() if k != "work"}, "general_rows": len(general_mix_rows()),
                "probe_v1": probe["v1"], "probe_v2": probe["v2"]}
        out = REPO / "benchmarks" / "results"
        write_results_json(out / f"{args.name}.json", {"meta": meta, "runs": runs}, indent=1)
        write_results_text(out / f"{args.name}.md", markdown(meta, runs, args.masks))
    print(markdown(meta, runs, args.masks))


if __name__ == "__main__":
    main()
