"""Two CPU processes through the real CLI: DDP, DeepSpeed ZeRO-2 and ZeRO-3 (CPU strategy
over gloo) and FSDP2 train a 2-task sequence to the same weights and scores as one process
with the same global batch; a ZeRO-3 run killed after its first task resumes from its
sharded checkpoint to the uninterrupted result; the exported model matches the checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.distributed.checkpoint as dcp
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from tests.conftest import REPO

pytestmark = pytest.mark.integration
DATA = REPO / "benchmarks" / "data" / "quickstart"
STRATEGIES = ["ddp", "zero2", "zero3", "fsdp2"]
WEIGHT_TOLERANCE = 1e-4  # fp32 sums in a different order (8+8 rows vs 16) over 2 x 4 Adam steps


def _write_config(root):
    for domain in ("polite", "colors"):
        for split, rows in (("train", 64), ("eval", 32)):
            lines = (DATA / f"{domain}_{split}.jsonl").read_text().splitlines()[:rows]
            (root / f"{domain}_{split}.jsonl").write_text("\n".join(lines) + "\n")
    tasks = "\n".join(f"""  - name: {d}
    method: {{class_path: dpo, init_args: {{beta: 0.1, optimizer: {{lr: 1.0e-3, warmup_steps: 1}}}}}}
    data:
      train: {{path: json, data_files: "{root}/{d}_train.jsonl"}}
      eval: {{path: json, data_files: "{root}/{d}_eval.jsonl"}}
      batch_size: ${{vars.batch}}
      max_length: 64
      max_prompt_length: 32
      shuffle: false""" for d in ("polite", "colors"))
    config = root / "two_tasks.yaml"
    config.write_text(f"""seed: 0
model: {{class_path: tiny, init_args: {{arch: gpt2, n_layer: 2, d_model: 64, n_head: 4, vocab_size: 512}}}}
trainer: {{max_epochs: 1, accelerator: cpu, enable_progress_bar: false}}
tracking: {{backend: none}}
vars: {{batch: 16}}
memory: {{per_task: 0.25, replay_ratio: 0.2}}
evaluation: {{batch_size: 32}}
sequence:
{tasks}
""")
    return config


def _fit(config, out, *extra, kill_after=None):
    entry = ["-m", "lit_align.cli"] if kill_after is None else ["-m", "tests.kill_after_task", str(kill_after)]
    command = [sys.executable, *entry, "fit", "--config", str(config), f"output_dir={out}", *extra]
    return subprocess.run(command, cwd=REPO, env=os.environ, capture_output=True, text=True, timeout=600)


def _two_processes(strategy):
    return ["trainer.devices=2", f"trainer.strategy={strategy}", "vars.batch=8"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("multiprocess")
    config = _write_config(root)
    done = {"single": _fit(config, root / "single")}
    for strategy in STRATEGIES:
        done[strategy] = _fit(config, root / strategy, *_two_processes(strategy))
    done["killed"] = _fit(config, root / "resumed", *_two_processes("zero3"), kill_after=0)
    done["resumed"] = _fit(config, root / "resumed", *_two_processes("zero3"))
    return root, done


def _checkpoint_weights(run):
    ckpt = run / json.loads((run / "state.json").read_text())["checkpoint"]
    if (ckpt / "policy.safetensors").is_file():  # one name per tied tensor: add the embedding's name back
        state = load_file(str(ckpt / "policy.safetensors"))
        state.setdefault("transformer.wte.weight", state["lm_head.weight"])
        return state
    reader = dcp.FileSystemReader(str(ckpt / "policy"))
    meta = reader.read_metadata().state_dict_metadata
    state = {name: torch.empty(m.size, dtype=m.properties.dtype) for name, m in meta.items()}
    dcp.load(state, storage_reader=reader)
    return state


def _margins(run):
    return json.loads((run / "per_example.json").read_text())["after"]


def test_every_run_succeeds(runs):
    _, done = runs
    for name, result in done.items():
        expected = 137 if name == "killed" else 0
        assert result.returncode == expected, f"{name}:\n{result.stderr[-3000:]}"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_two_processes_match_one_process_with_the_same_global_batch(runs, strategy):
    root, _ = runs
    single, sharded = _checkpoint_weights(root / "single"), _checkpoint_weights(root / strategy)
    for name, tensor in sharded.items():
        assert torch.allclose(tensor, single[name], atol=WEIGHT_TOLERANCE, rtol=0), name
    for after_single, after_sharded in zip(_margins(root / "single"), _margins(root / strategy), strict=True):
        for split, values in after_single.items():
            assert torch.allclose(torch.tensor(after_sharded[split]), torch.tensor(values), atol=1e-3), split
    results = json.loads((root / strategy / "results.json").read_text())
    assert results["matrix"] == json.loads((root / "single" / "results.json").read_text())["matrix"]


def test_each_rank_writes_its_share_of_the_sharded_checkpoint(runs):
    root, _ = runs
    ckpt = root / "zero3" / json.loads((root / "zero3" / "state.json").read_text())["checkpoint"]
    assert sorted(p.name for p in (ckpt / "policy").glob("*.distcp")) == ["__0_0.distcp", "__1_0.distcp"]
    assert not (ckpt / "policy.safetensors").exists()


def test_a_killed_zero3_sequence_resumes_to_the_uninterrupted_result(runs):
    root, done = runs
    assert "resuming after task 1/2 (polite)" in done["resumed"].stdout
    resumed, uninterrupted = _checkpoint_weights(root / "resumed"), _checkpoint_weights(root / "zero3")
    for name, tensor in resumed.items():
        assert torch.equal(tensor, uninterrupted[name]), name
    assert _margins(root / "resumed") == _margins(root / "zero3")


def test_the_exported_model_has_the_checkpoint_logits(runs):
    root, _ = runs
    exported = AutoModelForCausalLM.from_pretrained(root / "zero3" / "tasks" / "colors" / "model").eval()
    reference = AutoModelForCausalLM.from_pretrained(root / "zero3" / "tasks" / "colors" / "model").eval()
    reference.load_state_dict(_checkpoint_weights(root / "zero3"), strict=False)
    ids = torch.randint(0, 512, (2, 16))
    with torch.no_grad():
        assert torch.equal(exported(input_ids=ids).logits, reference(input_ids=ids).logits)
