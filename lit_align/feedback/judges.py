"""Judges score how an adapted answer follows a feedback relative to the baseline answer.

Scores lie in [-1, 1] (RLVF §5): positive when the adapted answer follows the feedback and the
baseline did not. `RuleJudge` checks a synthetic rule exactly (the paper's heuristic score);
`LLMJudge` asks a chat model (the paper's GPT-4 score). Subclass `FeedbackJudge` for your own.
"""

from __future__ import annotations

from typing import Annotated

from lit_align.binding import ComponentOf, ComponentSpec
from lit_align.feedback import templates
from lit_align.feedback.metrics import heuristic_score


class FeedbackJudge:
    """Subclass and name it by `class_path`; return None for a prompt the judge could not score."""

    def score(self, feedback: str, prompts: list[str], answers: list[str], baselines: list[str]
              ) -> list[float | None]:
        raise NotImplementedError


class RuleJudge(FeedbackJudge):
    """The heuristic score of one of the synthetic rules (`lit_align.feedback.synthetic.RULES`)."""

    def __init__(self, *, rule: str) -> None:
        from lit_align.feedback.synthetic import rule_named

        self.rule = rule_named(rule)

    def score(self, feedback: str, prompts: list[str], answers: list[str], baselines: list[str]
              ) -> list[float | None]:
        return [float(heuristic_score(self.rule.adheres(p, a), self.rule.adheres(p, b)))
                for p, a, b in zip(prompts, answers, baselines, strict=True)]


class LLMJudge(FeedbackJudge):
    """A chat model compares the baseline (A) and adapted (B) answer; unparseable replies give None."""

    def __init__(self, *, backend: Annotated[ComponentSpec, ComponentOf("lit_align.feedback.backends.ChatBackend")]
                 ) -> None:
        self.backend = backend.instantiate()

    def score(self, feedback: str, prompts: list[str], answers: list[str], baselines: list[str]
              ) -> list[float | None]:
        asks = [[{"role": "user", "content": templates.JUDGE.format(feedback=feedback, prompt=p, baseline=b,
                                                                     answer=a)}]
                for p, a, b in zip(prompts, answers, baselines, strict=True)]
        scores: list[float | None] = []
        for reply in self.backend.complete(asks, seed=0):
            try:
                scores.append(templates.parse_judgement(reply))
            except ValueError:
                scores.append(None)
        return scores
