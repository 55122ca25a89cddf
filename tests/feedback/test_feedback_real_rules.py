"""The real-model C3PO feedbacks' checks on hand-written prompts and answers (both verdicts each)."""

from __future__ import annotations

import json

from benchmarks.suites.feedback_real import FEEDBACKS, RealFeedbackGenerator

BY_NAME = {f.name: f for f in FEEDBACKS}


def test_scope_tests_read_the_prompt_keywords():
    assert BY_NAME["animals_exclaim"].in_scope("What do penguins eat?")
    assert not BY_NAME["animals_exclaim"].in_scope("What is the capital of Peru?")
    assert BY_NAME["recipe_numbered"].in_scope("How do I bake banana bread?")
    assert BY_NAME["money_disclaimer"].in_scope("Should I pay off debt or invest?")
    assert BY_NAME["code_language"].in_scope("How do I reverse a list in Python?")
    assert not BY_NAME["code_language"].in_scope("Let's go to the park.")


def test_adherence_tests_check_exactly_what_the_feedback_asks():
    exclaim, steps = BY_NAME["animals_exclaim"].follows, BY_NAME["recipe_numbered"].follows
    assert exclaim("Penguins eat fish and krill!  ") and not exclaim("Penguins eat fish.")
    assert steps("Steps:\n1. Mash bananas.\n2) Mix and bake.") and not steps("Mash bananas, then bake. 1 hour.")
    money = BY_NAME["money_disclaimer"].follows
    assert money("Pay the debt first.\nThis is not financial advice.") and not money("Pay the debt first.")
    code = BY_NAME["code_language"].follows
    assert code("In Python, use reversed(xs). It returns an iterator.")
    assert not code("Use reversed. In Python it returns an iterator.")  # named, but not in the first sentence
    assert not code("Let's go through it step by step.")


def test_the_programmatic_reviser_makes_answers_follow_and_its_prompts_sit_in_their_scope():
    from benchmarks.suites.feedback_real import RealFeedbackGenerator

    for item in FEEDBACKS:
        gen = RealFeedbackGenerator(name=item.name)
        in_prompts, near = gen.prompts(item.feedback, "in", 24, 0), gen.prompts(item.feedback, "near", 24, 0)
        assert len(set(in_prompts)) == len(in_prompts) >= 24 and not set(in_prompts) & set(near)
        assert all(item.in_scope(p) for p in in_prompts), item.name
        answers = ["It is a long story. It has two parts", "Short answer."]
        for prompt in in_prompts[:3]:
            revised = gen.revise(item.feedback, [prompt] * 2, answers)
            assert all(item.follows(r) for r in revised), (item.name, prompt, revised)
            assert not any(item.follows(a) for a in answers)  # the change is the revision's
    assert RealFeedbackGenerator(name="animals_exclaim").revise("f", ["p"], ["  "]) == [None]


def test_the_judge_scores_adherence_against_pi_0s_answer():
    from benchmarks.suites.feedback_real import RealFeedbackJudge

    judge = RealFeedbackJudge(name="money_disclaimer")
    disclaimer = "Spend less.\nThis is not financial advice."
    assert judge.score("f", ["p"] * 3, [disclaimer, "Spend less.", disclaimer], ["Spend less.", disclaimer, disclaimer]
                       ) == [1.0, -1.0, 0.0]


def test_the_general_pool_is_out_of_every_scope_and_apart_from_the_probe():
    """C3PO's out-of-scope rows come from this pool: a prompt in some feedback's scope would teach
    the opposite of the rule, and one shared with the probe would hide the drift the probe measures."""
    from benchmarks.suites.feedback_real import GENERAL_FILE
    from benchmarks.suites.real_probe import PROBE_FILE

    general = [json.loads(line)["prompt"] for line in GENERAL_FILE.read_text().splitlines()]
    probe = {json.loads(line)["prompt"] for line in PROBE_FILE.read_text().splitlines()}
    assert len(general) == len(set(general)) >= 36
    assert not [p for p in general for f in FEEDBACKS if f.in_scope(p)]
    assert not set(general) & probe


def test_the_templates_hold_enough_prompts_for_the_study():
    for f in FEEDBACKS:
        generator = RealFeedbackGenerator(name=f.name)
        assert len(set(generator.prompts(f.feedback, "in", 999, 0))) >= 36
        assert len(set(generator.prompts(f.feedback, "near", 999, 0))) >= 36
