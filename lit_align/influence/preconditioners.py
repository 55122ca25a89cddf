"""Inverse-curvature approximations applied to per-layer gradients: the H^-1 in g_q^T H^-1 g_z.

The curvature is the empirical Fisher of the training rows' NLL, F = E_n[vec(DW_n) vec(DW_n)^T]
(per sequence n), the Gauss-Newton-style stand-in for the Hessian that influence work on
LLMs uses: it is positive semi-definite, so damping makes it safely invertible.

- `identity`: no curvature, g_q^T g_z (gradient similarity, TracIn at one checkpoint).
- `diagonal`: the diagonal of F.
- `kfac`: per layer F ~ A (x) G with A = E[a a^T] over tokens, G = E_n[sum_t g g^T];
  inverted in their eigenbases, eigenvalues lambda_G,i * lambda_A,j.
- `ekfac`: the same eigenbases, eigenvalues refit to the data,
  Lambda_ij = E_n[(Q_G^T DW_n Q_A)_ij^2] (George et al. 2018; Grosse et al. 2023).

Damping adds `damping * mean(eigenvalues)` per layer, so one setting suits every layer's scale.
Everything runs in float32 (factor inversion is ill-conditioned in 16-bit).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch

from lit_align.influence.gradients import BatchGradients
from lit_align.influence.layers import TrackedLayer

PreconditionerName = Literal["identity", "diagonal", "kfac", "ekfac"]


class Preconditioner:
    """Fit from passes over the training rows (`passes` of them), then `apply` to gradients."""

    name: ClassVar[str] = "identity"
    passes: ClassVar[int] = 0

    def __init__(self, layers: list[TrackedLayer], damping: float,
                 shapes: dict[str, tuple[int, int]] | None = None) -> None:
        self.layers = layers
        self.damping = damping
        # the gradient shape per layer: the weight's `(out, in)`, or smaller when projected
        self.shapes = shapes or {layer.name: layer.shape for layer in layers}

    def accumulate(self, pass_index: int, batch: BatchGradients) -> None:
        """Add one batch's statistics to pass `pass_index`."""

    def finish_pass(self, pass_index: int) -> None:
        """Turn pass `pass_index`'s sums into what the next pass (or `apply`) needs."""

    def apply(self, grads: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """`(M, out, in)` per layer -> H^-1 applied to each."""
        return grads

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore fitted factors (cached on disk)."""


class DiagonalPreconditioner(Preconditioner):
    name: ClassVar[str] = "diagonal"
    passes: ClassVar[int] = 1

    def __init__(self, layers: list[TrackedLayer], damping: float,
                 shapes: dict[str, tuple[int, int]] | None = None) -> None:
        super().__init__(layers, damping, shapes)
        self.sums = {name: torch.zeros(shape) for name, shape in self.shapes.items()}
        self.count = 0
        self.diag: dict[str, torch.Tensor] = {}

    def accumulate(self, pass_index: int, batch: BatchGradients) -> None:
        for name, g in batch.sequence_grads.items():
            self.sums[name] += g.pow(2).sum(0).cpu()
        self.count += next(iter(batch.sequence_grads.values())).shape[0]

    def finish_pass(self, pass_index: int) -> None:
        self.diag = {n: s / max(self.count, 1) for n, s in self.sums.items()}

    def apply(self, grads: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for name, g in grads.items():
            d = self.diag[name].to(g.device)
            out[name] = g / (d + self.damping * d.mean())
        return out

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {f"diag.{n}": d for n, d in self.diag.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.diag = {layer.name: state[f"diag.{layer.name}"] for layer in self.layers}


class KFACPreconditioner(Preconditioner):
    name: ClassVar[str] = "kfac"
    passes: ClassVar[int] = 1

    def __init__(self, layers: list[TrackedLayer], damping: float,
                 shapes: dict[str, tuple[int, int]] | None = None) -> None:
        super().__init__(layers, damping, shapes)
        self.a_sums = {name: torch.zeros(shape[1], shape[1]) for name, shape in self.shapes.items()}
        self.g_sums = {name: torch.zeros(shape[0], shape[0]) for name, shape in self.shapes.items()}
        self.tokens = 0
        self.sequences = 0
        self.q_a: dict[str, torch.Tensor] = {}
        self.q_g: dict[str, torch.Tensor] = {}
        self.eigenvalues: dict[str, torch.Tensor] = {}  # (out, in) per layer

    def _accumulate_factors(self, batch: BatchGradients) -> None:
        mask = batch.attention_mask.bool()
        for layer in self.layers:
            a = batch.seen.inputs[layer.name].float()[mask]  # (tokens, in)
            g = batch.seen.output_grads[layer.name].float()[mask]  # (tokens, out)
            self.a_sums[layer.name] += (a.T @ a).cpu()
            self.g_sums[layer.name] += (g.T @ g).cpu()
        self.tokens += int(mask.sum())
        self.sequences += mask.shape[0]

    def _eigenbases(self) -> None:
        for name in self.a_sums:
            lam_a, self.q_a[name] = torch.linalg.eigh(self.a_sums[name].double() / max(self.tokens, 1))
            lam_g, self.q_g[name] = torch.linalg.eigh(self.g_sums[name].double() / max(self.sequences, 1))
            self.q_a[name], self.q_g[name] = self.q_a[name].float(), self.q_g[name].float()
            self.eigenvalues[name] = torch.outer(lam_g.clamp(min=0), lam_a.clamp(min=0)).float()

    def accumulate(self, pass_index: int, batch: BatchGradients) -> None:
        self._accumulate_factors(batch)

    def finish_pass(self, pass_index: int) -> None:
        self._eigenbases()

    def apply(self, grads: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for name, g in grads.items():
            q_a, q_g = self.q_a[name].to(g.device), self.q_g[name].to(g.device)
            lam = self.eigenvalues[name].to(g.device)
            rotated = q_g.T @ g @ q_a  # (M, out, in) in the eigenbasis
            out[name] = q_g @ (rotated / (lam + self.damping * lam.mean())) @ q_a.T
        return out

    def state_dict(self) -> dict[str, torch.Tensor]:
        state = {}
        for name in self.eigenvalues:
            state |= {f"q_a.{name}": self.q_a[name], f"q_g.{name}": self.q_g[name],
                      f"eigenvalues.{name}": self.eigenvalues[name]}
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for layer in self.layers:
            n = layer.name
            self.q_a[n], self.q_g[n], self.eigenvalues[n] = (
                state[f"q_a.{n}"], state[f"q_g.{n}"], state[f"eigenvalues.{n}"])


class EKFACPreconditioner(KFACPreconditioner):
    name: ClassVar[str] = "ekfac"
    passes: ClassVar[int] = 2

    def __init__(self, layers: list[TrackedLayer], damping: float,
                 shapes: dict[str, tuple[int, int]] | None = None) -> None:
        super().__init__(layers, damping, shapes)
        self.corrected = {name: torch.zeros(shape) for name, shape in self.shapes.items()}
        self.corrected_count = 0

    def accumulate(self, pass_index: int, batch: BatchGradients) -> None:
        if pass_index == 0:
            self._accumulate_factors(batch)
            return
        for name, g in batch.sequence_grads.items():
            q_a, q_g = self.q_a[name].to(g.device), self.q_g[name].to(g.device)
            self.corrected[name] += (q_g.T @ g @ q_a).pow(2).sum(0).cpu()
        self.corrected_count += next(iter(batch.sequence_grads.values())).shape[0]

    def finish_pass(self, pass_index: int) -> None:
        if pass_index == 0:
            self._eigenbases()
        else:
            self.eigenvalues = {n: c / max(self.corrected_count, 1) for n, c in self.corrected.items()}


PRECONDITIONERS: dict[str, type[Preconditioner]] = {
    cls.name: cls for cls in (Preconditioner, DiagonalPreconditioner, KFACPreconditioner, EKFACPreconditioner)
}


def make_preconditioner(name: PreconditionerName, layers: list[TrackedLayer], damping: float,
                        shapes: dict[str, tuple[int, int]] | None = None) -> Preconditioner:
    return PRECONDITIONERS[name](layers, damping, shapes)
