"""The DPO family: pure preference losses over sequence log-probs.

Every loss takes policy and reference log-probs of chosen and rejected
responses, each `(B,)`, and returns per-pair losses plus the implicit rewards
beta * (log pi - log pi_ref) (detached; for logging and accuracy). Built-in variants
have short names in `PREFERENCE_LOSSES`; a loss of one's own is named by its dotted path
(`loss: my_losses.sppo_hard`), a `PreferenceLoss` or a plain function (see docs/extending.md).

Notation: h = (log pi(y+) - log pi_ref(y+)) - (log pi(y-) - log pi_ref(y-)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from lit_align.errors import ConfigError


class PreferenceLossOutput(NamedTuple):
    losses: torch.Tensor  # (B,) per-pair loss; the training loss is its mean
    chosen_rewards: torch.Tensor  # (B,) detached implicit reward of y+
    rejected_rewards: torch.Tensor  # (B,) detached implicit reward of y-


def _logratio(policy_chosen, policy_rejected, ref_chosen, ref_rejected) -> torch.Tensor:
    return (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)


def _rewards(beta, policy_chosen, policy_rejected, ref_chosen, ref_rejected):
    return (
        (beta * (policy_chosen - ref_chosen)).detach(),
        (beta * (policy_rejected - ref_rejected)).detach(),
    )


def dpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    *,
    beta: float = 0.1,
    label_smoothing: float = 0.0,
) -> PreferenceLossOutput:
    """Sigmoid DPO (Rafailov et al. 2023, eq. 7), with conservative label smoothing eps
    (Mitchell 2023): L = -(1-eps) log sigma(beta h) - eps log sigma(-beta h)."""
    h = _logratio(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    losses = -(1 - label_smoothing) * F.logsigmoid(beta * h) - label_smoothing * F.logsigmoid(-beta * h)
    return PreferenceLossOutput(
        losses, *_rewards(beta, policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    )


def robust_dpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    *,
    beta: float = 0.1,
    label_smoothing: float = 0.0,
) -> PreferenceLossOutput:
    """Robust DPO (Chowdhury et al. 2024, eq. 8): unbiased under label-flip rate eps < 1/2.

    L = [-(1-eps) log sigma(beta h) + eps log sigma(-beta h)] / (1 - 2 eps).
    """
    if not 0.0 <= label_smoothing < 0.5:
        raise ValueError(f"robust DPO needs 0 <= label_smoothing < 0.5 (got {label_smoothing})")
    h = _logratio(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    losses = (
        -(1 - label_smoothing) * F.logsigmoid(beta * h) + label_smoothing * F.logsigmoid(-beta * h)
    ) / (1 - 2 * label_smoothing)
    return PreferenceLossOutput(
        losses, *_rewards(beta, policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    )


def ipo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    *,
    beta: float = 0.1,
) -> PreferenceLossOutput:
    """IPO (Azar et al. 2023, eq. 17): L = (h - 1/(2 beta))^2, beta playing tau's role.

    Expects length-averaged log-probs (as IPO's authors and TRL do); the module
    passes averages when this loss is selected.
    """
    h = _logratio(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    losses = (h - 1 / (2 * beta)) ** 2
    return PreferenceLossOutput(
        losses, *_rewards(beta, policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    )


def hinge_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    *,
    beta: float = 0.1,
) -> PreferenceLossOutput:
    """Hinge / SLiC-style (Zhao et al. 2023; Liu et al. RSO): L = max(0, 1 - beta h)."""
    h = _logratio(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    losses = torch.relu(1 - beta * h)
    return PreferenceLossOutput(
        losses, *_rewards(beta, policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    )


def simpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor | None = None,
    ref_rejected_logps: torch.Tensor | None = None,
    *,
    beta: float = 2.0,
    gamma: float = 0.5,
    label_smoothing: float = 0.0,
) -> PreferenceLossOutput:
    """SimPO (Meng et al. 2024, eq. 6), reference-free with length-averaged log-probs:

    L = -log sigma(beta (avg log pi(y+) - avg log pi(y-)) - gamma). The reference
    arguments are accepted and ignored so every variant shares one call shape.
    """
    z = beta * (policy_chosen_logps - policy_rejected_logps) - gamma
    losses = -(1 - label_smoothing) * F.logsigmoid(z) - label_smoothing * F.logsigmoid(-z)
    return PreferenceLossOutput(
        losses, (beta * policy_chosen_logps).detach(), (beta * policy_rejected_logps).detach()
    )


@dataclass(frozen=True)
class PreferenceLoss:
    """A registered variant: the function and the log-prob form it expects."""

    fn: Callable[..., PreferenceLossOutput]
    length_normalized: bool = False
    needs_reference: bool = True


PREFERENCE_LOSSES: dict[str, PreferenceLoss] = {
    "sigmoid": PreferenceLoss(dpo_loss),
    "robust": PreferenceLoss(robust_dpo_loss),
    "ipo": PreferenceLoss(ipo_loss, length_normalized=True),
    "hinge": PreferenceLoss(hinge_loss),
    "simpo": PreferenceLoss(simpo_loss, length_normalized=True, needs_reference=False),
}


def resolve_preference_loss(name: str, where: str = "method.init_args.loss") -> PreferenceLoss:
    """A short name of `PREFERENCE_LOSSES`, or the dotted path of a `PreferenceLoss` or of a loss
    function (taken as needing a reference and summed log-probs) in the user's own module."""
    from lit_align.binding import registered_or_dotted

    found = registered_or_dotted(name, PREFERENCE_LOSSES, where, "loss", " (e.g. my_losses.sppo_hard)")
    if isinstance(found, PreferenceLoss):
        return found
    if callable(found) and not isinstance(found, type):
        return PreferenceLoss(found)
    raise ConfigError(f"{where}: {name!r} is a {type(found).__name__}, not a loss function or PreferenceLoss")
