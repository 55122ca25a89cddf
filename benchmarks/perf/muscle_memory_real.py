"""Peak memory of MUSCLE's three models on SmolLM2-135M-Instruct with LoRA: the new teacher
as a frozen deep copy of the policy (base + adapter) vs as a frozen twin adapter on the
policy's own base (issue 20, MUSCLE item 3).

    python -m benchmarks.perf.muscle_memory_real [--repeats 2]

Each measurement runs in its own process (peak RSS is per process): build the LoRA policy,
build the old model (SmolLM2 again here: a second base of the same size, as an updated base
would be), `on_task_start` (the teachers), then one training step's loss and backward on a
batch of 4 rows of ~100 tokens. Modes are interleaved A B A B. Results:
benchmarks/results/muscle_memory_real.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
from benchmarks.results_io import write_results_json, write_results_text  # noqa: E402

LORA = {"r": 16, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}


def measure(mode: str) -> dict[str, float]:
    """One process: MUSCLE's setup and one step; peak RSS in MiB."""
    import torch

    from lit_align.binding import ComponentSpec
    from lit_align.config.data import DataConfig, SourceConfig
    from lit_align.data.datamodule import AlignmentDataModule
    from lit_align.models import GGUFModelSpec, LoraConfig
    from lit_align.modules.base import TaskContext
    from lit_align.modules.continual import muscle

    torch.set_num_threads(1)
    policy = GGUFModelSpec(gguf="smollm2-135m-instruct", lora=LoraConfig(**LORA)).build()
    after_policy = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if mode == "copy":  # the behaviour before the twin adapter: a frozen deep copy of the policy
        muscle.is_peft_model = lambda model: False
    module = muscle.MUSCLEModule(policy=policy, old_model=ComponentSpec("gguf", {"gguf": "smollm2-135m-instruct"}))
    rows = [{"prompt": f"Tell me about topic {i}.", "completion": "It is a topic worth knowing about. " * 8}
            for i in range(8)]
    config = DataConfig(train=SourceConfig(records=rows), batch_size=4, max_length=128, max_prompt_length=32)
    dm = AlignmentDataModule(config, kind="sft", tokenizer=policy.tokenizer, where="bench")
    dm.setup("fit")
    module.on_task_start(TaskContext(name="compat", index=0, datamodule=dm))
    module.train()
    module.compute_loss(dm.collator([dm.train_set[i] for i in range(4)])).loss.backward()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"peak_rss_mib": round(peak, 1), "policy_rss_mib": round(after_policy, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", choices=["copy", "twin"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    runs: dict[str, list[dict[str, float]]] = {"copy": [], "twin": []}
    for _ in range(args.repeats):
        for mode in ("copy", "twin"):  # interleaved
            out = subprocess.run([sys.executable, __file__, "--child", mode], capture_output=True, text=True,
                                 cwd=REPO, check=True)
            runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(mode, runs[mode][-1], flush=True)
    median = {m: statistics.median(r["peak_rss_mib"] for r in rs) for m, rs in runs.items()}
    meta = {"machine": f"{platform.machine()}, CPU, torch 1 thread", "model": "SmolLM2-135M-Instruct float32, "
            "LoRA r16 on every linear layer; old model: a second SmolLM2", "repeats": args.repeats}
    result = {"meta": meta, "runs": runs, "median_peak_rss_mib": median,
              "twin_over_copy": round(median["twin"] / median["copy"], 3)}
    out = REPO / "benchmarks" / "results"
    write_results_json(out / "muscle_memory_real.json", result, indent=2)
    write_results_text(out / "muscle_memory_real.md", "\n".join([
        "# MUSCLE peak memory: new teacher as a deep copy vs a twin adapter", "",
        f"{meta['model']}; {meta['machine']}; median of {args.repeats} interleaved runs, each in its own process.",
        "", "| new teacher | peak RSS (MiB) |", "|---|---|",
        f"| frozen deep copy (before) | {median['copy']:.0f} |",
        f"| twin adapter on the policy's base (now) | {median['twin']:.0f} |", "",
        f"Ratio twin / copy: {result['twin_over_copy']:.3f}.", ""]))


if __name__ == "__main__":
    main()
