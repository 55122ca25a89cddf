"""Batched, seeded generation from a policy, shared by evaluation, COPF, compat, C3PO and LANCET."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import torch


class SamplingSettings(Protocol):
    max_new_tokens: int
    temperature: float
    batch_size: int


@dataclass
class Sampling:
    """How to sample, without a scorer (COPF's candidates, `lit-align compat`)."""

    max_new_tokens: int = 64
    temperature: float = 0.0  # 0: greedy
    batch_size: int = 16


Progress = Callable[[int, int], None]  # called after each batch: (answers finished, tokens generated)


def generate(model: Any, tokenizer: Any, prompts: list[str], cfg: SamplingSettings, seed: int,
             progress: Progress | None = None) -> list[str]:
    """Batched, seeded generation from left-padded prompts; returns the new text only."""
    return generate_with_stops(model, tokenizer, prompts, cfg, seed, progress)[0]


@contextlib.contextmanager
def lora_merged(model: Any) -> Iterator[None]:
    """Generate through merged weights W + s*BA: one matmul per layer instead of three, 1.22x the
    tokens/s on SmolLM2 + LoRA r16 at batch 12 with the same 36 greedy answers
    (benchmarks/results/generation_merged.md). The base weights a merge
    changes are saved first and copied back after the unmerge, so the frozen base leaves with the
    exact bits it came with (merge/unmerge alone leaves float drift that would add up over a
    sequence's evaluations); the adapter's own weights are never touched. A model without LoRA
    layers, with adapters disabled or already merged is left as it is."""
    layers = [m for m in model.modules() if hasattr(m, "merged") and hasattr(m, "get_base_layer")
              and hasattr(m, "lora_A")]
    if not layers or any(layer.merged or layer.disable_adapters for layer in layers) or not hasattr(
            model, "merge_adapter"):
        yield
        return
    saved = [(layer.get_base_layer().weight, layer.get_base_layer().weight.detach().clone()) for layer in layers]
    model.merge_adapter()
    try:
        yield
    finally:
        model.unmerge_adapter()
        with torch.no_grad():
            for weight, original in saved:
                weight.copy_(original)


@torch.no_grad()
def generate_with_stops(model: Any, tokenizer: Any, prompts: list[str], cfg: SamplingSettings,
                        seed: int, progress: Progress | None = None) -> tuple[list[str], list[bool]]:
    """As `generate`, plus whether each answer ran into `max_new_tokens` without an end token
    (a cut answer may score differently from the one the model would have finished)."""
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    was_training = model.training
    model.eval()
    outputs: list[str] = []
    cut: list[bool] = []
    try:
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        with lora_merged(model):
            _generate_batches(model, tokenizer, prompts, cfg, progress, outputs, cut)
        torch.random.set_rng_state(generator_state)
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return outputs, cut


def _generate_batches(model: Any, tokenizer: Any, prompts: list[str], cfg: SamplingSettings,
                      progress: Progress | None, outputs: list[str], cut: list[bool]) -> None:
    """Left-padded batches of `cfg.batch_size`; appends each answer and whether it was cut."""
    for start in range(0, len(prompts), cfg.batch_size):
        batch = tokenizer(prompts[start : start + cfg.batch_size], return_tensors="pt", padding=True,
                          add_special_tokens=False).to(next(model.parameters()).device)
        sampled = model.generate(
            **batch, max_new_tokens=cfg.max_new_tokens, do_sample=cfg.temperature > 0,
            temperature=cfg.temperature if cfg.temperature > 0 else None, top_p=None, top_k=None,
            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        )
        new = sampled[:, batch["input_ids"].shape[1]:]
        outputs += [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
        ended = (new == tokenizer.eos_token_id) | (new == tokenizer.pad_token_id)
        cut += (~ended.any(dim=1) & (new.shape[1] >= cfg.max_new_tokens)).tolist()
        if progress is not None:
            progress(len(new), int((~ended).sum()))


def policy_answerer(policy: Any, sampling: Sampling, seed: int, *, chat_template: bool = False,
                    system: str | None = None) -> Any:
    """A function from prompts to the policy's answers, the prompts rendered (plain or chat)
    as the training data renders them (C3PO's pi_0, LANCET's probe answers).

    `chat_template`: a plain-string prompt becomes one user turn, as `data.chat_template: true`
    trains it. `system`: text the model sees before the prompt (a system turn with the chat
    template, else a paragraph in front): C3PO's in-context baseline, the feedback in the prompt."""
    from lit_align.data.records import render_prompt

    def as_prompt(prompt: Any) -> Any:
        if not isinstance(prompt, str):
            return prompt  # already a list of messages
        if chat_template:
            return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        return f"{system}\n\n{prompt}" if system else prompt

    def answer(prompts: list[Any]) -> list[str]:
        rendered = [render_prompt({"prompt": as_prompt(p)}, policy.tokenizer).prompt for p in prompts]
        return generate(policy.model, policy.tokenizer, rendered, sampling, seed)

    return answer
