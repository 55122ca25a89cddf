"""Supervised fine-tuning loss (negative log-likelihood of response tokens)."""

from __future__ import annotations

from typing import NamedTuple

import torch

from lit_align.losses.logprobs import sequence_logprobs


class SFTLossOutput(NamedTuple):
    loss: torch.Tensor  # scalar: mean NLL over all response tokens of the batch
    num_tokens: torch.Tensor  # scalar: response tokens in the batch


def sft_nll(logps: torch.Tensor, num_tokens: torch.Tensor) -> SFTLossOutput:
    """Token-mean NLL from summed per-sequence log-probs `(B,)` and response token counts `(B,)`."""
    n = num_tokens.sum()
    return SFTLossOutput(-logps.sum() / n.clamp(min=1), n)


def sft_loss(logits: torch.Tensor, labels: torch.Tensor) -> SFTLossOutput:
    """L_SFT = -(1/N) sum_i sum_t log pi(y_it | x_i, y_i<t), N = response tokens in the batch.

    A token-level mean, as Hugging Face's `CrossEntropyLoss(ignore_index=-100)`:
    long responses weigh more than short ones. Shapes: logits `(B, T, V)`,
    labels `(B, T)` with -100 on prompt and padding.
    """
    out = sequence_logprobs(logits, labels)
    return sft_nll(out.logps, out.num_tokens)
