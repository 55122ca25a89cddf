"""Check every task's data sources before anything trains.

A missing file or column in the last task of a sequence must fail in seconds,
not after hours of training the tasks before it.
"""

from __future__ import annotations

from typing import Any

from lit_align.data.records import column_problem
from lit_align.data.sources import load_source
from lit_align.errors import ConfigError, DataError


def check_sequence_data(run: Any) -> list[str]:
    """One problem per unreadable source or missing column, across all tasks."""
    problems: list[str] = []
    for index, task in enumerate(run.sequence):
        try:
            kind = task.method.resolve().data_kind
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        for split in ("train", "eval"):
            source = getattr(task.data, split)
            if source is None:
                continue
            where = f"sequence[{index}].data.{split}"
            try:
                dataset = load_source(source, where)
            except DataError as exc:
                problems.append(str(exc))
                continue
            # on-policy train rows are prompts only: the pairs are sampled when the task starts
            needed = "prompt" if split == "train" and task.data.onpolicy is not None else kind
            problem = column_problem(list(dataset.column_names), needed, where)
            if problem is not None:
                problems.append(problem)
    return problems
