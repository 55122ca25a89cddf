"""Random projection of per-layer gradients, to store N training gradients compactly.

A layer's gradient matrix X `(out, in)` becomes `P_out^T X P_in` `(k_out, k_in)`, with
Gaussian P of variance 1/k: E[<proj X, proj Y>] = <X, Y> (the Kronecker product of two
Johnson-Lindenstrauss maps), and it needs `out*k + in*k` numbers instead of `out*in*k^2`.
The same P projects training gradients and preconditioned query gradients, so scores are
unbiased estimates of the unprojected ones. A side no larger than k is left as is.
"""

from __future__ import annotations

import torch

from lit_align.influence.layers import TrackedLayer


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

    @property
    def output_dim(self) -> int:
        total = 0
        for layer in self.layers:
            p_out, p_in = self.maps[layer.name]
            total += (layer.shape[0] if p_out is None else self.dim) * (layer.shape[1] if p_in is None else self.dim)
        return total

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
