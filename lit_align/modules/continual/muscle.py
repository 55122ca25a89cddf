"""MUSCLE: train a compatibility model on the updated base (Echterhoff et al., arXiv 2407.09435).

Run as the task after the new task adapter was trained on the new base: the
policy at task start (new base + new task adapter, A_v2) is frozen as the new
teacher and keeps training as the compatibility model (A_C initialised from A_v2,
which the paper finds essential); `old_model` is the old task model M_v1 (old
base + old adapter, e.g. the `tasks/<name>/model` export of an earlier run).
Maths and results: docs/methods/muscle.md.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import torch

from lit_align.binding import ComponentOf, ComponentSpec, Range
from lit_align.data.collate import IGNORE_INDEX
from lit_align.data.records import RecordKind
from lit_align.errors import ConfigError
from lit_align.losses.muscle import MaskKind, mixed_objective, muscle_loss, shift_for_next_token
from lit_align.models import Policy, is_peft_model
from lit_align.modules.adapters import add_frozen_twin, remove_twin, through_adapter
from lit_align.modules.base import AlignmentModule, LossOutput, TaskContext
from lit_align.modules.optim import OptimizerConfig
from lit_align.modules.reference import eval_mode, freeze, frozen_copy

NEW_TEACHER_ADAPTER = "muscle_new_teacher"


class MUSCLEModule(AlignmentModule):
    """Distil from the old task model where the student is wrong, from the new one where it is right.

    `train_on: all` uses every token of prompt and completion (the paper trains on
    "the entire context and answer tokens"); `completion` only the completion.
    `ce_weight` > 0 mixes in the ground-truth cross-entropy (the paper's auxiliary
    CE for updates with large performance gaps). `mask: likelihood` is the paper's
    token-likelihood ablation (see `muscle_loss`).
    """

    data_kind: ClassVar[RecordKind] = "sft"

    def __init__(
        self,
        *,
        policy: Policy,
        old_model: Annotated[ComponentSpec, ComponentOf("lit_align.models.ModelSpec")],
        temperature: Annotated[float, Range(gt=0)] = 2.0,
        scale_by_t2: bool = False,
        ce_weight: Annotated[float, Range(ge=0, le=1)] = 0.0,
        train_on: Literal["all", "completion"] = "all",
        mask: MaskKind = "argmax",
        optimizer: OptimizerConfig | None = None,
    ) -> None:
        super().__init__(policy=policy, optimizer=optimizer)
        self.old_model_spec = old_model
        self.temperature = temperature
        self.scale_by_t2 = scale_by_t2
        self.ce_weight = ce_weight
        self.train_on = train_on
        self.mask: MaskKind = mask
        self.old_teacher: Any = None
        self.new_teacher: Any = None  # a frozen copy, or None while the twin adapter stands in for it
        self.new_teacher_adapter: str | None = None

    @classmethod
    def config_problems(cls, init_args: dict[str, Any], path: str) -> list[str]:
        """`lit-align validate` checks the old model as it checks `model:` (no weights loaded)."""
        node = init_args["old_model"]  # its signature is checked before this hook runs
        spec = ComponentSpec(node) if isinstance(node, str) else ComponentSpec(node["class_path"],
                                                                               dict(node.get("init_args") or {}))
        return spec.instantiate().problems(f"{path}.old_model.init_args")

    def on_task_start(self, task: TaskContext) -> None:
        old = self.old_model_spec.instantiate().build(f"sequence[{task.index}].method.init_args.old_model.init_args")
        _check_same_tokenizer(old.tokenizer, self.policy.tokenizer)
        self.old_teacher = freeze(old.model).to(self.device)
        # M_v2 = the policy before any compatibility step. A LoRA policy keeps it as a frozen second
        # adapter on its own base (one base in memory instead of two); otherwise a frozen copy.
        if is_peft_model(self.model):
            add_frozen_twin(self.model, NEW_TEACHER_ADAPTER)
            self.new_teacher_adapter = NEW_TEACHER_ADAPTER
        else:
            self.new_teacher = frozen_copy(self.model)

    def set_teachers(self, old: Any, new: Any) -> None:
        """Teachers given directly (outside the runner, e.g. in a notebook)."""
        self.old_teacher, self.new_teacher = frozen_copy(old), frozen_copy(new)
        self.new_teacher_adapter = None

    def _labels(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.train_on == "completion":
            return batch["labels"]
        return batch["input_ids"].masked_fill(batch["attention_mask"] == 0, IGNORE_INDEX)

    def _logits(self, model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        if self.old_teacher is None or (self.new_teacher is None and self.new_teacher_adapter is None):
            raise ConfigError("MUSCLE has no teachers yet: the runner loads them in on_task_start "
                              "(call module.set_teachers(old_model, new_model) when training outside it)")
        labels = self._labels(batch)
        student, targets = shift_for_next_token(self._logits(self.model, batch), labels)
        with eval_mode(self.old_teacher):
            old, _ = shift_for_next_token(self._logits(self.old_teacher, batch), labels)
        if self.new_teacher_adapter is not None:
            with through_adapter(self.model, self.new_teacher_adapter), eval_mode(self.model):
                new, _ = shift_for_next_token(self._logits(self.model, batch), labels)
        else:
            with eval_mode(self.new_teacher):
                new, _ = shift_for_next_token(self._logits(self.new_teacher, batch), labels)
        out = muscle_loss(student, old, new, targets, temperature=self.temperature, scale_by_t2=self.scale_by_t2,
                          mask=self.mask)
        terms = {"compatibility": (1 - self.ce_weight) * out.loss}
        loss = out.loss
        if self.ce_weight > 0:
            ce = torch.nn.functional.cross_entropy(student.float(), targets)
            terms["cross_entropy"] = self.ce_weight * ce
            loss = mixed_objective(out.loss, ce, self.ce_weight)
        metrics = {"wrong_share": out.wrong, "kl_old": out.kl_old, "kl_new": out.kl_new,
                   "token_accuracy": out.token_accuracy}
        return LossOutput(loss, terms, metrics)

    def on_task_end(self, task: TaskContext) -> dict[str, torch.Tensor]:
        self.old_teacher = self.new_teacher = None  # full models: free them before evaluation
        if self.new_teacher_adapter is not None:  # the checkpoint and export hold the policy's adapter alone
            remove_twin(self.model, self.new_teacher_adapter)
            self.new_teacher_adapter = None
        return dict(task.method_state)


def _check_same_tokenizer(old: Any, new: Any) -> None:
    if old.get_vocab() != new.get_vocab():
        raise ConfigError(
            "method.init_args.old_model: its tokenizer differs from the policy's; MUSCLE distils logits "
            "token by token and needs one vocabulary (vocabulary changes are out of its scope)"
        )
