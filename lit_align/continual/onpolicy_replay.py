"""On-policy replay (`memory.onpolicy`): a replayed prompt is answered afresh by the policy as
it stands when the task starts, and the old domain's judge picks the pair.

Why: replay of stored pairs keeps pushing the same chosen/rejected texts apart, pairs the current
policy may no longer produce at all; COPR's authors found that this widens the gap and collapses
output diversity. Regenerating the replayed pairs from the current policy (as a deployed model's
preferences are collected on what it says now) asks it to keep the old preference on its own
answers. On TRACE, on-policy replay at a 10% budget took BWT from -13.93 to -0.65 (SFT, 2026).

For each replayed row: K answers sampled from its prompt (the row's own prompt tokens, rendered
as the task trained them), scored by `memory.onpolicy.scorer` with the row's task as the split,
best vs worst kept when the scores differ by at least `min_gap` (the `data.onpolicy` rule). A row
whose answers do not separate keeps its stored pair, counted. Seeded by the run's seed and the
task index, so a resumed task replays the same pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lit_align.errors import ConfigError


@dataclass
class ReplayRefresh:
    """What on-policy replay did to one task's replayed rows (logged in the task's data notes)."""

    replayed: int = 0
    fresh: int = 0
    kept_stored: dict[str, int] = field(default_factory=dict)  # reason -> rows that kept their stored pair
    hit_token_limit: int = 0

    def summary(self) -> str:
        kept = ", ".join(f"{n} {why}" for why, n in sorted(self.kept_stored.items())) or "none"
        return (f"memory.onpolicy: {self.fresh} of {self.replayed} replayed pairs answered afresh by the policy "
                f"(stored pair kept: {kept}; {self.hit_token_limit} answers cut at the token limit)")


def check_judges(scorer: Any, tasks: list[str]) -> None:
    """Every replayed task needs a judge: ask the scorer about each task's split before sampling."""
    for task in sorted(set(tasks)):
        try:
            scorer.score(task, [], [])
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"memory.onpolicy.scorer cannot judge replayed task {task!r} ({exc}); give a scorer "
                              f"that scores that split (e.g. init_args.domains for style_gold_scorer)") from None


def _response_ids(tokenizer: Any, text: str, room: int) -> list[int]:
    """An answer's ids as the data pipeline ends a response (EOS), cut to the room the prompt leaves."""
    return (tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id])[:room]


def refresh_replay(rows: list[dict[str, Any]], policy: Any, settings: Any, *, seed: int,
                   max_length: int) -> tuple[list[dict[str, Any]], ReplayRefresh]:
    """`rows` (replayed memory rows: `task`, `prompt_ids`, `chosen_ids`, `rejected_ids`, ...) with
    fresh chosen/rejected ids where the policy's own answers separate under the task's judge."""
    from lit_align.continual.onpolicy import scored_pair
    from lit_align.generation import Sampling, generate_with_stops
    from lit_align.scorers import score_tolerantly

    report = ReplayRefresh(replayed=len(rows))
    if not rows:
        return rows, report
    scorer = settings.scorer.instantiate()
    check_judges(scorer, [r["task"] for r in rows])
    tokenizer, k = policy.tokenizer, settings.k
    prompts = [tokenizer.decode(r["prompt_ids"], skip_special_tokens=False) for r in rows]
    sampling = Sampling(max_new_tokens=settings.max_new_tokens, temperature=settings.temperature,
                        batch_size=settings.batch_size)
    answers, cut = generate_with_stops(policy.model, tokenizer, [p for p in prompts for _ in range(k)], sampling,
                                       seed)
    report.hit_token_limit = sum(cut)
    out = []
    for i, row in enumerate(rows):
        group = answers[i * k : (i + 1) * k]
        scores = score_tolerantly(scorer, row["task"], [prompts[i]] * k, group)
        pair, reason = scored_pair(prompts[i], group, scores, settings.min_gap)
        if pair is None:
            report.kept_stored[str(reason)] = report.kept_stored.get(str(reason), 0) + 1
            out.append(row)
            continue
        room = max(1, max_length - len(row["prompt_ids"]))
        chosen, rejected = (_response_ids(tokenizer, pair[key], room) for key in ("chosen", "rejected"))
        out.append(row | {"chosen_ids": chosen, "rejected_ids": rejected})
        report.fresh += 1
    return out, report
