"""Bradley-Terry reward-model loss."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


class RewardLossOutput(NamedTuple):
    loss: torch.Tensor  # scalar
    accuracy: torch.Tensor  # scalar: share of pairs with r(chosen) > r(rejected)
    margin: torch.Tensor  # (B,) r(chosen) - r(rejected)


def bradley_terry_loss(
    chosen_rewards: torch.Tensor,
    rejected_rewards: torch.Tensor,
    margin: torch.Tensor | None = None,
) -> RewardLossOutput:
    """L_BT = -mean log sigma(r(x, y+) - r(x, y-) - m)   (Bradley & Terry 1952;
    InstructGPT eq. 1; the optional margin m is Llama-2's eq. 2).

    Shapes: rewards `(B,)`, margin `(B,)` or None.
    """
    diff = chosen_rewards - rejected_rewards
    shifted = diff if margin is None else diff - margin
    loss = -F.logsigmoid(shifted).mean()
    return RewardLossOutput(loss, (diff > 0).float().mean(), diff)
