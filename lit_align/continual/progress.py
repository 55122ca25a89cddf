"""Training progress a user can read: a rich bar in a terminal, plain lines elsewhere.

Lightning's rich bar names the epoch as `Epoch e/max_epochs-1`, which reads `Epoch 0/-2` when
a run is bounded by `max_steps` (max_epochs -1). In a log file or CI (stdout not a terminal)
a bar is invisible until the end; there one line per `every` steps says where training is.
`trainer.enable_progress_bar: false` turns off the bar, never progress: plain lines then.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from lightning.pytorch.callbacks import Callback, RichProgressBar


class StepAwareProgressBar(RichProgressBar):
    def _get_train_description(self, current_epoch: int) -> str:
        trainer = self.trainer
        if trainer.max_epochs is not None and trainer.max_epochs >= 0:
            return super()._get_train_description(current_epoch)
        description = f"Epoch {current_epoch} (max_steps {trainer.max_steps})"
        if len(self.validation_description) > len(description):
            description = f"{description:{len(self.validation_description)}}"
        return description


class PlainProgress(Callback):
    """`[task] step 40/120 loss 0.5312 (3.1 s/step)` every `every` steps, and a line per phase."""

    def __init__(self, task: str, every: int = 10, interrupted: Callable[[], bool] = lambda: False) -> None:
        self.task, self.every = task, max(1, every)
        self.interrupted = interrupted  # a stop was asked for (Ctrl-C, SIGTERM): the end line says so
        self._start = 0.0

    def _print(self, text: str) -> None:
        print(f"[{self.task}] {text}", file=sys.stdout, flush=True)

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._start = time.perf_counter()
        self._print(f"training: {trainer.estimated_stepping_batches} steps")

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        step = trainer.global_step
        if step % self.every and step != trainer.estimated_stepping_batches:
            return
        loss = trainer.callback_metrics.get("train/loss")
        seconds = (time.perf_counter() - self._start) / max(1, step)
        shown = f" loss {float(loss):.4f}" if loss is not None else ""
        self._print(f"step {step}/{trainer.estimated_stepping_batches}{shown} ({seconds:.2f} s/step)")

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self.interrupted():  # Ctrl-C: Lightning stops after the step and ends training normally
            self._print_interrupted(trainer)
            return
        self._print(f"training done: {trainer.global_step} steps in {time.perf_counter() - self._start:.1f} s")

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        if self.interrupted():  # SIGTERM: Lightning ends fit with its SIGTERMException after the step
            self._print_interrupted(trainer)

    def _print_interrupted(self, trainer: Any) -> None:
        self._print(f"training interrupted after {trainer.global_step} of {trainer.estimated_stepping_batches} "
                    f"steps ({time.perf_counter() - self._start:.1f} s); this task will not be saved")


def progress_callbacks(kwargs: dict[str, Any], task: str, interrupted: Callable[[], bool] = lambda: False
                       ) -> tuple[list[Callback], bool]:
    """The progress callback for this Trainer and whether Lightning's own bar stays on."""
    if sys.stdout.isatty() and kwargs.get("enable_progress_bar") is not False:
        return [StepAwareProgressBar()], True
    return [PlainProgress(task, every=int(kwargs.get("log_every_n_steps") or 10), interrupted=interrupted)], False
