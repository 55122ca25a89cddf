"""DeepSpeed ZeRO on the CPU accelerator, over gloo.

Lightning's `DeepSpeedStrategy` refuses any accelerator but CUDA. DeepSpeed itself
runs on CPU (`DS_ACCELERATOR=cpu`), so three overrides are enough to train ZeRO
0-3 on CPU processes: skip the CUDA guard, skip the CUDA device-index check, and
place each rank on `cpu`. This is what lets CI exercise the sharded code path
(partitioned optimizer state and parameters, gathering, checkpoints) without a GPU;
it is not a fast way to train.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import torch
from lightning.fabric.utilities.seed import reset_seed
from lightning.pytorch.strategies import DDPStrategy, DeepSpeedStrategy


class CPUDeepSpeedStrategy(DeepSpeedStrategy):
    strategy_name = "deepspeed_cpu"

    def __init__(self, config: dict[str, Any], **kwargs: Any) -> None:
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
        super().__init__(config=_without_pinned_memory(config), **kwargs)

    def setup_environment(self) -> None:
        DDPStrategy.setup_environment(self)  # the CUDA-only guard of DeepSpeedStrategy is the one thing skipped

    def setup_distributed(self) -> None:
        reset_seed()
        self.set_world_ranks()
        self._init_deepspeed_distributed()

    @property
    def root_device(self) -> torch.device:
        return torch.device("cpu", self.local_rank)  # DeepSpeed reads the index as the rank's device

    def _get_process_group_backend(self) -> str:
        return "gloo"


def _without_pinned_memory(config: dict[str, Any]) -> dict[str, Any]:
    """Pinned host memory needs CUDA; offload targets on a CPU-only machine are plain memory."""
    config = copy.deepcopy(config)
    zero = config.get("zero_optimization") or {}
    for key in ("offload_optimizer", "offload_param"):
        if isinstance(zero.get(key), dict):
            zero[key]["pin_memory"] = False
    return config
