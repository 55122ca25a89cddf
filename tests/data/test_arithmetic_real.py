"""The MUSCLE real-model task (benchmarks/suites/arithmetic_real.py): right answers, real slips,
held-out items apart from training ones, rows the project's ranked and SFT readers take."""

from __future__ import annotations

import re

import datasets

from benchmarks.suites.arithmetic_real import choice_rows, problems, sft_rows
from lit_align.data.tokenize import TokenizeSettings, tokenize_dataset

NUMBERS = re.compile(r"\d+")


def test_answers_are_the_sum_or_difference_and_slips_are_three_distinct_wrong_numbers():
    for p in problems(200, 7):
        a, b = (int(x) for x in NUMBERS.findall(p.question))
        subtract = any(w in p.question for w in ("gives away", "takes out", "lost"))
        assert p.answer == (a - b if subtract else a + b) and p.answer >= 0
        assert len(set(p.slips)) == 3 and p.answer not in p.slips and min(p.slips) >= 0


def test_problems_are_seeded_and_held_out_items_avoid_training_questions():
    train = problems(150, 1)
    assert [p.question for p in train] == [p.question for p in problems(150, 1)]
    held_out = problems(150, 2, avoid={p.question for p in train})
    assert not {p.question for p in train} & {p.question for p in held_out}
    assert len({p.question for p in held_out}) == 150


def test_rows_render_through_the_chat_template_as_ranked_and_sft(tiny_policy):
    tok = tiny_policy.tokenizer
    items = problems(4, 3)
    ranked, report = tokenize_dataset(datasets.Dataset.from_list(choice_rows(items)), "ranked", tok,
                                      TokenizeSettings(max_length=256, max_prompt_length=200), "t")
    assert report.kept == 4 and ranked["scores"][0] == [1.0, 0.0, 0.0, 0.0]
    assert str(items[0].answer) in tok.decode(ranked["response_ids"][0][0])
    sft, report = tokenize_dataset(datasets.Dataset.from_list(sft_rows(items)), "sft", tok,
                                   TokenizeSettings(max_length=256, max_prompt_length=200), "t")
    assert report.kept == 4
