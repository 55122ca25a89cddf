"""DPO + elastic weight consolidation: the Fisher comes from the DPO loss itself."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import torch

from lit_align.binding import Range
from lit_align.losses.regularizers import ewc_penalty, normalize_fisher
from lit_align.losses.sft import sft_nll
from lit_align.modules.base import TaskContext
from lit_align.modules.dpo import DPOModule
from lit_align.modules.forward import response_logprobs

FISHER, ANCHOR = "ewc.fisher.", "ewc.anchor."


class EWCDPOModule(DPOModule):
    """DPO with lambda/2 * mean_i F_i (theta_i - theta*_i)^2 over earlier tasks (online
    EWC: Fishers add up across tasks, anchors are the weights after the last task).

    The diagonal Fisher is the mean squared gradient over `fisher_batches` batches
    of the finished task, of the DPO loss (`fisher_loss: dpo`, the default) or of
    the chosen responses' NLL (`nll`: the language-model Fisher). Each task's
    Fisher is normalised to mean 1 before it is added (see `normalize_fisher`),
    and the penalty is a mean over parameters, so `ewc_lambda` does not depend on
    how converged a task was or on model size. The default 1e5 was the best of
    1e3..1e6 on the synthetic suite (docs/benchmarks.md).
    """

    supports_sharded_weights: ClassVar[bool] = False  # the penalty reads every weight outside forward

    def __init__(
        self,
        *,
        ewc_lambda: Annotated[float, Range(ge=0)] = 1.0e5,
        fisher_batches: Annotated[int, Range(gt=0)] = 16,
        fisher_loss: Literal["dpo", "nll"] = "dpo",
        **dpo_args: Any,
    ) -> None:
        super().__init__(**dpo_args)
        self.ewc_lambda = ewc_lambda
        self.fisher_batches = fisher_batches
        self.fisher_loss = fisher_loss
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
        return {"ewc": self.ewc_lambda * ewc_penalty(params, self._anchors, self._fisher, mean=True)}

    def _fisher_objective(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.fisher_loss == "dpo":
            return self.compute_loss(batch).loss
        seq = response_logprobs(self.model, batch, mode=self.logprob_mode)
        chosen = slice(0, len(batch["row"]))
        return sft_nll(seq.logps[chosen], seq.num_tokens[chosen]).loss

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
            self._fisher_objective(batch).backward()
            for n, p in params.items():
                if p.grad is not None:
                    fisher[n] += p.grad.detach() ** 2
            seen += 1
        self.model.zero_grad(set_to_none=True)
        self.model.train(was_training)
        fisher = normalize_fisher({n: f.cpu() / max(seen, 1) for n, f in fisher.items()})
        state = dict(task.method_state)
        for n in params:
            previous = state.get(FISHER + n)
            state[FISHER + n] = fisher[n] if previous is None else previous + fisher[n]
            state[ANCHOR + n] = params[n].detach().cpu().clone()
        return state
