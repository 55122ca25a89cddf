"""Exact curvature on small models: the reference the approximations are measured against.

`exact_hessian` is the Hessian of the mean training-row measurement over the tracked
weights, built row by row from double backward (`torch.func.hessian` would vmap through
transformers' value-dependent mask code, which vmap refuses). `exact_fisher` is the
empirical Fisher the K-FAC family approximates. Both are `(D, D)`: small models only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import torch

from lit_align.influence.gradients import Measurement, autograd_row_gradients, row_losses, tracked_only
from lit_align.influence.layers import TrackedLayer


def _flat(grads: tuple[torch.Tensor, ...], layers: list[TrackedLayer]) -> torch.Tensor:
    return torch.cat([(g.t() if layer.transposed else g).reshape(-1) for g, layer in zip(grads, layers, strict=True)])


@contextmanager
def eager_attention(model: Any) -> Iterator[None]:
    """Fused attention kernels have no double backward; the plain one does."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    before = inner.config._attn_implementation
    inner.set_attn_implementation("eager")
    try:
        yield
    finally:
        inner.set_attn_implementation(before)


def exact_hessian(model: Any, layers: list[TrackedLayer], batches: Iterable[dict[str, torch.Tensor]],
                  measurement: Measurement) -> torch.Tensor:
    """`(D, D)` Hessian of the mean row measurement (layer order, weights as `(out, in)`)."""
    weights = [layer.module.weight for layer in layers]
    batches = list(batches)
    rows = sum(b["input_ids"].shape[0] // (2 if measurement == "preference" else 1) for b in batches)
    hessian: torch.Tensor | None = None
    with tracked_only(model, layers), eager_attention(model):
        for batch in batches:
            loss = row_losses(model, batch, measurement).sum() / rows
            grad = _flat(torch.autograd.grad(loss, weights, create_graph=True), layers)
            eye = torch.eye(grad.numel(), dtype=grad.dtype, device=grad.device)
            columns = torch.autograd.grad(grad, weights, grad_outputs=eye, retain_graph=True, is_grads_batched=True)
            block = torch.cat([(c.transpose(1, 2) if layer.transposed else c).flatten(1)
                               for c, layer in zip(columns, layers, strict=True)], dim=1)
            hessian = block if hessian is None else hessian + block
    assert hessian is not None
    return ((hessian + hessian.T) / 2).double()


def exact_fisher(model: Any, layers: list[TrackedLayer], batches: Iterable[dict[str, torch.Tensor]]) -> torch.Tensor:
    """`(D, D)` empirical Fisher E_n[g_n g_n^T] over sequences (their NLL gradients)."""
    grads = torch.cat([autograd_row_gradients(model, layers, b, "sft") for b in batches]).double()
    return grads.T @ grads / grads.shape[0]


def damped_inverse_influence(curvature: torch.Tensor, train_grads: torch.Tensor, query_grads: torch.Tensor,
                             damping: float) -> torch.Tensor:
    """`(N, M)` g_z^T (C + damping * mean eig(C) I)^-1 g_q, eigenvalues of C clamped at 0."""
    eigenvalues, vectors = torch.linalg.eigh(curvature.double())
    eigenvalues = eigenvalues.clamp(min=0)
    inverse = vectors @ torch.diag(1 / (eigenvalues + damping * eigenvalues.mean())) @ vectors.T
    return (train_grads.double() @ inverse @ query_grads.double().T).float()


def damped_fisher_influence(fisher_grads: torch.Tensor, train_grads: torch.Tensor, query_grads: torch.Tensor,
                            damping: float, mean_over: Literal["all", "nonzero"] = "all") -> torch.Tensor:
    """`(N, M)` g_z^T (F + lam I)^-1 g_q for the empirical Fisher F = G^T G / R of the `(R, D)` rows
    `fisher_grads`, lam = damping * mean eig(F) (as `damped_inverse_influence`), without forming F.
    `mean_over="nonzero"` averages over the min(R, D) eigenvalues F can have: with R << D the mean
    over all D is mostly zeros, lam is tiny, and the inverse amplifies every direction the rows
    barely span.

    Woodbury: (lam I + G^T G / R)^-1 = (I - G^T (R lam I + G G^T)^-1 G) / lam, an `(R, R)` solve,
    so D may be tens of thousands of LoRA weights (a D x D eigendecomposition would not fit)."""
    g = fisher_grads.double()
    rows, dim = g.shape
    count = dim if mean_over == "all" else min(rows, dim)
    lam = damping * float(g.pow(2).sum()) / rows / count  # trace(F) / the eigenvalues averaged over
    q = query_grads.double().T  # (D, M)
    inner = torch.linalg.solve(rows * lam * torch.eye(rows, dtype=g.dtype) + g @ g.T, g @ q)
    return (train_grads.double() @ (q - g.T @ inner) / lam).float()
