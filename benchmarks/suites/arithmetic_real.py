"""A downstream task for MUSCLE on the real model (issue 20, F4r): two-number word problems.

Graded answers (one number, exactly checkable), items a 135M model does not already solve, and
held-out items it cannot memorise from its training rows (new names, objects and numbers). Rows are
conversational, so training and `lit-align compat` both render them with the chat template:
  sft rows     {"prompt": [user], "completion": [assistant: "85"]}
  choice rows  {"prompt": [user], "responses": [[assistant: c] for c in candidates], "scores": [1, 0, 0, 0]}
The three wrong candidates are the usual slips: the other operation, off by one, off by ten.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

NAMES = ("Tom", "Ana", "Li", "Sara", "Omar", "Maya", "Ben", "Zoe", "Ivan", "Nina", "Raj", "Eva", "Leo", "Mia",
         "Sam", "Ada", "Noah", "Lena", "Yuki", "Kofi")
THINGS = ("apples", "books", "marbles", "stamps", "coins", "pencils", "stickers", "cards", "shells", "buttons",
          "eggs", "cookies", "balloons", "flowers", "candles", "rocks")
ADD = ("{n} has {a} {t}. {n} gets {b} more {t}. How many {t} does {n} have now?",
       "There are {a} {t} in a box. {n} puts in {b} more. How many {t} are in the box?",
       "{n} collected {a} {t} on Monday and {b} {t} on Tuesday. How many {t} did {n} collect in all?")
SUB = ("{n} has {a} {t}. {n} gives away {b} {t}. How many {t} does {n} have left?",
       "There are {a} {t} in a box. {n} takes out {b}. How many {t} are left in the box?",
       "{n} had {a} {t} and lost {b} of them. How many {t} does {n} have now?")
INSTRUCTION = " Answer with the number only."


@dataclass(frozen=True)
class Problem:
    question: str
    answer: int
    slips: tuple[int, ...]  # wrong answers a careless solver gives


def problem(rng: random.Random) -> Problem:
    a, b = rng.randint(12, 98), rng.randint(11, 89)
    subtract = rng.random() < 0.5
    if subtract and b >= a:
        a, b = b + rng.randint(3, 40), a
    template = rng.choice(SUB if subtract else ADD)
    question = template.format(n=rng.choice(NAMES), a=a, b=b, t=rng.choice(THINGS)) + INSTRUCTION
    answer = a - b if subtract else a + b
    other = a + b if subtract else a - b
    candidates = (other, answer + 1, answer - 10, answer - 1, answer + 10)
    slips = tuple(dict.fromkeys(s for s in candidates if s != answer and s >= 0))[:3]
    return Problem(question, answer, slips)


def problems(n: int, seed: int, avoid: set[str] | None = None) -> list[Problem]:
    """n distinct problems; `avoid` keeps held-out questions apart from training ones."""
    rng, seen, out = random.Random(seed), set(avoid or ()), []
    while len(out) < n:
        p = problem(rng)
        if p.question not in seen:
            seen.add(p.question)
            out.append(p)
    return out


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def sft_rows(items: list[Problem]) -> list[dict[str, Any]]:
    return [{"prompt": _user(p.question), "completion": _assistant(str(p.answer))} for p in items]


def choice_rows(items: list[Problem]) -> list[dict[str, Any]]:
    return [{"prompt": _user(p.question), "responses": [_assistant(str(c)) for c in (p.answer, *p.slips)],
             "scores": [1.0] + [0.0] * len(p.slips)} for p in items]
