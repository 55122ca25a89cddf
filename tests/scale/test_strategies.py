"""`trainer.strategy` resolution: presets, Lightning names and files become the strategy
objects lit-align needs, and every bad spec is named with its fix."""

from __future__ import annotations

import json

import pytest
from lightning.pytorch.strategies import DeepSpeedStrategy, ModelParallelStrategy

from lit_align.errors import ConfigError
from lit_align.scale.deepspeed_cpu import CPUDeepSpeedStrategy
from lit_align.scale.strategies import (
    build_strategy,
    offloads_optimizer,
    preset_names,
    processes_per_node,
    shards_parameters,
    strategy_problem,
)
from lit_align.validation.config import validate_config
from tests.conftest import REPO

CPU = {"accelerator": "cpu", "devices": 2}


def test_presets_are_the_files_under_configs_deepspeed():
    shipped = sorted(p.stem for p in (REPO / "configs" / "deepspeed").glob("*.json"))
    assert shipped == preset_names()
    assert {"zero1", "zero2", "zero3", "zero2_offload", "zero3_offload", "zero2_bf16", "zero3_bf16"} <= set(shipped)
    for name in shipped:
        config = json.loads((REPO / "configs" / "deepspeed" / f"{name}.json").read_text())
        assert config["zero_optimization"]["stage"] == int(name[4])


@pytest.mark.parametrize(("spec", "stage"), [("zero1", 1), ("zero3", 3), ("deepspeed_stage_2", 2),
                                             ("deepspeed_stage_3_offload", 3)])
def test_deepspeed_names_build_the_cpu_strategy_on_cpu(spec, stage):
    strategy = build_strategy({**CPU, "strategy": spec})
    assert isinstance(strategy, CPUDeepSpeedStrategy)
    assert strategy.config["zero_optimization"]["stage"] == stage


def test_offload_presets_drop_pinned_memory_on_cpu_and_ask_for_cpu_adam():
    strategy = build_strategy({**CPU, "strategy": "zero3_offload"})
    zero = strategy.config["zero_optimization"]
    assert zero["offload_optimizer"] == {"device": "cpu", "pin_memory": False}
    assert zero["offload_param"]["pin_memory"] is False
    assert offloads_optimizer(strategy)
    assert not offloads_optimizer(build_strategy({**CPU, "strategy": "zero3"}))
    assert not offloads_optimizer("ddp")


def test_a_deepspeed_config_file_in_yaml_or_json(tmp_path):
    path = tmp_path / "ds.yaml"
    path.write_text("zero_optimization: {stage: 2, overlap_comm: false}\n")
    strategy = build_strategy({**CPU, "strategy": str(path)})
    assert isinstance(strategy, DeepSpeedStrategy)
    assert strategy.config["zero_optimization"] == {"stage": 2, "overlap_comm": False}


def test_other_names_pass_through_and_fsdp2_is_pure_data_parallel():
    assert build_strategy({**CPU, "strategy": "ddp"}) == "ddp"
    fsdp2 = build_strategy({**CPU, "strategy": "fsdp2"})
    assert isinstance(fsdp2, ModelParallelStrategy)
    assert (fsdp2._data_parallel_size, fsdp2._tensor_parallel_size) == (2, 1)


def test_bf16_preset_needs_bf16_precision():
    with pytest.raises(ConfigError, match="trainer.precision: bf16-mixed"):
        build_strategy({**CPU, "strategy": "zero3_bf16"})
    assert isinstance(build_strategy({**CPU, "strategy": "zero3_bf16", "precision": "bf16-mixed"}),
                      CPUDeepSpeedStrategy)


def test_processes_per_node():
    assert processes_per_node({**CPU, "strategy": "ddp"}) == 2
    assert processes_per_node({**CPU, "strategy": "zero2", "devices": "3"}) == 3
    assert processes_per_node({**CPU, "strategy": "ddp_spawn"}) == 1
    assert processes_per_node({"accelerator": "cpu"}) == 1
    assert processes_per_node({"accelerator": "cpu", "strategy": "ddp", "devices": "auto"}) == 1


def test_strategy_problems_name_the_key_and_the_choices(tmp_path):
    assert strategy_problem("zero3", "trainer.strategy") is None
    assert strategy_problem("deepspeed_stage_3", "trainer.strategy") is None
    unknown = strategy_problem("zero4", "trainer.strategy")
    assert "trainer.strategy" in unknown and "zero3_offload" in unknown and "fsdp2" in unknown
    assert "does not exist" in strategy_problem(str(tmp_path / "missing.json"), "x")


def _config(**trainers):
    task = {"name": "a", "method": {"class_path": "sft"},
            "data": {"train": {"path": "json", "data_files": "x.jsonl"}, "max_length": 16, "max_prompt_length": 8}}
    return {"model": {"class_path": "tiny"}, "trainer": trainers.get("top", {}),
            "sequence": [task | {"trainer": trainers.get("a", {})},
                         task | {"name": "b", "trainer": trainers.get("b", {})}]}


def test_validate_refuses_unknown_strategies_and_changing_process_counts():
    problems = validate_config(_config(top={"accelerator": "cpu", "strategy": "zero9"}), check_data=False)
    assert any(p.startswith("trainer.strategy: unknown strategy 'zero9'") for p in problems)
    problems = validate_config(_config(top={"accelerator": "cpu", "strategy": "ddp"}, a={"devices": 2},
                                       b={"devices": 1}), check_data=False)
    assert any("different numbers of processes" in p for p in problems)
    assert validate_config(_config(top={"accelerator": "cpu", "strategy": "zero2", "devices": 2}),
                           check_data=False) == []


def test_validate_refuses_weight_reading_losses_under_sharded_weights():
    config = _config(top={"accelerator": "cpu", "strategy": "zero3", "devices": 2})
    config["sequence"][1]["method"] = {"class_path": "dpo_ewc"}
    problems = validate_config(config, check_data=False)
    assert problems == ["sequence[1].method: dpo_ewc reads the weights in its loss, which zero3 shards across "
                        "ranks; use zero2 or ddp for this run"]
    config["trainer"]["strategy"] = "zero2"
    assert validate_config(config, check_data=False) == []
    assert shards_parameters("fsdp2") and shards_parameters("deepspeed_stage_3_offload")
    assert not shards_parameters("zero2") and not shards_parameters("ddp")
