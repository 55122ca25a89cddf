"""The synthetic suite's study file at CI size: the shipped study with two of its arms, one
seed, one order and 4 steps a task, run through `lit-align study` (its prepare hook builds the
base model and data), reported with the same verdicts."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


def test_quick_suite_runs_and_reports(tmp_path):
    out = tmp_path / "suite"
    command = [sys.executable, "-m", "lit_align.cli", "study", "run", "--arms", "sequential_dpo", "dpo_replay",
               "--config", "configs/studies/suite_synthetic.yaml", f"output_dir={out}", "seeds=[0]",
               "orders=null", "base.trainer.max_steps=4",
               "launcher.init_args.jobs=1"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_DISABLE_TELEMETRY": "true"}
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "study.json").read_text())
    done = [r for r in report["runs"] if r["status"] == "done"]
    assert {r["arm"] for r in done} == {"sequential_dpo", "dpo_replay"} and len(done) == 2
    for run in done:
        assert len(run["matrix"]) == 5 and run["splits"] == ["polite", "colors", "keyword", "avoid", "short"]
        assert -1 <= run["metrics"]["bwt"] <= 1 and run["metrics"]["generation.metrics.average_score"] is not None
    assert len(report["missing"]) == 6  # the other arms, not run here: listed, not averaged
    assert [v["name"] for v in report["verdicts"]] == ["F1", "replay_better", "F2"]
    assert all(v["outcome"] == "not shown" for v in report["verdicts"])  # one seed: no interval
    text = (out / "study.md").read_text()
    assert "| sequential_dpo |" in text and "## Missing runs (6)" in text
