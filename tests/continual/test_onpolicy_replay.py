"""On-policy replay (`memory.onpolicy`, issue 32): replayed prompts answered afresh by the policy
and judged by the replayed task's scorer; the pairs equal a direct call of the pair builder on the
same samples; rows whose answers do not separate keep their stored pair, counted; a task without a
judge is named; the same replayed pairs after a kill and resume."""

from __future__ import annotations

import json
import math

import pytest

from lit_align.binding import ComponentSpec
from lit_align.config.data import OnPolicyConfig
from lit_align.continual.onpolicy_replay import refresh_replay
from lit_align.errors import ConfigError
from lit_align.scorers import ResponseScorer
from lit_align.validation.config import validate_config


class LengthJudge(ResponseScorer):
    """Longer answers score higher; knows the tasks `a` and `b` only."""

    def score(self, split, prompts, responses):
        if split not in ("a", "b"):
            raise ValueError(f"no rule for split {split!r}")
        return [len(r) / 10 for r in responses]


class FlatJudge(ResponseScorer):
    def score(self, split, prompts, responses):
        return [0.5] * len(responses)


def _settings(judge: str, min_gap: float = 0.1) -> OnPolicyConfig:
    return OnPolicyConfig(scorer=ComponentSpec(f"tests.continual.test_onpolicy_replay.{judge}"), k=3,
                          max_new_tokens=8, min_gap=min_gap, batch_size=8)


def _rows(tokenizer, tasks):
    ids = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    return [{"task": t, "row": i, "prompt_ids": ids(f"Tell me about thing {i}."), "chosen_ids": ids(" yes"),
             "rejected_ids": ids(" no")} for i, t in enumerate(tasks)]


def test_fresh_pairs_equal_the_builder_on_the_same_samples(tiny_policy):
    from lit_align.data.onpolicy import best_vs_worst
    from lit_align.generation import Sampling, generate_with_stops

    tok = tiny_policy.tokenizer
    rows = _rows(tok, ["a", "b", "a"])
    out, report = refresh_replay(rows, tiny_policy, _settings("LengthJudge"), seed=5, max_length=64)
    prompts = [tok.decode(r["prompt_ids"]) for r in rows]
    answers, _ = generate_with_stops(tiny_policy.model, tok, [p for p in prompts for _ in range(3)],
                                     Sampling(max_new_tokens=8, temperature=1.0, batch_size=8), 5)
    fresh = 0
    for i, (row, new) in enumerate(zip(rows, out, strict=True)):
        pair, _ = best_vs_worst(prompts[i], answers[3 * i : 3 * i + 3], lambda a: len(a) / 10, 0.1)
        assert new["prompt_ids"] == row["prompt_ids"] and new["task"] == row["task"]
        if pair is None:
            assert new == row
            continue
        fresh += 1
        assert new["chosen_ids"] == tok(pair["chosen"], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        assert new["rejected_ids"] == tok(pair["rejected"], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert fresh == report.fresh > 0 and report.replayed == 3
    again, _ = refresh_replay(rows, tiny_policy, _settings("LengthJudge"), seed=5, max_length=64)
    assert again == out  # seeded


def test_rows_whose_answers_do_not_separate_keep_their_stored_pair(tiny_policy):
    rows = _rows(tiny_policy.tokenizer, ["a", "b"])
    out, report = refresh_replay(rows, tiny_policy, _settings("FlatJudge"), seed=0, max_length=64)
    assert out == rows and report.fresh == 0 and report.kept_stored == {"all_equal": 2}
    assert report.summary().startswith("memory.onpolicy: 0 of 2 replayed pairs answered afresh")


def test_a_replayed_task_without_a_judge_is_named(tiny_policy):
    rows = _rows(tiny_policy.tokenizer, ["a", "polite"])
    with pytest.raises(ConfigError, match="cannot judge replayed task 'polite'"):
        refresh_replay(rows, tiny_policy, _settings("LengthJudge"), seed=0, max_length=64)


def test_onpolicy_replay_without_replay_is_refused(tmp_path):
    import yaml

    from tests.continual.test_runner import sequence_config

    path, _ = sequence_config(tmp_path, memory={"per_task": 0.5, "replay_ratio": 0.0, "onpolicy": {
        "scorer": {"class_path": "tests.continual.test_onpolicy_replay.LengthJudge"}}})
    problems = validate_config(yaml.safe_load(path.read_text()), check_data=False)
    assert any("memory.onpolicy regenerates replayed pairs, but memory.replay_ratio is 0" in p for p in problems)


class DomainLengthJudge(ResponseScorer):
    def score(self, split, prompts, responses):
        return [len(r) / 10 for r in responses]


@pytest.mark.integration
def test_the_same_replayed_pairs_after_a_kill_and_resume(tmp_path):
    from tests.continual.test_runner import _fit_subprocess, sequence_config

    memory = {"per_task": 0.5, "replay_ratio": 0.25, "onpolicy": {
        "scorer": {"class_path": "tests.continual.test_onpolicy_replay.DomainLengthJudge"}, "k": 3,
        "max_new_tokens": 8, "min_gap": 0.1}}
    killed, killed_dir = sequence_config(tmp_path, out="killed", memory=memory)
    clean, clean_dir = sequence_config(tmp_path, out="clean", memory=memory)
    assert _fit_subprocess(killed, kill_after=1).returncode == 137
    for path in (killed, clean):
        proc = _fit_subprocess(path)
        assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((clean_dir / "results.json").read_text())
    notes = [n for t in results["tasks_detail"] for n in t["data"] if n.startswith("memory.onpolicy")]
    assert len(notes) == len(results["tasks_detail"]) - 1  # every task after the first replays
    assert all("answered afresh by the policy" in n for n in notes)
    resumed = json.loads((killed_dir / "results.json").read_text())
    assert resumed["matrix"] == results["matrix"] and not any(math.isnan(v) for row in results["matrix"] for v in row)
    assert [t["data"] for t in resumed["tasks_detail"]] == [t["data"] for t in results["tasks_detail"]]
