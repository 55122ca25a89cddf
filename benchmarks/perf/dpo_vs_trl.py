"""DPO throughput and peak memory: lit-align vs TRL's `DPOTrainer` (targets.md P1/P2).

Both train the same tiny GPT-2 (built from config, same seed) on the same
fixed-length pairs, with the same batch, steps, learning rate and threads.
Each measurement runs in its own subprocess so peak RSS belongs to one trainer;
the order alternates and the median of `--repeats` runs is reported.

    python -m benchmarks.perf.dpo_vs_trl [--repeats 3] [--steps 40] [--epochs 1] [--precision fp32|bf16]
                                         [--logprobs auto|fused|plain]

`--epochs` sets how many passes the steps make over the data (TRL's default
`num_train_epochs` is 3): lit-align caches reference log-probs once per task,
TRL recomputes them every step, so more epochs favour the cache.

Tokens are the non-padding tokens of chosen + rejected sequences. lit-align's
figure includes its reference-caching pass (TRL's default computes the
reference online every step instead); the figure without it is reported too.
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

RESULTS = Path(__file__).resolve().parents[1] / "results"
from benchmarks.results_io import write_results_json  # noqa: E402

WARMUP_STEPS = 5
PAIRS_PER_STEP = 8


def make_rows(n: int, seed: int = 0) -> list[dict]:
    """Pairs whose chosen and rejected sequences have the same token length under the tiny tokenizer."""
    import random

    rng = random.Random(seed)
    words = "the cat and dog sat on a mat in the sun while birds sang over the river near the city".split()
    rows = []
    for _ in range(n):
        prompt = " ".join(rng.choice(words) for _ in range(24))
        chosen = " ".join(rng.choice(words) for _ in range(90))
        rejected = " ".join(rng.choice(words) for _ in range(90))
        rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    return rows


def build_policy():
    from lit_align.models import TinyModelSpec

    return TinyModelSpec(arch="gpt2", n_layer=4, d_model=128, n_head=4, vocab_size=2048, seed=0).build()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def count_tokens(tokenizer, rows: list[dict]) -> list[int]:
    """Non-padding tokens per pair (prompt counted twice: it precedes both responses; +EOS each)."""
    ids = lambda text: len(tokenizer(text, add_special_tokens=False).input_ids)  # noqa: E731
    return [2 * ids(r["prompt"]) + ids(r["chosen"]) + ids(r["rejected"]) + 2 for r in rows]


def run_lit_align(steps: int, precision: str, epochs: int, logprobs: str) -> dict:
    import lightning as L
    import torch

    from lit_align.config.data import DataConfig, SourceConfig
    from lit_align.data.datamodule import AlignmentDataModule
    from lit_align.modules.base import TaskContext
    from lit_align.modules.dpo import DPOModule
    from lit_align.modules.optim import OptimizerConfig

    rows = make_rows(steps * PAIRS_PER_STEP // epochs)
    policy = build_policy()
    baseline_rss = peak_rss_mb()
    module = DPOModule(policy=policy, beta=0.1, logprobs=logprobs,
                       optimizer=OptimizerConfig(lr=5e-6, scheduler="constant"))
    config = DataConfig(train=SourceConfig(records=rows), batch_size=PAIRS_PER_STEP, max_length=256,
                        max_prompt_length=128)
    dm = AlignmentDataModule(config, kind="preference", tokenizer=policy.tokenizer, where="bench")
    dm.setup("fit")
    start_cache = time.perf_counter()
    module.on_task_start(TaskContext(name="bench", index=0, datamodule=dm))
    cache_seconds = time.perf_counter() - start_cache
    timer = _StepTimer()
    trainer = L.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                        precision="bf16-mixed" if precision == "bf16" else "32-true", callbacks=[timer.lightning()])
    trainer.fit(module, datamodule=dm)
    return _report("lit-align", timer, policy.tokenizer, rows, steps, baseline_rss,
                   cache_seconds=cache_seconds, threads=torch.get_num_threads())


def run_trl(steps: int, precision: str, epochs: int, logprobs: str) -> dict:
    import copy
    import tempfile

    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import DPOConfig, DPOTrainer

    rows = make_rows(steps * PAIRS_PER_STEP // epochs)
    policy = build_policy()
    baseline_rss = peak_rss_mb()
    timer = _StepTimer()

    class Callback(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            timer.step_end()

    args = DPOConfig(
        output_dir=tempfile.mkdtemp(), per_device_train_batch_size=PAIRS_PER_STEP, max_steps=steps,
        learning_rate=5e-6, lr_scheduler_type="constant", beta=0.1, max_length=256, report_to=[],
        save_strategy="no", logging_steps=10_000, use_cpu=True, bf16=precision == "bf16",
        dataloader_num_workers=0, disable_tqdm=True,
    )
    # TRL's default reference is a reload of the model from its hub path; a model built from a
    # config has none, so we hand it the same thing: a frozen copy of the initial weights.
    trainer = DPOTrainer(model=policy.model, ref_model=copy.deepcopy(policy.model), args=args,
                         train_dataset=Dataset.from_list(rows),
                         processing_class=policy.tokenizer, callbacks=[Callback()])
    trainer.train()
    return _report("trl", timer, policy.tokenizer, rows, steps, baseline_rss, cache_seconds=0.0,
                   threads=torch.get_num_threads())


class _StepTimer:
    """Wall time from the end of step WARMUP_STEPS to the end of the last step."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def step_end(self) -> None:
        self.ends.append(time.perf_counter())

    def lightning(self):
        from lightning.pytorch.callbacks import Callback

        timer = self

        class _CB(Callback):
            def on_train_batch_end(self, *args, **kwargs):
                timer.step_end()

        return _CB()

    def timed_steps(self) -> tuple[int, float]:
        return len(self.ends) - WARMUP_STEPS, self.ends[-1] - self.ends[WARMUP_STEPS - 1]


def _report(name, timer, tokenizer, rows, steps, baseline_rss, *, cache_seconds, threads) -> dict:
    per_pair = count_tokens(tokenizer, rows)
    tokens_per_step = statistics.mean(per_pair) * PAIRS_PER_STEP
    n, seconds = timer.timed_steps()
    train_tps = n * tokens_per_step / seconds
    cache_per_step = cache_seconds / steps  # the caching pass spread over every step of the run
    return {
        "impl": name,
        "timed_steps": n,
        "tokens_per_step": tokens_per_step,
        "tokens_per_s": n * tokens_per_step / (seconds + cache_per_step * n),
        "tokens_per_s_without_caching": train_tps,
        "cache_seconds": cache_seconds,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_above_model_mb": peak_rss_mb() - baseline_rss,
        "threads": threads,
    }


def worker(impl: str, steps: int, precision: str, epochs: int, logprobs: str) -> None:
    result = (run_lit_align if impl == "lit-align" else run_trl)(steps, precision, epochs, logprobs)
    print("RESULT " + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--logprobs", choices=["auto", "fused", "plain"], default="auto")
    parser.add_argument("--worker", choices=["lit-align", "trl"])
    args = parser.parse_args()
    if args.worker:
        import torch

        torch.set_num_threads(args.threads)
        worker(args.worker, args.steps, args.precision, args.epochs, args.logprobs)
        return
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "false",
           "HF_HUB_OFFLINE": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    runs: dict[str, list[dict]] = {"lit-align": [], "trl": []}
    for rep in range(args.repeats):
        order = ["lit-align", "trl"] if rep % 2 == 0 else ["trl", "lit-align"]
        for impl in order:
            cmd = [sys.executable, __file__, "--worker", impl, "--steps", str(args.steps),
                   "--threads", str(args.threads), "--precision", args.precision,
                   "--epochs", str(args.epochs), "--logprobs", args.logprobs]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                sys.exit(f"{impl} failed:\n{out.stderr[-3000:]}")
            runs[impl].append(json.loads(line[7:]))
            print(f"rep {rep} {impl}: {runs[impl][-1]['tokens_per_s']:.0f} tokens/s, "
                  f"peak {runs[impl][-1]['peak_rss_mb']:.0f} MB", flush=True)
    summary = summarise(runs, args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"dpo_vs_trl_{args.precision}_{args.epochs}ep_{args.logprobs}"
    write_results_json(RESULTS / f"{stem}.json", {"summary": summary, "runs": runs}, indent=2)
    (RESULTS / f"{stem}.md").write_text(markdown(summary))
    print(markdown(summary))


def summarise(runs: dict[str, list[dict]], args) -> dict:
    import torch
    import trl

    med = {impl: {k: statistics.median(r[k] for r in rs) for k in rs[0] if isinstance(rs[0][k], (int, float))}
           for impl, rs in runs.items()}
    return {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "torch": torch.__version__, "trl": trl.__version__, "threads": args.threads, "steps": args.steps,
        "precision": args.precision, "repeats": args.repeats, "pairs_per_step": PAIRS_PER_STEP,
        "epochs": args.epochs, "logprobs": args.logprobs,
        "median": med,
        "throughput_ratio": med["lit-align"]["tokens_per_s"] / med["trl"]["tokens_per_s"],
        "throughput_ratio_without_caching": med["lit-align"]["tokens_per_s_without_caching"]
        / med["trl"]["tokens_per_s_without_caching"],
        "peak_rss_ratio": med["lit-align"]["peak_rss_mb"] / med["trl"]["peak_rss_mb"],
        "peak_rss_above_model_ratio": med["lit-align"]["peak_rss_above_model_mb"]
        / med["trl"]["peak_rss_above_model_mb"],
    }


def markdown(s: dict) -> str:
    m = s["median"]
    rows = [
        ("tokens/s (incl. reference caching)", "tokens_per_s", "{:.0f}"),
        ("tokens/s (training steps only)", "tokens_per_s_without_caching", "{:.0f}"),
        ("peak RSS, MB", "peak_rss_mb", "{:.0f}"),
        ("peak RSS above model build, MB", "peak_rss_above_model_mb", "{:.0f}"),
    ]
    lines = [
        f"# DPO: lit-align vs TRL DPOTrainer ({s['precision']}, {s['epochs']} epoch(s), "
        f"lit-align log-probs: {s['logprobs']})",
        "",
        f"Machine: {s['machine']}; torch {s['torch']}, trl {s['trl']}; {s['threads']} threads; "
        f"tiny GPT-2 (4 layers, d=128, vocab 2048); {s['pairs_per_step']} pairs/step; "
        f"{s['steps']} steps over {s['epochs']} epoch(s) ({WARMUP_STEPS} warm-up steps not timed); "
        f"median of {s['repeats']} runs, "
        "each in its own process.",
        "",
        "| metric | lit-align | TRL | ratio |",
        "|---|---|---|---|",
    ]
    for label, key, fmt in rows:
        a, b = m["lit-align"][key], m["trl"][key]
        lines.append(f"| {label} | {fmt.format(a)} | {fmt.format(b)} | {a / b:.2f}x |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
