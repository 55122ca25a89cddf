"""Generation-based evaluation: sample answers to eval prompts and score them.

Scores come from a `ResponseScorer` (a gold reward for the synthetic suite, or
your own judge or reward model), so the result matrix can be built from what the
policy actually says, next to the pairwise preference accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import torch

from lit_align.config.binding import ComponentOf, ComponentSpec, Range


class ResponseScorer:
    """Scores generated responses; subclass and name it by `class_path` in the config."""

    def score(self, split: str, prompts: list[str], responses: list[str]) -> list[float]:
        raise NotImplementedError


@dataclass
class GenerationConfig:
    """Generate for the first `num_prompts` prompts of every eval split after every task."""

    scorer: Annotated[ComponentSpec, ComponentOf("lit_align.continual.generation.ResponseScorer")]
    num_prompts: Annotated[int, Range(gt=0)] = 32
    max_new_tokens: Annotated[int, Range(gt=0)] = 24
    temperature: Annotated[float, Range(ge=0)] = 0.0  # 0: greedy
    batch_size: Annotated[int, Range(gt=0)] = 16


@dataclass
class Sampling:
    """How to sample, without a scorer (COPF's candidates, `lit-align compat`)."""

    max_new_tokens: int = 64
    temperature: float = 0.0  # 0: greedy
    batch_size: int = 16


@torch.no_grad()
def generate(model: Any, tokenizer: Any, prompts: list[str], cfg: GenerationConfig | Sampling,
             seed: int) -> list[str]:
    """Batched, seeded generation from left-padded prompts; returns the new text only."""
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    was_training = model.training
    model.eval()
    outputs: list[str] = []
    try:
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
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
        torch.random.set_rng_state(generator_state)
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return outputs


def policy_answerer(policy: Any, sampling: Sampling, seed: int) -> Any:
    """A function from prompts to the policy's answers, the prompts rendered (plain or chat)
    as the training data renders them (C3PO's pi_0, LANCET's probe answers)."""
    from lit_align.data.records import render_prompt

    def answer(prompts: list[str]) -> list[str]:
        rendered = [render_prompt({"prompt": p}, policy.tokenizer).prompt for p in prompts]
        return generate(policy.model, policy.tokenizer, rendered, sampling, seed)

    return answer
