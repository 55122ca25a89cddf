"""Evaluation after every task: pair scores from margins (hand values), ranked eval rows scored
on their best-vs-worst pair, and the initial model's margins over itself all ties."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from lit_align.continual.evaluation import (
    EvalSplit,
    cache_initial,
    correct,
    margins,
    pair_columns,
    pair_scores,
    split_score,
)
from lit_align.data.collate import Collator
from lit_align.data.tokenize import TokenizeSettings


def test_pair_scores_count_ties_as_half_within_float_noise():
    values = [2.0, -1.0, 0.0, 5e-7, -5e-7, 1e-3]
    assert pair_scores(values).tolist() == [1.0, 0.0, 0.5, 0.5, 0.5, 1.0]
    assert split_score(values) == pytest.approx(3.5 / 6)
    assert correct(values) == [True, False, False, False, False, True]


def test_ranked_eval_rows_are_scored_on_their_best_and_worst_answers(tiny_policy):
    rows = datasets.Dataset.from_list([
        {"prompt": "Name a color.", "responses": ["red", "blue", "green"], "scores": [0.5, 2.0, -1.0]},
    ])
    columns = pair_columns(rows, tiny_policy.tokenizer, TokenizeSettings(max_length=32, max_prompt_length=16), "t")
    tok = tiny_policy.tokenizer
    assert tok.decode(columns["chosen_ids"][0]).startswith("blue")
    assert tok.decode(columns["rejected_ids"][0]).startswith("green")


def test_the_reference_model_scores_every_pair_as_a_tie_against_itself(tiny_policy, pref_rows):
    settings = TokenizeSettings(max_length=48, max_prompt_length=24)
    split = EvalSplit(name="s", columns=pair_columns(datasets.Dataset.from_list(pref_rows[:6]), tiny_policy.tokenizer,
                                                     settings, "t"))
    collator = Collator(kind="preference", pad_id=tiny_policy.tokenizer.pad_token_id)
    cache_initial(tiny_policy.model, [split], collator, 4, "cpu")
    same = margins(tiny_policy.model, split, collator, 2, "cpu")  # another batch size: the same numbers
    assert np.allclose(same, 0.0, atol=1e-4) and split_score([0.0] * len(same)) == 0.5
    assert len(split.initial_chosen) == len(split.initial_rejected) == 6
