"""Optimiser and learning-rate schedule settings shared by every stage."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from lit_align.binding import Range


@dataclass
class OptimizerConfig:
    """AdamW with linear warmup then a cosine, linear or constant schedule."""

    lr: Annotated[float, Range(gt=0)] = 5e-5
    weight_decay: Annotated[float, Range(ge=0)] = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: Annotated[float, Range(gt=0)] = 1e-8
    warmup_steps: Annotated[int, Range(ge=0)] = 0
    scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    min_lr_ratio: Annotated[float, Range(ge=0, le=1)] = 0.0


def lr_factor(step: int, total: int, cfg: OptimizerConfig) -> float:
    """Multiplier of `cfg.lr` at `step` of `total` optimiser steps."""
    if step < cfg.warmup_steps:
        return (step + 1) / (cfg.warmup_steps + 1)
    if cfg.scheduler == "constant" or total <= cfg.warmup_steps:
        return 1.0
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
    shape = 0.5 * (1 + math.cos(math.pi * progress)) if cfg.scheduler == "cosine" else 1 - progress
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * shape


def build_optimizer(params: list[Any], cfg: OptimizerConfig, total_steps: int, *,
                    cpu_offload: bool = False) -> dict[str, Any]:
    """The dict Lightning's `configure_optimizers` returns, stepping the schedule per batch.

    With DeepSpeed ZeRO-Offload (`cpu_offload`) the step runs on the host, through
    DeepSpeed's vectorised CPU AdamW (same update rule; DeepSpeed refuses torch's there).
    """
    import torch

    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if cpu_offload:
        from deepspeed.ops.adam import DeepSpeedCPUAdam

        optimizer = DeepSpeedCPUAdam(groups, lr=cfg.lr, betas=(cfg.betas[0], cfg.betas[1]), eps=cfg.eps,
                                     adamw_mode=True)
    else:
        optimizer = torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.betas[0], cfg.betas[1]), eps=cfg.eps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total_steps, cfg)
    )
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
