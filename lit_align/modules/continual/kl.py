"""DPO + KL to the previous policy (LwF-style distillation on the current responses)."""

from __future__ import annotations

from typing import Annotated, Any

import torch

from lit_align.binding import Range
from lit_align.losses.logprobs import sequence_logprobs
from lit_align.losses.regularizers import token_kl
from lit_align.modules.base import LossOutput, TaskContext
from lit_align.modules.dpo import DPOModule
from lit_align.modules.reference import eval_mode, frozen_copy


class KLDPOModule(DPOModule):
    """DPO plus `kl_weight` * KL(pi_prev || pi_theta) per response token, where pi_prev
    is a frozen copy of the policy at the start of the task (the previous task's result).

    Needs full next-token distributions, so log-probs take the plain path and the
    previous policy runs alongside (a second forward without gradients).
    """

    def __init__(self, *, kl_weight: Annotated[float, Range(ge=0)] = 0.1, **dpo_args: Any) -> None:
        super().__init__(**dpo_args)
        self.kl_weight = kl_weight
        self.previous: Any = None

    def on_task_start(self, task: TaskContext) -> None:
        super().on_task_start(task)
        self.previous = frozen_copy(self.model) if task.index > 0 and self.kl_weight > 0 else None

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                            use_cache=False).logits
        seq = sequence_logprobs(logits, batch["labels"], average=self.variant.length_normalized)
        out = self.preference_loss(batch, seq)
        if self.previous is None or not self.training:
            return out
        with eval_mode(self.previous):
            teacher = self.previous(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                    use_cache=False).logits
        kl = self.kl_weight * token_kl(teacher, logits, batch["labels"])
        return LossOutput(out.loss + kl, {**out.terms, "kl_previous": kl}, out.metrics)
