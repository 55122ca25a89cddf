"""Which weights influence is computed over, and the hooks that read what they see.

Influence is restricted to the weight matrices of linear maps: LoRA's A and B
matrices when the model carries an adapter, otherwise the linear layers whose
names match the given patterns. Every such layer computes `out = in @ W^T`
(`torch.nn.Linear`) or `out = in @ W` (transformers' `Conv1D`, GPT-2), so the
gradient of any loss with respect to W is `sum_t g_t a_t^T` over positions t,
with `a` the layer input and `g` the gradient at its output. The hooks keep
`a` and `g` per example; that yields per-example gradients and Kronecker
factors from one batched forward/backward (why not `torch.func.vmap`:
transformers' mask building branches on tensor values, which vmap refuses).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from lit_align.errors import ConfigError


def _is_conv1d(module: torch.nn.Module) -> bool:
    return type(module).__name__ == "Conv1D" and hasattr(module, "nf")


def is_linear(module: torch.nn.Module) -> bool:
    return isinstance(module, torch.nn.Linear) or _is_conv1d(module)


@dataclass
class TrackedLayer:
    """A linear map whose weight enters the influence computation, seen as `(out, in)`."""

    name: str
    module: torch.nn.Module
    transposed: bool  # Conv1D stores W as (in, out)

    @property
    def shape(self) -> tuple[int, int]:
        w = self.module.weight
        return (w.shape[1], w.shape[0]) if self.transposed else (w.shape[0], w.shape[1])

    @property
    def numel(self) -> int:
        return self.module.weight.numel()

    def weight(self) -> torch.Tensor:
        """The weight as `(out, in)` (a view)."""
        w = self.module.weight
        return w.t() if self.transposed else w


def select_layers(model: Any, targets: list[str] | str = "lora") -> list[TrackedLayer]:
    """`"lora"`: every LoRA A/B matrix; else fnmatch patterns over module names (e.g. `"*.mlp.*"`).

    Raises naming the patterns and some available names when nothing matches."""
    named = [(n, m) for n, m in model.named_modules() if is_linear(m)]
    if targets == "lora":
        picked = [(n, m) for n, m in named if ".lora_A." in n or ".lora_B." in n]
        if not picked:
            raise ConfigError(
                "influence params: 'lora' selected, but the model has no LoRA adapter; give the model a "
                "lora block or name layers by pattern, e.g. params: ['*.mlp.*']"
            )
    else:
        patterns = [targets] if isinstance(targets, str) else list(targets)
        picked = [(n, m) for n, m in named if any(fnmatch.fnmatch(n, p) for p in patterns)]
        if not picked:
            sample = ", ".join(n for n, _ in named[:8])
            raise ConfigError(
                f"influence params: no linear layer matches {patterns}; linear layers include: {sample}"
            )
    tied = _tied_elsewhere(model, picked)
    if tied:
        layer, other = tied[0]
        raise ConfigError(
            f"influence params: {layer}.weight is tied to {other} ({len(tied)} such layer(s)), so a hook on "
            f"{layer} would see only part of that weight's gradient; leave it out (params: 'lora', or a pattern "
            f"that does not match {layer})"
        )
    return [TrackedLayer(n, m, transposed=_is_conv1d(m)) for n, m in picked]


def _tied_elsewhere(model: Any, picked: list[tuple[str, torch.nn.Module]]) -> list[tuple[str, str]]:
    """(layer, other parameter name) for each picked layer whose weight is also registered under
    another name, e.g. a language-model head tied to the input embeddings."""
    names: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(param), []).append(name)
    found = []
    for layer_name, module in picked:
        own = f"{layer_name}.weight" if layer_name else "weight"
        others = [n for n in names.get(id(module.weight), []) if n != own]
        if others:
            found.append((layer_name, others[0]))
    return found


@dataclass
class Captured:
    """Inputs `a` `(B, T, in)` and output gradients `g` `(B, T, out)` per tracked layer."""

    inputs: dict[str, torch.Tensor] = field(default_factory=dict)
    output_grads: dict[str, torch.Tensor] = field(default_factory=dict)


@contextmanager
def capture(layers: list[TrackedLayer]) -> Iterator[Captured]:
    """Record each tracked layer's input and output gradient during one forward/backward.

    The weights need not require grad: the output's gradient flows whenever any
    input of the loss requires grad, which the caller arranges (`prepare_model`)."""
    seen = Captured()
    handles = []
    for layer in layers:
        def forward_hook(module: Any, args: tuple, output: torch.Tensor, name: str = layer.name) -> None:
            if name in seen.inputs:  # a second call would overwrite the first's input and gradient
                raise ConfigError(
                    f"influence params: {name} is called more than once per forward (a layer reused inside the "
                    f"network), so its gradient is a sum over calls the hooks cannot pair; leave it out"
                )
            seen.inputs[name] = args[0].detach()
            if output.requires_grad:
                output.register_hook(lambda grad, n=name: seen.output_grads.__setitem__(n, grad.detach()))
        handles.append(layer.module.register_forward_hook(forward_hook))
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


def per_example_weight_grads(layer: TrackedLayer, seen: Captured) -> torch.Tensor:
    """`(B, out, in)`: sum over positions of g_t a_t^T, each example on its own."""
    a, g = seen.inputs[layer.name], seen.output_grads[layer.name]
    return torch.einsum("bto,bti->boi", g.float(), a.float())
