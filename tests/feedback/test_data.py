"""Feedback datasets: the synthetic rules are checkable, rows are packed, bad generator output is counted."""

import random

import pytest

from lit_align.errors import DataError
from lit_align.feedback.dataset import FeedbackGenerator, SyntheticFeedbackGenerator, build_feedback_rows
from lit_align.feedback.synthetic import RULES, out_of_scope_prompts


def plain_answers(prompts):
    """A stand-in for pi_0: a plain answer naming the prompt's colours or topic."""
    def one(p):
        if p.startswith("Name "):
            return "red, blue."
        topic = p.split(" the ")[-1].split(" ")[0].strip(".")
        return f"The {topic} is {p.rstrip('.').split(' ')[-1]}." if " with the word " in p else f"The {topic} is good."

    return [one(p) for p in prompts]


@pytest.mark.parametrize("name", sorted(RULES))
def test_each_rule_revises_what_it_checks_and_scopes_its_prompts(name):
    rule = RULES[name]
    rng = random.Random(0)
    for _ in range(20):
        assert rule.applies(rule.in_scope(rng)) and not rule.applies(rule.near_scope(rng))
    generator = SyntheticFeedbackGenerator(rule=name)
    rows, dropped = build_feedback_rows(generator, rule.feedback, plain_answers,
                                        out_of_scope=out_of_scope_prompts(rule, 8, seed=0), n_in=8, n_near=8, seed=0)
    assert len(rows) == min(8, len(generator.prompts(rule.feedback, "in", 8, seed=0)))  # capital_colors has 5
    assert set(dropped) <= {"unpaired"}
    for row in rows:
        assert rule.adheres(row["prompt"], row["chosen"]) and not rule.adheres(row["prompt"], row["rejected"])
        assert not rule.applies(row["near_prompt"]) and not rule.applies(row["out_prompt"])
        assert row["near_completion"] and row["out_completion"]


class HalfBroken(FeedbackGenerator):
    def prompts(self, feedback, scope, n, seed):
        return [f"Tell me about the cat {i}." for i in range(n)]

    def revise(self, feedback, prompts, answers):
        return [None if i % 2 else a + "!" for i, a in enumerate(answers)]


class WrongLength(HalfBroken):
    def revise(self, feedback, prompts, answers):
        return answers[:1]


def test_unusable_generator_output_is_counted_or_refused():
    rows, dropped = build_feedback_rows(HalfBroken(), "f", plain_answers, out_of_scope=["Name two colors."] * 8,
                                        n_in=8, n_near=8, seed=0)
    assert len(rows) == 4 and dropped == {"cannot_revise": 4, "unpaired": 8}
    with pytest.raises(ValueError, match="one per prompt"):
        build_feedback_rows(WrongLength(), "f", plain_answers, out_of_scope=["x"], n_in=2, n_near=2, seed=0)
    with pytest.raises(DataError, match="no complete rows"):
        build_feedback_rows(HalfBroken(), "f", lambda ps: [""] * len(ps), out_of_scope=["x"], n_in=2, n_near=2,
                            seed=0)


def test_unknown_rule_is_a_config_error():
    with pytest.raises(Exception, match="choose one of"):
        SyntheticFeedbackGenerator(rule="nope")
