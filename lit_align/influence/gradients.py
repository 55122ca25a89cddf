"""Per-example gradients of a row's loss over the tracked weights, from one batched pass.

A row's loss (its *measurement*) is the summed response-token NLL:
- `sft` rows (prompt + completion; also queries: prompt + undesirable response):
  L = -log pi(y | x);
- `preference` rows: L = -(log pi(y+ | x) - log pi(y- | x)), the direction a DPO
  step moves the pair in (DPO's per-pair weight sigma(-beta m) only rescales it).

Because rows never interact in a forward pass, the gradient of the summed batch
loss at a layer's output is, position by position, the gradient of the loss of
the row that position belongs to; `sum_t g_t a_t^T` per row is then that row's
exact gradient (tested against autograd row by row).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch

from lit_align.influence.layers import Captured, TrackedLayer, capture, per_example_weight_grads
from lit_align.modules.forward import response_logprobs

if TYPE_CHECKING:
    from lit_align.influence.projection import KroneckerProjector

Measurement = Literal["sft", "preference"]


@dataclass
class BatchGradients:
    """Per-row gradients `(B, out, in)` per layer, plus what the pass saw, per *sequence*
    (a preference row is two sequences), for fitting curvature."""

    grads: dict[str, torch.Tensor]
    seen: Captured
    sequence_grads: dict[str, torch.Tensor]  # (S, out, in): each sequence's NLL gradient up to sign
    attention_mask: torch.Tensor  # (S, T)


@contextmanager
def tracked_only(model: Any, layers: list[TrackedLayer]) -> Iterator[None]:
    """Gradients flow to the tracked weights only (others frozen for the pass), restored after."""
    before = {id(p): p.requires_grad for p in model.parameters()}
    tracked = {id(layer.module.weight) for layer in layers}
    try:
        for p in model.parameters():
            p.requires_grad_(id(p) in tracked)
        yield
    finally:
        for p in model.parameters():
            p.requires_grad_(before[id(p)])


def row_losses(model: Any, batch: dict[str, torch.Tensor], measurement: Measurement) -> torch.Tensor:
    """`(B,)` the measurement of every row of a collated batch (plain logits path: hooks see every layer)."""
    logps = response_logprobs(model, batch, mode="plain").logps.float()
    if measurement == "sft":
        return -logps
    half = logps.shape[0] // 2
    return -(logps[:half] - logps[half:])


def batch_gradients(model: Any, layers: list[TrackedLayer], batch: dict[str, torch.Tensor],
                    measurement: Measurement, projector: KroneckerProjector | None = None) -> BatchGradients:
    """One forward/backward of the batch's summed measurement; per-row gradients from the hooks
    (formed in the projected space when a projector is given)."""
    model.zero_grad(set_to_none=True)
    with tracked_only(model, layers), capture(layers) as seen:
        row_losses(model, batch, measurement).sum().backward()
    model.zero_grad(set_to_none=True)
    if projector is not None:
        seen = projector.project_captured(seen)
    per_sequence = {layer.name: per_example_weight_grads(layer, seen) for layer in layers}
    if measurement == "sft":
        per_row = per_sequence
    else:
        half = batch["input_ids"].shape[0] // 2
        per_row = {n: g[:half] + g[half:] for n, g in per_sequence.items()}
    return BatchGradients(per_row, seen, per_sequence, batch["attention_mask"])


def flatten(grads: dict[str, torch.Tensor], layers: list[TrackedLayer]) -> torch.Tensor:
    """`(B, sum out*in)` in layer order."""
    return torch.cat([grads[layer.name].flatten(1) for layer in layers], dim=1)


def autograd_row_gradients(model: Any, layers: list[TrackedLayer], batch: dict[str, torch.Tensor],
                           measurement: Measurement) -> torch.Tensor:
    """`(B, D)` the naive way: one backward per row (the reference for tests and benchmarks)."""
    rows = []
    weights = [layer.module.weight for layer in layers]
    n = batch["input_ids"].shape[0] // (2 if measurement == "preference" else 1)
    with tracked_only(model, layers):
        for i in range(n):
            picked = [i, i + n] if measurement == "preference" else [i]
            single = {k: batch[k][picked] for k in ("input_ids", "attention_mask", "labels")}
            loss = row_losses(model, single, measurement).sum()
            grads = torch.autograd.grad(loss, weights)
            rows.append(torch.cat([
                (g.t() if layer.transposed else g).reshape(-1) for g, layer in zip(grads, layers, strict=True)
            ]))
    return torch.stack(rows).float()
