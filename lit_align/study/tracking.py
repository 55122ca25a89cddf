"""A study in MLflow: one parent run per study (the grid as params, each arm's means as
metrics, each verdict's outcome as a tag, study.json / study.md / plots as artefacts) and one
nested run per finished run of the grid (its metrics; tags arm, order, seed), so the MLflow UI
compares arms the way `study.md` does.

Run ids are kept in `<output_dir>/mlflow_study.json`: a later `report` updates the same runs
instead of adding copies. The tracking URI is never written there (it may hold a password).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lit_align.io import atomic_write_json

IDS_FILE = "mlflow_study.json"
STUDY_TAG = "lit_align.study"


def log_study(report: dict[str, Any], root: Path, tracking_uri: str, experiment: str) -> str:
    """Log (or update) the study's parent and nested runs; returns the parent run id."""
    import mlflow

    from lit_align.tracking.mlflow import check_reachable

    check_reachable(tracking_uri)
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found is not None else client.create_experiment(experiment)
    ids_path = root / IDS_FILE
    ids: dict[str, Any] = json.loads(ids_path.read_text()) if ids_path.is_file() else {"children": {}}
    if ids.get("parent") is None:
        ids["parent"] = client.create_run(experiment_id, run_name=report["study"],
                                          tags={STUDY_TAG: report["study"]}).info.run_id
        grid = report["grid"]
        for key, value in (("arms", ",".join(grid["arms"])), ("orders", ",".join(grid["orders"])),
                           ("seeds", ",".join(map(str, grid["seeds"])))):
            client.log_param(ids["parent"], key, value)
    parent = ids["parent"]
    for arm, metrics in report["summary"].items():
        for name, interval in metrics.items():
            if interval["n"] and interval["mean"] is not None:
                client.log_metric(parent, f"{arm}/{name}", interval["mean"])
    for verdict in report["verdicts"]:
        client.set_tag(parent, f"verdict.{verdict['name']}", verdict["outcome"])
    for run in report["runs"]:
        label = f"{run['arm']}/{run['order']}-{run['seed']}"
        if run["status"] != "done" or label in ids["children"]:
            continue
        child = client.create_run(experiment_id, run_name=label, tags={
            "mlflow.parentRunId": parent, STUDY_TAG: report["study"], "arm": run["arm"], "order": run["order"],
            "seed": str(run["seed"])}).info.run_id
        for name, value in run["metrics"].items():
            if value is not None:
                client.log_metric(child, name, value)
        client.set_terminated(child)
        ids["children"][label] = child
    for name in ("study.json", "study.md"):
        client.log_artifact(parent, str(root / name))
    if (root / "plots").is_dir():
        client.log_artifacts(parent, str(root / "plots"), artifact_path="plots")
    client.set_terminated(parent)
    atomic_write_json(ids_path, ids)
    return parent
