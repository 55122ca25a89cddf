"""Progress of evaluation rounds and training in plain lines (issue 34: the real quickstart's
opening evaluation printed nothing for 36 minutes; `enable_progress_bar: false` silenced all)."""

from __future__ import annotations

import io
import time

from lit_align.continual.eval_progress import EvalProgress
from lit_align.continual.progress import PlainProgress, StepAwareProgressBar, progress_callbacks


def test_a_slow_phase_prints_a_line_every_period_with_counts_and_rate():
    out = io.StringIO()
    progress = EvalProgress(every=0.05, stream=out)
    with progress.round("reference model", "1 split(s), 8 pairs, 6 generated answers"):
        with progress.phase("answers on polite", 6, "answers") as tick:
            tick(3, 120)
            time.sleep(0.18)  # three heartbeats or so
            tick(3, 80)
    lines = out.getvalue().splitlines()
    assert lines[0] == "[eval: reference model] scoring 1 split(s), 8 pairs, 6 generated answers"
    beats = [line for line in lines if line.startswith("[eval: reference model] answers on polite: 3/6 answers, ")]
    assert len(beats) >= 2 and "tok/s" in beats[0]
    assert lines[-2].startswith("[eval: reference model] answers on polite: 6/6 answers, ")  # the phase's last word
    assert lines[-1].startswith("[eval: reference model] done in ")


def test_a_fast_round_prints_its_plan_only_and_an_empty_one_nothing():
    out = io.StringIO()
    progress = EvalProgress(every=10.0, stream=out)
    with progress.round("after polite", "3 split(s), 192 pairs"):
        with progress.phase("pairwise log-probs", 192, "pairs") as tick:
            tick(192, 0)
    with progress.round("after colors", ""):
        pass
    assert out.getvalue().splitlines() == ["[eval: after polite] scoring 3 split(s), 192 pairs"]


def test_disabled_progress_prints_nothing():
    out = io.StringIO()
    progress = EvalProgress(every=0.01, stream=out, enabled=False)
    with progress.round("x", "1 split(s)"), progress.phase("p", 1, "pairs"):
        time.sleep(0.05)
    assert out.getvalue() == ""


def test_turning_the_bar_off_keeps_plain_progress(monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    callbacks, bar = progress_callbacks({"enable_progress_bar": False, "log_every_n_steps": 7}, "polite")
    assert bar is False and len(callbacks) == 1 and isinstance(callbacks[0], PlainProgress)
    assert callbacks[0].every == 7
    callbacks, bar = progress_callbacks({}, "polite")
    assert bar is True and isinstance(callbacks[0], StepAwareProgressBar)
