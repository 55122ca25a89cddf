"""Greedy generation through a LoRA adapter vs through its merged weights (issue 31, part of E1).

SmolLM2-135M-Instruct (the packaged GGUF through lit-align's float cache) with LoRA r16 on every
linear layer, its B matrices drawn at random (a trained adapter; B = 0 at initialisation would merge
nothing), answers the first `--prompts` prompts of the real-model style domains' eval files (chat
template, greedy, `--tokens` new tokens, batch `--batch`). Both paths go through
`lit_align.generation.generate`; the unmerged one with the merge turned off. Interleaved A B A B,
`--repeats` each, in one process (the model is loaded once); tokens per wall-second, medians.
Answers of the two paths are compared and the number that differ reported.

    python -m benchmarks.perf.generation_merged [--prompts 36] [--tokens 32] [--batch 12] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"
DOMAINS = ("certainly", "numbered", "brief", "avoid_the", "detailed")


def prompts(n: int) -> list[str]:
    rows = [json.loads(line) for d in DOMAINS
            for line in (REPO / "benchmarks/data/smollm2_style" / f"{d}_eval.jsonl").read_text().splitlines()]
    seen = list(dict.fromkeys(r["prompt"] if isinstance(r["prompt"], str) else r["prompt"][-1]["content"]
                              for r in rows))
    return seen[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=36)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import torch

    from lit_align import generation
    from lit_align.data.records import render_prompt
    from lit_align.models import GGUFModelSpec, LoraConfig

    policy = GGUFModelSpec(gguf="smollm2-135m-instruct", lora=LoraConfig(r=16, alpha=32)).build()
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in policy.model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    rendered = [render_prompt({"prompt": [{"role": "user", "content": p}]}, policy.tokenizer).prompt
                for p in prompts(args.prompts)]
    sampling = generation.Sampling(max_new_tokens=args.tokens, batch_size=args.batch)
    merge = generation.lora_merged
    paths = {"adapter (unmerged)": contextlib.nullcontext, "merged": merge}
    rates: dict[str, list[float]] = {name: [] for name in paths}
    answers: dict[str, list[str]] = {}
    for _ in range(args.repeats):
        for name, context in paths.items():
            generation.lora_merged = context
            tokens = []
            start = time.perf_counter()
            answers[name] = generation.generate(policy.model, policy.tokenizer, rendered, sampling, 0,
                                                progress=lambda n, t, kept=tokens: kept.append(t))
            rates[name].append(sum(tokens) / (time.perf_counter() - start))
    generation.lora_merged = merge
    medians = {name: statistics.median(v) for name, v in rates.items()}
    differ = sum(a != b for a, b in zip(answers["adapter (unmerged)"], answers["merged"], strict=True))
    speedup = medians["merged"] / medians["adapter (unmerged)"]
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
              "model": "SmolLM2-135M-Instruct (GGUF, float32), LoRA r16 all-linear, random B (std 0.02)",
              "prompts": len(rendered), "new_tokens": args.tokens, "batch": args.batch, "repeats": args.repeats,
              "tokens_per_second": rates, "median_tokens_per_second": medians, "speedup": speedup,
              "answers_that_differ": differ}
    (RESULTS / "generation_merged.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Greedy generation: LoRA adapter vs merged weights (SmolLM2-135M)", "",
             f"{result['machine']}; {result['model']}; {len(rendered)} chat prompts, {args.tokens} new tokens, "
             f"batch {args.batch}; {args.repeats} interleaved repeats in one process.", "",
             "| path | median tokens/s | all |", "|---|---|---|"]
    lines += [f"| {name} | {medians[name]:.1f} | {', '.join(f'{v:.1f}' for v in values)} |"
              for name, values in rates.items()]
    lines += ["", f"Merged / unmerged: {speedup:.2f}x; answers that differ: {differ} of {len(rendered)}.", ""]
    (RESULTS / "generation_merged.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
