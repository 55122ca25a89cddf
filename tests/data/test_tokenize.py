import datasets
import pytest

from lit_align.data.tokenize import TokenizeSettings, _fit, tokenize_dataset
from lit_align.errors import DataError


def test_fit_keeps_prompt_end_and_response_start():
    s = TokenizeSettings(max_length=6, max_prompt_length=3)
    prompt, responses, prompt_cut, response_cut = _fit([1, 2, 3, 4, 5], [[6, 7, 8, 9], [10]], s)
    assert prompt_cut and response_cut
    assert prompt == [3, 4, 5]  # keep_end
    assert responses == [[6, 7, 8], [10]]  # keep_start, room = 6 - 3
    assert _fit([1], [[2]], s) == ([1], [[2]], False, False)
    # the prompt alone is cut: 5 + 2 > 6, 3 + 2 <= 6, responses whole
    assert _fit([1, 2, 3, 4, 5], [[6, 7]], s) == ([3, 4, 5], [[6, 7]], True, False)


def test_preference_columns_and_eos(tiny_policy, pref_rows):
    tok = tiny_policy.tokenizer
    out, report = tokenize_dataset(datasets.Dataset.from_list(pref_rows), "preference", tok,
                                   TokenizeSettings(), "t")
    assert report.kept == report.total == len(pref_rows)
    assert out["chosen_ids"][0][-1] == tok.eos_token_id
    assert tok.decode(out["prompt_ids"][0]) == pref_rows[0]["prompt"]
    assert tok.decode(out["chosen_ids"][0][:-1]) == pref_rows[0]["chosen"]


def test_drop_policy_counts_reasons(tiny_policy):
    rows = [
        {"prompt": "Q", "chosen": "A", "rejected": "B"},
        {"prompt": "Q", "chosen": "", "rejected": "B"},
        {"prompt": "Q", "chosen": "A", "rejected": "A"},
        {"prompt": "Q", "chosen": "word " * 100, "rejected": "B"},
    ]
    s = TokenizeSettings(max_length=20, max_prompt_length=5, over_length="drop", bad_rows="drop")
    out, report = tokenize_dataset(datasets.Dataset.from_list(rows), "preference",
                                   tiny_policy.tokenizer, s, "t")
    assert out["row"] == [0]
    assert dict(report.dropped) == {"empty_response": 1, "identical_pair": 1, "over_length": 1}
    assert "kept 1/4 rows" in report.summary()


def test_truncate_policy_counts_truncations(tiny_policy):
    rows = [{"prompt": "Q " * 30, "chosen": "A " * 30, "rejected": "B"}]
    s = TokenizeSettings(max_length=20, max_prompt_length=5)
    out, report = tokenize_dataset(datasets.Dataset.from_list(rows), "preference",
                                   tiny_policy.tokenizer, s, "t")
    assert report.truncated == 1
    assert len(out["prompt_ids"][0]) == 5
    assert len(out["prompt_ids"][0]) + len(out["chosen_ids"][0]) == 20


def test_error_policy_names_row_and_all_dropped_is_an_error(tiny_policy):
    rows = [{"prompt": "Q", "chosen": "A", "rejected": "A"}]
    with pytest.raises(DataError, match=r"t row 0: .*\[identical_pair\]; .*bad_rows: drop"):
        tokenize_dataset(datasets.Dataset.from_list(rows), "preference", tiny_policy.tokenizer,
                         TokenizeSettings(), "t")
    with pytest.raises(DataError, match="no usable rows left"):
        tokenize_dataset(datasets.Dataset.from_list(rows), "preference", tiny_policy.tokenizer,
                         TokenizeSettings(bad_rows="drop"), "t")
