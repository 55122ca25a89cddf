"""Full policy weights back from a sharded fit.

Between tasks lit-align needs the policy as an ordinary module on every rank:
the next task caches reference log-probs with it, evaluation scores it, methods
compute their state (EWC Fisher, snapshots) from it and checkpoints save it.
DeepSpeed and FSDP2 change the module they train in place (flattened, partitioned
or DTensor parameters and hooks that expect their engine), so after such a fit the
full weights are gathered (fp32 master weights where the optimizer keeps them) into
a freshly built policy, and the sharded one is dropped with its trainer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def deepspeed_full_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter in full on every rank: the optimizer's fp32 copy of trainable ones
    (ZeRO 1-3), the gathered partitions of frozen ones (ZeRO-3)."""
    from deepspeed import zero
    from deepspeed.utils import safe_get_full_fp32_param

    state: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():
        full = safe_get_full_fp32_param(param) if param.requires_grad else None
        if full is None:
            with zero.GatheredParameters([param], modifier_rank=None):
                full = param.detach().float().clone()
        state[name] = full.detach().cpu()
    for name, buffer in model.named_buffers():
        state[name] = buffer.detach().cpu().clone()
    return state


def fsdp2_full_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    # cpu_offload=True would hand the full weights to rank 0 only; every rank needs them
    state = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=False))
    return {name: tensor.detach().cpu() for name, tensor in state.items()}


def load_full_state(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load gathered weights; names left out are only those tied to a loaded one."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    params = dict(model.named_parameters(remove_duplicate=False))
    loaded = {params[n].data_ptr() for n in state if n in params}
    untied = [n for n in missing if n not in params or params[n].data_ptr() not in loaded]
    if unexpected or untied:
        raise RuntimeError(f"gathered weights do not match the rebuilt policy: missing {untied[:5]}, "
                           f"unexpected {unexpected[:5]}")


def gathered_state(trainer: Any, model: torch.nn.Module) -> dict[str, torch.Tensor] | None:
    """The full weights of `model` after `trainer.fit`, or None when the strategy left them whole."""
    from lightning.pytorch.strategies import DeepSpeedStrategy, ModelParallelStrategy

    if isinstance(trainer.strategy, DeepSpeedStrategy):
        return deepspeed_full_state(model)
    if isinstance(trainer.strategy, ModelParallelStrategy):
        return fsdp2_full_state(model)
    return None


def rebuild_if_sharded(trainer: Any, module: Any, build_policy: Callable[[], Any]) -> Any | None:
    """After a sharded fit: a new full policy holding the trained weights, also handed to
    `module` (its `on_task_end` and `export` see it). None when nothing was sharded."""
    state = gathered_state(trainer, module.model)
    if state is None:
        return None
    device = trainer.strategy.root_device
    policy = build_policy()
    load_full_state(policy.model, state)
    policy.model.to(device).train()
    module.policy = policy
    module.model = policy.model
    return policy
