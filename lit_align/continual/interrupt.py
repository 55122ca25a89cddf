"""Ctrl-C and SIGTERM during a run: finish the optimizer step in progress, commit nothing of
the unfinished task, and leave with one line instead of a traceback (exit 130 for SIGINT,
143 for SIGTERM, the shell's 128 + signal number, so a scheduler never records success).

The first signal during `Trainer.fit` asks Lightning to stop after the current step
(`trainer.should_stop`); the runner then sees `requested` and raises `Interrupted` before
the task is evaluated or committed, so a resume starts that task again from the last
commit. Outside `fit` (data preparation, reference caching, evaluation) and on a second
signal the interrupt is immediate: nothing is committed half-way there either, because
commits are atomic.

SIGTERM is what `kill`, Slurm, Kubernetes and Docker send. Lightning has its own SIGTERM
handler inside `fit` that raises `SIGTERMException`, a `SystemExit` with code 0: without
this module such a run ends "successfully" with nothing committed.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM)


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(signum)


class Interrupted(BaseException):
    """The user (or a scheduler) stopped the run; the last completed task stays committed.

    A BaseException, like KeyboardInterrupt, so no `except Exception` on the way (a data
    loader's error wrapping, a scorer's tolerance) can swallow it."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


class GracefulStop:
    def __init__(self) -> None:
        self.requested = False
        self.signum: int = signal.SIGINT
        self.trainer: Any = None  # set by the runner around Trainer.fit
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in HANDLED}
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested or self.trainer is None:
            raise Interrupted(signum)
        self.requested, self.signum = True, signum
        self.trainer.should_stop = True
        again = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        print(f"\nstopping after this training step ({again} again to stop at once); the task in progress "
              "will not be saved", file=sys.stderr, flush=True)

    def check(self) -> None:
        """Called after `fit`: a requested stop ends the run before anything is committed."""
        if self.requested:
            raise Interrupted(self.signum)
