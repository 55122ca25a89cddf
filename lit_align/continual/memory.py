"""Replay memory: a fixed budget of past tasks' rows, kept by a pluggable policy.

Rows are the tokenised training rows (token-id lists, task name, and any float
columns a method cached, such as target log-probs), so replaying them needs no
re-tokenisation. The memory saves to JSON: nothing is ever unpickled.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lit_align.continual.config import MemoryConfig
from lit_align.io import atomic_write_json

Row = dict[str, Any]


def _budget(config: MemoryConfig, n_rows: int) -> int:
    if config.per_task < 1:
        return round(config.per_task * n_rows)
    return min(int(config.per_task), n_rows)


def _trim_balanced(rows_by_task: dict[str, list[Row]], capacity: int | None, rng: random.Random) -> None:
    """Shrink every task to an equal share when the total passes `capacity`."""
    if capacity is None or sum(map(len, rows_by_task.values())) <= capacity:
        return
    share = capacity // max(1, len(rows_by_task))
    for task, rows in rows_by_task.items():
        if len(rows) > share:
            rows_by_task[task] = sorted(rng.sample(rows, share), key=lambda r: r["row"])


def add_balanced(memory: ReplayMemory, task: str, rows: list[Row], scores: list[float] | None) -> None:
    kept = memory.rng.sample(rows, _budget(memory.config, len(rows)))
    memory.rows_by_task[task] = sorted(kept, key=lambda r: r["row"])
    _trim_balanced(memory.rows_by_task, memory.config.capacity, memory.rng)


def add_score_ranked(memory: ReplayMemory, task: str, rows: list[Row], scores: list[float] | None) -> None:
    if scores is None:
        raise ValueError(
            "memory.policy 'score_ranked' needs per-row scores, but this method's select_for_memory "
            "returned none; use policy 'balanced' or a method that scores rows"
        )
    order = sorted(range(len(rows)), key=lambda i: -scores[i])[: _budget(memory.config, len(rows))]
    memory.rows_by_task[task] = [rows[i] for i in sorted(order)]
    if memory.config.capacity is not None:
        share = memory.config.capacity // len(memory.rows_by_task)
        for name, kept in memory.rows_by_task.items():
            memory.rows_by_task[name] = kept[:share]


def add_reservoir(memory: ReplayMemory, task: str, rows: list[Row], scores: list[float] | None) -> None:
    """Vitter's algorithm R over the stream of all rows: each row seen is kept with equal probability."""
    capacity = memory.config.capacity
    assert capacity is not None  # MemoryConfig guarantees it
    flat = [r for kept in memory.rows_by_task.values() for r in kept]
    for row in rows:
        memory.seen += 1
        if len(flat) < capacity:
            flat.append(row)
        else:
            slot = memory.rng.randrange(memory.seen)
            if slot < capacity:
                flat[slot] = row
    memory.rows_by_task = {}
    for row in flat:
        memory.rows_by_task.setdefault(row["task"], []).append(row)


POLICIES: dict[str, Callable[[Any, str, list[Row], list[float] | None], None]] = {
    "balanced": add_balanced,
    "score_ranked": add_score_ranked,
    "reservoir": add_reservoir,
}


class ReplayMemory:
    def __init__(self, config: MemoryConfig, seed: int = 0) -> None:
        self.config = config
        self.rng = random.Random(seed)
        self.rows_by_task: dict[str, list[Row]] = {}
        self.seen = 0

    def __len__(self) -> int:
        return sum(map(len, self.rows_by_task.values()))

    @property
    def tasks(self) -> list[str]:
        return list(self.rows_by_task)

    def add(self, task: str, rows: list[Row], scores: list[float] | None = None) -> None:
        """Offer a finished task's rows (each with `task` and `row` keys) to the memory."""
        if not self.config.enabled or not rows:
            return
        POLICIES[self.config.policy](self, task, rows, scores)

    def rows(self, task: str | None = None) -> list[Row]:
        if task is not None:
            return list(self.rows_by_task.get(task, []))
        return [r for kept in self.rows_by_task.values() for r in kept]

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
        return {"seen": self.seen, "rng": _rng_state(self.rng), "rows_by_task": self.rows_by_task}

    def save(self, path: str | Path) -> None:
        atomic_write_json(path, self.state(), indent=None)

    @classmethod
    def load(cls, path: str | Path, config: MemoryConfig) -> ReplayMemory:
        data = json.loads(Path(path).read_text())
        memory = cls(config)
        memory.seen = data["seen"]
        memory.rows_by_task = data["rows_by_task"]
        memory.rng.setstate(_rng_from_state(data["rng"]))
        return memory


def _rng_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _rng_from_state(state: list[Any]) -> tuple[Any, ...]:
    return (state[0], tuple(state[1]), state[2])
