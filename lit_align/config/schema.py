"""The top-level config schema: dataclasses whose fields are the YAML keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from lit_align.binding import ComponentOf, ComponentSpec, KwargsOf, Range
from lit_align.config.continual import EvaluationConfig, MemoryConfig
from lit_align.config.data import DataConfig
from lit_align.errors import ConfigError

TrainerKwargs = Annotated[dict[str, Any], KwargsOf("lightning.Trainer")]


@dataclass
class TaskConfig:
    """One step of a sequence: a method trained on one dataset (a preference domain)."""

    name: str
    method: Annotated[ComponentSpec, ComponentOf("lit_align.modules.base.AlignmentModule")]
    data: DataConfig
    trainer: TrainerKwargs = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.data.onpolicy is not None and not isinstance(self.method, str):
            kind = getattr(self.method.resolve(), "data_kind", None)
            if kind != "preference":
                raise ConfigError(f"task {self.name!r}: data.onpolicy makes preference pairs, but "
                                  f"{self.method.class_path} trains on {kind} data; remove data.onpolicy or use a "
                                  f"preference method (dpo, copr, ...)")


@dataclass
class TrackingConfig:
    """MLflow tracking. Without `tracking_uri` runs go to `<output_dir>/mlflow.db`."""

    backend: Literal["mlflow", "none"] = "mlflow"
    tracking_uri: str | None = None
    experiment: str = "lit-align"
    run_name: str | None = None


@dataclass
class RunConfig:
    """A run: a model and a sequence of tasks (a single-stage run has one task)."""

    model: Annotated[ComponentSpec, ComponentOf("lit_align.models.ModelSpec")]
    sequence: list[TaskConfig]
    output_dir: str = "runs/default"
    seed: Annotated[int, Range(ge=0)] = 0
    trainer: TrainerKwargs = field(default_factory=dict)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    export: Literal["last", "every_task", "none"] = "last"  # Hugging Face model directories
    vars: dict[str, Any] = field(default_factory=dict)  # free values for ${vars.x} interpolation
