"""A preference loss of one's own: SPPO's hard-label square loss (Wu et al. 2024, eq. 3.6),
named in YAML as `loss: sppo_hard.sppo_hard` with no registration and no import-order trick."""

import torch

from lit_align.losses.dpo import PreferenceLoss, PreferenceLossOutput


def sppo_hard_loss(policy_chosen_logps: torch.Tensor, policy_rejected_logps: torch.Tensor,
                   ref_chosen_logps: torch.Tensor, ref_rejected_logps: torch.Tensor,
                   *, beta: float = 0.1, target: float = 0.5) -> PreferenceLossOutput:
    """L = (a - target/beta)^2 + (b + target/beta)^2, a and b the chosen/rejected log-ratios."""
    a = policy_chosen_logps - ref_chosen_logps
    b = policy_rejected_logps - ref_rejected_logps
    losses = (a - target / beta) ** 2 + (b + target / beta) ** 2
    return PreferenceLossOutput(losses, (beta * a).detach(), (beta * b).detach())


sppo_hard = PreferenceLoss(sppo_hard_loss)  # summed log-probs, needs a reference (the defaults)
