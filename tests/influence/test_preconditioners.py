"""Curvature approximations against the exact matrices they approximate, on a tiny trained model."""

from __future__ import annotations

import pytest
import torch
from scipy.stats import spearmanr

from lit_align.influence.exact import damped_inverse_influence, exact_fisher, exact_hessian
from lit_align.influence.gradients import autograd_row_gradients, batch_gradients
from lit_align.influence.layers import select_layers
from lit_align.influence.preconditioners import make_preconditioner
from lit_align.influence.scoring import InfluenceScorer, InfluenceSettings

LAYER = ["transformer.h.1.attn.c_proj"]  # 16 x 16: an exact 256 x 256 Hessian is cheap


def fitted(policy, train, name: str, damping: float = 0.1):
    layers = select_layers(policy.model, LAYER)
    pre = make_preconditioner(name, layers, damping)
    for p in range(pre.passes):
        for batch in train.batches()():
            pre.accumulate(p, batch_gradients(policy.model, layers, batch, "sft"))
        pre.finish_pass(p)
    return layers, pre


def test_kfac_factors_are_the_token_covariances(trained):
    policy, train, _ = trained
    layers, pre = fitted(policy, train, "kfac")
    batch = next(iter(train.batches()()))
    seen = batch_gradients(policy.model, layers, batch, "sft")
    mask = batch["attention_mask"].bool()
    a = seen.seen.inputs[LAYER[0]][mask]
    g = seen.seen.output_grads[LAYER[0]][mask]
    lam_a = torch.linalg.eigvalsh((a.T @ a / a.shape[0]).double())
    lam_g = torch.linalg.eigvalsh((g.T @ g / mask.shape[0]).double())
    expected = torch.outer(lam_g.clamp(min=0), lam_a.clamp(min=0))
    torch.testing.assert_close(pre.eigenvalues[LAYER[0]].double(), expected, rtol=1e-4,
                               atol=1e-6 * float(expected.max()))


def test_ekfac_eigenvalues_are_the_fisher_diagonal_in_the_kronecker_eigenbasis(trained):
    policy, train, _ = trained
    layers, pre = fitted(policy, train, "ekfac")
    fisher = exact_fisher(policy.model, layers, train.batches()())
    basis = torch.kron(pre.q_g[LAYER[0]].double(), pre.q_a[LAYER[0]].double())
    diagonal = torch.diagonal(basis.T @ fisher @ basis).reshape(16, 16)
    torch.testing.assert_close(pre.eigenvalues[LAYER[0]].double(), diagonal, rtol=1e-4, atol=1e-8)


def test_diagonal_divides_by_the_damped_mean_squared_gradient(trained):
    policy, train, queries = trained
    layers, pre = fitted(policy, train, "diagonal", damping=0.5)
    g = torch.cat([autograd_row_gradients(policy.model, layers, b, "sft") for b in train.batches()()])
    diag = g.pow(2).mean(0)
    q = autograd_row_gradients(policy.model, layers, next(iter(queries.batches()())), "sft")
    applied = pre.apply({LAYER[0]: q.reshape(-1, 16, 16)})[LAYER[0]].reshape(q.shape[0], -1)
    torch.testing.assert_close(applied, q / (diag + 0.5 * diag.mean()), rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def hessian(trained):
    policy, train, _ = trained
    return exact_hessian(policy.model, select_layers(policy.model, LAYER), train.batches()(), "sft")


def test_exact_hessian_matches_finite_differences_of_the_gradient(trained, hessian):
    policy, train, _ = trained
    layers = select_layers(policy.model, LAYER)
    batches = list(train.batches()())
    weight = layers[0].module.weight  # Conv1D: (in, out); the flat order is (out, in)
    direction = torch.randn(16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def mean_grad() -> torch.Tensor:
        return torch.cat([autograd_row_gradients(policy.model, layers, b, "sft") for b in batches]).double().mean(0)

    def shift(by: float) -> None:
        with torch.no_grad():
            weight.add_(by * direction.t().float())

    eps = 1e-3
    shift(eps)
    plus = mean_grad()
    shift(-2 * eps)
    minus = mean_grad()
    shift(eps)
    finite = (plus - minus) / (2 * eps)
    torch.testing.assert_close(hessian @ direction.reshape(-1), finite, rtol=5e-2, atol=5e-3)


@pytest.mark.parametrize("name", ["identity", "diagonal", "kfac", "ekfac"])
def test_rankings_agree_with_exact_hessian_influence(trained, hessian, name):
    """Spearman of each approximation's mean query influence against the exact damped Hessian's.
    Measured values are in docs/methods/lancet.md; the floor guards against regressions."""
    policy, train, queries = trained
    layers = select_layers(policy.model, LAYER)
    g_train = torch.cat([autograd_row_gradients(policy.model, layers, b, "sft") for b in train.batches()()])
    g_query = torch.cat([autograd_row_gradients(policy.model, layers, b, "sft") for b in queries.batches()()])
    exact = damped_inverse_influence(hessian, g_train, g_query, damping=1.0).mean(1)
    scorer = InfluenceScorer(policy.model, InfluenceSettings(params=LAYER, preconditioner=name, damping=1.0))
    approx = scorer.score(train.batches(), queries.batches(), train_measurement="sft", data_key="t").mean(1)
    rho = spearmanr(approx.numpy(), exact.numpy())[0]
    assert rho > 0.6, f"{name}: Spearman {rho:.3f} against exact influence"


def test_the_woodbury_fisher_influence_equals_the_eigendecomposed_one():
    """`damped_fisher_influence` (an R x R solve) against `damped_inverse_influence` on F = G^T G / R
    formed and eigendecomposed, with fewer rows than weights (F singular) and more."""
    from lit_align.influence.exact import damped_fisher_influence

    generator = torch.Generator().manual_seed(0)
    for rows, dim in ((12, 40), (50, 20)):
        g = torch.randn(rows, dim, generator=generator, dtype=torch.float64) * torch.linspace(0.1, 3, dim)
        train, query = torch.randn(7, dim, generator=generator), torch.randn(3, dim, generator=generator)
        fisher = g.T @ g / rows
        expected = damped_inverse_influence(fisher, train, query, damping=0.1)
        got = damped_fisher_influence(g, train, query, damping=0.1)
        assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5)
        # over the nonzero eigenvalues: lam = 0.1 * trace / min(R, D), inverted by hand
        lam = 0.1 * float(torch.trace(fisher)) / min(rows, dim)
        inverse = torch.linalg.inv(fisher + lam * torch.eye(dim, dtype=torch.float64))
        by_hand = train.double() @ inverse @ query.double().T
        got = damped_fisher_influence(g, train, query, damping=0.1, mean_over="nonzero")
        assert torch.allclose(got, by_hand.float(), rtol=1e-4, atol=1e-5)
