"""Supervised fine-tuning stage."""

from __future__ import annotations

from typing import ClassVar

import torch

from lit_align.data.records import RecordKind
from lit_align.losses.sft import sft_loss
from lit_align.models import Policy
from lit_align.modules.base import AlignmentModule, LossOutput
from lit_align.modules.optim import OptimizerConfig


class SFTModule(AlignmentModule):
    """Maximise the likelihood of completions given prompts (token-mean NLL)."""

    data_kind: ClassVar[RecordKind] = "sft"

    def __init__(self, *, policy: Policy, optimizer: OptimizerConfig | None = None) -> None:
        super().__init__(policy=policy, optimizer=optimizer)

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        logits = self.forward_logits(self.model, batch)
        out = sft_loss(logits, batch["labels"])
        return LossOutput(out.loss, {"nll": out.loss}, {"perplexity": out.loss.detach().exp()})
