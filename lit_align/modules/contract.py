"""What a method may rely on from the runner: the task's data and the replay memory, as
small Protocols (the concrete classes are `AlignmentDataModule` and `ReplayMemory`).

A method reads and caches through these and nothing else, so a test can hand it stand-ins
and the runner can change its internals without breaking subclasses.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

Row = dict[str, Any]


class TaskData(Protocol):
    """The task's datasets. `train_set` holds the task's own rows first, then replayed rows
    flagged by a float `replay` column (1.0; own rows 0.0) when the memory mixed some in."""

    train_set: Any  # datasets.Dataset
    own_train_set: Any  # the task's rows alone
    eval_set: Any  # datasets.Dataset or None
    source_rows: dict[str, Any]  # each split's rows as loaded, before tokenising
    eval_batch_size: int

    @property
    def collator(self) -> Any: ...

    @property
    def eval_collator(self) -> Any: ...

    def add_columns(self, split: Literal["train", "eval"], columns: dict[str, list[Any]]) -> None:
        """Cache per-row values (one per row of the split); train columns reach the memory."""

    def own_rows(self) -> list[Row]:
        """The task's own rows with every cached column: what the replay memory is offered."""

    def replace_train_set(self, dataset: Any, kind: Any) -> None: ...


class TaskMemory(Protocol):
    """The replay memory: earlier tasks' rows with the columns cached when they were trained."""

    @property
    def tasks(self) -> list[str]: ...

    def rows(self, task: str | None = None) -> list[Row]: ...

    def sample(self, n: int, columns: set[str] | None = None) -> list[Row]: ...

    def __len__(self) -> int: ...
