"""MLflow tracking: one parent run per sequence, a nested run per task.

Local sqlite store under the output dir unless `tracking.tracking_uri` names
another; a remote server is checked before training starts. mlflow is imported
here only, so `--help` does not pay for it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lit_align.config.schema import TrackingConfig
from lit_align.errors import ConfigError
from lit_align.secrets import redact, redact_text

SEQUENCE_TAG = "lit_align.kind"
TASK_CONFIG_ARTIFACT = "task_config.json"  # on each nested task run
MATRIX_ROW_ARTIFACT = "matrix_row.json"  # the task's row of the result matrix, by split


def tracking_uri(cfg: TrackingConfig, output_dir: str | Path) -> str:
    if cfg.tracking_uri:
        return cfg.tracking_uri
    return f"sqlite:///{Path(output_dir).resolve() / 'mlflow.db'}"


def check_reachable(uri: str) -> None:
    """Fail before training when a remote tracking server does not answer."""
    if not uri.startswith(("http://", "https://")):
        return
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=5)  # noqa: S310
    except (urllib.error.URLError, OSError) as exc:
        raise ConfigError(
            f"tracking.tracking_uri: MLflow server {redact_text(uri)} is unreachable ({redact_text(str(exc))}); "
            f"start it, fix "
            f"the URI, or delete tracking_uri to log to a local sqlite store"
        ) from exc


class SequenceTracker:
    """Parent/nested MLflow runs; a no-op when `backend: none`."""

    def __init__(self, cfg: TrackingConfig, output_dir: Path, run_name: str) -> None:
        self.cfg = cfg
        self.enabled = cfg.backend == "mlflow"
        self.output_dir = output_dir
        self.run_name = run_name
        self.uri = tracking_uri(cfg, output_dir)
        self.parent_run_id: str | None = None
        self._client: Any = None
        self._experiment_id: str | None = None

    def start(self, config: dict[str, Any], parent_run_id: str | None, completed: tuple[str, ...] = ()
              ) -> str | None:
        """Open the sequence's parent run, or reopen it on resume, retiring the task runs that a
        kill interrupted so each task keeps one run (the UI and `compare` show one per task)."""
        if not self.enabled:
            return None
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        check_reachable(self.uri)
        import mlflow

        self._client = mlflow.MlflowClient(tracking_uri=self.uri)
        experiment = self._client.get_experiment_by_name(self.cfg.experiment)
        self._experiment_id = (experiment.experiment_id if experiment else self._client.create_experiment(
            self.cfg.experiment, artifact_location=(self.output_dir.resolve() / "mlartifacts").as_uri()))
        if parent_run_id is None:
            run = self._client.create_run(self._experiment_id, run_name=self.run_name,
                                          tags={SEQUENCE_TAG: "sequence"})
            parent_run_id = run.info.run_id
            flat = _flatten(redact(config))
            for start in range(0, len(flat), 100):
                batch = list(flat.items())[start : start + 100]
                self._client.log_batch(parent_run_id, params=[mlflow.entities.Param(k, v) for k, v in batch])
        else:
            self._client.update_run(parent_run_id, status="RUNNING")
            self._retire_interrupted(parent_run_id, set(completed))
        self.parent_run_id = parent_run_id
        return parent_run_id

    def _retire_interrupted(self, parent_run_id: str, completed: set[str]) -> None:
        """Task runs of this sequence whose task did not complete: marked KILLED, then deleted
        (MLflow keeps deleted runs restorable); the task's rerun gets a fresh run."""
        children = self._client.search_runs(
            [self._experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'")
        for run in children:
            if run.data.tags.get("task") in completed:
                continue
            if run.info.status == "RUNNING":
                self._client.set_terminated(run.info.run_id, status="KILLED")
            self._client.delete_run(run.info.run_id)

    def task_logger(self, task: str, index: int, method: str, task_config: dict[str, Any] | None = None) -> Any:
        """A Lightning `MLFlowLogger` writing into a new run nested under the sequence, which
        carries the task's own config as params (secrets redacted)."""
        if not self.enabled:
            return None
        import mlflow
        from lightning.pytorch.loggers import MLFlowLogger

        run = self._client.create_run(
            self._experiment_id, run_name=f"{self.run_name}/{task}",
            tags={"mlflow.parentRunId": self.parent_run_id, SEQUENCE_TAG: "task", "task": task,
                  "task_index": str(index), "method": method},
        )
        redacted = redact(task_config or {})
        flat = list(_flatten(redacted).items())
        for start in range(0, len(flat), 100):
            self._client.log_batch(run.info.run_id, params=[mlflow.entities.Param(k, v)
                                                            for k, v in flat[start : start + 100]])
        # params are cut at 6000 chars and flattened; the artefact is the task's config as written
        self._client.log_dict(run.info.run_id, redacted, TASK_CONFIG_ARTIFACT)
        return MLFlowLogger(experiment_name=self.cfg.experiment, tracking_uri=self.uri, run_id=run.info.run_id)

    def log_task_end(self, logger: Any, metrics: dict[str, float], step: int) -> None:
        """The task's row of the result matrix goes to its own run and, by step, to the parent."""
        if not self.enabled or logger is None:
            return
        self._client.log_batch(logger.run_id, metrics=_metrics(metrics, step))
        self._client.log_dict(logger.run_id, {"task_index": step, "scores": metrics}, MATRIX_ROW_ARTIFACT)
        logger.finalize("success")
        self._client.log_batch(self.parent_run_id, metrics=_metrics(metrics, step))

    def log_artifacts(self, paths: list[Path]) -> None:
        if not self.enabled:
            return
        for path in paths:
            if path.exists():
                self._client.log_artifact(self.parent_run_id, str(path))

    def finish(self, metrics: dict[str, float], status: str = "FINISHED") -> None:
        if not self.enabled:
            return
        if metrics:
            self._client.log_batch(self.parent_run_id, metrics=_metrics(metrics, 0))
        self._client.set_terminated(self.parent_run_id, status=status)


def _metrics(values: dict[str, float], step: int) -> list[Any]:
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(k, float(v), now, step) for k, v in values.items()]


def _flatten(node: Any, prefix: str = "") -> dict[str, str]:
    """Config as flat `a.b.c` params (MLflow values are strings of at most 6000 chars)."""
    if isinstance(node, dict):
        out: dict[str, str] = {}
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(node, list) and any(isinstance(v, (dict, list)) for v in node):
        out = {}
        for i, v in enumerate(node):
            out.update(_flatten(v, f"{prefix}.{i}"))
        return out
    return {prefix: (node if isinstance(node, str) else json.dumps(node))[:6000]}
