"""A replay memory policy of one's own: keep each task's pairs with the longest chosen
responses (the most content to remember), every task an equal share of the capacity."""

import random

from lit_align.continual.memory_policies import MemoryPolicy, Row


class KeepLongest(MemoryPolicy):
    def __init__(self, *, column: str = "chosen_ids") -> None:
        super().__init__()
        self.column = column

    def _longest(self, rows: list[Row], n: int) -> list[Row]:
        return sorted(rows, key=lambda r: (-len(r[self.column]), r["row"]))[:n]

    def add(self, task: str, rows: list[Row], *, budget: int, capacity: int | None, rng: random.Random) -> None:
        self.rows_by_task[task] = self._longest(rows, budget)
        if capacity is not None:
            share = capacity // len(self.rows_by_task)
            for name, kept in self.rows_by_task.items():
                self.rows_by_task[name] = self._longest(kept, share)
