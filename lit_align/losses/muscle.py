"""MUSCLE compatibility loss (Echterhoff et al., arXiv 2407.09435, EMNLP Findings 2024, eq. 1, 4-5).

Per next-token position i: distil from the old task model where the student
(the compatibility model) predicts the wrong token, from the new task model
where it predicts the right one:

    L_comp = (1/n) sum_i [ m_i KL(p_v1,i || p_C,i) + (1 - m_i) KL(p_v2,i || p_C,i) ],
    m_i = 1[argmax z_C,i != y_i],  p = softmax(z / T),  T = 2 in the paper.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100
MaskKind = Literal["argmax", "likelihood", "old_correct"]


class MuscleOutput(NamedTuple):
    loss: torch.Tensor  # scalar L_comp
    wrong: torch.Tensor  # share of positions distilled from the old model (mask mean)
    kl_old: torch.Tensor  # mean KL(old || student) over positions
    kl_new: torch.Tensor  # mean KL(new || student) over positions
    token_accuracy: torch.Tensor  # student's argmax == label


def kl_to_student(teacher_logits: torch.Tensor, student_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(softmax(teacher/T) || softmax(student/T)) per row, computed in float32."""
    t = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    s = F.log_softmax(student_logits.float() / temperature, dim=-1)
    return F.kl_div(s, t, log_target=True, reduction="none").sum(-1)


def shift_for_next_token(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`(B, T, V)` logits and `(B, T)` labels -> the `(n, V)`, `(n,)` predicting positions with a label."""
    logits, labels = logits[:, :-1], labels[:, 1:]
    valid = labels != IGNORE_INDEX
    return logits[valid], labels[valid]


def muscle_loss(
    student_logits: torch.Tensor,
    old_logits: torch.Tensor,
    new_logits: torch.Tensor,
    labels: torch.Tensor,
    *,
    temperature: float = 2.0,
    scale_by_t2: bool = False,
    mask: MaskKind = "argmax",
) -> MuscleOutput:
    """L_comp over `(n, V)` logits of the same n positions and their `(n,)` next-token labels.

    The mask follows the current student's argmax and is detached (`argmax`, the
    paper's choice), or marks positions where the student gives the label less
    probability than the old model does (`likelihood`, the paper's token-likelihood
    ablation, Table 7: it also acts where the student is right but less sure than
    M_v1), or marks positions where the student is wrong and M_v1's argmax is right
    (`old_correct`, the old-correct-only ablation: where M_v1 is wrong too, copying it
    cannot undo a negative flip, so those positions follow M_v2). Scaling by T^2 (Hinton's
    gradient correction) is not in the paper; an option, off."""
    if student_logits.shape != old_logits.shape or student_logits.shape != new_logits.shape:
        raise ValueError("student, old and new logits must have the same shape (same tokenizer and positions)")
    if labels.numel() == 0:
        raise ValueError("muscle_loss: no labelled positions in the batch")
    predicted = student_logits.detach().argmax(-1)
    right = (predicted == labels).float()
    if mask == "argmax":
        wrong = 1 - right
    elif mask == "old_correct":
        wrong = (1 - right) * (old_logits.detach().argmax(-1) == labels).float()
    else:
        label_logp = [F.log_softmax(z.detach().float(), dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
                      for z in (student_logits, old_logits)]
        wrong = (label_logp[0] < label_logp[1]).float()
    kl_old = kl_to_student(old_logits, student_logits, temperature)
    kl_new = kl_to_student(new_logits, student_logits, temperature)
    per_position = wrong * kl_old + (1 - wrong) * kl_new
    loss = per_position.mean() * (temperature**2 if scale_by_t2 else 1.0)
    return MuscleOutput(loss, wrong.mean(), kl_old.detach().mean(), kl_new.detach().mean(), right.mean())


def mixed_objective(compatibility: torch.Tensor, cross_entropy: torch.Tensor, ce_weight: float) -> torch.Tensor:
    """MUSCLE's optional auxiliary CE: (1 - w) L_comp + w L_CE (the paper's lambda = 1 - w)."""
    return (1 - ce_weight) * compatibility + ce_weight * cross_entropy
