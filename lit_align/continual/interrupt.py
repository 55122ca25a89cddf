"""Ctrl-C during a run: finish the optimizer step in progress, commit nothing of the
unfinished task, and leave with one line (exit 130) instead of a traceback.

The first SIGINT during `Trainer.fit` asks Lightning to stop after the current step
(`trainer.should_stop`); the runner then sees `requested` and raises `Interrupted` before
the task is evaluated or committed, so a resume starts that task again from the last
commit. Outside `fit` (data preparation, reference caching, evaluation) and on a second
Ctrl-C the interrupt is immediate: nothing is committed half-way there either, because
commits are atomic.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any


class Interrupted(Exception):
    """The user stopped the run; the last completed task stays committed."""


class GracefulStop:
    def __init__(self) -> None:
        self.requested = False
        self.trainer: Any = None  # set by the runner around Trainer.fit
        self._previous: Any = None

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested or self.trainer is None:
            raise KeyboardInterrupt
        self.requested = True
        self.trainer.should_stop = True
        print("\nstopping after this training step (Ctrl-C again to stop at once); the task in progress "
              "will not be saved", file=sys.stderr, flush=True)

    def check(self) -> None:
        """Called after `fit`: a requested stop ends the run before anything is committed."""
        if self.requested:
            raise Interrupted
