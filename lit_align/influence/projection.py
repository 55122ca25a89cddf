"""Random projection of per-layer gradients (LoGra-style), to score big models compactly.

A layer's gradient matrix X `(out, in)` becomes `P_out^T X P_in` `(k_out, k_in)`, with
Gaussian P of variance 1/k: E[<proj X, proj Y>] = <X, Y> (the Kronecker product of two
Johnson-Lindenstrauss maps), and it needs `out*k + in*k` numbers instead of `out*in*k^2`.
Because X = sum_t g_t a_t^T, the projection is applied to the hooked activations and
output gradients themselves (`project_captured`): per-example gradients are formed in
the small space, and the curvature is fitted there too. Projecting *after*
preconditioning instead was measured to scramble EK-FAC rankings (Spearman ~0.1-0.6
against unprojected at k = 12-48 on the test model): H^-1 g_q is dominated by
low-curvature directions, whose projection noise swamps the inner product.
A side no larger than k is left as is.
"""

from __future__ import annotations

import torch

from lit_align.influence.layers import Captured, TrackedLayer


class KroneckerProjector:
    def __init__(self, layers: list[TrackedLayer], dim: int | None, seed: int = 0) -> None:
        self.layers = layers
        self.dim = dim
        generator = torch.Generator().manual_seed(seed)
        self.maps: dict[str, tuple[torch.Tensor | None, torch.Tensor | None]] = {}
        for layer in layers:
            out_f, in_f = layer.shape
            self.maps[layer.name] = (self._map(out_f, generator), self._map(in_f, generator))

    def _map(self, size: int, generator: torch.Generator) -> torch.Tensor | None:
        if self.dim is None or size <= self.dim:
            return None
        return torch.randn(size, self.dim, generator=generator) / self.dim**0.5

    def shape(self, layer: TrackedLayer) -> tuple[int, int]:
        """The layer's gradient shape `(out, in)` after projection."""
        p_out, p_in = self.maps[layer.name]
        return (layer.shape[0] if p_out is None else p_out.shape[1], layer.shape[1] if p_in is None else p_in.shape[1])

    @property
    def output_dim(self) -> int:
        return sum(self.shape(layer)[0] * self.shape(layer)[1] for layer in self.layers)

    def project_captured(self, seen: Captured) -> Captured:
        """Activations `a @ P_in` and output gradients `g @ P_out`, per tracked layer."""
        out = Captured()
        for layer in self.layers:
            p_out, p_in = self.maps[layer.name]
            a, g = seen.inputs[layer.name], seen.output_grads[layer.name]
            out.inputs[layer.name] = a if p_in is None else a.float() @ p_in.to(a.device)
            out.output_grads[layer.name] = g if p_out is None else g.float() @ p_out.to(g.device)
        return out

    def __call__(self, grads: dict[str, torch.Tensor]) -> torch.Tensor:
        """`(B, out, in)` per layer -> `(B, output_dim)`."""
        parts = []
        for layer in self.layers:
            x = grads[layer.name]
            p_out, p_in = self.maps[layer.name]
            if p_out is not None:
                x = p_out.to(x.device).T @ x
            if p_in is not None:
                x = x @ p_in.to(x.device)
            parts.append(x.flatten(1))
        return torch.cat(parts, dim=1)
