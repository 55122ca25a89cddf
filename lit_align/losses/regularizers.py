"""Regularisers that hold a policy near what earlier tasks taught."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def ewc_penalty(
    params: dict[str, torch.Tensor],
    anchors: dict[str, torch.Tensor],
    fisher: dict[str, torch.Tensor],
    *,
    mean: bool = False,
) -> torch.Tensor:
    """Elastic weight consolidation (Kirkpatrick et al. 2017, eq. 3 without lambda):
    0.5 * sum_i F_i (theta_i - theta*_i)^2 over the parameters named in `fisher`;
    with `mean`, divided by the number of those parameters (lambda then does not
    scale with model size)."""
    total = torch.zeros((), dtype=torch.float32, device=next(iter(params.values())).device)
    count = 0
    for name, weight in fisher.items():
        total = total + (weight * (params[name] - anchors[name]) ** 2).sum()
        count += weight.numel()
    return 0.5 * total / count if mean and count else 0.5 * total


def normalize_fisher(fisher: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Scale a diagonal Fisher to mean 1 over all its entries: relative importance only.

    The DPO loss of a learned preference saturates, so its gradients (and any
    Fisher built from them) shrink towards 0 exactly when a task is learned best;
    normalising keeps which parameters matter and drops how converged the task was.
    """
    total = sum(float(f.sum()) for f in fisher.values())
    count = sum(f.numel() for f in fisher.values())
    if total <= 0:
        return fisher
    scale = count / total
    return {k: v * scale for k, v in fisher.items()}


def token_kl(
    teacher_logits: torch.Tensor, student_logits: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Mean over response tokens of KL(teacher || student) of next-token distributions
    (LwF-style distillation, Li & Hoiem 2017). Shapes: logits `(B, T, V)`, labels `(B, T)`
    with -100 off the response; position t predicts token t+1."""
    mask = labels[:, 1:] != -100
    t = F.log_softmax(teacher_logits[:, :-1][mask].float(), dim=-1)
    s = F.log_softmax(student_logits[:, :-1][mask].float(), dim=-1)
    if t.numel() == 0:
        return student_logits.sum() * 0.0
    return (t.exp() * (t - s)).sum(-1).mean()
