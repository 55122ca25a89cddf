"""`evaluation.generation.prompts`: a split's generated answers may come from a prompt-only
source with more held-out prompts than its eval pairs (issue 33: >= 48 prompts per domain), and a
source named for a split that does not exist is refused by validate in one line."""

from __future__ import annotations

from lit_align.continual.evaluation import build_eval_splits
from lit_align.validation.config import parse_run_config, validate_config
from tests.conftest import write_jsonl


def _config(tmp_path, prompts: dict) -> dict:
    pairs = [{"prompt": f"Q{i}?", "chosen": "yes", "rejected": "no"} for i in range(3)]
    write_jsonl(tmp_path / "pairs.jsonl", pairs)
    return {
        "model": {"class_path": "tiny", "init_args": {"n_layer": 1, "d_model": 32, "n_head": 2, "vocab_size": 400}},
        "output_dir": str(tmp_path / "out"), "tracking": {"backend": "none"},
        "evaluation": {"generation": {"scorer": {"class_path": "tests.continual.test_sound_scores.EndsWithBang"},
                                      "num_prompts": 4, "prompts": prompts}},
        "sequence": [{"name": name, "method": {"class_path": "dpo"},
                      "data": {"train": {"path": "json", "data_files": str(tmp_path / "pairs.jsonl")},
                               "eval": {"path": "json", "data_files": str(tmp_path / "pairs.jsonl")}}}
                     for name in ("a", "b")],
    }


def test_a_prompt_source_replaces_the_pairs_prompts_of_its_split_only(tmp_path, tiny_policy):
    write_jsonl(tmp_path / "held_out.jsonl", [{"prompt": f"Held-out {i}?"} for i in range(6)])
    cfg = parse_run_config(_config(tmp_path, {"b": {"path": "json", "data_files": str(tmp_path / "held_out.jsonl")}}))
    splits = {s.name: s for s in build_eval_splits(cfg, tiny_policy.tokenizer)}
    assert splits["a"].prompts == ["Q0?", "Q1?", "Q2?"]
    assert splits["b"].prompts == [f"Held-out {i}?" for i in range(6)]  # num_prompts is applied when answering
    assert len(splits["b"].columns["row"]) == 3  # the pairwise score still reads the pairs


def test_validate_names_a_prompt_source_for_a_split_that_does_not_exist(tmp_path):
    problems = validate_config(_config(tmp_path, {"c": {"path": "json", "data_files": "x.jsonl"}}), check_data=False)
    assert problems == ["evaluation.generation.prompts.c: 'c' is not an eval split (splits: a, b)"]
