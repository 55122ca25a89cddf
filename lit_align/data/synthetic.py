"""Programmatic preference domains with a known gold reward.

Each domain draws prompts from its own distribution and scores any response with
a rule (`gold_reward`), so preference pairs, SFT targets and generated answers
can all be judged without humans or hub data. Generation is seeded.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TOPICS = ["cat", "dog", "bird", "fish", "tree", "river", "mountain", "city", "book", "music",
          "food", "water", "fire", "earth", "sun", "moon", "star", "python", "code", "data"]
COLORS = ["red", "green", "blue", "yellow", "black", "white"]
NUMBERS = ["one", "two", "three", "four", "five"]
FILLER = ("and it is very good because it is what it is and we all like it so much "
          "that we could talk about it for a long time").split()


@dataclass(frozen=True)
class Domain:
    """A preference domain: a prompt sampler, a good and a bad response, a gold reward."""

    name: str
    make_prompt: Callable[[random.Random], str]
    good: Callable[[str, random.Random], str]
    bad: Callable[[str, random.Random], str]
    gold_reward: Callable[[str, str], float]


def _topic(prompt: str) -> str:
    return next((t for t in TOPICS if f" {t}" in prompt), "it")


def _count(prompt: str) -> int:
    return next((i + 1 for i, n in enumerate(NUMBERS) if f" {n} " in prompt), 1)


def _colors_reward(prompt: str, response: str) -> float:
    items = [w.strip(" .") for w in response.split(",") if w.strip(" .")]
    return float(len(items) == _count(prompt) and all(i in COLORS for i in items))


def _polite_reward(prompt: str, response: str) -> float:
    return float(response.startswith("Sure,") and _topic(prompt) in response)


def _short_reward(prompt: str, response: str) -> float:
    return float(len(response.split()) <= 4 and _topic(prompt) in response)


DOMAINS: dict[str, Domain] = {
    "colors": Domain(
        "colors",
        lambda r: f"Name {r.choice(NUMBERS)} colors.",
        lambda p, r: ", ".join(r.sample(COLORS, _count(p))) + ".",
        lambda p, r: ", ".join(r.sample(COLORS, (_count(p) % 5) + 1)) + ".",
        _colors_reward,
    ),
    "polite": Domain(
        "polite",
        lambda r: f"Tell me about the {r.choice(TOPICS)}.",
        lambda p, r: f"Sure, the {_topic(p)} is {r.choice(['good', 'very good', 'helpful'])}.",
        lambda p, r: f"No. {r.choice(['Go away', 'Do not ask', 'Not now'])}.",
        _polite_reward,
    ),
    "short": Domain(
        "short",
        lambda r: f"Summarize the {r.choice(TOPICS)} in short.",
        lambda p, r: f"The {_topic(p)} is {r.choice(['good', 'safe', 'helpful'])}.",
        lambda p, r: f"The {_topic(p)} is " + " ".join(r.sample(FILLER, 12)) + ".",
        _short_reward,
    ),
}


def preference_pairs(domain: str, n: int, seed: int) -> list[dict[str, Any]]:
    """`n` TRL-style rows `{prompt, chosen, rejected, domain}` where gold(chosen) > gold(rejected)."""
    d = DOMAINS[domain]
    rng = random.Random(f"{domain}-{seed}")
    rows = []
    while len(rows) < n:
        prompt = d.make_prompt(rng)
        chosen, rejected = d.good(prompt, rng), d.bad(prompt, rng)
        if d.gold_reward(prompt, chosen) > d.gold_reward(prompt, rejected):
            rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected, "domain": domain})
    return rows


def sft_examples(domain: str, n: int, seed: int) -> list[dict[str, Any]]:
    """`n` rows `{prompt, completion, domain}` whose completion has gold reward 1."""
    return [
        {"prompt": r["prompt"], "completion": r["chosen"], "domain": domain}
        for r in preference_pairs(domain, n, seed)
    ]
