"""The LANCET real-model scenario's data: parts disjoint, every injected refusal detectable."""

from __future__ import annotations

import random

from benchmarks.suites import lancet_real as scenario
from lit_align.data.refusal import is_refusal


def test_history_parts_are_disjoint_and_sized():
    parts = scenario.history_prompts()
    sizes = {name: len(rows) for name, rows in parts.items()}
    assert sizes["test"] == 48 and sizes["fresh"] == 48 and sizes["queries"] == 16 and sizes["train"] >= 30
    prompts = [p for rows in parts.values() for p, _ in rows]
    assert len(prompts) == len(set(prompts))
    assert parts == scenario.history_prompts()  # seeded: the same parts every call


def test_every_injected_refusal_is_one_the_rule_flags():
    rng = random.Random(0)
    assert all(is_refusal(template.format(topic="owls")) for template in scenario.REFUSALS)
    assert is_refusal(scenario.refusal("tea", rng))


def test_clean_prompts_never_ask_a_history_question():
    clean = scenario.clean_prompts(per_family=80, held_out=12)
    history = {p for rows in scenario.history_prompts().values() for p, _ in rows}
    assert len(clean["train"]) == 320 and len(clean["test"]) == 48
    assert not (set(clean["train"]) | set(clean["test"])) & history
    assert not set(clean["train"]) & set(clean["test"])
