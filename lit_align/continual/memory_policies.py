"""Replay memory policies: which of the rows offered to the memory stay.

A policy owns the stored rows (by task) and its selection rule; `ReplayMemory` computes each
task's budget, stores per-row scores with the rows (`memory_score`) and saves the policy's
state as JSON. A policy of one's own subclasses `MemoryPolicy` and is named in YAML like any
component (`memory.policy: {class_path: my_module.MyPolicy, init_args: {...}}`); the built-in
ones are `balanced`, `reservoir` and `score_ranked`.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

Row = dict[str, Any]
SCORE_KEY = "memory_score"


class MemoryPolicy:
    """Keeps at most `capacity` rows in all (None: no total limit) out of the rows offered.

    `add` receives a finished task's rows (each with `task`, `row` and, when the method scored
    them, `memory_score`), the task's `budget` (how many of its rows may enter) and the
    memory's seeded `rng`. State is `rows_by_task` plus whatever `state()` adds: JSON only.
    """

    needs_capacity: ClassVar[bool] = False
    needs_scores: ClassVar[bool] = False

    def __init__(self) -> None:
        self.rows_by_task: dict[str, list[Row]] = {}

    def add(self, task: str, rows: list[Row], *, budget: int, capacity: int | None, rng: random.Random) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement add()")

    def state(self) -> dict[str, Any]:
        return {"rows_by_task": self.rows_by_task}

    def load_state(self, state: dict[str, Any]) -> None:
        self.rows_by_task = state["rows_by_task"]


def _by_row(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: r["row"])


class BalancedPolicy(MemoryPolicy):
    """A random `budget` of each task; past `capacity`, every task shrinks to an equal random share."""

    def add(self, task: str, rows: list[Row], *, budget: int, capacity: int | None, rng: random.Random) -> None:
        self.rows_by_task[task] = _by_row(rng.sample(rows, budget))
        if capacity is None or sum(map(len, self.rows_by_task.values())) <= capacity:
            return
        share = capacity // max(1, len(self.rows_by_task))
        for name, kept in self.rows_by_task.items():
            if len(kept) > share:
                self.rows_by_task[name] = _by_row(rng.sample(kept, share))


class ScoreRankedPolicy(MemoryPolicy):
    """Each task's highest-scored rows (the method scores them in `select_for_memory`); past
    `capacity`, every task keeps its equal share of its *highest-scored* rows."""

    needs_scores: ClassVar[bool] = True

    def add(self, task: str, rows: list[Row], *, budget: int, capacity: int | None, rng: random.Random) -> None:
        self.rows_by_task[task] = _by_row(_top(rows, budget))
        if capacity is None or sum(map(len, self.rows_by_task.values())) <= capacity:
            return
        share = capacity // len(self.rows_by_task)
        for name, kept in self.rows_by_task.items():
            self.rows_by_task[name] = _by_row(_top(kept, share))


def _top(rows: list[Row], n: int) -> list[Row]:
    """The `n` rows of highest `memory_score` (ties: earlier rows first)."""
    return sorted(rows, key=lambda r: (-r[SCORE_KEY], r["row"]))[:n]


class ReservoirPolicy(MemoryPolicy):
    """Vitter's algorithm R over the stream of all rows: every row seen is kept with probability
    capacity / rows seen, whatever its task (needs `capacity`; ignores the per-task budget)."""

    needs_capacity: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def add(self, task: str, rows: list[Row], *, budget: int, capacity: int | None, rng: random.Random) -> None:
        assert capacity is not None  # MemoryConfig refuses a reservoir without one
        flat = [r for kept in self.rows_by_task.values() for r in kept]
        for row in rows:
            self.seen += 1
            if len(flat) < capacity:
                flat.append(row)
            else:
                slot = rng.randrange(self.seen)
                if slot < capacity:
                    flat[slot] = row
        self.rows_by_task = {}
        for row in flat:
            self.rows_by_task.setdefault(row["task"], []).append(row)

    def state(self) -> dict[str, Any]:
        return {**super().state(), "seen": self.seen}

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.seen = int(state.get("seen", 0))
