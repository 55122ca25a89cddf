"""The MUSCLE model-update scenario's hooks (configs/studies/muscle_update.yaml).

`prepare` (per seed, in `<output_dir>/prepared/seed-<s>/`):
1. base v1: the synthetic suite's base model (SFT on every domain, good and bad answers mixed),
   built once beside the seeds' directories;
2. base v2: v1 trained further on a new mix (the `SHIFTED` domains' answers mostly bad, seeded);
3. M_v1 = base v1 + a LoRA task adapter (SFT on the task domains' good answers), by `lit-align fit`;
4. the task rows and the compat splits (multiple choice and generative) the runs and `after_run` read.

The study's runs train on base v2: the same task adapter (M_v2, plain retraining), and that adapter
followed by MUSCLE against M_v1 (M_C). `after_run` compares M_v1 with the run's final model through
`lit-align compat` and returns its flip rates and scores as the run's metrics.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

from benchmarks.suites.synthetic import DOMAINS, build_base_model, compat_report, write_jsonl

TASK_DOMAINS = ("colors", "keyword", "polite")
SHIFTED = ("keyword", "polite")  # domains whose answers base v2's further training mostly gets wrong
SHAPE = {"batch_size": 16, "max_length": 64, "max_prompt_length": 32}
TASK_ROWS, TASK_EPOCHS, LR, BASE_EPOCHS, BAD_SHARE = 48, 2, 3.0e-3, 1, 0.8


def shifted_rows(n_per_domain: int, seed: int, bad_share: float) -> list[dict[str, Any]]:
    """Base v2's further-training data: every domain, the `SHIFTED` domains' answers mostly bad. A new
    pretraining mix moves the base's priors; on those domains the retrained adapter starts from a base
    that leans the other way, which is where an update regresses."""
    from lit_align.data.synthetic import preference_pairs

    rng = random.Random(seed)
    rows = []
    for d in DOMAINS:
        share = bad_share if d in SHIFTED else 0.5
        for pair in preference_pairs(d, n_per_domain, seed=200 + seed):
            rows.append({"prompt": pair["prompt"], "completion": pair["rejected"] if rng.random() < share
                         else pair["chosen"]})
    rng.shuffle(rows)
    return rows


def _fit(config: dict[str, Any], path: Path) -> None:
    from lit_align.cli import main

    path.write_text(json.dumps(config))
    if main(["fit", "--config", str(path)]) != 0:
        raise RuntimeError(f"lit-align fit failed for {path}")


def _sft_run(output_dir: Path, model: dict[str, Any], data: str, seed: int, epochs: int, lr: float) -> dict[str, Any]:
    return {"seed": seed, "output_dir": str(output_dir), "export": "last", "tracking": {"backend": "none"},
            "model": model, "trainer": {"max_epochs": epochs, "accelerator": "cpu", "enable_progress_bar": False},
            "sequence": [{"name": "task", "method": {"class_path": "sft", "init_args": {"optimizer": {"lr": lr}}},
                          "data": {"train": {"path": "json", "data_files": data}, **SHAPE}}]}


def compat_spec(directory: Path, seed: int) -> Path:
    from lit_align.data.synthetic import ranked_samples, sft_examples

    splits: dict[str, Any] = {}
    for d in TASK_DOMAINS:
        mc = write_jsonl(directory / f"{d}_mc.jsonl", ranked_samples(d, 64, seed=5000 + seed))
        gen = write_jsonl(directory / f"{d}_gen.jsonl", sft_examples(d, 32, seed=6000 + seed))
        splits[f"{d}_mc"] = {"source": {"path": "json", "data_files": mc}, "kind": "choice"}
        splits[d] = {"source": {"path": "json", "data_files": gen}, "kind": "generative"}
    spec = {"splits": splits, "scorer": {"class_path": "synthetic_gold_scorer"}, "max_new_tokens": 16,
            "normalize": True, "batch_size": 32}
    path = directory / "compat.json"
    path.write_text(json.dumps(spec))
    return path


def prepare(directory: Path, seed: int) -> None:
    from lit_align.data.synthetic import sft_examples

    base_v1 = build_base_model(directory.parent / "base")
    rows = [r for d in TASK_DOMAINS for r in sft_examples(d, TASK_ROWS, seed=3000 + seed)]
    data = write_jsonl(directory / "task.jsonl", rows)
    work = directory / "build"
    shutil.rmtree(work, ignore_errors=True)
    v2_data = write_jsonl(work / "base_v2.jsonl", shifted_rows(300, seed, BAD_SHARE))
    hf = {"class_path": "hf", "init_args": {"name_or_path": str(base_v1)}}
    _fit(_sft_run(work / "v2", hf, v2_data, seed, BASE_EPOCHS, 2.0e-3), work / "v2.json")
    shutil.copytree(work / "v2" / "tasks" / "task" / "model", directory / "base_v2")
    lora = {"class_path": "hf", "init_args": {"name_or_path": str(base_v1),
                                              "lora": {"r": 16, "alpha": 32, "target_modules": "all-linear"}}}
    _fit(_sft_run(work / "v1", lora, data, seed, TASK_EPOCHS, LR), work / "v1.json")
    shutil.copytree(work / "v1" / "tasks" / "task" / "model", directory / "m_v1")
    shutil.rmtree(work)
    compat_spec(directory, seed)


def after_run(run_dir: Path, results: dict[str, Any]) -> dict[str, float]:
    """M_v1 against the run's final model (`lit-align compat`): flip rates and scores, choice splits
    weighted by their sizes, and the generative splits the same way."""
    import yaml

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    prepared = Path(config["vars"]["study"]["prepared"])
    last = config["sequence"][-1]["name"]
    report = compat_report(prepared / "m_v1", run_dir / "tasks" / last / "model", prepared / "compat.json",
                           run_dir / "compat.json")
    metrics: dict[str, float] = {}
    for kind, score in (("choice", "accuracy"), ("generative", "score")):
        picked = [s for s in report["splits"].values() if s["kind"] == kind]
        n = sum(s["n"] for s in picked)
        for key, name in (("nfr", "nfr"), ("pfr", "pfr"), (f"new_{score}", score), (f"old_{score}", f"v1_{score}")):
            metrics[f"{kind}_{name}"] = sum(s[key] * s["n"] for s in picked) / n
    return metrics
