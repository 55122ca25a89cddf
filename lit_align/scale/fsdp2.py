"""FSDP2 (`torch.distributed.fsdp.fully_shard`) through Lightning's `ModelParallelStrategy`.

Each transformer block the model names in `_no_split_modules` (Hugging Face's own
list of blocks that must stay whole) becomes one sharded unit, then the root: the
usual per-block wrapping, so a block's parameters are gathered just before its
forward and freed after it.
"""

from __future__ import annotations

from typing import Any

import torch


def block_classes(model: torch.nn.Module) -> set[str]:
    names: set[str] = set()
    for module in model.modules():
        names.update(getattr(module, "_no_split_modules", None) or [])
    return names


def shard_policy(model: torch.nn.Module, mesh: Any) -> None:
    from torch.distributed.fsdp import fully_shard

    blocks = block_classes(model)
    for module in model.modules():
        if type(module).__name__ in blocks:
            fully_shard(module, mesh=mesh)
    fully_shard(model, mesh=mesh)
