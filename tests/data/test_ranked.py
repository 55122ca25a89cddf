"""Ranked (J candidates + scores) and prompt-only records: rendering, bad rows, batches."""

import datasets
import pytest
import torch

from lit_align.data.collate import Collator
from lit_align.data.tokenize import TokenizeSettings, tokenize_dataset
from lit_align.errors import DataError

RANKED = [
    {"prompt": "Name a color.", "responses": ["red", "a blue one", "no"], "scores": [2, 1.5, -1]},
    {"prompt": "Say hi.", "chosen": "hello there", "rejected": "go away"},  # read as J = 2
]


def _tokenize(rows, kind, tok, **settings):
    return tokenize_dataset(datasets.Dataset.from_list(rows), kind, tok, TokenizeSettings(**settings), "t")


def test_ranked_rows_keep_every_candidate_and_score(tiny_policy):
    tok = tiny_policy.tokenizer
    out, report = _tokenize(RANKED[:1], "ranked", tok)
    assert report.kept == 1
    assert [tok.decode(ids[:-1]) for ids in out["response_ids"][0]] == ["red", "a blue one", "no"]
    assert out["scores"] == [[2.0, 1.5, -1.0]]


def test_pairs_are_ranked_rows_with_scores_one_and_zero(tiny_policy):
    out, _ = _tokenize(RANKED[1:], "ranked", tiny_policy.tokenizer)
    assert out["scores"] == [[1.0, 0.0]]
    assert len(out["response_ids"][0]) == 2


@pytest.mark.parametrize("row, reason", [
    ({"prompt": "Q", "responses": ["a"], "scores": [1]}, "too_few_responses"),
    ({"prompt": "Q", "responses": ["a", "b"], "scores": [1]}, "bad_scores"),
    ({"prompt": "Q", "responses": ["a", "b"], "scores": [1, None]}, "bad_scores"),
    ({"prompt": "Q", "responses": ["a", ""], "scores": [1, 0]}, "empty_response"),
    ({"prompt": "Q", "responses": ["a", "a"], "scores": [1, 0]}, "duplicate_response"),
    ({"prompt": "Q", "responses": ["a", "b"], "scores": [1, 1]}, "no_preference"),
    ({"prompt": "", "responses": ["a", "b"], "scores": [1, 0]}, "missing_prompt"),
])
def test_bad_ranked_rows_name_the_reason(tiny_policy, row, reason):
    rows = [RANKED[0], row]
    with pytest.raises(DataError, match=rf"t row 1: .*\[{reason}\]"):
        _tokenize(rows, "ranked", tiny_policy.tokenizer)
    _, report = _tokenize(rows, "ranked", tiny_policy.tokenizer, bad_rows="drop")
    assert report.dropped == {reason: 1} and report.kept == 1


def test_missing_columns_for_ranked_data_are_named(tiny_policy):
    with pytest.raises(DataError, match="missing column.*for ranked data"):
        _tokenize([{"prompt": "Q", "responses": ["a", "b"]}], "ranked", tiny_policy.tokenizer)


def test_ranked_batch_layout(tiny_policy):
    tok = tiny_policy.tokenizer
    rows = []
    for record in RANKED:  # a ranked row and a pair, tokenised apart (one dataset has one layout)
        out, _ = _tokenize([record], "ranked", tok)
        rows.append({k: v[0] for k, v in out.items()} | {"target": [0.5] * len(out["scores"][0])})
    out = {k: [r[k] for r in rows] for k in rows[0]}
    batch = Collator(kind="ranked", pad_id=tok.pad_token_id)(rows)
    assert batch["input_ids"].shape[0] == 5  # 3 + 2 candidates, flattened
    assert batch["group"].tolist() == [0, 0, 0, 1, 1]
    assert batch["candidate"].tolist() == [0, 1, 2, 0, 1]
    assert batch["candidate_mask"].tolist() == [[True, True, True], [True, True, False]]
    assert batch["scores"].tolist() == [[2.0, 1.5, -1.0], [1.0, 0.0, 0.0]]
    assert batch["target"].tolist() == [[0.5, 0.5, 0.5], [0.5, 0.5, 0.0]]
    # each flattened sequence is its row's prompt followed by that candidate, prompt masked
    seq = batch["input_ids"][3][batch["attention_mask"][3].bool()].tolist()
    assert seq == out["prompt_ids"][1] + out["response_ids"][1][0]
    assert (batch["labels"][3][: len(out["prompt_ids"][1])] == -100).all()


def test_prompt_rows_are_left_padded_for_generation(tiny_policy):
    tok = tiny_policy.tokenizer
    out, report = _tokenize([{"prompt": "Hi"}, {"prompt": "A much longer prompt here"}, {"prompt": " "}], "prompt",
                            tok, bad_rows="drop", max_prompt_length=4)
    assert report.dropped == {"missing_prompt": 1}
    assert report.prompt_truncated == 1 and report.truncated == 0 and len(out["prompt_ids"][1]) == 4
    batch = Collator(kind="prompt", pad_id=tok.pad_token_id)([{k: out[k][i] for k in out} for i in range(2)])
    short = len(out["prompt_ids"][0])
    assert batch["attention_mask"][0].tolist() == [0] * (4 - short) + [1] * short
    assert batch["input_ids"][0, -short:].tolist() == out["prompt_ids"][0]
    assert torch.equal(batch["row"], torch.tensor([0, 1]))
