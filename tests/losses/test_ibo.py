"""IBO and the unlearning baseline against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from lit_align.losses.ibo import gradient_ascent_loss, ibo_loss, influence_targets, proximal_term, retain_anchor


def test_rank_targets_run_from_minus_to_plus_one_over_temperature():
    scores = torch.tensor([5.0, -2.0, 0.5, 100.0])  # ranks: 2, 0, 1, 3 of 0..3
    targets = influence_targets(scores, temperature=0.5, normalize="rank")
    expected = torch.tensor([-(2 * 2 / 3 - 1), 1.0, -(2 * 1 / 3 - 1), -1.0]) / 0.5
    torch.testing.assert_close(targets, expected)


def test_zscore_targets_and_degenerate_inputs():
    scores = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(influence_targets(scores, normalize="zscore"), torch.tensor([1.0, 0.0, -1.0]))
    assert influence_targets(torch.tensor([4.0])).tolist() == [0.0]
    assert influence_targets(torch.tensor([2.0, 2.0]), normalize="zscore").tolist() == [0.0, 0.0]


def test_kl_ibo_is_kl_of_the_tilted_reference_against_the_policy():
    policy = torch.tensor([-3.0, -5.0, -4.0, -9.0])
    reference = torch.tensor([-3.5, -4.0, -4.0, -1.0])
    target = torch.tensor([-1.0, 1.0, 0.0, 7.0])
    mask = torch.tensor([True, True, True, False])
    p_star = [math.exp(r + t) for r, t in zip([-3.5, -4.0, -4.0], [-1.0, 1.0, 0.0], strict=True)]
    p_star = [p / sum(p_star) for p in p_star]
    p_model = [math.exp(x) for x in (-3.0, -5.0, -4.0)]
    p_model = [p / sum(p_model) for p in p_model]
    expected = sum(a * math.log(a / b) for a, b in zip(p_star, p_model, strict=True))
    assert ibo_loss(policy, reference, target, mask, "kl").item() == pytest.approx(expected, rel=1e-5)


def test_log_squared_ibo_is_zero_at_the_shifted_optimum_and_hand_computed_elsewhere():
    reference = torch.tensor([-3.0, -4.0, -6.0])
    target = torch.tensor([-2.0, 0.0, 2.0])
    mask = torch.ones(3, dtype=torch.bool)
    at_optimum = reference + target + 0.7  # any common shift c is optimal
    assert ibo_loss(at_optimum, reference, target, mask, "log_squared").item() == pytest.approx(0.0, abs=1e-6)
    assert ibo_loss(at_optimum, reference, target, mask, "kl").item() == pytest.approx(0.0, abs=1e-6)
    policy = torch.tensor([-3.0, -4.0, -6.0])  # ratio 0: residual = -(t - mean t) = [2, 0, -2]
    assert ibo_loss(policy, reference, target, mask, "log_squared").item() == pytest.approx(0.5 * 8 / 3)


def test_ibo_gradient_lowers_the_most_influential_row():
    policy = torch.tensor([-3.0, -3.0], requires_grad=True)
    target = influence_targets(torch.tensor([10.0, -10.0]), temperature=1.0)  # row 0 caused the behaviour
    ibo_loss(policy, torch.tensor([-3.0, -3.0]), target, torch.tensor([True, True])).backward()
    assert policy.grad[0] > 0 > policy.grad[1]  # descent lowers row 0's likelihood, raises row 1's


def test_fewer_than_two_rows_give_zero_with_a_gradient_path():
    policy = torch.tensor([-3.0, -4.0], requires_grad=True)
    loss = ibo_loss(policy, torch.zeros(2), torch.zeros(2), torch.tensor([True, False]))
    assert loss.item() == 0.0
    loss.backward()
    assert policy.grad.tolist() == [0.0, 0.0]


def test_retain_anchor_and_gradient_ascent_per_token():
    policy = torch.tensor([-4.0, -10.0, -6.0])
    reference = torch.tensor([-2.0, -10.0, -3.0])
    tokens = torch.tensor([2, 5, 3])
    keep = torch.tensor([True, True, False])
    assert retain_anchor(policy, reference, tokens, keep).item() == pytest.approx(((-2 / 2) ** 2 + 0.0) / 2)
    assert retain_anchor(policy, reference, tokens, torch.zeros(3, dtype=torch.bool)).item() == 0.0
    forget = torch.tensor([False, True, True])
    assert gradient_ascent_loss(policy, tokens, forget).item() == pytest.approx((-10 / 5 + -6 / 3) / 2)


def test_proximal_term_is_half_the_mean_squared_step_from_the_anchor():
    params = {"a": torch.tensor([1.0, 2.0]), "b": torch.tensor([[0.0, 3.0]])}
    anchors = {"a": torch.tensor([0.0, 2.0]), "b": torch.tensor([[1.0, 1.0]])}
    # squared steps 1, 0, 1, 4 over 4 entries: 0.5 * 6 / 4
    assert proximal_term(params, anchors).item() == pytest.approx(0.75)
    assert proximal_term(anchors, anchors).item() == 0.0


def test_summed_kl_saturates_on_a_short_likely_row_and_per_token_kl_does_not():
    """A memorised 5-token refusal (log-likelihood -1) among two 40-token answers (-30), tilted by
    -10 nats: over summed log-likelihoods the refusal holds ~all of P_theta and of P*, so the loss and
    its gradient vanish; over per-token ones the tilt dominates and descent lowers the refusal."""
    reference = torch.tensor([-1.0, -30.0, -30.0])
    target = torch.tensor([-10.0, 0.0, 0.0])
    tokens = torch.tensor([5, 40, 40])
    mask = torch.ones(3, dtype=torch.bool)
    summed = reference.clone().requires_grad_(True)
    loss = ibo_loss(summed, reference, target, mask, "kl")
    loss.backward()
    assert loss.item() < 1e-6 and summed.grad.abs().max() < 1e-6
    per_token = reference.clone().requires_grad_(True)
    loss = ibo_loss(per_token, reference, target, mask, "kl", num_tokens=tokens)
    # by hand: per-token reference [-0.2, -0.75, -0.75]; P* ~ exp([-10.2, -0.75, -0.75]); P_theta ~ exp(ref)
    p_star = torch.softmax(torch.tensor([-10.2, -0.75, -0.75], dtype=torch.float64), 0)
    p_model = torch.softmax(torch.tensor([-0.2, -0.75, -0.75], dtype=torch.float64), 0)
    assert loss.item() == pytest.approx(float((p_star * (p_star / p_model).log()).sum()), rel=1e-5)
    loss.backward()
    assert per_token.grad[0] > 0.05  # descent lowers the refusal's likelihood
    # the optimum moves to per-token log-ratios t + c
    at_optimum = reference + (target + 0.3) * tokens
    assert ibo_loss(at_optimum, reference, target, mask, "kl", num_tokens=tokens).item() == pytest.approx(0, abs=1e-6)


def test_signed_rank_targets_keep_the_sign_of_the_influence():
    """Rows supporting the behaviour (s > 0) always get t < 0 (lose likelihood), the most influential
    the most; counteracting rows (s < 0) always get t > 0; a group of only harmful rows is never
    split into losers and gainers, as `rank` splits it."""
    scores = torch.tensor([5.0, -2.0, 0.5, 100.0, 0.0, -7.0])
    targets = influence_targets(scores, temperature=0.5, normalize="signed_rank")
    # positives 0.5 < 5 < 100 -> 1/3, 2/3, 1; negatives |-2| < |-7| -> -1/2, -1; zero -> 0
    expected = -torch.tensor([2 / 3, -1 / 2, 1 / 3, 1.0, 0.0, -1.0]) / 0.5
    torch.testing.assert_close(targets, expected)
    harmful_only = torch.tensor([3.0, 1.0, 2.0])
    assert (influence_targets(harmful_only, normalize="signed_rank") < 0).all()
    assert (influence_targets(harmful_only, normalize="rank") > 0).any()
