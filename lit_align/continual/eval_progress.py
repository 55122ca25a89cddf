"""Progress of an evaluation round in plain lines: what is being scored, how far, how fast.

An evaluation round of a real model (pairwise log-probs, generated answers, the probe) takes
minutes, and on a loaded machine half an hour; it used to print nothing. Each round prints
one line when it starts and one when it ends; a phase that runs longer than `every` seconds
prints a line every `every` seconds from a heartbeat thread, so even one slow generation
batch cannot leave the user without news. Plain lines, terminal or not: they read the same
in a log file.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

Tick = Callable[[int, int], None]  # (items finished, tokens generated) since the last call


@dataclass
class _Phase:
    what: str
    total: int
    unit: str
    done: int = 0
    tokens: int = 0
    start: float = field(default_factory=time.perf_counter)

    def line(self) -> str:
        seconds = time.perf_counter() - self.start
        rate = f", {self.tokens / seconds:.1f} tok/s" if self.tokens and seconds > 0 else ""
        return f"{self.what}: {self.done}/{self.total} {self.unit}{rate}, {seconds:.0f} s"


class EvalProgress:
    def __init__(self, *, every: float = 10.0, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.every = every
        self.enabled = enabled
        self.stream = stream
        self.label = ""
        self._phase: _Phase | None = None
        self._lock = threading.Lock()

    def _print(self, text: str) -> None:
        if self.enabled:
            print(f"[eval: {self.label}] {text}", file=self.stream or sys.stdout, flush=True)

    @contextlib.contextmanager
    def round(self, label: str, plan: str) -> Iterator[None]:
        """One evaluation of one model (`label`: "reference model", "after polite"); `plan` says
        what it will score ("" when nothing: the round is silent). A round that took at least
        `every` seconds ends with its time."""
        self.label = label
        start = time.perf_counter()
        if plan:
            self._print(f"scoring {plan}")
        yield
        if plan and time.perf_counter() - start >= self.every:
            self._print(f"done in {time.perf_counter() - start:.1f} s")

    @contextlib.contextmanager
    def phase(self, what: str, total: int, unit: str) -> Iterator[Tick]:
        """A slow step of the round; the yielded `tick(items, tokens)` advances its counters."""
        state = _Phase(what, total, unit)
        stop = threading.Event()

        def tick(items: int, tokens: int = 0) -> None:
            with self._lock:
                state.done += items
                state.tokens += tokens

        def heartbeat() -> None:
            while not stop.wait(self.every):
                with self._lock:
                    text = state.line()
                self._print(text)

        beat = threading.Thread(target=heartbeat, name="lit-align-eval-progress", daemon=True)
        if self.enabled:
            beat.start()
        try:
            yield tick
        finally:
            stop.set()
            if beat.is_alive():
                beat.join()
            if time.perf_counter() - state.start >= self.every:  # a phase that needed news ends with a line
                self._print(state.line())
