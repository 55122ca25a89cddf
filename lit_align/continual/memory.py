"""Replay memory: a fixed budget of past tasks' rows, kept by a policy component
(`continual/memory_policies.py`).

Rows are the tokenised training rows (token-id lists, task name, and any float
columns a method cached, such as target log-probs), so replaying them needs no
re-tokenisation. The memory saves to JSON: nothing is ever unpickled.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

from lit_align.config.continual import MemoryConfig
from lit_align.continual.memory_policies import SCORE_KEY, MemoryPolicy, Row
from lit_align.contracts import ExtensionError, describe, expect_scores, qualified_name
from lit_align.io import atomic_write_json

log = logging.getLogger(__name__)


def _budget(config: MemoryConfig, n_rows: int) -> int:
    if config.per_task < 1:
        return round(config.per_task * n_rows)
    return min(int(config.per_task), n_rows)


class ReplayMemory:
    """Past tasks' rows for replay and constraints; which rows stay is the policy's call."""

    def __init__(self, config: MemoryConfig, seed: int = 0) -> None:
        self.config = config
        self.rng = random.Random(seed)
        self.policy: MemoryPolicy = config.policy.instantiate()

    def __len__(self) -> int:
        return sum(map(len, self.policy.rows_by_task.values()))

    @property
    def tasks(self) -> list[str]:
        return list(self.policy.rows_by_task)

    def add(self, task: str, rows: list[Row], scores: list[float] | None = None) -> None:
        """Offer a finished task's rows (each with `task` and `row` keys) to the memory; `scores`
        (higher = keep) are stored with the rows as `memory_score`."""
        if not self.config.enabled or not rows:
            return
        if scores is not None:  # the same contract the runner holds select_for_memory to
            scores = expect_scores(scores, len(rows), f"select_for_memory of task {task!r}")
            rows = [r | {SCORE_KEY: s} for r, s in zip(rows, scores, strict=True)]
        elif self.policy.needs_scores:
            raise ExtensionError(
                f"memory.policy {type(self.policy).__name__} needs per-row scores, but this method's "
                "select_for_memory returned none; use policy 'balanced' or a method that scores rows"
            )
        budget = _budget(self.config, len(rows))
        returned = self.policy.add(task, rows, budget=budget, capacity=self.config.capacity, rng=self.rng)
        owner = f"{qualified_name(type(self.policy))}.add"
        if returned is not None:
            raise ExtensionError(f"{owner} returned {describe(returned)}; it must store the rows it keeps in "
                                 f"self.rows_by_task[task] and return None")
        if budget > 0 and not self.policy.rows_by_task.get(task):
            log.warning("replay memory: task %r kept 0 of its %d rows although memory.per_task allows %d; "
                        "check %s (it must store rows in self.rows_by_task[task])", task, len(rows), budget, owner)

    def rows(self, task: str | None = None) -> list[Row]:
        if task is not None:
            return list(self.policy.rows_by_task.get(task, []))
        return [r for kept in self.policy.rows_by_task.values() for r in kept]

    def sample(self, n: int, columns: set[str] | None = None) -> list[Row]:
        """`n` rows drawn uniformly (with replacement when n > size), restricted to rows
        holding all of `columns` (rows of another record kind are skipped)."""
        pool = [r for r in self.rows() if columns is None or columns <= r.keys()]
        if not pool or n <= 0:
            return []
        if n <= len(pool):
            return self.rng.sample(pool, n)
        return [self.rng.choice(pool) for _ in range(n)]

    # -- persistence: JSON only -----------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"rng": _rng_state(self.rng), "policy": self.policy.state()}

    def save(self, path: str | Path) -> None:
        atomic_write_json(path, self.state(), indent=None)

    @classmethod
    def load(cls, path: str | Path, config: MemoryConfig) -> ReplayMemory:
        data = json.loads(Path(path).read_text())
        memory = cls(config)
        memory.policy.load_state(data["policy"] if "policy" in data else data)  # older files: flat state
        memory.rng.setstate(_rng_from_state(data["rng"]))
        return memory


def _rng_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _rng_from_state(state: list[Any]) -> tuple[Any, ...]:
    return (state[0], tuple(state[1]), state[2])
