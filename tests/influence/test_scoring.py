"""Batched scoring, projection and the on-disk cache."""

from __future__ import annotations

import torch
from scipy.stats import spearmanr

from lit_align.influence.gradients import autograd_row_gradients
from lit_align.influence.layers import select_layers
from lit_align.influence.projection import KroneckerProjector
from lit_align.influence.scoring import InfluenceScorer, InfluenceSettings

PARAMS = ["transformer.h.*.mlp.*"]


def test_identity_scores_are_plain_gradient_dot_products(trained):
    policy, train, queries = trained
    scorer = InfluenceScorer(policy.model, InfluenceSettings(params=PARAMS, preconditioner="identity"))
    scores = scorer.score(train.batches(), queries.batches(), train_measurement="sft", data_key="t")
    layers = select_layers(policy.model, PARAMS)
    g_train = torch.cat([autograd_row_gradients(policy.model, layers, b, "sft") for b in train.batches()()])
    g_query = torch.cat([autograd_row_gradients(policy.model, layers, b, "sft") for b in queries.batches()()])
    assert scores.shape == (len(train), len(queries))
    torch.testing.assert_close(scores, g_train @ g_query.T, rtol=1e-3, atol=1e-3)


def test_cosine_scores_are_cosines_of_the_gradients(trained):
    policy, train, queries = trained
    settings = InfluenceSettings(params=PARAMS, preconditioner="identity", cosine=True)
    scores = InfluenceScorer(policy.model, settings).score(train.batches(), queries.batches(),
                                                           train_measurement="sft", data_key="t")
    layers = select_layers(policy.model, PARAMS)
    g_train = torch.cat([autograd_row_gradients(policy.model, layers, b, "sft") for b in train.batches()()])
    g_query = torch.cat([autograd_row_gradients(policy.model, layers, b, "sft") for b in queries.batches()()])
    expected = torch.stack([torch.nn.functional.cosine_similarity(g_train, q.unsqueeze(0)) for q in g_query], 1)
    torch.testing.assert_close(scores, expected, rtol=1e-3, atol=1e-3)
    assert scores.abs().max() <= 1 + 1e-5


def test_projection_is_unbiased_and_keeps_the_ranking(trained):
    policy, train, queries = trained
    exact = InfluenceScorer(policy.model, InfluenceSettings(params=PARAMS, preconditioner="ekfac"))
    full = exact.score(train.batches(), queries.batches(), train_measurement="sft", data_key="t").mean(1)
    projected = InfluenceScorer(policy.model, InfluenceSettings(params=PARAMS, preconditioner="ekfac",
                                                                projection_dim=16, seed=3))
    approx = projected.score(train.batches(), queries.batches(), train_measurement="sft", data_key="t").mean(1)
    assert projected.projector.output_dim < exact.projector.output_dim
    assert spearmanr(full.numpy(), approx.numpy())[0] > 0.85


def test_kronecker_projection_preserves_inner_products_in_expectation(trained):
    policy, _, _ = trained
    layers = select_layers(policy.model, ["transformer.h.0.mlp.c_fc"])  # (64, 16) as (out, in)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(1, 64, 16, generator=gen), torch.randn(1, 64, 16, generator=gen)
    estimates = []
    for seed in range(400):
        project = KroneckerProjector(layers, dim=8, seed=seed)
        px, py = project({layers[0].name: x}), project({layers[0].name: y})
        assert px.shape == (1, 8 * 8)
        estimates.append(float(px @ py.T))
    true = float((x * y).sum())
    spread = torch.tensor(estimates).std() / 20  # standard error of the mean over 400 draws
    assert abs(sum(estimates) / len(estimates) - true) < 4 * spread


def test_factors_and_training_gradients_are_cached_and_reused(trained, tmp_path):
    policy, train, queries = trained
    settings = InfluenceSettings(params=PARAMS, preconditioner="ekfac", projection_dim=8)
    first = InfluenceScorer(policy.model, settings, cache_dir=tmp_path)
    scores = first.score(train.batches(), queries.batches(), train_measurement="sft", data_key="rows-v1")
    assert first.cache_hits == [] and len(list(tmp_path.glob("*.pt"))) == 2
    again = InfluenceScorer(policy.model, settings, cache_dir=tmp_path)
    torch.testing.assert_close(again.score(train.batches(), queries.batches(), train_measurement="sft",
                                           data_key="rows-v1"), scores)
    assert len(again.cache_hits) == 2
    other_rows = InfluenceScorer(policy.model, settings, cache_dir=tmp_path)
    other_rows.score(train.batches(), queries.batches(), train_measurement="sft", data_key="rows-v2")
    assert other_rows.cache_hits == []  # a different training set is never served stale factors
