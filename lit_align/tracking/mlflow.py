"""MLflow loggers: a local sqlite store under the output dir unless a URI is configured.

The import of mlflow is deferred here: it costs seconds and `--help` must not pay it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lit_align.config.schema import TrackingConfig
from lit_align.errors import ConfigError


def tracking_uri(cfg: TrackingConfig, output_dir: str) -> str:
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
            f"tracking.tracking_uri: MLflow server {uri} is unreachable ({exc}); start it, fix "
            f"the URI, or delete tracking_uri to log to a local sqlite store"
        ) from exc


def make_logger(cfg: TrackingConfig, output_dir: str, run_name: str, tags: dict[str, str]) -> Any:
    """A Lightning `MLFlowLogger`, or None when tracking is off."""
    if cfg.backend == "none":
        return None
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from lightning.pytorch.loggers import MLFlowLogger

    uri = tracking_uri(cfg, output_dir)
    check_reachable(uri)
    return MLFlowLogger(
        experiment_name=cfg.experiment,
        run_name=run_name,
        tracking_uri=uri,
        tags=tags,
        artifact_location=str(Path(output_dir).resolve() / "mlartifacts"),
    )
