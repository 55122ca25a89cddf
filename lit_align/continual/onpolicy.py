"""On-policy pairs from the policy as it stands: K sampled answers per prompt, scored by a
`ResponseScorer`, best vs worst (`data.onpolicy`; the pair rules are `lit_align.data.onpolicy`).
Lives above data and generation, which it joins."""

from __future__ import annotations

import math
from typing import Any

from lit_align.data.onpolicy import PairReport, best_vs_worst


class PolicySampler:
    """K answers per prompt from the policy (chat-templated or plain); counts cut answers."""

    def __init__(self, policy: Any, k: int, sampling: Any, chat_template: bool) -> None:
        self.policy, self.k, self.sampling, self.chat_template, self.cut = policy, k, sampling, chat_template, 0

    def __call__(self, prompts: list[str], seed: int) -> list[list[str]]:
        from lit_align.data.records import render_prompt
        from lit_align.generation import generate_with_stops

        rendered = [render_prompt({"prompt": [{"role": "user", "content": p}] if self.chat_template else p},
                                  self.policy.tokenizer).prompt for p in prompts for _ in range(self.k)]
        flat, cut = generate_with_stops(self.policy.model, self.policy.tokenizer, rendered, self.sampling, seed)
        self.cut += sum(cut)
        return [flat[i * self.k : (i + 1) * self.k] for i in range(len(prompts))]


def policy_pairs(policy: Any, prompts: list[str], settings: Any, *, split: str, chat_template: bool,
                 seed: int) -> tuple[list[dict[str, Any]], PairReport]:
    """Best-vs-worst pairs from K answers of `policy` per prompt, scored by the settings'
    `ResponseScorer` (`data.onpolicy`, an `OnPolicyConfig`); unscored answers are left out."""
    from lit_align.generation import Sampling
    from lit_align.scorers import score_tolerantly

    scorer = settings.scorer.instantiate()
    sampler = PolicySampler(policy, settings.k, Sampling(max_new_tokens=settings.max_new_tokens,
                                                            temperature=settings.temperature,
                                                            batch_size=settings.batch_size), chat_template)
    answers = sampler(prompts, seed)
    flat = score_tolerantly(scorer, split, [p for p in prompts for _ in range(settings.k)],
                            [a for group in answers for a in group])
    report = PairReport(prompts=len(prompts), hit_token_limit=sampler.cut)
    rows = []
    for i, (prompt, group) in enumerate(zip(prompts, answers, strict=True)):
        table = dict(zip(group, flat[i * settings.k : (i + 1) * settings.k], strict=True))

        def rule(answer: str, table: dict[str, float] = table) -> float:
            if math.isnan(table[answer]):
                raise ValueError("unscored")
            return table[answer]

        report.unscored += sum(math.isnan(v) for v in flat[i * settings.k : (i + 1) * settings.k])
        row, reason = best_vs_worst(prompt, group, rule, settings.min_gap)
        if row is None:
            report.dropped[str(reason)] += 1
        else:
            rows.append(row)
    report.pairs = len(rows)
    return rows, report
