"""What survives a crash: a checkpoint directory per completed task, committed by
an atomic write of `state.json` that names it.

Each checkpoint holds the policy weights (safetensors; for a LoRA policy only the
adapter, since the frozen base is rebuilt from the model spec), the method state
(safetensors), the replay memory (JSON) and the per-example margins (JSON).
Writes go to the new directory first; `state.json` is replaced last, so a crash
at any point leaves the previous task's checkpoint in force. Nothing here is
unpickled on load.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

from lit_align.continual.paths import contained, fresh_dir, remove_tree
from lit_align.errors import UserError
from lit_align.io import atomic_write_json
from lit_align.models import is_peft_model

STATE_FILE = "state.json"
SHARDED_POLICY = "policy"  # a torch.distributed.checkpoint directory, written by multi-process runs
POLICY_FILE = "policy.safetensors"
ADAPTER_KEYS = ("lora_", "modules_to_save")  # what a peft policy trains; the rest is the frozen base


def adapter_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The adapter's tensors by their name in `model` (a few MB instead of the whole model)."""
    return {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()
            if any(key in k for key in ADAPTER_KEYS)}


@dataclass
class SequenceState:
    config_digest: str
    completed: list[str] = field(default_factory=list)
    checkpoint: str | None = None  # directory of the last completed task, relative to output_dir
    parent_run_id: str | None = None
    task_results: list[dict[str, Any]] = field(default_factory=list)


def config_digest(cfg: dict[str, Any]) -> str:
    """Identity of a run's config, ignoring keys that do not change results."""
    relevant = {k: v for k, v in cfg.items() if k not in ("output_dir", "tracking")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def load_state(output_dir: Path, digest: str) -> SequenceState | None:
    path = output_dir / STATE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or "config_digest" not in data:
            raise ValueError("not a lit-align state")
        state = SequenceState(**data)
    except (ValueError, TypeError) as exc:  # truncated JSON, wrong shape, unknown fields
        raise UserError(f"{path} is damaged ({str(exc).splitlines()[0]}): this run cannot resume from it; start "
                        f"over with a new output_dir, or delete {path} and {output_dir / 'checkpoints'} to start "
                        f"this one over") from None
    if data.get("config_digest") != digest:
        raise UserError(
            f"output_dir {output_dir} holds a run with a different config (state.json); "
            f"use a new output_dir, or delete {path} to start this directory over"
        )
    return state


def save_state(output_dir: Path, state: SequenceState) -> None:
    """Write `state.json` atomically (also before any task has completed, so the tracking parent
    run survives a kill)."""
    atomic_write_json(contained(output_dir, STATE_FILE), asdict(state))


def commit(output_dir: Path, state: SequenceState, previous: str | None) -> None:
    """Make `state` the one in force, then drop the checkpoint it replaces (only ever inside output_dir)."""
    for relative in (state.checkpoint, previous):  # both checked before anything changes
        if relative is not None:
            contained(output_dir, relative)
    save_state(output_dir, state)
    if previous and previous != state.checkpoint:
        remove_tree(output_dir, previous)


def save_checkpoint(output_dir: Path, relative: str, *, model: torch.nn.Module,
                    method_state: dict[str, torch.Tensor], memory: Any, margins: dict[str, Any]) -> Path:
    """Write `output_dir/relative`; called on every rank. One process writes `policy.safetensors`;
    several processes write the policy as a sharded `torch.distributed.checkpoint` (each rank a
    share of the tensors), which loads back at any world size. Rank 0 alone writes the small files."""
    from lit_align.scale import ranks

    directory = contained(output_dir, relative)
    if ranks.is_main():
        fresh_dir(output_dir, relative)  # replaces a partial write of a crashed attempt
    ranks.barrier()
    if ranks.world_size() > 1:
        import torch.distributed.checkpoint as dcp

        dcp.save(_plain_state(model), checkpoint_id=str(directory / SHARDED_POLICY))
    elif is_peft_model(model):
        save_file(adapter_state(model), str(directory / POLICY_FILE), metadata={"policy": "adapter"})
    else:
        save_model(model, str(directory / POLICY_FILE))  # handles tied weights
    if ranks.is_main():
        save_file({k: v.detach().contiguous().cpu() for k, v in method_state.items()},
                  str(directory / "method_state.safetensors"))
        memory.save(directory / "memory.json")
        (directory / "margins.json").write_text(json.dumps(margins))
    ranks.barrier()
    return directory


def _plain_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and buffers by name, each stored once (tied weights under their first name)."""
    seen: set[tuple[Any, ...]] = set()
    state = {}
    for name, tensor in model.state_dict(keep_vars=False).items():
        # the memory a tensor views, not the identity of Python wrapper objects
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape)) \
            if tensor.numel() else (name,)
        if key not in seen:
            seen.add(key)
            state[name] = tensor
    return state


def load_checkpoint(directory: Path, model: torch.nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load policy weights into `model`; return the method state and the stored margins."""
    if not directory.is_dir():
        raise UserError(f"checkpoint {directory} named by state.json is missing; delete state.json to start over")
    if (directory / SHARDED_POLICY).is_dir():
        unexpected = _load_sharded(model, directory / SHARDED_POLICY)
    elif _stored_format(directory / POLICY_FILE) == "adapter":
        unexpected = _load_adapter(model, directory / POLICY_FILE)
    else:
        _, unexpected = load_model(model, str(directory / POLICY_FILE), strict=False)
    if unexpected:
        raise UserError(f"checkpoint {directory} does not match the configured model ({len(unexpected)} "
                        f"mismatched tensors, e.g. {unexpected[0]}); the model config changed since the run "
                        f"started: restore it, or use a new output_dir")
    method_state = load_file(str(directory / "method_state.safetensors"))
    margins = json.loads((directory / "margins.json").read_text())
    return method_state, margins


def _stored_format(path: Path) -> str:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return (handle.metadata() or {}).get("policy", "full")


def _load_adapter(model: torch.nn.Module, path: Path) -> list[str]:
    """Adapter tensors into a LoRA policy; every adapter tensor the model has must be stored."""
    if not is_peft_model(model):
        return ["(adapter checkpoint, but the configured model has no LoRA)"]
    stored = load_file(str(path))
    expected = set(adapter_state(model))
    if expected - set(stored):
        return sorted(expected - set(stored))
    result = model.load_state_dict(stored, strict=False)
    return list(result.unexpected_keys)


def _load_sharded(model: torch.nn.Module, path: Path) -> list[str]:
    """Load a sharded policy checkpoint into `model` at any world size; names the checkpoint
    holds that the model lacks are returned (the caller refuses them)."""
    import torch.distributed.checkpoint as dcp

    target = _plain_state(model)
    stored = set(dcp.FileSystemReader(str(path)).read_metadata().state_dict_metadata)
    unexpected = sorted(stored - set(model.state_dict()))
    if unexpected:
        return unexpected
    with warnings.catch_warnings():  # "no process group: loading in a single process" is the intent here
        warnings.filterwarnings("ignore", message=".*assuming the intent is to load in a single process")
        dcp.load(target, checkpoint_id=str(path))  # in place: `target` views the model's own tensors
    return []
