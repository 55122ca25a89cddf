"""The runner end to end on a tiny 3-task sequence: hook order, resume after a kill,
safety (one run per output dir, config changes, unreachable tracking)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from lit_align.cli import main
from tests.conftest import REPO, write_jsonl

pytestmark = pytest.mark.integration
DOMAINS = ["polite", "colors", "short"]


def sequence_config(tmp_path, *, method="dpo", memory=None, extra_args=None, out="run"):
    from lit_align.data.synthetic import preference_pairs

    data = tmp_path / "data"
    tasks = []
    for domain in DOMAINS:
        write_jsonl(data / f"{domain}_train.jsonl", preference_pairs(domain, 24, seed=0))
        write_jsonl(data / f"{domain}_eval.jsonl", preference_pairs(domain, 12, seed=1))
        tasks.append({
            "name": domain,
            "method": {"class_path": method, "init_args": {"beta": 0.1, "optimizer": {"lr": 3e-3},
                                                           **(extra_args or {})}},
            "data": {"train": {"path": "json", "data_files": str(data / f"{domain}_train.jsonl")},
                     "eval": {"path": "json", "data_files": str(data / f"{domain}_eval.jsonl")},
                     "batch_size": 4, "max_length": 48, "max_prompt_length": 24},
        })
    cfg = {
        "seed": 3,
        "output_dir": str(tmp_path / out),
        "export": "none",
        "tracking": {"backend": "none"},
        "model": {"class_path": "tiny", "init_args": {"n_layer": 1, "d_model": 32, "n_head": 2}},
        "trainer": {"max_steps": 4, "accelerator": "cpu", "enable_progress_bar": False},
        "memory": memory or {"per_task": 0.25, "replay_ratio": 0.25},
        "evaluation": {"plots": False},
        "sequence": tasks,
    }
    path = tmp_path / f"{out}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path, tmp_path / out


def test_hook_order_and_count_over_three_tasks(tmp_path):
    from tests.continual import recording

    recording.EVENTS.clear()
    path, _ = sequence_config(tmp_path, method="tests.continual.recording.RecordingDPOModule")
    assert main(["fit", "--config", str(path)]) == 0
    per_task = ["on_task_start", "on_fit_start", "on_train_epoch_start", "on_fit_end", "on_task_end",
                "select_for_memory"]
    assert recording.EVENTS == [(t, hook) for t in DOMAINS for hook in per_task]


def _fit_subprocess(path, kill_after=None):
    """`lit-align fit`, or with `kill_after` the same dying like kill -9 once that task commits."""
    entry = ["-m", "lit_align.cli"] if kill_after is None else ["-m", "tests.kill_after_task", str(kill_after)]
    return subprocess.run([sys.executable, *entry, "fit", "--config", str(path)],
                          capture_output=True, text=True, env=os.environ, cwd=REPO)


RESUMABLE = {
    # method state carried between tasks: EWC's Fisher and anchors; COPR's multipliers, thresholds and the
    # memory rows' cached targets
    "dpo_ewc": ({"ewc_lambda": 10.0}, None),
    "copr": ({"memory_batch_size": 2}, {"per_task": 0.25, "replay_ratio": 0.0}),
}


@pytest.mark.parametrize("method", sorted(RESUMABLE))
def test_resume_after_kill_equals_an_uninterrupted_run(tmp_path, method):
    args, memory = RESUMABLE[method]
    killed, killed_dir = sequence_config(tmp_path, out="killed", method=method, extra_args=args, memory=memory)
    clean, clean_dir = sequence_config(tmp_path, out="clean", method=method, extra_args=args, memory=memory)
    first = _fit_subprocess(killed, kill_after=1)
    assert first.returncode == 137, first.stderr[-2000:]
    state = json.loads((killed_dir / "state.json").read_text())
    assert state["completed"] == ["polite", "colors"]
    partial = json.loads((killed_dir / "results.json").read_text())
    assert not partial["complete"] and len(partial["matrix"]) == 2
    resumed = _fit_subprocess(killed)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming after task 2/3" in resumed.stdout
    assert _fit_subprocess(clean).returncode == 0
    a = json.loads((killed_dir / "per_example.json").read_text())
    b = json.loads((clean_dir / "per_example.json").read_text())
    assert a["after"] == b["after"]  # bit-identical margins: same data order, RNG and weights
    ra = json.loads((killed_dir / "results.json").read_text())
    rb = json.loads((clean_dir / "results.json").read_text())
    assert ra["matrix"] == rb["matrix"] and ra["metrics"] == rb["metrics"]
    if method == "copr":  # the third task was constrained by both earlier tasks' memories
        logged = ra["tasks_detail"][2]["metrics"]
        assert {"train/lambda_polite", "train/lambda_colors"} <= logged.keys()


def test_second_run_into_the_same_dir_is_refused(tmp_path, capsys):
    path, out = sequence_config(tmp_path)
    out.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (out / ".lit-align.lock").write_text(str(sleeper.pid))
        assert main(["fit", "--config", str(path)]) == 2
        assert f"in use by another lit-align run (pid {sleeper.pid})" in capsys.readouterr().err
    finally:
        sleeper.kill()
        sleeper.wait()


def test_changed_config_is_refused_and_unreachable_tracking_fails_early(tmp_path, capsys):
    path, out = sequence_config(tmp_path)
    out.mkdir()
    (out / "state.json").write_text(json.dumps({"config_digest": "something-else"}))
    assert main(["fit", "--config", str(path)]) == 2
    assert "holds a run with a different config" in capsys.readouterr().err
    path2, out2 = sequence_config(tmp_path, out="tracked")
    code = main(["fit", "--config", str(path2), "tracking.backend=mlflow",
                 "tracking.tracking_uri=http://127.0.0.1:9"])
    assert code == 2
    assert "MLflow server http://127.0.0.1:9 is unreachable" in capsys.readouterr().err
    assert not (out2 / "state.json").exists()


def test_kl_baseline_and_replay_rows_reach_training(tmp_path):
    path, out = sequence_config(tmp_path, method="dpo_kl", extra_args={"kl_weight": 0.5})
    # one epoch per task: the step count shows how many rows each task trained on
    assert main(["fit", "--config", str(path), "trainer.max_steps=-1", "trainer.max_epochs=1"]) == 0
    results = json.loads((out / "results.json").read_text())
    detail = results["tasks_detail"]
    assert "train/kl_previous" not in detail[0]["metrics"]  # nothing to distil from on task 1
    assert detail[1]["metrics"]["train/kl_previous"] > 0  # the policy moved away from the previous task's
    assert [t["memory_size"] for t in detail] == [6, 12, 18]
    # 24 own rows = 6 batches of 4; later tasks add round(0.25 / 0.75 * 24) = 8 replayed rows: 32 rows, 8 steps
    assert [t["steps"] for t in detail] == [6, 8, 8]
