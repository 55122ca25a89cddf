"""On-policy pairs from the policy as it stands: K sampled answers per prompt, scored by a
`ResponseScorer`, best vs worst (`data.onpolicy`; the pair rules are `lit_align.data.onpolicy`).
Lives above data and generation, which it joins."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
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


def scored_pair(prompt: str, answers: list[str], scores: list[float], min_gap: float
                ) -> tuple[dict[str, Any] | None, str | None]:
    """Best vs worst of answers already scored (NaN: unscored, left out), by the `data.onpolicy`
    pair rule; None and the reason when no pair can be made."""
    table = dict(zip(answers, scores, strict=True))

    def rule(answer: str) -> float:
        if math.isnan(table[answer]):
            raise ValueError("unscored")
        return table[answer]

    return best_vs_worst(prompt, answers, rule, min_gap)


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
        scores = flat[i * settings.k : (i + 1) * settings.k]
        report.unscored += sum(math.isnan(v) for v in scores)
        row, reason = scored_pair(prompt, group, scores, settings.min_gap)
        if row is None:
            report.dropped[str(reason)] += 1
        else:
            rows.append(row)
    report.pairs = len(rows)
    return rows, report


def onpolicy_task(task: Any, index: int, policy: Any, *, seed: int, output_dir: Path) -> tuple[Any, str]:
    """The task (a `TaskConfig` with `data.onpolicy`) with its train pairs sampled from `policy`
    as it stands; the pairs and their report are saved under `tasks/<name>/` (rank 0). Returns
    the task and its data-report line."""
    from lit_align.config.data import SourceConfig
    from lit_align.continual.paths import contained
    from lit_align.data import onpolicy
    from lit_align.data.sources import load_source
    from lit_align.errors import ConfigError
    from lit_align.io import atomic_write_json, atomic_write_text
    from lit_align.scale import ranks

    where = f"sequence[{index}].data"
    settings = task.data.onpolicy
    rows = load_source(task.data.train, f"{where}.train")
    if "prompt" not in rows.column_names:
        raise ConfigError(f"{where}.train: data.onpolicy needs a 'prompt' column (found "
                          f"{', '.join(rows.column_names)})")
    bad = [i for i, p in enumerate(rows["prompt"]) if not isinstance(p, str) or not p.strip()]
    if bad:
        raise ConfigError(f"{where}.train row {bad[0]}: data.onpolicy needs a non-empty string prompt in every "
                          f"row ({len(bad)} rows have none)")
    prompts = list(dict.fromkeys(rows["prompt"]))
    pairs, report = policy_pairs(policy, prompts, settings, split=task.name, chat_template=task.data.chat_template,
                                 seed=seed)
    if ranks.is_main():
        atomic_write_text(contained(output_dir, "tasks", task.name, "onpolicy_pairs.jsonl"),
                          "".join(json.dumps(r) + "\n" for r in pairs))
        atomic_write_json(contained(output_dir, "tasks", task.name, "onpolicy_report.json"),
                          {"summary": report.summary(), "pairs": report.pairs, "dropped": dict(report.dropped),
                           "unscored": report.unscored, "hit_token_limit": report.hit_token_limit})
    try:
        onpolicy.require_pairs(task.name, report)
    except onpolicy.NoPairsError as error:
        raise ConfigError(f"{where}.onpolicy: {error}") from None
    data = dataclasses.replace(task.data, train=SourceConfig(records=pairs), onpolicy=None)
    return dataclasses.replace(task, data=data), f"{where}.onpolicy: {report.summary()}"
