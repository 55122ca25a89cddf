"""`trainer.strategy` as lit-align reads it: a Lightning strategy name, a DeepSpeed preset
name (`zero1` ... `zero3_offload`, the JSON files in `presets/`, also reachable as
`configs/deepspeed/`), a path to a DeepSpeed JSON/YAML config, or `fsdp2`.

Lightning refuses DeepSpeed on the CPU accelerator; there the same config runs
through `CPUDeepSpeedStrategy` over gloo, so the sharded code path is tested on
machines without a GPU.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lit_align.errors import ConfigError

PRESETS_DIR = Path(__file__).parent / "presets"
# Lightning's own DeepSpeed names, mapped to the preset with the same ZeRO settings (used on CPU)
LIGHTNING_DEEPSPEED_NAMES = {
    "deepspeed": "zero2",
    "deepspeed_stage_1": "zero1",
    "deepspeed_stage_2": "zero2",
    "deepspeed_stage_2_offload": "zero2_offload",
    "deepspeed_stage_3": "zero3",
    "deepspeed_stage_3_offload": "zero3_offload",
}
FSDP2 = "fsdp2"
SINGLE_PROCESS = {"auto", "single_device", "ddp_spawn", "ddp_notebook", "ddp_fork", "dp"}


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def _looks_like_file(spec: str) -> bool:
    return spec.endswith((".json", ".yaml", ".yml"))


def deepspeed_config(spec: str) -> dict[str, Any] | None:
    """The DeepSpeed config a strategy spec names, or None when it names no DeepSpeed config."""
    if spec in preset_names():
        return json.loads((PRESETS_DIR / f"{spec}.json").read_text())
    if not _looks_like_file(spec):
        return None
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"trainer.strategy: DeepSpeed config file {spec} does not exist; give a path to a "
                          f"JSON/YAML DeepSpeed config or a preset name ({', '.join(preset_names())})")
    if path.suffix == ".json":
        return json.loads(path.read_text())
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(path), resolve=True)  # type: ignore[return-value]


def strategy_problem(spec: Any, where: str) -> str | None:
    """Why `spec` is not a strategy lit-align can build (None when it is)."""
    if not isinstance(spec, str):
        return f"{where}: must be a strategy name or a DeepSpeed config path, got {type(spec).__name__}"
    if spec in preset_names() or spec == FSDP2:
        return None
    if _looks_like_file(spec):
        return None if Path(spec).is_file() else f"{where}: DeepSpeed config file {spec} does not exist"
    from lightning.pytorch.strategies import StrategyRegistry

    if spec in StrategyRegistry.available_strategies():
        return None
    return (f"{where}: unknown strategy {spec!r}; use a Lightning name (ddp, deepspeed_stage_2, ...), a DeepSpeed "
            f"preset ({', '.join(preset_names())}), fsdp2, or a path to a DeepSpeed JSON/YAML config")


def uses_cpu(trainer_kwargs: dict[str, Any]) -> bool:
    accelerator = trainer_kwargs.get("accelerator", "auto")
    if accelerator == "cpu":
        return True
    if accelerator not in ("auto", None):
        return False
    import torch

    return not torch.cuda.is_available()


def processes_per_node(trainer_kwargs: dict[str, Any]) -> int:
    """How many processes this node runs the sequence in (1 for single-process strategies)."""
    strategy = trainer_kwargs.get("strategy", "auto")
    devices = trainer_kwargs.get("devices", "auto")
    if not isinstance(strategy, str) or strategy in SINGLE_PROCESS:
        return 1
    if isinstance(devices, int):
        return max(devices, 1)
    if isinstance(devices, list | tuple):
        return len(devices)
    if isinstance(devices, str) and devices.isdigit():
        return int(devices)
    if devices in ("auto", -1, "-1") and not uses_cpu(trainer_kwargs):
        import torch

        return max(torch.cuda.device_count(), 1)
    return 1


def build_strategy(trainer_kwargs: dict[str, Any]) -> Any:
    """The `strategy` argument for `lightning.Trainer`: a name Lightning knows, or a strategy object."""
    spec = trainer_kwargs.get("strategy", "auto")
    if not isinstance(spec, str):
        return spec
    on_cpu = uses_cpu(trainer_kwargs)
    if spec == FSDP2:
        from lightning.pytorch.strategies import ModelParallelStrategy

        world = processes_per_node(trainer_kwargs) * int(trainer_kwargs.get("num_nodes", 1))
        return ModelParallelStrategy(data_parallel_size=world, tensor_parallel_size=1)  # pure data parallel
    if on_cpu and spec in LIGHTNING_DEEPSPEED_NAMES:
        spec = LIGHTNING_DEEPSPEED_NAMES[spec]
    config = deepspeed_config(spec)
    if config is None:
        return spec
    _check_precision(config, trainer_kwargs.get("precision"), spec)
    if on_cpu:
        from lit_align.scale.deepspeed_cpu import CPUDeepSpeedStrategy

        return CPUDeepSpeedStrategy(config=config)
    from lightning.pytorch.strategies import DeepSpeedStrategy

    return DeepSpeedStrategy(config=config)


def _check_precision(config: dict[str, Any], precision: Any, spec: str) -> None:
    """A bf16 DeepSpeed config under fp32 Lightning precision casts the model behind Lightning's back."""
    wants_bf16 = bool((config.get("bf16") or {}).get("enabled"))
    if wants_bf16 and not str(precision or "32").startswith("bf16"):
        raise ConfigError(f"trainer.strategy {spec} enables bf16; set trainer.precision: bf16-mixed (or bf16-true), "
                          f"or pick a preset without bf16")


def shards_parameters(spec: Any) -> bool:
    """ZeRO-3 and FSDP2 keep only a shard of each weight on a rank outside forward/backward."""
    if not isinstance(spec, str):
        return False
    if spec == FSDP2 or spec.startswith("deepspeed_stage_3"):
        return True
    try:
        config = deepspeed_config(spec)
    except ConfigError:
        return False
    return (config or {}).get("zero_optimization", {}).get("stage") == 3


def offloads_optimizer(strategy: Any) -> bool:
    """ZeRO-Offload runs the optimizer step on the CPU and needs DeepSpeed's CPU Adam."""
    config = getattr(strategy, "config", None)
    if not isinstance(config, dict):
        return False
    offload = (config.get("zero_optimization") or {}).get("offload_optimizer") or {}
    return offload.get("device") in ("cpu", "nvme")
