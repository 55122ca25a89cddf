"""`AlignmentModule`: the one base class every stage and method subclasses.

Subclasses implement `compute_loss(batch) -> LossOutput`. Training and
validation steps are written once here: they log every loss term and metric
under `train/...` / `val/...` and stop on a non-finite loss, naming the step,
the term and the batch rows. `on_task_start` / `on_task_end` are called by the
runner around `Trainer.fit` with explicit arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, final

import lightning as L
import torch
import torchmetrics

from lit_align.contracts import expect_instance, qualified_name
from lit_align.data.records import RecordKind
from lit_align.errors import TrainingError
from lit_align.models import Policy
from lit_align.modules.contract import TaskData, TaskMemory
from lit_align.modules.optim import OptimizerConfig, build_optimizer


class LossOutput(NamedTuple):
    loss: torch.Tensor  # scalar the optimiser minimises
    terms: dict[str, torch.Tensor]  # weighted parts of `loss`, logged and checked for NaN
    metrics: dict[str, torch.Tensor]  # detached diagnostics (accuracy, margins, ...)


@dataclass
class TaskContext:
    """What the runner tells a module about the task it is about to train or has trained.

    `method_state` holds tensors a method carries from task to task (EWC's
    Fisher, COPR's multipliers); a module reads it in `on_task_start` and
    returns the updated state from `on_task_end`. `build_initial_model` rebuilds
    the model as it was before the sequence (for methods anchored to it).
    """

    name: str
    index: int
    datamodule: TaskData
    memory: TaskMemory | None = None
    method_state: dict[str, torch.Tensor] = field(default_factory=dict)
    build_initial_model: Callable[[], Any] | None = None


class AlignmentModule(L.LightningModule):
    """Base of all stages. `policy` is supplied by the runner, the rest by config."""

    runtime_args: ClassVar[tuple[str, ...]] = ("policy",)
    data_kind: ClassVar[RecordKind] = "preference"
    eval_data_kind: ClassVar[RecordKind | None] = None  # the validation split's kind, when not data_kind
    updates_policy: ClassVar[bool] = True
    # False when the loss reads weights outside the model's forward (EWC's penalty): ZeRO-3 and
    # FSDP2 keep only a shard of each weight there, so `lit-align validate` refuses the pair
    supports_sharded_weights: ClassVar[bool] = True

    def __init__(self, *, policy: Policy, optimizer: OptimizerConfig | None = None) -> None:
        super().__init__()
        self.task_name: str | None = None  # the task this module trains, set by the runner: names it in warnings
        self.policy = policy
        self.model = policy.model  # registered as a submodule: devices, checkpoints, strategies
        self.optimizer_config = optimizer or OptimizerConfig()
        self._val_means = torch.nn.ModuleDict()

    # -- the one required override -------------------------------------------------
    def compute_loss(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        raise NotImplementedError(f"{type(self).__name__} must implement compute_loss(batch)")

    # -- runner hooks ----------------------------------------------------------------
    def on_task_start(self, task: TaskContext) -> None:
        """Before fit: e.g. cache reference log-probs into the task's datasets."""

    def on_task_end(self, task: TaskContext) -> dict[str, torch.Tensor]:
        """After fit: return the method state to carry to later tasks (saved with checkpoints)."""
        return dict(task.method_state)

    def select_for_memory(self, task: TaskContext) -> list[float] | None:
        """Scores of this task's own training rows for the replay memory (higher = keep);
        None lets the memory policy choose at random."""
        return None

    def regularization(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Extra training-loss terms (replay anchors, EWC, KL); named terms are logged and summed."""
        return {}

    def prepare_evaluation(self, datamodule: Any, reference_model: Any) -> None:
        """Before scoring a trained model: e.g. compute reference log-probs with `reference_model`."""

    def export(self, directory: Path) -> Path | None:
        """Save what this task produced; by default the policy as a Hugging Face model directory."""
        from lit_align.hf_export import export_policy

        return export_policy(self.policy, directory / "model") if self.updates_policy else None

    # -- written once ------------------------------------------------------------------
    def _check_finite(self, out: LossOutput, batch: dict[str, torch.Tensor]) -> None:
        if torch.isfinite(out.loss).all():
            return
        bad = [n for n, t in out.terms.items() if not torch.isfinite(t).all()] or ["loss"]
        rows = batch["row"].tolist() if "row" in batch else "?"
        raise TrainingError(
            f"non-finite loss at step {self.global_step}: term(s) {', '.join(bad)} = "
            f"{[float(out.terms.get(n, out.loss).detach()) for n in bad]} on batch rows {rows}; "
            f"lower the learning rate, check those rows, or resume from the last checkpoint"
        )

    def _log_train(self, out: LossOutput, batch_size: int) -> None:
        self.log("train/loss", out.loss.detach(), prog_bar=True, batch_size=batch_size)
        for name, value in {**out.terms, **out.metrics}.items():
            self.log(f"train/{name}", value.detach().float(), batch_size=batch_size)

    def _loss(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        """`compute_loss`, held to its contract (a bare tensor, Lightning's habit, is named here)."""
        return expect_instance(self.compute_loss(batch), LossOutput, f"{qualified_name(type(self))}.compute_loss",
                               "LossOutput(loss, terms, metrics) from lit_align.modules.base")

    @final
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        out = self._loss(batch)
        extra = self.regularization(batch)
        if extra:
            out = LossOutput(out.loss + sum(extra.values()), {**out.terms, **extra}, out.metrics)
        self._check_finite(out, batch)
        self._log_train(out, batch_size=len(batch["row"]))
        return out.loss

    @final
    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        # Epoch means through torchmetrics: weighted by batch size, synced across processes.
        out = self._loss(batch)
        values = {"loss": out.loss, **out.terms, **out.metrics}
        for name, value in values.items():
            if name not in self._val_means:
                self._val_means[name] = torchmetrics.MeanMetric().to(self.device)
            self._val_means[name].update(value.detach().float(), weight=len(batch["row"]))

    def on_validation_epoch_start(self) -> None:
        self._val_means.clear()

    def on_validation_epoch_end(self) -> None:
        for name, metric in self._val_means.items():
            self.log(f"val/{name}", metric.compute(), prog_bar=name == "loss", sync_dist=False)
            metric.reset()

    def configure_model(self) -> None:
        """Under `trainer.strategy: fsdp2`, shard the policy per transformer block over the data-parallel mesh."""
        from lightning.pytorch.strategies import ModelParallelStrategy

        if isinstance(self.trainer.strategy, ModelParallelStrategy):
            from lit_align.scale.fsdp2 import shard_policy

            shard_policy(self.model, self.device_mesh["data_parallel"])

    def configure_optimizers(self) -> dict[str, Any]:
        from lit_align.scale.strategies import offloads_optimizer

        params = [p for p in self.parameters() if p.requires_grad]
        return build_optimizer(params, self.optimizer_config, int(self.trainer.estimated_stepping_batches),
                               cpu_offload=offloads_optimizer(self.trainer.strategy))
