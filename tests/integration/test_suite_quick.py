"""The CI-sized synthetic suite: builds a base model, runs 2 methods, aggregates with CIs."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


def test_quick_suite_runs_and_reports(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run_suite.py"), "--quick", "--out", str(tmp_path / "out"),
         "--work", str(tmp_path / "work")], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "suite_synthetic_quick.json").read_text())
    assert set(report["summary"]) == {"sequential_dpo", "dpo_replay"}
    for run in report["runs"]:
        assert len(run["matrix"]) == 3 and run["splits"] == ["polite", "colors", "keyword"]
        assert -1 <= run["metrics"]["bwt"] <= 1
    assert "| sequential_dpo |" in (tmp_path / "out" / "suite_synthetic_quick.md").read_text()
    assert (tmp_path / "work" / "mlflow.db").is_file()
