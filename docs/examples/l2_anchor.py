"""DPO + L2 pull towards the weights the task started from: a continual method in one file.

Use it with `class_path: l2_anchor.L2AnchorDPOModule` (this directory on PYTHONPATH).
"""

from __future__ import annotations

from typing import Annotated, Any

import torch

from lit_align.binding import Range
from lit_align.modules.base import TaskContext
from lit_align.modules.dpo import DPOModule


class L2AnchorDPOModule(DPOModule):
    """DPO plus `anchor_weight` * ||theta - theta_start||^2 (all DPO arguments still apply)."""

    def __init__(self, *, anchor_weight: Annotated[float, Range(ge=0)] = 1.0, **dpo_args: Any) -> None:
        super().__init__(**dpo_args)
        self.anchor_weight = anchor_weight
        self.anchor: dict[str, torch.Tensor] = {}

    def on_task_start(self, task: TaskContext) -> None:
        super().on_task_start(task)  # keeps DPO's reference caching
        self.anchor = {n: p.detach().clone() for n, p in self.model.named_parameters() if p.requires_grad}

    def regularization(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not self.anchor or self.anchor_weight == 0:
            return {}
        drift = sum(((p - self.anchor[n]) ** 2).sum() for n, p in self.model.named_parameters() if n in self.anchor)
        return {"l2_anchor": self.anchor_weight * drift}
