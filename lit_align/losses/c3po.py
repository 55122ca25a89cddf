"""C3PO loss (Stephan et al., "RLVF: Learning from Verbal Feedback without Overgeneralization",
arXiv 2402.10893, ICML 2024, eq. 5; checked against the official code's LocallyConstrainedDPOTrainer).

    L = L_DPO(in-scope pairs; reference pi_0, beta) + lambda_out L_SFT(out-of-scope) + lambda_near L_SFT(near-scope)

The SFT targets are pi_0's own answers to prompts where the feedback must not
apply, so the policy keeps its old behaviour there (defaults beta 0.1,
lambda_out 0.2, lambda_near 0.1 as the paper; lambda_near > 0.1 sharply reduces
in-scope adherence). The distillation variant replaces the NLL by a mix with
T^2 KL(pi_0 || pi_theta) (the paper's ablation: full KD hurts adherence).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from lit_align.losses.dpo import dpo_loss
from lit_align.losses.muscle import kl_to_student


class C3POOutput(NamedTuple):
    loss: torch.Tensor  # scalar total
    dpo: torch.Tensor  # mean DPO loss on the in-scope pairs
    out_of_scope: torch.Tensor  # unweighted constraint term on out-of-scope answers
    near_scope: torch.Tensor  # unweighted constraint term on near-scope answers
    chosen_rewards: torch.Tensor  # (B,) beta * (policy - reference) of the revised answers
    rejected_rewards: torch.Tensor


def c3po_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    out_of_scope_term: torch.Tensor,
    near_scope_term: torch.Tensor,
    *,
    beta: float = 0.1,
    lambda_out: float = 0.2,
    lambda_near: float = 0.1,
) -> C3POOutput:
    """Combine the in-scope DPO loss with the two constraint terms (each a scalar: the token-mean
    NLL of pi_0's answers, or `distillation_term` of them)."""
    dpo = dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta=beta)
    mean_dpo = dpo.losses.mean()
    loss = mean_dpo + lambda_out * out_of_scope_term + lambda_near * near_scope_term
    return C3POOutput(loss, mean_dpo, out_of_scope_term, near_scope_term, dpo.chosen_rewards, dpo.rejected_rewards)


def distillation_term(nll: torch.Tensor, student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      *, kd_weight: float, temperature: float = 1.0,
                      sequence_ids: torch.Tensor | None = None) -> torch.Tensor:
    """(1 - kd_weight) NLL + kd_weight T^2 KL(teacher || student) over `(n, V)` answer positions
    (the official code's KD variant; kd_weight 0 is the paper's default, plain NLL).

    The KL is averaged over positions; with `sequence_ids` `(n,)` (which answer each position
    belongs to) it is summed within each answer and averaged over answers, the official
    code's reduction (long answers then weigh more)."""
    if kd_weight == 0:
        return nll
    per_position = kl_to_student(teacher_logits, student_logits, temperature)
    if sequence_ids is None:
        kd = per_position.mean()
    else:
        sums = per_position.new_zeros(int(sequence_ids.max()) + 1).index_add(0, sequence_ids, per_position)
        kd = sums[torch.unique(sequence_ids)].mean()
    return (1 - kd_weight) * nll + kd_weight * kd * temperature**2
