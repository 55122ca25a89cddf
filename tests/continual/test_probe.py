"""The general-ability probe (alignment tax): exact-answer matching, per-token answer
log-probs against a hand computation, drift and its warning, and a sequence that reports it
the same after a kill and resume."""

from __future__ import annotations

import json
import logging

import pytest
import torch
import yaml

from lit_align.config.data import SourceConfig
from lit_align.continual.probe import GeneralProbe, ProbeConfig, answer_logprobs, contains_answer
from tests.conftest import write_jsonl


@pytest.mark.parametrize("text,accepted,expected", [
    ("The capital of France is Paris.", ["Paris"], True),
    ("paris, of course", ["Paris"], True),
    ("Parisian food", ["Paris"], False),  # whole words only
    ("It has 4 legs.", ["four", "4"], True),
    ("It has 14 legs.", ["4"], False),
    ("anything", [" "], False),
])
def test_contains_answer(text, accepted, expected):
    assert contains_answer(text, accepted) is expected


def test_answer_logprobs_equal_a_hand_computation_and_ignore_padding(tiny_policy):
    model, tok = tiny_policy.model, tiny_policy.tokenizer
    prompts, answers = ["Name a color.", "Tell me about the long river in the north."], [" red", " it is long"]
    got = answer_logprobs(model, tok, prompts, answers, batch_size=2)
    for prompt, answer, value in zip(prompts, answers, got, strict=True):
        p = tok(prompt, add_special_tokens=False)["input_ids"]
        a = tok(answer, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([p + a])).logits[0].log_softmax(-1)
        hand = sum(logits[len(p) - 1 + i, t].item() for i, t in enumerate(a)) / len(a)
        assert value == pytest.approx(hand, abs=1e-5)
    assert answer_logprobs(model, tok, prompts[1:], answers[1:], batch_size=1) == pytest.approx(got[1:], abs=1e-5)


def _probe(tmp_path, policy, rows):
    path = write_jsonl(tmp_path / "probe.jsonl", rows)
    cfg = ProbeConfig(data=SourceConfig(path="json", data_files=str(path)), max_new_tokens=4, chat_template=False)
    return GeneralProbe(cfg, policy.tokenizer, seed=0)


def test_drift_is_zero_on_the_same_model_and_a_damaged_model_is_warned_about(tmp_path, tiny_policy, caplog):
    prompts = ["Name a color.", "Say a word.", "Tell me about the sun."]
    first = _probe(tmp_path, tiny_policy, [{"prompt": p} for p in prompts])
    first.set_reference(tiny_policy)
    # rows whose accepted answer is the untuned reply's first token: the untuned model gets them right
    words = [r.split()[0] if r.split() else "x" for r in first.reference_answers]
    probe = _probe(tmp_path, tiny_policy, [{"prompt": p, "answer": w} for p, w in zip(prompts, words, strict=True)]
                   + [{"prompt": "A prompt without an exact answer."}])
    base = probe.set_reference(tiny_policy)
    assert base["exact"] == 1.0
    same = probe.measure(tiny_policy, "noop")
    assert probe.drift(same) == {"exact_drift": 0.0, "exact_relative_drop": 0.0, "answer_logprob_drift": 0.0}
    with torch.no_grad():  # a scrambled output layer: other replies, lower likelihood of the old ones
        head = tiny_policy.model.get_output_embeddings().weight
        head.copy_(head[torch.randperm(head.shape[0], generator=torch.Generator().manual_seed(0))])
    with caplog.at_level(logging.WARNING, logger="lit_align.continual.probe"):
        damaged = probe.measure(tiny_policy, "bad_task")
    drift = probe.drift(damaged)
    assert drift["answer_logprob_drift"] < -0.05 and drift["exact_drift"] < 0
    assert "general probe: exact answers fell" in caplog.text and "'bad_task'" in caplog.text


def test_probe_rows_are_checked(tmp_path, tiny_policy):
    from lit_align.errors import ConfigError

    with pytest.raises(ConfigError, match=r"row 1: 'answer' must be a string or a list of strings"):
        _probe(tmp_path, tiny_policy, [{"prompt": "a"}, {"prompt": "b", "answer": 3}])
    with pytest.raises(ConfigError, match=r"row 0: 'prompt' must be a non-empty string"):
        _probe(tmp_path, tiny_policy, [{"prompt": " "}])


@pytest.mark.integration
def test_a_sequence_reports_the_probe_identically_after_a_kill(tmp_path):
    from tests.continual.test_runner import _fit_subprocess, sequence_config

    probe_rows = write_jsonl(tmp_path / "general.jsonl", [{"prompt": "Name a color.", "answer": ["red", "blue"]},
                                                          {"prompt": "What is two plus two?", "answer": ["4", "four"]},
                                                          {"prompt": "Say hello."}])
    runs = {}
    for name in ("killed", "clean"):
        path, out = sequence_config(tmp_path, out=name)
        cfg = yaml.safe_load(path.read_text())
        cfg["evaluation"]["probe"] = {"data": {"path": "json", "data_files": str(probe_rows)}, "max_new_tokens": 6,
                                      "chat_template": False}
        path.write_text(yaml.safe_dump(cfg))
        runs[name] = (path, out)
    assert _fit_subprocess(runs["killed"][0], kill_after=0).returncode == 137
    for name in ("killed", "clean"):
        proc = _fit_subprocess(runs[name][0])
        assert proc.returncode == 0, proc.stderr[-2000:]
    killed, clean = (json.loads((runs[n][1] / "results.json").read_text())["probe"] for n in ("killed", "clean"))
    assert killed == clean
    assert clean["tasks"] == ["polite", "colors", "short"] and len(clean["after"]) == 3
    assert set(clean["after"][0]) == {"exact", "answer_logprob", "exact_drift", "exact_relative_drop",
                                      "answer_logprob_drift"}
    assert clean["final"] == clean["after"][-1] and clean["final"]["answer_logprob_drift"] != 0.0
