"""Ctrl-C during `fit`: one line on stderr, exit 130, nothing of the unfinished task committed,
and the same command resumes (issue 18)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.conftest import write_jsonl
from tests.test_cli_errors import GOOD_PAIR

pytestmark = pytest.mark.integration


def _config(tmp_path, steps: int) -> tuple:
    write_jsonl(tmp_path / "pref.jsonl", [GOOD_PAIR] * 16)
    out = tmp_path / "run"
    cfg = {"output_dir": str(out), "export": "none", "tracking": {"backend": "none"},
           "model": {"class_path": "tiny", "init_args": {"n_layer": 1, "d_model": 32, "n_head": 2}},
           "trainer": {"max_steps": steps, "accelerator": "cpu", "enable_progress_bar": False},
           "sequence": [{"name": "dpo", "method": {"class_path": "dpo"},
                         "data": {"train": {"path": "json", "data_files": str(tmp_path / "pref.jsonl")},
                                  "batch_size": 4, "max_length": 64, "max_prompt_length": 32}}]}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path, out


def test_ctrl_c_exits_130_with_one_line_and_commits_nothing(tmp_path):
    path, out = _config(tmp_path, steps=2000)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lit_align.cli", "fit", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while not (out / "state.json").exists() and time.time() < deadline:  # written once tracking has begun
        time.sleep(0.2)
    time.sleep(2)  # into training (or still preparing: either way the interrupt must be clean)
    start = time.time()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("lit-align fit: interrupted; completed tasks stay committed")
    assert time.time() - start < 30
    assert json.loads((out / "state.json").read_text())["completed"] == []
    assert not (out / "checkpoints").exists()
    # the same command resumes the task from the start and finishes it
    done = subprocess.run([sys.executable, "-m", "lit_align.cli", "fit", "--config", str(path)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    state = json.loads((out / "state.json").read_text())
    assert state["completed"] == ["dpo"] and state["task_results"][0]["steps"] == 2000


def _start_and_wait_for_training(path, env):
    """Start `fit` and return once its plain progress says training began (the config turns the
    rich bar off, which must not turn progress lines off)."""
    proc = subprocess.Popen([sys.executable, "-m", "lit_align.cli", "fit", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("[dpo] training: 2000 steps"):
            return proc, seen
    raise AssertionError(f"training never started: {''.join(seen)} {proc.stderr.read()}")


def test_sigterm_finishes_the_step_exits_143_with_one_line_and_resumes(tmp_path):
    """What `kill`, Slurm and Docker send: before, Lightning's handler turned it into exit code 0 with
    nothing committed and no message, so a scheduler recorded success."""
    path, out = _config(tmp_path, steps=2000)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc, _ = _start_and_wait_for_training(path, env)
    time.sleep(1)
    start = time.time()
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "Received SIGTERM" not in err
    assert err.strip().splitlines()[-1] == ("lit-align fit: interrupted (SIGTERM); completed tasks stay committed: "
                                            "run the same command to resume")
    assert "[dpo] training interrupted after " in rest and "training done" not in rest
    assert time.time() - start < 30
    assert json.loads((out / "state.json").read_text())["completed"] == []
    assert not (out / "checkpoints").exists() and not (out / ".lit-align.lock").exists()
    done = subprocess.run([sys.executable, "-m", "lit_align.cli", "fit", "--config", str(path)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "state.json").read_text())["completed"] == ["dpo"]


def test_sigterm_outside_training_exits_143_at_once(tmp_path):
    """A second SIGTERM (or one outside `fit`) stops at once, still with one line and 143."""
    path, out = _config(tmp_path, steps=2000)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc, _ = _start_and_wait_for_training(path, env)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("lit-align fit: interrupted (SIGTERM)")
    assert json.loads((out / "state.json").read_text())["completed"] == []
