"""C3PO training data from one piece of verbal feedback.

A `FeedbackGenerator` supplies in-scope and near-scope prompts and revises
answers to follow the feedback; the model being adapted (pi_0) supplies the
baseline answers. Each training row packs, as the official code does, one
in-scope pair (chosen = revised answer, rejected = baseline answer) with one
near-scope and one out-of-scope prompt and pi_0's answers to them. Rows that
cannot be built are counted by reason, never silently lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Literal

Scope = Literal["in", "near"]
AnswerFn = Callable[[list[str]], list[str]]


class FeedbackGenerator:
    """Makes the prompts and revisions for a feedback; subclass and name it by `class_path`.

    Output a generator could not use (a malformed reply, a duplicate prompt) is counted by reason in
    `dropped`, which `build_feedback_rows` reports with its own counts."""

    def __init__(self) -> None:
        self.dropped: Counter[str] = Counter()

    def prompts(self, feedback: str, scope: Scope, n: int, seed: int) -> list[str]:
        raise NotImplementedError

    def revise(self, feedback: str, prompts: list[str], answers: list[str]) -> list[str | None]:
        """The answers rewritten to follow the feedback (None where the generator gave nothing usable)."""
        raise NotImplementedError

    def out_of_scope_prompts(self, n: int, seed: int) -> list[str]:
        """Prompts unrelated to any feedback; generators without their own pool need a data source."""
        from lit_align.errors import ConfigError

        raise ConfigError(f"{type(self).__name__} has no out-of-scope prompts of its own: set `out_of_scope` to a "
                          "data source with a `prompt` column (the paper samples LAION OIG)")


class SyntheticFeedbackGenerator(FeedbackGenerator):
    """The synthetic suite's checkable rules (`lit_align.feedback.synthetic.RULES`)."""

    def __init__(self, *, rule: str) -> None:
        from lit_align.feedback.synthetic import rule_named

        super().__init__()
        self.rule = rule_named(rule)

    def prompts(self, feedback: str, scope: Scope, n: int, seed: int) -> list[str]:
        import random

        rng = random.Random(f"{self.rule.name}-{scope}-{seed}")
        make = self.rule.in_scope if scope == "in" else self.rule.near_scope
        found: dict[str, None] = {}
        for _ in range(50 * n):  # distinct prompts, as many as the rule's space holds
            found[make(rng)] = None
            if len(found) == n:
                break
        return list(found)

    def revise(self, feedback: str, prompts: list[str], answers: list[str]) -> list[str | None]:
        return [self.rule.revise(p, a) for p, a in zip(prompts, answers, strict=True)]

    def out_of_scope_prompts(self, n: int, seed: int) -> list[str]:
        from lit_align.feedback.synthetic import out_of_scope_prompts

        return out_of_scope_prompts(self.rule, n, seed)


def build_feedback_rows(generator: FeedbackGenerator, feedback: str, answer: AnswerFn, *,
                        out_of_scope: Sequence[str], n_in: int, n_near: int, seed: int
                        ) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Prompts from the generator, pi_0's answers from `answer`, packed rows and what was left out."""
    in_prompts = generator.prompts(feedback, "in", n_in, seed)
    near_prompts = generator.prompts(feedback, "near", n_near, seed)
    out_prompts = list(out_of_scope)
    return pack_feedback_rows(generator, feedback, list(zip(in_prompts, answer(in_prompts), strict=True)),
                              list(zip(near_prompts, answer(near_prompts), strict=True)),
                              list(zip(out_prompts, answer(out_prompts), strict=True)))


Answered = list[tuple[str, str]]  # (prompt, pi_0's answer)


def pack_feedback_rows(generator: FeedbackGenerator, feedback: str, in_scope: Answered, near_scope: Answered,
                       out_of_scope: Answered) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Revise the in-scope answers and pack complete rows; the count of what was left out, by reason."""
    dropped: Counter[str] = Counter()
    prompts, baseline = [p for p, _ in in_scope], [a for _, a in in_scope]
    revised = generator.revise(feedback, prompts, baseline)
    if len(revised) != len(prompts):
        raise ValueError(f"{type(generator).__name__}.revise returned {len(revised)} answers for "
                         f"{len(prompts)} prompts; it must return one per prompt (None to skip one)")
    pairs = []
    for prompt, rejected, chosen in zip(prompts, baseline, revised, strict=True):
        reason = ("empty_answer" if not rejected.strip() else "cannot_revise" if not chosen or not chosen.strip()
                  else "already_adheres" if chosen.strip() == rejected.strip() else None)
        if reason:
            dropped[reason] += 1
        else:
            pairs.append((prompt, chosen, rejected))
    near = _answered(near_scope, dropped)
    out = _answered(out_of_scope, dropped)
    dropped.update(generator.dropped)
    n = min(len(pairs), len(near), len(out))
    if n == 0:
        from lit_align.errors import DataError

        raise DataError(f"feedback {feedback!r}: no complete rows (in-scope pairs {len(pairs)}, near-scope "
                        f"{len(near)}, out-of-scope {len(out)}; left out: {dict(dropped)})")
    if len(pairs) + len(near) + len(out) > 3 * n:
        dropped["unpaired"] += len(pairs) + len(near) + len(out) - 3 * n
    rows = [{"prompt": p, "chosen": c, "rejected": r, "near_prompt": np_, "near_completion": nc,
             "out_prompt": op, "out_completion": oc}
            for (p, c, r), (np_, nc), (op, oc) in zip(pairs[:n], near[:n], out[:n], strict=True)]
    return rows, dropped


def _answered(answered: Answered, dropped: Counter[str]) -> Answered:
    kept = [(p, a) for p, a in answered if a.strip()]
    if len(kept) < len(answered):
        dropped["empty_answer"] += len(answered) - len(kept)
    return kept
