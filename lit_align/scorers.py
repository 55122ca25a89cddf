"""`ResponseScorer`: what turns a generated answer into a number.

The one interface every judge shares: the generation matrix, COPF's candidates,
`lit-align compat`, LANCET's probes, gold rules of benchmark suites and reward models.
It sits at the bottom of the package (no imports) so data, modules, influence and
feedback can all depend on it.
"""

from __future__ import annotations

import logging
import math
from typing import Any

log = logging.getLogger(__name__)


class ResponseScorer:
    """Scores generated responses; subclass and name it by `class_path` in the config."""

    def score(self, split: str, prompts: list[str], responses: list[str]) -> list[float]:
        raise NotImplementedError


def score_tolerantly(scorer: Any, split: str, prompts: list[str], answers: list[str]) -> list[float]:
    """The scorer's scores; when it raises, each answer alone, NaN for those it still fails on
    (a judge's error on one odd answer must not end a run that has trained for hours)."""
    from lit_align.contracts import expect_scores, qualified_name

    owner = f"{qualified_name(type(scorer))}.score"
    try:
        returned = scorer.score(split, prompts, answers)
    except Exception as error:  # noqa: BLE001 - any scorer, any failure: fall back per answer
        first = error
    else:  # a scorer that returns the wrong shape is broken for every answer: say so, never score NaN silently
        return expect_scores(returned, len(answers), owner) or []
    scores = []
    for prompt, answer in zip(prompts, answers, strict=True):
        try:
            scores.append(float(scorer.score(split, [prompt], [answer])[0]))
        except Exception:  # noqa: BLE001
            scores.append(math.nan)
    log.warning("scorer %s failed on %d of %d answers of split %r (left unscored): %s", type(scorer).__name__,
                sum(map(math.isnan, scores)), len(scores), split, first)
    return scores
