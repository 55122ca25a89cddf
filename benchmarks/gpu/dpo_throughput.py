"""DPO on one GPU: tokens/s, peak memory and MFU for the three reference modes (targets.md P7).

A ~0.5B Llama-style model is built from a config (no download) and trained with bf16
autocast over fp32 weights and AdamW state (what `precision: bf16-mixed` runs). The
loss is lit-align's own (`DPOModule.compute_loss`) on random fixed-length pairs:

- `cached`: reference log-probs computed once before training (lit-align's default);
  the timed steps run one policy forward/backward. The caching pass is timed apart.
- `adapter`: LoRA policy; the reference is the same model with the adapter disabled
  (one extra no-grad forward per step, no second model).
- `frozen_copy`: a frozen bf16 copy of the policy as the reference (extra forward and
  a second set of weights).

MFU = model FLOPs / (seconds x peak): 6N per trained token (4N with LoRA: no weight
gradients for the frozen base) plus 2N per reference token (N = parameters excluding
embedding lookups and LoRA factors, the usual approximation), against
`--peak-tflops` (989 = H100/H200 SXM dense bf16).

    python -m benchmarks.gpu.dpo_throughput [--steps 20] [--batch 8] [--seq 1024] [--out FILE]
    python -m benchmarks.gpu.dpo_throughput --tiny --device cpu   # smoke check of the script itself

ZeRO-2/3 smoke runs on the same GPU go through the CLI (one process, devices=1):

    lit-align fit --config configs/quickstart.yaml trainer.accelerator=gpu trainer.strategy=zero2
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

MODES = ("cached", "adapter", "frozen_copy")
HALF_BILLION = {"hidden_size": 1280, "intermediate_size": 3456, "num_hidden_layers": 24,
                "num_attention_heads": 20, "num_key_value_heads": 4, "vocab_size": 32000}
TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "vocab_size": 512}


def build_policy(shape: dict[str, int], seq: int, lora: bool, device: str) -> Any:
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    from lit_align.models import Policy

    config = LlamaConfig(**shape, max_position_embeddings=seq, tie_word_embeddings=False,
                         attn_implementation="sdpa")
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    if lora:
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear"))
    return Policy(model=model.to(device).train(), tokenizer=None)


def random_batch(batch: int, seq: int, vocab: int, device: str) -> dict[str, torch.Tensor]:
    """`batch` pairs as the preference collator lays them out: chosen rows then rejected rows."""
    ids = torch.randint(3, vocab, (2 * batch, seq), device=device)
    labels = ids.clone()
    labels[:, : seq // 2] = -100  # the first half is the prompt
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels,
            "row": torch.arange(batch, device=device)}


def n_params(model: torch.nn.Module) -> int:
    """Parameters a token's matmuls touch (embedding lookups and LoRA factors left out)."""
    return sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n and "lora_" not in n)


def measure(mode: str, args: argparse.Namespace, shape: dict[str, int]) -> dict[str, Any]:
    from lit_align.modules.dpo import DPOModule
    from lit_align.modules.reference import REF_COLUMNS, pair_logprobs

    cuda = args.device.startswith("cuda")
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    policy = build_policy(shape, args.seq, lora=mode == "adapter", device=args.device)
    module = DPOModule(policy=policy, reference=mode if mode != "cached" else "cached")
    if mode == "frozen_copy":
        from lit_align.modules.reference import frozen_copy

        module.reference_model = frozen_copy(policy.model).to(dtype=torch.bfloat16)
    params = [p for p in policy.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5, fused=cuda)
    batches = [random_batch(args.batch, args.seq, shape["vocab_size"], args.device) for _ in range(4)]
    autocast = torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16)

    cache_seconds = 0.0
    if mode == "cached":
        start = time.perf_counter()
        with torch.no_grad(), autocast:
            for batch in batches:
                chosen, rejected = pair_logprobs(policy.model, batch, average=False)
                batch[REF_COLUMNS[0]], batch[REF_COLUMNS[1]] = chosen.float(), rejected.float()
        if cuda:
            torch.cuda.synchronize()
        cache_seconds = time.perf_counter() - start

    def step(batch: dict[str, torch.Tensor]) -> float:
        with autocast:
            loss = module.compute_loss(batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    for i in range(args.warmup):
        step(batches[i % len(batches)])
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(args.steps):
        step(batches[i % len(batches)])
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start

    tokens = args.steps * 2 * args.batch * args.seq
    n = n_params(policy.model)
    reference_tokens = 0 if mode == "cached" else tokens
    # backward through frozen weights computes activation gradients only: 4N instead of 6N (LoRA)
    flops = (4 if mode == "adapter" else 6) * n * tokens + 2 * n * reference_tokens
    result = {
        "mode": mode, "params_excluding_embeddings": n, "steps": args.steps, "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds, 1),
        "reference_cache_seconds_per_step": round(cache_seconds / len(batches), 4),
        "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
        "mfu": round(flops / seconds / (args.peak_tflops * 1e12), 4) if cuda else None,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer model: checks the script, measures nothing")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--batch", type=int, default=8, help="pairs per step")
    parser.add_argument("--seq", type=int, default=1024, help="tokens per sequence (half prompt, half response)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="the device's dense bf16 peak")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    shape = TINY if args.tiny else HALF_BILLION
    if args.tiny:
        args.seq = min(args.seq, 64)
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or "cpu"
    results = {"device": device_name, "torch": torch.__version__, "shape": shape,
               "batch_pairs": args.batch, "seq": args.seq, "runs": [measure(m, args, shape) for m in args.modes]}
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
