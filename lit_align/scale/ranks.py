"""Who this process is in a multi-process run, and the few collectives the runner needs.

The runner brings the process group up itself, before the first task, so that
every rank can agree (barriers) around the files rank 0 writes; Lightning and
DeepSpeed find the group already initialised and use it.
"""

from __future__ import annotations

import os
from datetime import timedelta


def _group_ready() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    """From the process group once it is up (Lightning's teardown removes WORLD_SIZE from the environment)."""
    if _group_ready():
        import torch.distributed as dist

        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def global_rank() -> int:
    if _group_ready():
        import torch.distributed as dist

        return dist.get_rank()
    return int(os.environ.get("RANK", os.environ.get("SLURM_PROCID", "0")))


def is_main() -> bool:
    return global_rank() == 0


def init_process_group(timeout_minutes: int = 30) -> None:
    """Join the group the launcher (lit-align, torchrun or SLURM) described in the environment."""
    import torch
    import torch.distributed as dist

    if world_size() <= 1 or dist.is_initialized():
        return
    os.environ.setdefault("RANK", str(global_rank()))
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend, init_method="env://", rank=global_rank(), world_size=world_size(),
                            timeout=timedelta(minutes=timeout_minutes))


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
