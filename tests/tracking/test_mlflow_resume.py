"""After a kill, MLflow shows one run per task and one parent per sequence: the interrupted
task's run is retired (KILLED, then deleted) on resume, and a kill before the first task ends
leaves no orphan parent because the parent's id is recorded in state.json at once."""

from __future__ import annotations

import json

import mlflow
import pytest
import yaml

from lit_align.cli import main
from lit_align.config.schema import TrackingConfig
from lit_align.tracking.mlflow import SequenceTracker
from tests.conftest import write_jsonl
from tests.test_cli_errors import GOOD_PAIR


def _runs(uri: str, experiment: str = "lit-align", deleted: bool = False):
    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    view = mlflow.entities.ViewType.DELETED_ONLY if deleted else mlflow.entities.ViewType.ACTIVE_ONLY
    return client.search_runs([exp.experiment_id], run_view_type=view)


def test_resume_retires_the_interrupted_task_run(tmp_path):
    tracker = SequenceTracker(TrackingConfig(), tmp_path, "seq")
    parent = tracker.start({"a": 1}, None)
    tracker.log_task_end(tracker.task_logger("first", 0, "dpo"), {"score": 1.0}, step=0)
    tracker.task_logger("second", 1, "dpo")  # killed here: its run stays RUNNING
    resumed = SequenceTracker(TrackingConfig(), tmp_path, "seq")
    assert resumed.start({"a": 1}, parent, completed=("first",)) == parent
    active = _runs(tracker.uri)
    tasks = sorted(r.data.tags.get("task", "(parent)") for r in active)
    assert tasks == ["(parent)", "first"]
    [killed] = _runs(tracker.uri, deleted=True)
    assert killed.data.tags["task"] == "second" and killed.info.status == "KILLED"


def test_text_params_carry_no_json_quotes(tmp_path):
    tracker = SequenceTracker(TrackingConfig(), tmp_path, "seq")
    parent = tracker.start({"model": {"class_path": "tiny"}, "seed": 3}, None)
    params = mlflow.MlflowClient(tracker.uri).get_run(parent).data.params
    assert params["model.class_path"] == "tiny" and params["seed"] == "3"


def test_a_failure_before_the_first_task_ends_leaves_no_orphan_parent(tmp_path, capsys):
    data = tmp_path / "data"
    write_jsonl(data / "bad.jsonl", [GOOD_PAIR, {**GOOD_PAIR, "rejected": GOOD_PAIR["chosen"]}])
    write_jsonl(data / "good.jsonl", [GOOD_PAIR] * 4)
    cfg = {"output_dir": str(tmp_path / "run"), "export": "none",
           "model": {"class_path": "tiny", "init_args": {"n_layer": 1, "d_model": 32, "n_head": 2}},
           "trainer": {"max_steps": 1, "accelerator": "cpu", "enable_progress_bar": False},
           "sequence": [{"name": "dpo", "method": {"class_path": "dpo"},
                         "data": {"train": {"path": "json", "data_files": str(data / "bad.jsonl")},
                                  "max_length": 64, "max_prompt_length": 32}}]}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["fit", "--config", str(path)]) == 2  # the identical pair stops task 0 after tracking began
    parent = json.loads((tmp_path / "run" / "state.json").read_text())["parent_run_id"]
    (data / "bad.jsonl").write_text((data / "good.jsonl").read_text())  # fixed in place: same config
    assert main(["fit", "--config", str(path)]) == 0, capsys.readouterr().err
    uri = f"sqlite:///{tmp_path / 'run' / 'mlflow.db'}"
    parents = [r for r in _runs(uri) if r.data.tags.get("lit_align.kind") == "sequence"]
    assert [r.info.run_id for r in parents] == [parent]
    assert parents[0].info.status == "FINISHED"


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


def test_compare_experiment_without_a_store_says_where_runs_keep_theirs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "--experiment", "lit-align"]) == 2
    assert "needs --tracking-uri: each run logs to its own store" in capsys.readouterr().err
    assert main(["compare", "--experiment", "lit-align", "--tracking-uri", "sqlite:///nothing.db"]) == 2
    assert "no such MLflow database file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no empty store left behind


def test_task_runs_carry_their_config_and_matrix_row(tmp_path):
    tracker = SequenceTracker(TrackingConfig(), tmp_path, "seq")
    tracker.start({"a": 1}, None)
    logger = tracker.task_logger("first", 0, "dpo", {"name": "first", "method": {"class_path": "dpo"}})
    tracker.log_task_end(logger, {"eval/first": 0.75}, step=0)
    [task_run] = [r for r in _runs(tracker.uri) if r.data.tags.get("task") == "first"]
    assert task_run.data.params["method.class_path"] == "dpo"
    assert task_run.data.metrics["eval/first"] == 0.75


def test_compare_prints_without_writing_unless_given_out(tmp_path, capsys, monkeypatch):
    runs = tmp_path / "runs"
    for name, bwt in (("a", -0.25), ("b", 0.5)):
        (runs / name).mkdir(parents=True)
        (runs / name / "results.json").write_text(json.dumps({"metrics": {"bwt": bwt, "average_score": 0.75}}))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["compare", "--runs", str(runs / "a"), str(runs / "b")]) == 0
    out = capsys.readouterr().out
    assert "| a | +0.7500 | -0.2500 |" in out and "pass --out DIR" in out
    assert list(work.iterdir()) == []  # nothing written where the command happened to run
    assert main(["compare", "--runs", str(runs / "a"), str(runs / "b"), "--out", str(tmp_path / "cmp")]) == 0
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == ["comparison.csv", "comparison.md",
                                                                    "comparison.png"]
    header = (tmp_path / "cmp" / "comparison.csv").read_text().splitlines()[0]
    assert header.startswith("run,forgetting_form,")  # the form travels with the numbers
