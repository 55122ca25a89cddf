"""Shared fixtures: offline environment, a tiny policy, small datasets on disk."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DS_ACCELERATOR", "cpu")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def _tiny_policy_template():
    from lit_align.models import TinyModelSpec

    return TinyModelSpec(n_layer=1, d_model=32, n_head=2, vocab_size=400).build()


@pytest.fixture
def tiny_policy(_tiny_policy_template):
    """A fresh (deep-copied) tiny GPT-2 policy: tests may train it freely."""
    from lit_align.models import Policy

    t = _tiny_policy_template
    return Policy(model=copy.deepcopy(t.model), tokenizer=t.tokenizer)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def pref_rows():
    from lit_align.data.synthetic import preference_pairs

    return preference_pairs("polite", 24, seed=0)


@pytest.fixture
def sft_rows():
    from lit_align.data.synthetic import sft_examples

    return sft_examples("short", 24, seed=0)
