"""Checkable verbal-feedback rules on the synthetic domains (C3PO's offline suite).

Each rule is one piece of feedback with the parts C3PO's data generation needs,
made programmatically so adherence can be checked exactly: prompts where the
feedback applies (in-scope), related prompts where it must not (near-scope), a
checker, and a reviser that applies the feedback to an answer (the role the
model itself plays, prompted with the feedback, in the paper).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from lit_align.data.synthetic import COLORS, DOMAINS, KEYWORDS, NUMBERS, TOPICS

ANIMALS = ["cat", "dog", "bird", "fish"]
SKY = ["sun", "moon", "star"]
TECH = ["code", "python", "data"]


def _words(text: str) -> list[str]:
    return text.replace(",", " ").replace(".", " ").replace("!", " ").replace(":", " ").split()


@dataclass(frozen=True)
class FeedbackRule:
    name: str
    feedback: str
    in_scope: Callable[[random.Random], str]
    near_scope: Callable[[random.Random], str]
    applies: Callable[[str], bool]  # is a prompt in scope?
    adheres: Callable[[str, str], bool]  # (prompt, answer) -> does the answer follow the feedback?
    revise: Callable[[str, str], str | None]  # the answer with the feedback applied; None when impossible


def _upper_colors(prompt: str, answer: str) -> str | None:
    words = answer.split(" ")
    if not any(w.strip(",.").lower() in COLORS for w in words):
        return None
    return " ".join(w.upper() if w.strip(",.").lower() in COLORS else w for w in words)


def _colors_in_capitals(prompt: str, answer: str) -> bool:
    found = [w for w in _words(answer) if w.lower() in COLORS]
    return bool(found) and all(w.isupper() for w in found)


def _end_with(mark: str) -> Callable[[str, str], str | None]:
    return lambda p, a: a.rstrip().rstrip(".!") + mark if a.strip() else None


def _prefix(text: str) -> Callable[[str, str], str | None]:
    return lambda p, a: f"{text} {a.strip()}" if a.strip() else None


def _topic_in(prompt: str, topics: list[str]) -> bool:
    return any(f" {t} " in prompt or f" {t}." in prompt for t in topics)


# the suite's prompt shapes with a topic slot (polite, keyword, avoid, short, concise)
SHAPES: list[Callable[[str, random.Random], str]] = [
    lambda t, r: f"Tell me about the {t}.",
    lambda t, r: f"Describe the {t} with the word {r.choice(KEYWORDS)}.",
    lambda t, r: f"Write about the {t} without the word very.",
    lambda t, r: f"Summarize the {t} in short.",
    lambda t, r: f"Explain the {t}.",
]


def _about(topics: list[str]) -> Callable[[random.Random], str]:
    """A prompt of any topic-taking shape about one of `topics`."""
    return lambda r: r.choice(SHAPES)(r.choice(topics), r)


def _others(topics: list[str]) -> list[str]:
    return [t for t in TOPICS if t not in topics]


def _quote_keyword(prompt: str, answer: str) -> str | None:
    keyword = prompt.rstrip(".").split(" ")[-1]
    words = answer.split(" ")
    if not any(w.strip(",.!") == keyword for w in words):
        return None
    return " ".join(w.replace(keyword, f"'{keyword}'") if w.strip(",.!") == keyword else w for w in words)


def _keyword_quoted(prompt: str, answer: str) -> bool:
    return f"'{prompt.rstrip('.').split(' ')[-1]}'" in answer


RULES: dict[str, FeedbackRule] = {
    "capital_colors": FeedbackRule(
        "capital_colors", "When you name colors, write every color in capital letters.",
        lambda r: f"Name {r.choice(NUMBERS)} colors.",
        lambda r: f"Describe the {r.choice(COLORS)} {r.choice(TOPICS)}.",
        lambda p: p.startswith("Name ") and p.endswith(" colors."),
        _colors_in_capitals, _upper_colors,
    ),
    "exclaim_animals": FeedbackRule(
        "exclaim_animals", "When you talk about an animal, end your answer with an exclamation mark.",
        _about(ANIMALS), _about(_others(ANIMALS)),
        lambda p: _topic_in(p, ANIMALS),
        lambda p, a: a.rstrip().endswith("!"), _end_with("!"),
    ),
    "summary_prefix": FeedbackRule(
        "summary_prefix", "When asked to summarize, begin the answer with 'In short:'.",
        lambda r: r.choice(["Summarize the {} in short.", "Summarize the {}."]).format(r.choice(TOPICS)),
        lambda r: r.choice(["Explain the {}.", "Tell me about the {}."]).format(r.choice(TOPICS)),
        lambda p: p.startswith("Summarize "),
        lambda p, a: a.strip().startswith("In short:"), _prefix("In short:"),
    ),
    "sky_mention": FeedbackRule(
        "sky_mention", "When you write about the sun, the moon or a star, mention the sky.",
        _about(SKY), _about(["river", "mountain", "earth", "fire", "water", "tree"]),
        lambda p: _topic_in(p, SKY),
        lambda p, a: "sky" in _words(a.lower()), _end_with(" in the sky."),
    ),
    "technical_code": FeedbackRule(
        "technical_code", "When the topic is code, python or data, use the word 'technically'.",
        _about(TECH), _about(["book", "music", "city"]),
        lambda p: _topic_in(p, TECH),
        lambda p, a: "technically" in _words(a.lower()), _prefix("Technically,"),
    ),
    "quote_keyword": FeedbackRule(
        "quote_keyword", "When asked to use a given word, put that word in single quotes.",
        lambda r: f"Describe the {r.choice(TOPICS)} with the word {r.choice(KEYWORDS)}.",
        lambda r: f"Write about the {r.choice(TOPICS)} without the word very.",
        lambda p: p.startswith("Describe the ") and " with the word " in p,
        _keyword_quoted, _quote_keyword,
    ),
}


def rule_named(name: str) -> FeedbackRule:
    """The rule called `name`; a config error listing the rules otherwise."""
    if name not in RULES:
        from lit_align.errors import ConfigError

        raise ConfigError(f"rule: unknown rule {name!r}; choose one of {', '.join(sorted(RULES))}")
    return RULES[name]


def out_of_scope_prompts(rule: FeedbackRule, n: int, seed: int) -> list[str]:
    """Distinct prompts of the synthetic domains where the rule does not apply (a seeded sample)."""
    rng = random.Random(f"out-{rule.name}-{seed}")
    makers = [d.make_prompt for name, d in sorted(DOMAINS.items())]
    out: dict[str, None] = {}
    for _ in range(100 * n):
        if len(out) == n:
            break
        prompt = rng.choice(makers)(rng)
        if not rule.applies(prompt):
            out[prompt] = None
    return list(out)  # fewer than n when the domains hold fewer: the build reports the shortfall
