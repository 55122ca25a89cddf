from __future__ import annotations

import datasets
import pytest
import torch

from lit_align.data.synthetic import preference_pairs, sft_examples
from lit_align.influence.data import TokenizedRows
from lit_align.models import LoraConfig, TinyModelSpec
from lit_align.testing.fitting import fit_rows


def tiny_policy(d_model: int = 16, lora: LoraConfig | None = None):
    return TinyModelSpec(arch="gpt2", n_layer=2, d_model=d_model, n_head=2, vocab_size=512, lora=lora).build()


def rows_for(policy, rows, kind: str = "sft", batch_size: int = 8) -> TokenizedRows:
    return TokenizedRows(datasets.Dataset.from_list(rows), kind, policy.tokenizer, where="test", max_length=48,
                         max_prompt_length=24, batch_size=batch_size)


@pytest.fixture(scope="module")
def trained():
    """A tiny GPT-2 fitted for a while on two domains: influence assumes a model near a minimum."""
    torch.manual_seed(0)
    policy = tiny_policy()
    train = rows_for(policy, sft_examples("polite", 24, 0) + sft_examples("short", 24, 0), batch_size=48)
    queries = rows_for(policy, sft_examples("short", 4, 1))
    fit_rows(policy.model, train.batches(), epochs=60)
    return policy, train, queries


@pytest.fixture
def pairs_rows():
    return preference_pairs("polite", 6, 0)
