"""Each nested task run carries the task's own config (params and a JSON artefact, secrets
redacted) and its row of the result matrix (metrics and a JSON artefact)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow

from lit_align.config.schema import TrackingConfig
from lit_align.secrets import register
from lit_align.tracking.mlflow import MATRIX_ROW_ARTIFACT, TASK_CONFIG_ARTIFACT, SequenceTracker


def _artifact(client: mlflow.MlflowClient, run_id: str, name: str, into: Path) -> dict:
    return json.loads(Path(client.download_artifacts(run_id, name, str(into))).read_text())


def test_a_task_run_holds_its_config_and_matrix_row_as_artefacts(tmp_path):
    tracker = SequenceTracker(TrackingConfig(), tmp_path / "run", "seq")
    tracker.start({"seed": 1}, None)
    register("hf_abcdefghijklmnopqrstuvwxyz0123", "${oc.env:HF_TOKEN}")  # as load_config registers it
    task = {"name": "first", "method": {"class_path": "dpo", "init_args": {"beta": 0.2}},
            "data": {"train": {"path": "json", "token": "hf_abcdefghijklmnopqrstuvwxyz0123"}}}
    logger = tracker.task_logger("first", 0, "dpo", task)
    tracker.log_task_end(logger, {"eval/first": 0.75, "eval/second": 0.5}, step=0)

    client = mlflow.MlflowClient(tracker.uri)
    run = client.get_run(logger.run_id)
    assert run.data.params["method.init_args.beta"] == "0.2"
    assert run.data.metrics == {"eval/first": 0.75, "eval/second": 0.5}
    listed = {a.path for a in client.list_artifacts(logger.run_id)}
    assert listed == {TASK_CONFIG_ARTIFACT, MATRIX_ROW_ARTIFACT}
    stored = _artifact(client, logger.run_id, TASK_CONFIG_ARTIFACT, tmp_path / "dl1")
    assert stored["method"] == task["method"]
    assert stored["data"]["train"]["token"] == "${oc.env:HF_TOKEN}"  # redacted like the params
    row = _artifact(client, logger.run_id, MATRIX_ROW_ARTIFACT, tmp_path / "dl2")
    assert row == {"task_index": 0, "scores": {"eval/first": 0.75, "eval/second": 0.5}}


def test_a_disabled_tracker_writes_nothing(tmp_path):
    tracker = SequenceTracker(TrackingConfig(backend="none"), tmp_path, "seq")
    assert tracker.start({"seed": 1}, None) is None
    assert tracker.task_logger("first", 0, "dpo", {"name": "first"}) is None
    tracker.log_task_end(None, {"eval/first": 1.0}, step=0)
    tracker.finish({"bwt": 0.0})
    assert list(tmp_path.iterdir()) == []
