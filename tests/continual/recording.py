"""A DPO module that records every hook call, for the hook-order test."""

from __future__ import annotations

from typing import Any

from lit_align.modules.dpo import DPOModule

EVENTS: list[tuple[str, str]] = []


class RecordingDPOModule(DPOModule):
    def __init__(self, **dpo_args: Any) -> None:
        super().__init__(**dpo_args)
        self.task_name = "?"

    def _record(self, hook: str) -> None:
        EVENTS.append((self.task_name, hook))

    def on_task_start(self, task):
        self.task_name = task.name
        self._record("on_task_start")
        super().on_task_start(task)

    def on_fit_start(self):
        self._record("on_fit_start")

    def on_train_epoch_start(self):
        self._record("on_train_epoch_start")

    def on_fit_end(self):
        self._record("on_fit_end")

    def on_task_end(self, task):
        self._record("on_task_end")
        assert task.memory is not None and task.datamodule is not None
        return super().on_task_end(task)

    def select_for_memory(self, task):
        self._record("select_for_memory")
        return None
