"""Supervised fine-tuning stage."""

from __future__ import annotations

from typing import ClassVar

import torch

from lit_align.data.records import RecordKind
from lit_align.losses.sft import sft_nll
from lit_align.models import Policy
from lit_align.modules.base import AlignmentModule, LossOutput
from lit_align.modules.forward import LogprobMode, response_logprobs
from lit_align.modules.optim import OptimizerConfig


class SFTModule(AlignmentModule):
    """Maximise the likelihood of completions given prompts (token-mean NLL)."""

    data_kind: ClassVar[RecordKind] = "sft"

    def __init__(
        self, *, policy: Policy, logprobs: LogprobMode = "auto", optimizer: OptimizerConfig | None = None
    ) -> None:
        super().__init__(policy=policy, optimizer=optimizer)
        self.logprob_mode: LogprobMode = logprobs

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        seq = response_logprobs(self.model, batch, mode=self.logprob_mode)
        out = sft_nll(seq.logps, seq.num_tokens)
        return LossOutput(out.loss, {"nll": out.loss}, {"perplexity": out.loss.detach().exp()})
