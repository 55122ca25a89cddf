"""SequenceScorer: the matrix row after a task is the preference accuracy of the policy's
margins against the reference it fixed, and what it stores brings a resumed run back to the
same numbers (same reference, same rows) without recomputing the reference."""

from __future__ import annotations

import json
from types import SimpleNamespace

import datasets
import numpy as np
import torch

from lit_align.config.continual import EvaluationConfig
from lit_align.continual.evaluation import EvalSplit, margins, pair_columns, split_score
from lit_align.continual.scoring import SequenceScorer
from lit_align.data.collate import Collator
from lit_align.data.tokenize import TokenizeSettings


def _split(policy, rows) -> EvalSplit:
    settings = TokenizeSettings(max_length=48, max_prompt_length=24)
    return EvalSplit(name="polite", columns=pair_columns(datasets.Dataset.from_list(rows), policy.tokenizer,
                                                         settings, "t"))


def _nudge(model: torch.nn.Module, seed: int) -> None:
    """A weight change standing in for a task's training."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))


def test_rows_score_against_the_reference_task_and_a_restored_scorer_continues_identically(tiny_policy, pref_rows):
    cfg = SimpleNamespace(seed=0, evaluation=EvaluationConfig(reference_task="warmup", batch_size=4))
    scorer = SequenceScorer(cfg, tiny_policy, [_split(tiny_policy, pref_rows[:8])])
    _nudge(tiny_policy.model, 0)
    assert scorer.after_task("warmup") == {}  # the reference task gives no row; it fixes the reference
    assert np.allclose(scorer.baseline["polite"], 0.0, atol=1e-4)  # the reference against itself: ties

    _nudge(tiny_policy.model, 1)
    row = scorer.after_task("first")
    collator = Collator(kind="preference", pad_id=tiny_policy.tokenizer.pad_token_id)
    expected = margins(tiny_policy.model, scorer.splits[0], collator, 2, "cpu")
    assert not np.allclose(expected, 0.0, atol=1e-3)  # the nudge moved the margins
    assert row == {"eval/polite": split_score(expected)}
    assert scorer.report()["tasks"] == ["first"] and scorer.report()["matrix"] == [[split_score(expected)]]

    stored = json.loads(json.dumps(scorer.stored()))  # as a checkpoint writes and reads it
    resumed = SequenceScorer(cfg, tiny_policy, [_split(tiny_policy, pref_rows[:8])])
    resumed.restore(stored)
    assert resumed.reference_set and resumed.report() == scorer.report()
    _nudge(tiny_policy.model, 2)
    assert resumed.after_task("second") == scorer.after_task("second")
    assert resumed.report()["matrix"] == scorer.report()["matrix"] and len(scorer.report()["matrix"]) == 2
