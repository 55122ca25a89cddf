"""The cluster launcher through submitit's own local executor, a study in MLflow (parent and
nested runs, updated not duplicated), and `lit-align compare` reading a study directory."""

from __future__ import annotations

import json
import sys

import pytest

from lit_align.study.launcher import LocalLauncher, RunJob, SubmititLauncher


def _job(tmp_path, code: str, name: str = "run") -> RunJob:
    """A job whose command is a tiny Python program instead of `lit-align fit` (what a launcher
    does with the command is under test, not the run)."""

    class Job(RunJob):
        def command(self) -> list[str]:
            return [sys.executable, "-c", code]

    return Job(name, tmp_path / name, tmp_path / name / "config.yaml")


def test_submitit_local_executor_runs_jobs_and_reports_failures(tmp_path):
    pytest.importorskip("submitit")
    launcher = SubmititLauncher(folder=str(tmp_path / "submitit"), cluster="local", timeout_min=5)
    jobs = [_job(tmp_path, "print('ok')", "good"),
            _job(tmp_path, "import sys; print('boom: the run failed', file=sys.stderr); sys.exit(2)", "bad")]
    outcomes = {o.job.label: o for o in launcher.launch(jobs)}
    assert outcomes["good"].returncode == 0 and outcomes["good"].error is None
    assert outcomes["bad"].returncode == 2 and outcomes["bad"].error == "boom: the run failed"
    assert "ok" in (tmp_path / "good" / "study.log").read_text()


def test_local_launcher_sets_threads_per_job(tmp_path):
    launcher = LocalLauncher(jobs=1, threads=1)
    (outcome,) = launcher.launch([_job(tmp_path, "import os; print(os.environ['OMP_NUM_THREADS'])")])
    assert outcome.returncode == 0
    assert (tmp_path / "run" / "study.log").read_text().strip() == "1"


def _report() -> dict:
    interval = {"mean": -0.1, "low": -0.2, "high": 0.0, "n": 2, "level": 0.95}
    return {"study": "tiny", "grid": {"arms": {"a": [], "b": []}, "orders": {"o0": None}, "seeds": [0, 1]},
            "summary": {"a": {"bwt": interval}, "b": {"bwt": dict(interval, mean=-0.05)}},
            "verdicts": [{"name": "F1", "outcome": "not shown"}],
            "runs": [{"arm": arm, "order": "o0", "seed": s, "status": "done", "run_dir": f"runs/{arm}/o0-{s}",
                      "metrics": {"bwt": -0.1 + 0.01 * s}} for arm in ("a", "b") for s in (0, 1)]}


def test_a_study_in_mlflow_is_one_parent_with_a_nested_run_per_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    from lit_align.study.tracking import log_study

    (tmp_path / "study.json").write_text("{}")
    (tmp_path / "study.md").write_text("# tiny\n")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent = log_study(_report(), tmp_path, uri, "studies")
    assert log_study(_report(), tmp_path, uri, "studies") == parent  # a second report updates, never copies
    client = mlflow.MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("studies").experiment_id])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent]
    assert len(runs) == 5 and len(children) == 4
    assert {r.info.run_name for r in children} == {"a/o0-0", "a/o0-1", "b/o0-0", "b/o0-1"}
    top = client.get_run(parent)
    assert top.data.metrics["a/bwt"] == -0.1 and top.data.tags["verdict.F1"] == "not shown"
    assert {a.path for a in client.list_artifacts(parent)} >= {"study.json", "study.md"}
    assert "sqlite" not in (tmp_path / "mlflow_study.json").read_text()  # run ids only, never the URI


def test_compare_reads_a_study_directory_as_its_runs(tmp_path):
    from lit_align.compare import rows_from_dirs

    records = []
    for arm in ("seq", "replay"):
        run = tmp_path / "runs" / arm / "o0-0"
        run.mkdir(parents=True)
        (run / "results.json").write_text(json.dumps({"metrics": {"bwt": -0.2 if arm == "seq" else -0.1}}))
        records.append({"arm": arm, "order": "o0", "seed": 0, "status": "done", "run_dir": f"runs/{arm}/o0-0"})
    records.append({"arm": "copr", "order": "o0", "seed": 0, "status": "failed", "run_dir": "runs/copr/o0-0"})
    (tmp_path / "study.json").write_text(json.dumps({"runs": records}))
    rows = rows_from_dirs([str(tmp_path)])
    assert [(r["run"], r["bwt"]) for r in rows] == [("seq/o0-0", -0.2), ("replay/o0-0", -0.1)]
