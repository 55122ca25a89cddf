"""MUSCLE update scenario on the synthetic suite: does a compatibility adapter cut negative flips?

    python -m benchmarks.muscle_update --tag a10                       # the committed table (3 seeds)
    python -m benchmarks.muscle_update --train-on completion --tag c10 \
        --name muscle_update_completion
    python -m benchmarks.muscle_update --seeds 0 --quick

Per seed, everything through `lit-align fit` and `lit-align compat`:
1. base v1: the synthetic suite's base model (SFT on every domain, good and bad answers mixed);
2. base v2: v1 trained further on more and different data (a fresh mix of answers, seeded);
3. M_v1 = base v1 + a LoRA task adapter (SFT on the task domains' good answers);
4. on base v2 one sequence: the same task adapter recipe (M_v2), then MUSCLE (M_C, adapter initialised
   from A_v2, old teacher M_v1);
5. compat of M_v1 -> M_v2 and M_v1 -> M_C on held-out multiple-choice splits (pick the gold-best
   of 2-3 answers by likelihood) and generative splits (greedy answers scored by the domain's gold rule).

Writes benchmarks/results/muscle_update.{md,json}. F4: NFR of M_C at least 30% below M_v2's, accuracy
no lower.
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

from benchmarks.results_io import write_results_json  # noqa: E402
from benchmarks.suites import synthetic  # noqa: E402
from benchmarks.suites.synthetic import compat_report, write_jsonl  # noqa: E402
from lit_align.study.stats import mean_half_width  # noqa: E402

TASK_DOMAINS = ("colors", "keyword", "polite")
SHIFTED = ("keyword", "polite")  # domains whose answers base v2's further training mostly gets wrong
LORA = {"r": 16, "alpha": 32, "target_modules": "all-linear"}
SHAPE = {"batch_size": 16, "max_length": 64, "max_prompt_length": 32}
WORK = REPO / "benchmarks" / ".cache" / "muscle"


def _fit(config: dict[str, Any], path: Path) -> None:
    from lit_align.cli import main

    path.write_text(json.dumps(config))
    if main(["fit", "--config", str(path)]) != 0:
        raise RuntimeError(f"lit-align fit failed for {path}")


def _run(output_dir: Path, model: str, sequence: list[dict[str, Any]], seed: int, epochs: int) -> dict[str, Any]:
    return {"seed": seed, "output_dir": str(output_dir), "export": "every_task", "tracking": {"backend": "none"},
            "model": {"class_path": "hf", "init_args": {"name_or_path": model}},
            "trainer": {"max_epochs": epochs, "accelerator": "cpu", "enable_progress_bar": False},
            "sequence": sequence}


def shifted_rows(n_per_domain: int, seed: int, bad_share: float) -> list[dict[str, Any]]:
    """Base v2's further-training data: every domain, with the `SHIFTED` domains' answers mostly bad.

    A new pretraining mix moves the base's priors; on those domains the retrained task adapter starts
    from a base that leans the other way, which is where an update regresses."""
    import random

    from lit_align.data.synthetic import preference_pairs

    rng = random.Random(seed)
    rows = []
    for d in synthetic.DOMAINS:
        share = bad_share if d in SHIFTED else 0.5
        for pair in preference_pairs(d, n_per_domain, seed=200 + seed):
            answer = pair["rejected"] if rng.random() < share else pair["chosen"]
            rows.append({"prompt": pair["prompt"], "completion": answer})
    rng.shuffle(rows)
    return rows


def build_base_v2(base_v1: Path, seed: int, cache: Path, epochs: int, bad_share: float) -> Path:
    """v1 trained further on more data, with a different mix (`shifted_rows`); cached across variants."""
    target = cache / f"base_v2-s{seed}-bad{bad_share}-e{epochs}"
    work = cache / f".{target.name}-build"
    if (target / "config.json").is_file():
        return target
    shutil.rmtree(work, ignore_errors=True)
    data = write_jsonl(work / "base_v2.jsonl", shifted_rows(300, seed, bad_share))
    task = {"name": "pretrain", "method": {"class_path": "sft", "init_args": {"optimizer": {"lr": 2.0e-3}}},
            "data": {"train": {"path": "json", "data_files": data}, **SHAPE}}
    _fit(_run(work / "base_v2_run", str(base_v1), [task], seed, epochs), work / "base_v2.yaml")
    shutil.copytree(work / "base_v2_run" / "tasks" / "pretrain" / "model", target)
    shutil.rmtree(work, ignore_errors=True)
    return target


def task_node(data: str, lr: float) -> dict[str, Any]:
    return {"name": "task", "method": {"class_path": "sft", "init_args": {"optimizer": {"lr": lr}}},
            "data": {"train": {"path": "json", "data_files": data}, **SHAPE}}


def compat_data(work: Path, seed: int) -> Path:
    from lit_align.data.synthetic import ranked_samples, sft_examples

    splits: dict[str, Any] = {}
    for d in TASK_DOMAINS:
        mc = write_jsonl(work / f"{d}_mc.jsonl", ranked_samples(d, 64, seed=5000 + seed))
        gen = write_jsonl(work / f"{d}_gen.jsonl", sft_examples(d, 32, seed=6000 + seed))
        splits[f"{d}_mc"] = {"source": {"path": "json", "data_files": mc}, "kind": "choice"}
        splits[d] = {"source": {"path": "json", "data_files": gen}, "kind": "generative"}
    spec = {"splits": splits, "scorer": {"class_path": "synthetic_gold_scorer"}, "max_new_tokens": 16,
            "normalize": True, "batch_size": 32}
    path = work / "compat.json"
    path.write_text(json.dumps(spec))
    return path


def one_seed(seed: int, base_v1: Path, args: argparse.Namespace) -> dict[str, Any]:
    from lit_align.data.synthetic import sft_examples

    work = args.work / f"seed{seed}"
    rows = [r for d in TASK_DOMAINS for r in sft_examples(d, args.task_rows, seed=3000 + seed)]
    data = write_jsonl(work / "task.jsonl", rows)
    muscle_data = data
    if args.muscle_data == "held_back":  # rows the task adapters never saw, same task and size
        extra = [r for d in TASK_DOMAINS for r in sft_examples(d, args.task_rows, seed=4000 + seed)]
        muscle_data = write_jsonl(work / "muscle.jsonl", extra)
    base_v2 = build_base_v2(base_v1, seed, args.cache, args.base_epochs, args.bad_share)
    lora_model = {"class_path": "hf", "init_args": {"lora": LORA}}
    v1_dir, v2_dir = work / "v1", work / "v2"
    if not (v1_dir / "results.json").is_file():
        cfg = _run(v1_dir, str(base_v1), [task_node(data, args.lr)], seed, args.epochs)
        cfg["model"]["init_args"] |= lora_model["init_args"]
        _fit(cfg, work / "v1.yaml")
    if not (v2_dir / "results.json").is_file():
        muscle = {"name": "muscle", "method": {"class_path": "muscle", "init_args": {
            "old_model": {"class_path": "hf", "init_args": {"name_or_path": str(v1_dir / "tasks" / "task" / "model")}},
            "temperature": 2.0, "train_on": args.train_on, "mask": args.mask,
            "optimizer": {"lr": args.muscle_lr or args.lr}}},
            "data": {"train": {"path": "json", "data_files": muscle_data}, **SHAPE},
            "trainer": {"max_epochs": args.muscle_epochs}}
        cfg = _run(v2_dir, str(base_v2), [task_node(data, args.lr), muscle], seed, args.epochs)
        cfg["model"]["init_args"] |= lora_model["init_args"]
        _fit(cfg, work / "v2.yaml")
    spec = compat_data(work, seed)
    m_v1 = v1_dir / "tasks" / "task" / "model"
    retrained = compat_report(m_v1, v2_dir / "tasks" / "task" / "model", spec, work / "compat_v2.json")
    muscle_report = compat_report(m_v1, v2_dir / "tasks" / "muscle" / "model", spec, work / "compat_muscle.json")
    return {"seed": seed, "retrained": retrained, "muscle": muscle_report}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per model (retrained, muscle) and split type: mean +- CI of NFR and accuracy / score over seeds."""
    out: dict[str, Any] = {}
    for model in ("retrained", "muscle"):
        rows: dict[str, list[float]] = {}
        for run in runs:
            splits = run[model]["splits"]
            for kind, acc in (("choice", "new_accuracy"), ("generative", "new_score")):
                picked = [s for s in splits.values() if s["kind"] == kind]
                n = sum(s["n"] for s in picked)
                for key, field in (("nfr", "nfr"), ("pfr", "pfr"), ("score", acc), ("v1_score",
                                   "old_accuracy" if kind == "choice" else "old_score")):
                    rows.setdefault(f"{kind}_{key}", []).append(sum(s[field] * s["n"] for s in picked) / n)
                if kind == "choice":
                    rows.setdefault("choice_nfr_mc", []).append(sum(s["nfr_mc"] * s["n"] for s in picked) / n)
        out[model] = {k: mean_half_width(v) for k, v in rows.items()}
    return out


def markdown(table: dict[str, Any], meta: dict[str, Any]) -> str:
    def cell(model: str, key: str) -> str:
        mean, half = table[model][key]
        return f"{mean:.3f} +- {half:.3f}"

    lines = [
        "# MUSCLE update scenario (synthetic suite)",
        "",
        f"{meta['machine']}; torch {meta['torch']}; seeds {meta['seeds']}; {meta['minutes']:.1f} min for this "
        "invocation (finished runs under --work are reused).",
        f"Task: SFT LoRA adapter (r {LORA['r']}) on {', '.join(TASK_DOMAINS)} ({meta['task_rows']} rows each, "
        f"{meta['epochs']} epochs); base v2 = base v1 + {meta['base_epochs']} epoch(s) of further SFT on a new "
        f"mix ({', '.join(SHIFTED)}: {meta['bad_share']:.0%} bad answers); MUSCLE {meta['muscle_epochs']} epochs, "
        f"lr {meta['muscle_lr']}, T = 2, {meta['mask']} mask, distilling {meta['train_on']} tokens of the "
        f"{meta['muscle_data']} rows, "
        "adapter initialised from A_v2.",
        "Old model M_v1 = base v1 + its adapter. Choice: pick the gold-best of 2-3 held-out answers by mean token "
        "likelihood (accuracy). Generative: greedy answer to held-out prompts, scored by the domain's gold "
        "rule (continuous flips). Mean +- 95% CI over seeds.",
        "",
        "| new model | choice acc (v1: " + cell("retrained", "choice_v1_score") + ") | choice NFR | choice PFR "
        "| choice NFR_mc | generative score (v1: " + cell("retrained", "generative_v1_score") + ") "
        "| generative NFR | generative PFR |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, label in (("retrained", "M_v2 (retrained adapter)"), ("muscle", "M_C (MUSCLE)")):
        keys = ("choice_score", "choice_nfr", "choice_pfr", "choice_nfr_mc", "generative_score", "generative_nfr",
                "generative_pfr")
        lines.append(f"| {label} | " + " | ".join(cell(model, k) for k in keys) + " |")
    for kind in ("choice", "generative"):
        a, b = table["retrained"][f"{kind}_nfr"][0], table["muscle"][f"{kind}_nfr"][0]
        lines.append("")
        lines.append(f"{kind}: NFR change {100 * (b - a) / a:+.1f}% (F4 asks <= -30%); "
                     f"score change {table['muscle'][f'{kind}_score'][0] - table['retrained'][f'{kind}_score'][0]:+.3f}"
                     " (F4 asks >= 0)." if a > 0 else f"{kind}: no flips to reduce.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--task-rows", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--muscle-epochs", type=int, default=10)
    parser.add_argument("--base-epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=3.0e-3)
    parser.add_argument("--muscle-lr", type=float, default=None, help="MUSCLE's learning rate (default --lr)")
    parser.add_argument("--bad-share", type=float, default=0.8, help="share of bad answers base v2 sees on SHIFTED")
    parser.add_argument("--train-on", choices=["all", "completion"], default="all",
                        help="MUSCLE's distilled tokens: all (the paper) or the completion only")
    parser.add_argument("--mask", choices=["argmax", "likelihood", "old_correct"], default="argmax",
                        help="MUSCLE's token mask")
    parser.add_argument("--muscle-data", choices=["task", "held_back"], default="task",
                        help="MUSCLE trains on the adapters' training rows (the paper) or on held-back task rows")
    parser.add_argument("--name", default=None, help="file stem of the report (default muscle_update[_quick])")
    parser.add_argument("--tag", default="", help="sub-directory of --work (keeps variants apart)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the pipeline")
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if args.quick:
        args.task_rows, args.epochs, args.muscle_epochs = 16, 1, 1
        args.work = args.work / "quick"
    args.cache = args.work
    args.work = args.work / args.tag if args.tag else args.work
    start = time.perf_counter()
    base_v1 = synthetic.build_base_model(REPO / "benchmarks" / ".cache" / "suite" / "base")
    runs = [one_seed(seed, base_v1, args) for seed in args.seeds]
    import torch

    meta = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__,
            "seeds": args.seeds, "minutes": (time.perf_counter() - start) / 60, "task_rows": args.task_rows,
            "epochs": args.epochs, "muscle_epochs": args.muscle_epochs, "base_epochs": args.base_epochs,
            "bad_share": args.bad_share, "train_on": args.train_on, "muscle_data": args.muscle_data, "mask": args.mask,
            "muscle_lr": args.muscle_lr or args.lr}
    table = summary(runs)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.name or ("muscle_update_quick" if args.quick else "muscle_update")
    write_results_json(args.out / f"{stem}.json", {"meta": meta, "summary": table, "runs": runs}, indent=2)
    text = markdown(table, meta)
    (args.out / f"{stem}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
