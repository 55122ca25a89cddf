"""Judges and S_in / S_out / S_overall of an adapted model's answers (hand-computed)."""

import pytest

from lit_align.binding import ComponentSpec
from lit_align.errors import DataError
from lit_align.feedback.backends import ChatBackend
from lit_align.feedback.evaluation import evaluate_feedback
from lit_align.feedback.judges import LLMJudge, RuleJudge

ROWS = [
    {"scope": "in", "prompt": "Tell me about the cat.", "baseline": "The cat is good."},
    {"scope": "in", "prompt": "Tell me about the dog.", "baseline": "The dog is good."},
    {"scope": "near", "prompt": "Tell me about the tree.", "baseline": "The tree is good."},
    {"scope": "out", "prompt": "Name two colors.", "baseline": "red, blue!"},
    {"scope": "out", "prompt": "Explain the fire.", "baseline": "The fire is good."},
]
ADAPTED = {"Tell me about the cat.": "The cat is good!", "Tell me about the dog.": "The dog is good.",
           "Tell me about the tree.": "The tree is good!", "Name two colors.": "red, blue.",
           "Explain the fire.": "The fire is good."}


def answer(prompts):
    return [ADAPTED[p] for p in prompts]


def test_rule_judge_gives_the_heuristic_score():
    judge = RuleJudge(rule="exclaim_animals")
    assert judge.score("f", ["p"] * 4, ["a!", "a!", "a", "a"], ["b", "b!", "b!", "b"]) == [1.0, 0.0, -1.0, 0.0]


def test_evaluate_feedback_hand_computed():
    report = evaluate_feedback("f", ROWS, answer, RuleJudge(rule="exclaim_animals"))
    # in: [1, 0] -> 0.5; near: [1], out: [-1, 0] -> mean |score| = 2/3; overall (0.5 + 1/3) / 2
    assert report["s_in"] == pytest.approx(0.5)
    assert report["s_out"] == pytest.approx(2 / 3)
    assert report["s_overall"] == pytest.approx((0.5 + 1 / 3) / 2)
    assert report["scopes"]["out"]["mean_score"] == pytest.approx(-0.5)
    assert report["scopes"]["out"]["mean_abs_score"] == pytest.approx(0.5)
    # judge-free change rate: one of two answers differs from the baseline in each of these scopes
    assert report["scopes"]["in"]["changed"] == 0.5 and report["scopes"]["out"]["changed"] == 0.5
    assert report["scopes"]["near"]["changed"] == 1.0


class Scripted(ChatBackend):
    def __init__(self, replies):
        self.replies, self.asks = list(replies), []

    def complete(self, conversations, *, seed):
        self.asks += [c[-1]["content"] for c in conversations]
        return [self.replies.pop(0) for _ in conversations]


def test_llm_judge_parses_scores_and_counts_what_it_cannot_score(monkeypatch):
    judge = LLMJudge(backend=ComponentSpec("openai_chat", {"base_url": "http://127.0.0.1:9/v1", "model": "m"}))
    judge.backend = Scripted(["1", "no idea", "0", "-0.5", "0.5"])
    report = evaluate_feedback("Be loud.", ROWS, answer, judge)
    assert report["scopes"]["in"] == report["scopes"]["in"] | {"n": 2, "unjudged": 1, "mean_score": 1.0}
    assert report["s_in"] == 1.0 and report["s_out"] == pytest.approx((0 + 0.5 + 0.5) / 3)
    assert 'Feedback: "Be loud."' in judge.backend.asks[0] and "Answer B:\nThe cat is good!" in judge.backend.asks[0]


def test_evaluation_refuses_missing_scopes_and_an_unusable_judge():
    with pytest.raises(DataError, match="no in-scope rows"):
        evaluate_feedback("f", ROWS[2:], answer, RuleJudge(rule="exclaim_animals"))
    judge = LLMJudge(backend=ComponentSpec("openai_chat", {"base_url": "http://127.0.0.1:9/v1", "model": "m"}))
    judge.backend = Scripted(["?"] * 5)
    with pytest.raises(DataError, match="scored none of the 2 in-scope answers"):
        evaluate_feedback("f", ROWS, answer, judge)
