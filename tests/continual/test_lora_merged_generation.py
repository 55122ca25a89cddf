"""Generation through merged LoRA weights (issue 31): the same greedy answers as through the
adapter, and every weight, base and adapter, bit-identical afterwards (the base weights a merge
changes are restored from a copy, not by subtracting the delta back)."""

from __future__ import annotations

import contextlib

import torch

from lit_align import generation
from lit_align.generation import Sampling, generate, lora_merged
from lit_align.models import LoraConfig, TinyModelSpec

PROMPTS = ["Tell me about the cat.", "Name three colors.", "Summarize the dog in short.", "Why is the sky blue?"]


def _lora_policy():
    policy = TinyModelSpec(arch="llama", n_layer=2, d_model=64, n_head=4, seed=3,
                           lora=LoraConfig(r=4, target_modules="all-linear")).build()
    torch.manual_seed(0)
    with torch.no_grad():  # a trained adapter: B is zero at initialisation, which would merge nothing
        for name, p in policy.model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
    return policy


def test_merged_generation_answers_the_same_and_leaves_every_weight_as_it_was(monkeypatch):
    policy = _lora_policy()
    before = {k: v.detach().clone() for k, v in policy.model.state_dict().items()}
    flags = {k: p.requires_grad for k, p in policy.model.named_parameters()}
    sampling = Sampling(max_new_tokens=12, batch_size=4)
    merges = []
    original = policy.model.merge_adapter
    monkeypatch.setattr(policy.model, "merge_adapter", lambda *a, **k: merges.append(1) or original(*a, **k))
    merged = generate(policy.model, policy.tokenizer, PROMPTS, sampling, seed=0)
    assert merges == [1]  # the answers came through the merged weights
    with policy.model.disable_adapter():  # the adapter does change what the model says
        plain = generate(policy.model, policy.tokenizer, PROMPTS, sampling, seed=0)
    assert merged != plain
    # the unmerged path: the adapter's forward, layer by layer (the merge turned off)
    monkeypatch.setattr(generation, "lora_merged", contextlib.nullcontext)
    unmerged = generate(policy.model, policy.tokenizer, PROMPTS, sampling, seed=0)
    assert merged == unmerged
    after = policy.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert {k: p.requires_grad for k, p in policy.model.named_parameters()} == flags


def test_a_model_without_lora_is_untouched():
    policy = TinyModelSpec(n_layer=1, d_model=32, n_head=2).build()
    before = {k: v.clone() for k, v in policy.model.state_dict().items()}
    with lora_merged(policy.model):
        pass
    assert all(torch.equal(before[k], v) for k, v in policy.model.state_dict().items())
