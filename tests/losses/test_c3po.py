"""C3PO loss: DPO on in-scope pairs plus weighted constraint terms, by hand."""

import math

import pytest
import torch

from lit_align.losses.c3po import c3po_loss, distillation_term

# h = (pc - rc) - (pr - rr) = (-1 - -2) - (-3 - -2) = 2; beta 0.5 -> DPO = -log sigmoid(1) = 0.3132617
PC, PR, RC, RR = (torch.tensor([v]) for v in (-1.0, -3.0, -2.0, -2.0))


def test_c3po_is_dpo_plus_weighted_constraints():
    out = c3po_loss(PC, PR, RC, RR, torch.tensor(1.0), torch.tensor(2.0), beta=0.5)
    assert out.dpo.item() == pytest.approx(0.3132617, rel=1e-6)
    # defaults lambda_out 0.2 (out-of-scope), lambda_near 0.1 (near-scope): 0.3132617 + 0.2 * 1 + 0.1 * 2
    assert out.loss.item() == pytest.approx(0.3132617 + 0.2 + 0.2, rel=1e-6)
    assert out.chosen_rewards.item() == pytest.approx(0.5) and out.rejected_rewards.item() == pytest.approx(-0.5)
    only_dpo = c3po_loss(PC, PR, RC, RR, torch.tensor(1.0), torch.tensor(2.0), beta=0.5, lambda_out=0, lambda_near=0)
    assert only_dpo.loss.item() == pytest.approx(0.3132617, rel=1e-6)


def test_distillation_term_mixes_nll_and_t2_kl():
    student, teacher = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 2.0]])
    nll = torch.tensor(0.7)
    assert distillation_term(nll, student, teacher, kd_weight=0.0) is nll
    # T = 2: p_teacher = softmax([0, 1]), p_student = softmax([0.5, 0]); KL * T^2 = 4 KL
    pt = [1 / (1 + math.e), math.e / (1 + math.e)]
    ps = [math.exp(0.5) / (1 + math.exp(0.5)), 1 / (1 + math.exp(0.5))]
    kl = sum(a * math.log(a / b) for a, b in zip(pt, ps, strict=True))
    got = distillation_term(nll, student, teacher, kd_weight=0.25, temperature=2.0)
    assert got.item() == pytest.approx(0.75 * 0.7 + 0.25 * 4 * kl, rel=1e-5)


def test_sequence_sum_distillation_sums_kl_within_each_answer_then_averages_answers():
    teacher = torch.tensor([[0.0, 2.0], [1.0, 0.0], [0.0, 0.0]])
    student = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])

    def kl(t, s):  # KL(softmax(t) || softmax(s)) by hand
        pt = [math.exp(v) / sum(math.exp(x) for x in t) for v in t]
        ps = [math.exp(v) / sum(math.exp(x) for x in s) for v in s]
        return sum(a * math.log(a / b) for a, b in zip(pt, ps, strict=True))

    per = [kl(t.tolist(), s.tolist()) for t, s in zip(teacher, student, strict=True)]
    nll = torch.tensor(0.0)
    # positions 0, 1 belong to answer 0, position 2 to answer 1: (per0 + per1 + per2) / 2
    got = distillation_term(nll, student, teacher, kd_weight=1.0, sequence_ids=torch.tensor([0, 0, 1]))
    assert got.item() == pytest.approx((per[0] + per[1] + per[2]) / 2, rel=1e-5)
    mean = distillation_term(nll, student, teacher, kd_weight=1.0)
    assert mean.item() == pytest.approx(sum(per) / 3, rel=1e-5)  # the token mean, for contrast
