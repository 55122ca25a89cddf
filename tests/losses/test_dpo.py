"""DPO family: hand-computed values (working in comments) and the variants' algebra."""

import math

import pytest
import torch

from lit_align.losses.dpo import (
    PREFERENCE_LOSSES,
    dpo_loss,
    hinge_loss,
    ipo_loss,
    robust_dpo_loss,
    simpo_loss,
)

# policy chosen/rejected, reference chosen/rejected: h = (-1 - -2) - (-3 - -2) = 1 - (-1) = 2
PC, PR, RC, RR = (torch.tensor([v]) for v in (-1.0, -3.0, -2.0, -2.0))


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_dpo_hand_computed():
    # beta 0.5: beta*h = 1 -> loss = -log sigma(1) = 0.3132617
    out = dpo_loss(PC, PR, RC, RR, beta=0.5)
    assert math.isclose(out.losses.item(), -math.log(sigmoid(1.0)), rel_tol=1e-6)
    assert math.isclose(out.losses.item(), 0.3132617, rel_tol=1e-6)
    assert out.chosen_rewards.item() == pytest.approx(0.5)  # 0.5 * (-1 - -2)
    assert out.rejected_rewards.item() == pytest.approx(-0.5)  # 0.5 * (-3 - -2)


def test_dpo_label_smoothing():
    # eps 0.1: 0.9 * -log sigma(1) + 0.1 * -log sigma(-1) = 0.9*0.3132617 + 0.1*1.3132617
    out = dpo_loss(PC, PR, RC, RR, beta=0.5, label_smoothing=0.1)
    assert out.losses.item() == pytest.approx(0.9 * 0.3132617 + 0.1 * 1.3132617, rel=1e-6)


def test_robust_dpo_hand_computed():
    # (0.9 * 0.3132617 - 0.1 * 1.3132617) / 0.8 = 0.1882617 / 0.8
    out = robust_dpo_loss(PC, PR, RC, RR, beta=0.5, label_smoothing=0.1)
    assert out.losses.item() == pytest.approx((0.9 * 0.3132617 - 0.1 * 1.3132617) / 0.8, rel=1e-5)
    assert robust_dpo_loss(PC, PR, RC, RR, beta=0.5).losses.item() == pytest.approx(0.3132617, rel=1e-6)
    with pytest.raises(ValueError, match="label_smoothing"):
        robust_dpo_loss(PC, PR, RC, RR, label_smoothing=0.5)


def test_ipo_hand_computed():
    # beta 0.25: (h - 1/(2*0.25))^2 = (2 - 2)^2 = 0 ; beta 1: (2 - 0.5)^2 = 2.25
    assert ipo_loss(PC, PR, RC, RR, beta=0.25).losses.item() == pytest.approx(0.0)
    assert ipo_loss(PC, PR, RC, RR, beta=1.0).losses.item() == pytest.approx(2.25)


def test_hinge_hand_computed():
    # beta 0.1: relu(1 - 0.2) = 0.8 ; beta 1: relu(1 - 2) = 0
    assert hinge_loss(PC, PR, RC, RR, beta=0.1).losses.item() == pytest.approx(0.8)
    assert hinge_loss(PC, PR, RC, RR, beta=1.0).losses.item() == 0.0


def test_simpo_hand_computed_and_reference_free():
    # beta 2, gamma 0.5: z = 2 * (-1 - -3) - 0.5 = 3.5 -> -log sigma(3.5)
    out = simpo_loss(PC, PR, beta=2.0, gamma=0.5)
    assert out.losses.item() == pytest.approx(-math.log(sigmoid(3.5)), rel=1e-6)
    assert simpo_loss(PC, PR, RC * 100, RR, beta=2.0).losses.item() == pytest.approx(out.losses.item())
    assert out.chosen_rewards.item() == pytest.approx(-2.0)


def test_zero_logratio_gives_log2_and_gradient_direction():
    pc = torch.tensor([-5.0], requires_grad=True)
    pr = torch.tensor([-5.0], requires_grad=True)
    out = dpo_loss(pc, pr, torch.tensor([-5.0]), torch.tensor([-5.0]), beta=0.1)
    assert out.losses.item() == pytest.approx(math.log(2))
    out.losses.sum().backward()
    assert pc.grad.item() < 0 < pr.grad.item()  # descent raises chosen, lowers rejected


def test_registry_flags():
    assert set(PREFERENCE_LOSSES) >= {"sigmoid", "robust", "ipo", "hinge", "simpo"}
    assert PREFERENCE_LOSSES["ipo"].length_normalized
    assert not PREFERENCE_LOSSES["simpo"].needs_reference
