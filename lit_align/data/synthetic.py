"""Programmatic preference domains with a known gold reward.

Each domain draws prompts from its own distribution and scores any response
with a rule (`gold_reward(prompt, response) -> float in [0, 1]`), so preference
pairs, SFT targets, ranked samples and generated answers can all be judged
without humans or hub data. Everything is seeded.

Why each domain exists (docs/benchmarks.md):
- `polite`, `colors`, `keyword`, `avoid`, `short`: five skills on five prompt
  distributions that share surface features (length, openings, vocabulary), so
  learning one moves the others: the interference continual methods must manage.
- `concise` / `verbose`: the same prompts with opposite preferences: a direct
  conflict, and, in that order, an outdated preference being corrected (drift).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lit_align.scorers import ResponseScorer

TOPICS = ["cat", "dog", "bird", "fish", "tree", "river", "mountain", "city", "book", "music",
          "food", "water", "fire", "earth", "sun", "moon", "star", "python", "code", "data"]
COLORS = ["red", "green", "blue", "yellow", "black", "white"]
NUMBERS = ["one", "two", "three", "four", "five"]
KEYWORDS = ["bright", "calm", "simple", "useful", "strong"]
ADJECTIVES = ["good", "nice", "helpful", "safe", "clear"]
FILLER = ("and it is very good because it is what it is and we all like it so much "
          "that we could talk about it for a long time").split()


@dataclass(frozen=True)
class Domain:
    """A preference domain: a prompt sampler, good and bad responses, a gold reward."""

    name: str
    make_prompt: Callable[[random.Random], str]
    good: Callable[[str, random.Random], str]
    bad: Callable[[str, random.Random], str]
    gold_reward: Callable[[str, str], float]
    partial: Callable[[str, random.Random], str] | None = None  # a middling answer, for rankings


def _topic(prompt: str) -> str:
    return next((t for t in TOPICS if f" {t}" in prompt), "it")


def _count(prompt: str) -> int:
    return next((i + 1 for i, n in enumerate(NUMBERS) if f" {n} " in prompt), 1)


def _keyword(prompt: str) -> str:
    return next((k for k in KEYWORDS if f" {k}" in prompt), KEYWORDS[0])


def _words(response: str) -> list[str]:
    return response.replace(",", " ").replace(".", " ").split()


# -- gold rewards -------------------------------------------------------------------------
def _colors_reward(prompt: str, response: str) -> float:
    items = [w.strip(" .") for w in response.split(",") if w.strip(" .")]
    return float(len(items) == _count(prompt) and all(i in COLORS for i in items))


def _polite_reward(prompt: str, response: str) -> float:
    return float(response.startswith("Sure,")) * 0.5 + float(_topic(prompt) in response) * 0.5


def _short_reward(prompt: str, response: str) -> float:
    if _topic(prompt) not in response:
        return 0.0
    n = len(_words(response))
    return 1.0 if n <= 4 else 0.5 if n <= 8 else 0.0


def _keyword_reward(prompt: str, response: str) -> float:
    return float(_keyword(prompt) in _words(response)) * 0.7 + float(_topic(prompt) in response) * 0.3


def _avoid_reward(prompt: str, response: str) -> float:
    return float("very" not in _words(response)) * 0.7 + float(_topic(prompt) in response) * 0.3


def _concise_reward(prompt: str, response: str) -> float:
    return float(_topic(prompt) in response and len(_words(response)) <= 5)


def _verbose_reward(prompt: str, response: str) -> float:
    return float(_topic(prompt) in response and len(_words(response)) >= 10)


def _filler(rng: random.Random, n: int) -> str:
    return " ".join(rng.sample(FILLER, n))


DOMAINS: dict[str, Domain] = {
    "polite": Domain(
        "polite",
        lambda r: f"Tell me about the {r.choice(TOPICS)}.",
        lambda p, r: f"Sure, the {_topic(p)} is {r.choice(ADJECTIVES)}.",
        lambda p, r: f"No. {r.choice(['Go away', 'Do not ask', 'Not now'])}.",
        _polite_reward,
        partial=lambda p, r: f"The {_topic(p)} is {r.choice(ADJECTIVES)}.",
    ),
    "colors": Domain(
        "colors",
        lambda r: f"Name {r.choice(NUMBERS)} colors.",
        lambda p, r: ", ".join(r.sample(COLORS, _count(p))) + ".",
        lambda p, r: ", ".join(r.sample(COLORS, (_count(p) % 5) + 1)) + ".",
        _colors_reward,
    ),
    "keyword": Domain(
        "keyword",
        lambda r: f"Describe the {r.choice(TOPICS)} with the word {r.choice(KEYWORDS)}.",
        lambda p, r: f"The {_topic(p)} is {_keyword(p)}.",
        lambda p, r: f"The {_topic(p)} is {r.choice([k for k in KEYWORDS if k != _keyword(p)])}.",
        _keyword_reward,
        partial=lambda p, r: f"It is {_keyword(p)}.",
    ),
    "avoid": Domain(
        "avoid",
        lambda r: f"Write about the {r.choice(TOPICS)} without the word very.",
        lambda p, r: f"The {_topic(p)} is {r.choice(ADJECTIVES)}.",
        lambda p, r: f"The {_topic(p)} is very {r.choice(ADJECTIVES)}.",
        _avoid_reward,
        partial=lambda p, r: f"It is {r.choice(ADJECTIVES)}.",
    ),
    "short": Domain(
        "short",
        lambda r: f"Summarize the {r.choice(TOPICS)} in short.",
        lambda p, r: f"The {_topic(p)} is {r.choice(ADJECTIVES)}.",
        lambda p, r: f"The {_topic(p)} is " + _filler(r, 12) + ".",
        _short_reward,
        partial=lambda p, r: f"The {_topic(p)} is " + _filler(r, 4) + ".",
    ),
    "concise": Domain(
        "concise",
        lambda r: f"Explain the {r.choice(TOPICS)}.",
        lambda p, r: f"The {_topic(p)} is {r.choice(ADJECTIVES)}.",
        lambda p, r: f"The {_topic(p)} is " + _filler(r, 10) + ".",
        _concise_reward,
    ),
    "verbose": Domain(
        "verbose",
        lambda r: f"Explain the {r.choice(TOPICS)}.",
        lambda p, r: f"The {_topic(p)} is " + _filler(r, 10) + ".",
        lambda p, r: f"The {_topic(p)} is {r.choice(ADJECTIVES)}.",
        _verbose_reward,
    ),
}


def _rng(domain: str, seed: int, kind: str) -> random.Random:
    return random.Random(f"{domain}-{kind}-{seed}")


def preference_pairs(domain: str, n: int, seed: int) -> list[dict[str, Any]]:
    """`n` TRL-style rows `{prompt, chosen, rejected, domain}` with gold(chosen) > gold(rejected)."""
    d = DOMAINS[domain]
    rng = random.Random(f"{domain}-{seed}")
    rows: list[dict[str, Any]] = []
    for _ in range(100 * n):
        if len(rows) == n:
            break
        prompt = d.make_prompt(rng)
        chosen, rejected = d.good(prompt, rng), d.bad(prompt, rng)
        if d.gold_reward(prompt, chosen) > d.gold_reward(prompt, rejected):
            rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected, "domain": domain})
    if len(rows) < n:
        raise RuntimeError(f"domain {domain!r} cannot produce {n} pairs its gold reward orders")
    return rows


def sft_examples(domain: str, n: int, seed: int) -> list[dict[str, Any]]:
    """`n` rows `{prompt, completion, domain}` whose completion has the top gold reward."""
    return [
        {"prompt": r["prompt"], "completion": r["chosen"], "domain": domain}
        for r in preference_pairs(domain, n, seed)
    ]


def ranked_samples(domain: str, n: int, seed: int) -> list[dict[str, Any]]:
    """`n` rows `{prompt, responses, scores, domain}`: distinct responses scored by the gold
    reward (good, middling where the domain has one, bad), for ranking-based methods."""
    d = DOMAINS[domain]
    rng = _rng(domain, seed, "ranked")
    rows: list[dict[str, Any]] = []
    for _ in range(100 * n):
        if len(rows) == n:
            break
        prompt = d.make_prompt(rng)
        makers = [d.good, d.bad] + ([d.partial] if d.partial else [])
        responses = list(dict.fromkeys(make(prompt, rng) for make in makers))
        scores = [d.gold_reward(prompt, r) for r in responses]
        if len(set(scores)) == len(scores) >= 2:
            rows.append({"prompt": prompt, "responses": responses, "scores": scores, "domain": domain})
    if len(rows) < n:
        raise RuntimeError(f"domain {domain!r} cannot produce {n} ranked samples with distinct scores")
    return rows


def unlabeled_prompts(domain: str, n: int, seed: int) -> list[dict[str, Any]]:
    """`n` rows `{prompt, domain}` (for methods that sample and score their own responses)."""
    rng = _rng(domain, seed, "prompts")
    return [{"prompt": DOMAINS[domain].make_prompt(rng), "domain": domain} for _ in range(n)]


def gold_reward(domain: str, prompt: str, response: str) -> float:
    return DOMAINS[domain].gold_reward(prompt, response)


class SyntheticGoldScorer(ResponseScorer):
    """`ResponseScorer` for the synthetic suite: each split is scored by its domain's rule.

    `domains` maps split names to domain names where they differ (default: same name).
    """

    def __init__(self, *, domains: dict[str, str] | None = None) -> None:
        self.domains = domains or {}

    def score(self, split: str, prompts: list[str], responses: list[str]) -> list[float]:
        domain = self.domains.get(split, split)
        if domain not in DOMAINS:
            raise ValueError(f"split {split!r} is not a synthetic domain; map it with scorer init_args.domains")
        return [gold_reward(domain, p, r) for p, r in zip(prompts, responses, strict=True)]
