"""DPO + elastic weight consolidation: the Fisher comes from the DPO loss itself."""

from __future__ import annotations

from typing import Annotated, Any

import torch

from lit_align.config.binding import Range
from lit_align.losses.regularizers import ewc_penalty
from lit_align.modules.base import TaskContext
from lit_align.modules.dpo import DPOModule

FISHER, ANCHOR = "ewc.fisher.", "ewc.anchor."


class EWCDPOModule(DPOModule):
    """DPO with lambda/2 * sum F (theta - theta*)^2 over earlier tasks (online EWC:
    Fishers add up across tasks, anchors are the weights after the last task).

    The diagonal Fisher is the mean squared gradient of the DPO loss over
    `fisher_batches` batches of the finished task (an empirical Fisher per batch).
    """

    def __init__(
        self,
        *,
        ewc_lambda: Annotated[float, Range(ge=0)] = 100.0,
        fisher_batches: Annotated[int, Range(gt=0)] = 16,
        **dpo_args: Any,
    ) -> None:
        super().__init__(**dpo_args)
        self.ewc_lambda = ewc_lambda
        self.fisher_batches = fisher_batches
        self._fisher: dict[str, torch.Tensor] = {}
        self._anchors: dict[str, torch.Tensor] = {}

    def on_task_start(self, task: TaskContext) -> None:
        super().on_task_start(task)
        self._fisher = {k[len(FISHER):]: v.to(self.device) for k, v in task.method_state.items()
                        if k.startswith(FISHER)}
        self._anchors = {k[len(ANCHOR):]: v.to(self.device) for k, v in task.method_state.items()
                         if k.startswith(ANCHOR)}

    def regularization(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not self._fisher or self.ewc_lambda == 0:
            return {}
        params = dict(self.model.named_parameters())
        return {"ewc": self.ewc_lambda * ewc_penalty(params, self._anchors, self._fisher)}

    def on_task_end(self, task: TaskContext) -> dict[str, torch.Tensor]:
        params = {n: p for n, p in self.model.named_parameters() if p.requires_grad}
        fisher = {n: torch.zeros_like(p) for n, p in params.items()}
        loader = task.datamodule.train_dataloader()
        seen = 0
        was_training = self.model.training
        self.model.eval()
        for batch in loader:
            if seen == self.fisher_batches:
                break
            batch = {k: v.to(self.device) for k, v in batch.items()}
            self.model.zero_grad(set_to_none=True)
            self.compute_loss(batch).loss.backward()
            for n, p in params.items():
                if p.grad is not None:
                    fisher[n] += p.grad.detach() ** 2
            seen += 1
        self.model.zero_grad(set_to_none=True)
        self.model.train(was_training)
        state = dict(task.method_state)
        for n in params:
            previous = state.get(FISHER + n)
            new = fisher[n].cpu() / max(seen, 1)
            state[FISHER + n] = new if previous is None else previous + new
            state[ANCHOR + n] = params[n].detach().cpu().clone()
        return state
