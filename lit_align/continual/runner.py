"""`TaskSequenceRunner`: trains a policy through a sequence of tasks.

For each task: build the method module around the current policy, build and set
up its data, call `on_task_start`, `Trainer.fit`, `on_task_end`, export the
policy, record metrics. A single-stage run is a sequence of one task.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lit_align.config.load import save_config
from lit_align.config.schema import RunConfig, TaskConfig
from lit_align.continual.lock import OutputDirLock
from lit_align.errors import ConfigError

log = logging.getLogger(__name__)

_TRAINER_DEFAULTS: dict[str, Any] = {
    "enable_checkpointing": False,
    "enable_model_summary": False,
    "num_sanity_val_steps": 0,
    "log_every_n_steps": 10,
}


@dataclass
class TaskResult:
    name: str
    method: str
    steps: int
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)
    data: list[str] = field(default_factory=list)


def quiet_third_party() -> None:
    """Progress bars and adverts from dependencies drown the training display."""
    import datasets
    from transformers.utils import logging as hf_logging

    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _DropAdverts) for f in rank_zero.filters):
        rank_zero.addFilter(_DropAdverts())


class _DropAdverts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


def _floats(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in sorted(metrics.items())}


def atomic_write_json(path: Path, payload: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


class TaskSequenceRunner:
    def __init__(self, config: RunConfig, raw_config: dict[str, Any]) -> None:
        self.config = config
        self.raw_config = raw_config
        self.output_dir = Path(config.output_dir)

    def _trainer_kwargs(self, task: TaskConfig, logger: Any) -> dict[str, Any]:
        kwargs = {**_TRAINER_DEFAULTS, **self.config.trainer, **task.trainer}
        kwargs.setdefault("logger", logger if logger is not None else False)
        kwargs.setdefault("default_root_dir", str(self.output_dir / "tasks" / task.name))
        return kwargs

    def _build_module(self, task: TaskConfig, index: int, policy: Any) -> Any:
        from lit_align.modules.base import AlignmentModule

        module = task.method.instantiate(policy=policy)
        if not isinstance(module, AlignmentModule):
            raise ConfigError(f"sequence[{index}].method: {task.method.class_path} is not an AlignmentModule")
        return module

    def run(self) -> list[TaskResult]:
        import lightning as L

        from lit_align.continual.display import print_summary
        from lit_align.data.datamodule import AlignmentDataModule
        from lit_align.modules.base import TaskContext
        from lit_align.tracking.mlflow import make_logger

        quiet_third_party()
        with OutputDirLock(self.output_dir):
            save_config(self.raw_config, self.output_dir / "config.yaml")
            L.seed_everything(self.config.seed, workers=True, verbose=False)
            policy = self.config.model.instantiate().build()
            results: list[TaskResult] = []
            for index, task in enumerate(self.config.sequence):
                start = time.perf_counter()
                module = self._build_module(task, index, policy)
                where = f"sequence[{index}].data"
                datamodule = AlignmentDataModule(
                    task.data, kind=module.data_kind, tokenizer=policy.tokenizer, where=where
                )
                datamodule.setup("fit")
                context = TaskContext(name=task.name, index=index, datamodule=datamodule)
                module.on_task_start(context)
                logger = make_logger(
                    self.config.tracking, str(self.output_dir),
                    run_name=f"{self.config.tracking.run_name or self.output_dir.name}/{task.name}",
                    tags={"task": task.name, "task_index": str(index), "method": task.method.class_path},
                )
                if logger is not None:
                    logger.log_hyperparams({"config": json.dumps(self.raw_config)[:6000]})
                trainer = L.Trainer(**self._trainer_kwargs(task, logger))
                trainer.fit(module, datamodule=datamodule)
                module.on_task_end(context)
                if self.config.export:
                    module.export(self.output_dir / "tasks" / task.name)
                result = TaskResult(
                    name=task.name,
                    method=type(module).__name__,
                    steps=trainer.global_step,
                    seconds=round(time.perf_counter() - start, 2),
                    metrics=_floats(trainer.callback_metrics),
                    data=[r.summary() for r in datamodule.reports],
                )
                results.append(result)
                if logger is not None:
                    logger.experiment.log_artifact(logger.run_id, str(self.output_dir / "config.yaml"))
                    logger.finalize("success")
                atomic_write_json(self.output_dir / "results.json", {"tasks": [r.__dict__ for r in results]})
            print_summary(results)
            return results
