"""Influence scoring on one GPU at SmolLM2-135M's shapes (issue 21, P4r's speed half): lit-align's
batched `InfluenceScorer` vs the naive per-row loop, over every LoRA weight (r 16 on all seven
projections of 30 layers: 4,884,480 weights).

The model is SmolLM2-135M-Instruct's architecture built from its config with random weights (the
GGUF file cannot reach the GPU machine; speed depends on shapes, not values), LoRA B drawn nonzero
so every factor has a gradient. Rows are random tokens with the prompt and response lengths of the
LANCET study's first 256 training rows and 8 queries (`lancet_row_lengths.json`), resampled with
replacement for more rows. Naive: one backward per row (autograd over the LoRA weights), then the
gradient dot products with the queries (identity curvature). lit-align: batches of 16, projection
32 per side, each preconditioner. Runs interleave naive and scorer (A B A B); the median is kept.
Fidelity is measured on CPU on the real weights (benchmarks/perf/influence_real.py).

    python -m benchmarks.gpu.influence_throughput [--rows 256 1024] [--out FILE]
    python -m benchmarks.gpu.influence_throughput --tiny --device cpu --rows 16   # smoke check
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[2]
SMOLLM2 = {"hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
           "num_key_value_heads": 3, "head_dim": 64, "vocab_size": 49152, "tie_word_embeddings": True,
           "rms_norm_eps": 1e-5, "max_position_embeddings": 8192}
TINY = SMOLLM2 | {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                  "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 512}
LENGTHS = Path(__file__).with_name("lancet_row_lengths.json")
PRECONDITIONERS = ("identity", "diagonal", "kfac", "ekfac")


def build(shape: dict[str, Any], device: str) -> Any:
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**shape))
    lora = LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                            "up_proj", "down_proj"])
    model = get_peft_model(model, lora)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.01)
    return model.to(device).eval()


def batches(lengths: list[list[int]], vocab: int, size: int, device: str, seed: int) -> list[dict[str, torch.Tensor]]:
    """Right-padded batches of random tokens with the given (prompt, response) lengths; labels on responses."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, len(lengths), size):
        chunk = lengths[start : start + size]
        width = max(p + r for p, r in chunk)
        ids = torch.full((len(chunk), width), 2, dtype=torch.long)
        mask = torch.zeros_like(ids)
        labels = torch.full_like(ids, -100)
        for i, (p, r) in enumerate(chunk):
            ids[i, : p + r] = torch.randint(3, vocab, (p + r,), generator=g)
            mask[i, : p + r] = 1
            labels[i, p : p + r] = ids[i, p : p + r]
        out.append({"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)})
    return out


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def naive_seconds(model: Any, layers: list[Any], train: list[dict], queries: list[dict], device: str) -> float:
    from lit_align.influence.gradients import autograd_row_gradients

    sync(device)
    start = time.perf_counter()
    q = torch.cat([autograd_row_gradients(model, layers, b, "sft") for b in queries])
    for batch in train:
        (autograd_row_gradients(model, layers, batch, "sft") @ q.T).cpu()
    sync(device)
    return time.perf_counter() - start


def scorer_seconds(model: Any, name: str, train: list[dict], queries: list[dict], device: str) -> float:
    from lit_align.influence.scoring import InfluenceScorer, InfluenceSettings

    scorer = InfluenceScorer(model, InfluenceSettings(params="lora", preconditioner=name, damping=0.1,
                                                      projection_dim=32))
    sync(device)
    start = time.perf_counter()
    scorer.score(lambda: iter(train), lambda: iter(queries), train_measurement="sft", data_key=f"gpu-{name}")
    sync(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from lit_align.influence.layers import select_layers

    shape = TINY if args.tiny else SMOLLM2
    model = build(shape, args.device)
    layers = select_layers(model, "lora")
    known = json.loads(LENGTHS.read_text())
    queries = batches(known["queries"], shape["vocab_size"], 8, args.device, 1)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"), "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
        "torch": torch.__version__, "python": platform.python_version(),
        "shape": "tiny" if args.tiny else "SmolLM2-135M",
        "lora_weights": sum(layer.numel for layer in layers), "queries": len(known["queries"]), "runs": {}}
    for rows in args.rows:
        lengths = known["train"][:rows] + random.Random(rows).choices(known["train"], k=max(0, rows - 256))
        train_single = batches(lengths, shape["vocab_size"], 16, args.device, 0)
        scorer_seconds(model, "identity", train_single, queries, args.device)  # warm-up (kernels, allocator)
        times: dict[str, list[float]] = {"naive": [], **{p: [] for p in PRECONDITIONERS}}
        for _ in range(args.repeats):  # A B A B: the naive loop, then every scorer, in turn
            times["naive"].append(naive_seconds(model, layers, train_single, queries, args.device))
            for name in PRECONDITIONERS:
                times[name].append(scorer_seconds(model, name, train_single, queries, args.device))
        naive = statistics.median(times["naive"])
        report["runs"][str(rows)] = {
            "naive_seconds": round(naive, 3), "naive_all": [round(t, 3) for t in times["naive"]],
            **{p: {"seconds": round(statistics.median(times[p]), 3),
                   "speedup": round(naive / statistics.median(times[p]), 2)} for p in PRECONDITIONERS}}
        print(json.dumps({rows: report["runs"][str(rows)]}), flush=True)
    if args.device == "cuda":
        report["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
