"""The real-model suite's methods and run configs (SmolLM2-135M-Instruct, LoRA).

Every method gets the same budget: the same committed on-policy pairs, the same LoRA, steps
(one epoch of batch 4 per task), learning rate and memory size (a quarter of each task's rows;
replay spends it on replayed rows, COPR on constraints). Evaluation after every task: the gold
score of greedy answers to held-out prompts (the primary matrix), pairwise accuracy on
held-out pairs, and the general probe (alignment tax).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "benchmarks" / "data" / "smollm2_style"
DOMAINS = ("certainly", "brief", "numbered", "plain_start")
QUICK_DOMAINS = ("certainly", "plain_start")  # the conflicting pair: the smallest sequence that can forget
LORA = {"r": 16, "alpha": 32, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                  "down_proj"]}
# Calibrated on certainly -> plain_start, seed 0 (docs/real_suite.md, "Recipe"): plain DPO at
# 5e-4 wrecked the model after one task (probe exact 1.0 -> 0.125), at 1e-4 it learned nothing greedy
# answers show; DPO + NLL on the chosen answer (RPO, sft_weight 1, as COPR's own SFT term) at 3e-4 learns
# the habit in generations and keeps the model talking.
OPTIMIZER = {"lr": 3.0e-4, "warmup_steps": 2}
DPO_ARGS = {"beta": 0.1, "sft_weight": 1.0, "optimizer": OPTIMIZER}
RECIPE = ("DPO + NLL on the chosen answer (RPO: beta 0.1, sft_weight 1) for sequential, replay and multi-task; "
          "COPR with its own NLL term (beta 1, multiplier_lr 1); LoRA lr 3e-4, warm-up 2 steps, one epoch of "
          "batch 4 per task; memory: a quarter of each task's rows (replay: 20% of each batch)")
COPR_ARGS = {"beta": 1.0, "multiplier_lr": 1.0, "memory_batch_size": 4, "optimizer": OPTIMIZER}
MEMORY = 0.25  # share of each task's rows kept, for every method with a memory
SHAPE = {"chat_template": True, "batch_size": 4, "max_length": 160, "max_prompt_length": 64}


@dataclass(frozen=True)
class RealMethod:
    class_path: str
    init_args: dict[str, Any]
    memory: dict[str, Any] = field(default_factory=lambda: {"per_task": 0})


METHODS: dict[str, RealMethod] = {
    "sequential": RealMethod("dpo", DPO_ARGS),
    "replay": RealMethod("dpo", DPO_ARGS, {"per_task": MEMORY, "replay_ratio": 0.2}),
    "copr": RealMethod("copr", COPR_ARGS, {"per_task": MEMORY, "replay_ratio": 0.0}),
    "multitask": RealMethod("dpo", DPO_ARGS),
    "dpo_kl": RealMethod("dpo_kl", {**DPO_ARGS, "kl_weight": 0.1}),
    "dpo_ewc": RealMethod("dpo_ewc", {**DPO_ARGS, "ewc_lambda": 1.0e4}),
}
REQUIRED = ("sequential", "replay", "copr", "multitask")


@dataclass(frozen=True)
class Size:
    """How big a run is: the full suite, or the CI check (`quick`)."""

    train_rows: int | None = None  # per domain (None: every committed pair)
    max_steps: int = -1
    gen_prompts: int = 12
    new_tokens: int = 32
    probe_rows: int | None = None


FULL = Size()
QUICK = Size(train_rows=8, max_steps=2, gen_prompts=4, new_tokens=16, probe_rows=6)


def _source(path: Path, limit: int | None) -> dict[str, Any]:
    return {"path": "json", "data_files": str(path), **({"limit": limit} if limit else {})}


def run_config(method: str, order: list[str], seed: int, *, output_dir: Path, size: Size = FULL,
               data_dir: Path = DATA) -> dict[str, Any]:
    """The lit-align config of one suite run."""
    spec = METHODS[method]
    node = {"class_path": spec.class_path, "init_args": spec.init_args}
    evaluation: dict[str, Any] = {
        "batch_size": 16, "plots": False,
        "generation": {"scorer": {"class_path": "style_gold_scorer"}, "num_prompts": size.gen_prompts,
                       "max_new_tokens": size.new_tokens, "batch_size": 12},
        "probe": {"data": _source(data_dir / "probe.jsonl", size.probe_rows), "max_new_tokens": 24},
    }
    if method == "multitask":  # one task over the union; the matrix columns are the domains
        sequence = [{"name": "joint", "method": node, "data": {
            "train": {"path": "json", "data_files": [str(data_dir / f"{d}_train.jsonl") for d in order],
                      **({"limit": size.train_rows * len(order), "limit_seed": 0} if size.train_rows else {})},
            **SHAPE}}]
        evaluation |= {"splits": {d: _source(data_dir / f"{d}_eval.jsonl", None) for d in order},
                       "chat_template": True, "max_length": SHAPE["max_length"],
                       "max_prompt_length": SHAPE["max_prompt_length"]}
    else:
        sequence = [{"name": d, "method": node, "data": {
            "train": _source(data_dir / f"{d}_train.jsonl", size.train_rows),
            "eval": _source(data_dir / f"{d}_eval.jsonl", None), **SHAPE}} for d in order]
    return {
        "seed": seed, "output_dir": str(output_dir), "export": "none",
        "model": {"class_path": "gguf", "init_args": {"gguf": "smollm2-135m-instruct", "lora": LORA}},
        "trainer": {"max_epochs": 1, "max_steps": size.max_steps, "accelerator": "cpu", "enable_progress_bar": False},
        "tracking": {"backend": "none"},
        "memory": spec.memory,
        "evaluation": evaluation,
        "sequence": sequence,
    }
