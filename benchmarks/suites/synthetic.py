"""The offline synthetic continual-alignment suite: data, base model, run configs.

Protocol: a small base model (SFT on every domain's prompts with good and bad
answers mixed, so it knows the formats but holds no preference) is aligned
with DPO on five domains one after another; after each task every domain's
held-out pairs are scored against the base model (preference accuracy). The
same data, base and budget serve every method; orders and seeds vary.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lit_align.data.synthetic import preference_pairs, ranked_samples, unlabeled_prompts

DOMAINS = ("polite", "colors", "keyword", "avoid", "short")
MODEL = {"arch": "gpt2", "n_layer": 2, "d_model": 64, "n_head": 4, "vocab_size": 512}
DPO_ARGS = {"beta": 0.1, "loss": "sigmoid", "reference": "cached", "optimizer": {"lr": 1.0e-3, "warmup_steps": 5}}
SHAPE = {"batch_size": 16, "max_length": 64, "max_prompt_length": 32}
# greedy answers to 32 prompts per domain, scored by the domain's gold reward
GENERATION = {"scorer": {"class_path": "lit_align.data.synthetic.SyntheticGoldScorer"}, "num_prompts": 32,
              "max_new_tokens": 16}

COPR_ARGS = {"beta": 1.0, "multiplier_lr": 1.0, "optimizer": {"lr": 1.0e-3, "warmup_steps": 5}}


@dataclass(frozen=True)
class SuiteMethod:
    """One row of the suite's table: a method's config, its memory and its training data
    (`train`: the pairs every method sees; `ranked`: the same domains with J candidates)."""

    class_path: str
    init_args: dict[str, Any]
    memory: dict[str, Any] = field(default_factory=lambda: {"per_task": 0})
    data: str = "train"


METHODS: dict[str, SuiteMethod] = {
    "sequential_dpo": SuiteMethod("dpo", DPO_ARGS),
    "dpo_replay": SuiteMethod("dpo", DPO_ARGS, {"per_task": 0.1, "policy": "balanced", "replay_ratio": 0.2}),
    "dpo_ewc": SuiteMethod("dpo_ewc", {**DPO_ARGS, "ewc_lambda": 1.0e5}),
    "dpo_kl": SuiteMethod("dpo_kl", {**DPO_ARGS, "kl_weight": 0.1}),
    "multitask": SuiteMethod("dpo", DPO_ARGS),
    # the same memory budget as dpo_replay (10% of each task), spent on constraints instead of replay
    "copr": SuiteMethod("copr", COPR_ARGS, {"per_task": 0.1, "replay_ratio": 0.0}),
    # J = 3 candidates where the domain has a middling answer (the suite's ranked files)
    "copr_ranked": SuiteMethod("copr", COPR_ARGS, {"per_task": 0.1, "replay_ratio": 0.0}, data="ranked"),
    # prompts only: 8 samples per prompt from the policy, scored by the domain's gold rule
    "copf": SuiteMethod("copf", {**COPR_ARGS, "scorer": GENERATION["scorer"], "num_samples": 8,
                                 "max_new_tokens": 16}, {"per_task": 0.1, "replay_ratio": 0.0}, data="prompts"),
}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    """Rows as JSON lines at `path` (parents made); returns the path as a string for configs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def write_data(root: Path, *, domains: tuple[str, ...] = DOMAINS, n_train: int = 256, n_eval: int = 64,
               seed: int = 0) -> Path:
    """Per-domain train (seeded) and eval (fixed) pairs, ranked samples and prompts."""
    out = root / f"seed{seed}"
    for d in domains:
        write_jsonl(out / f"{d}_train.jsonl", preference_pairs(d, n_train, seed=1000 + seed))
        write_jsonl(out / f"{d}_eval.jsonl", preference_pairs(d, n_eval, seed=1))
        write_jsonl(out / f"{d}_ranked.jsonl", ranked_samples(d, n_train, seed=1000 + seed))
        write_jsonl(out / f"{d}_prompts.jsonl", unlabeled_prompts(d, n_train, seed=1000 + seed))
    return out


def fit_task(name: str, model: dict[str, Any], task: dict[str, Any], out: Path, seed: int, epochs: int) -> Path:
    """`lit-align fit` one task (config written beside `out`); returns its exported model
    directory, reused when a previous run already exported it."""
    from lit_align.cli import main

    model_dir = out / "tasks" / name / "model"
    if (model_dir / "config.json").is_file():
        return model_dir
    config = {"seed": seed, "output_dir": str(out), "export": "last", "tracking": {"backend": "none"},
              "model": model, "trainer": {"max_epochs": epochs, "accelerator": "cpu", "enable_progress_bar": False},
              "sequence": [{"name": name, **task}]}
    path = out.parent / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    if main(["fit", "--config", str(path)]) != 0:
        raise RuntimeError(f"lit-align fit failed: {path}")
    return model_dir


def compat_report(old: Path, new: Path, spec: Path, out: Path) -> dict[str, Any]:
    """`lit-align compat` of two exported models on the splits in `spec`; the report at `out` is
    reused when a previous sitting wrote it (the stages it compares are reused the same way)."""
    from lit_align.cli import main

    if not out.is_file() and main(["compat", "--old", str(old), "--new", str(new), "--data", str(spec),
                                   "--out", str(out)]) != 0:
        raise RuntimeError(f"lit-align compat failed: {old} -> {new}")
    return json.loads(out.read_text())


def base_sft_rows(domains: tuple[str, ...], n_per_domain: int, seed: int = 0) -> list[dict[str, Any]]:
    """SFT rows whose completions are good or bad answers at random: formats, not preferences."""
    rng = random.Random(seed)
    rows = []
    for d in domains:
        for pair in preference_pairs(d, n_per_domain, seed=seed):
            completion = pair["chosen"] if rng.random() < 0.5 else pair["rejected"]
            rows.append({"prompt": pair["prompt"], "completion": completion})
    rng.shuffle(rows)
    return rows


def build_base_model(target: Path, *, domains: tuple[str, ...] = DOMAINS, n_per_domain: int = 200,
                     epochs: int = 3, max_steps: int = -1) -> Path:
    """Pretrain (SFT) the suite's base model with lit-align itself; cached at `target`."""
    from lit_align.cli import main

    if (target / "config.json").is_file():
        return target
    work = target.parent / f".{target.name}-build"
    shutil.rmtree(work, ignore_errors=True)
    data = write_jsonl(work / "base_sft.jsonl", base_sft_rows(domains, n_per_domain))
    config = {
        "seed": 0, "output_dir": str(work / "run"), "tracking": {"backend": "none"},
        "model": {"class_path": "tiny", "init_args": MODEL},
        "trainer": {"max_epochs": epochs, "max_steps": max_steps, "accelerator": "cpu",
                    "enable_progress_bar": False},
        "sequence": [{"name": "base", "method": {"class_path": "sft", "init_args": {
            "optimizer": {"lr": 3.0e-3, "warmup_steps": 10}}},
            "data": {"train": {"path": "json", "data_files": data}, **SHAPE}}],
    }
    path = work / "base.yaml"
    path.write_text(json.dumps(config))
    if main(["fit", "--config", str(path)]) != 0:
        raise RuntimeError("building the suite's base model failed")
    shutil.copytree(work / "run" / "tasks" / "base" / "model", target)
    shutil.rmtree(work, ignore_errors=True)
    return target


def run_config(method: str, order: list[str], seed: int, *, data_dir: Path, base_model: Path, output_dir: Path,
               tracking_uri: str | None, epochs: int = 1, max_steps: int = -1, experiment: str = "suite-synthetic",
               run_name: str | None = None) -> dict[str, Any]:
    """The lit-align config of one suite run."""
    spec = METHODS[method]
    method_node = {"class_path": spec.class_path, "init_args": spec.init_args}
    if method == "multitask":
        sequence = [{"name": "joint", "method": method_node, "data": {
            "train": {"path": "json", "data_files": [str(data_dir / f"{d}_train.jsonl") for d in order]}, **SHAPE}}]
        evaluation = {"splits": {d: {"path": "json", "data_files": str(data_dir / f"{d}_eval.jsonl")}
                                 for d in order}, "max_length": SHAPE["max_length"],
                      "max_prompt_length": SHAPE["max_prompt_length"]}
        # `epochs` passes over the union: every domain is seen as often as in a sequence
    else:
        sequence = [{"name": d, "method": method_node, "data": {
            "train": {"path": "json", "data_files": str(data_dir / f"{d}_{spec.data}.jsonl")},
            "eval": {"path": "json", "data_files": str(data_dir / f"{d}_eval.jsonl")}, **SHAPE}} for d in order]
        evaluation = {}
    return {
        "seed": seed,
        "output_dir": str(output_dir),
        "export": "none",
        "model": {"class_path": "hf", "init_args": {"name_or_path": str(base_model)}},
        "trainer": {"max_epochs": epochs, "max_steps": max_steps, "accelerator": "cpu",
                    "enable_progress_bar": False, "limit_val_batches": 0},
        "tracking": ({"backend": "mlflow", "tracking_uri": tracking_uri, "experiment": experiment,
                      "run_name": run_name or output_dir.name} if tracking_uri else {"backend": "none"}),
        "memory": spec.memory,
        "evaluation": {**evaluation, "plots": False, "batch_size": 64, "generation": GENERATION},
        "sequence": sequence,
    }


def prepare_study(directory: Path, seed: int) -> None:
    """The study's `prepare` hook (configs/studies/suite_synthetic.yaml): this seed's data in
    `directory`, and once for all seeds the SFT-pretrained base model beside it (`../base`)."""
    build_base_model(directory.parent / "base")
    for d in DOMAINS:
        write_jsonl(directory / f"{d}_train.jsonl", preference_pairs(d, 256, seed=1000 + seed))
        write_jsonl(directory / f"{d}_eval.jsonl", preference_pairs(d, 64, seed=1))
        write_jsonl(directory / f"{d}_ranked.jsonl", ranked_samples(d, 256, seed=1000 + seed))
        write_jsonl(directory / f"{d}_prompts.jsonl", unlabeled_prompts(d, 256, seed=1000 + seed))
