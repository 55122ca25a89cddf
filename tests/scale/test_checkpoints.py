"""Checkpoints a multi-process run writes (sharded `torch.distributed.checkpoint`) load back
in one process, `lit-align export` turns any run's last checkpoint into a directory that
`from_pretrained` loads with the same logits, and gathered weights load into a rebuilt policy."""

from __future__ import annotations

import json

import pytest
import torch
import torch.distributed.checkpoint as dcp
from transformers import AutoModelForCausalLM

from lit_align.cli import main
from lit_align.config.load import save_config
from lit_align.continual import state as S
from lit_align.continual.memory import MemoryConfig, ReplayMemory
from lit_align.errors import UserError
from lit_align.export import export_run
from lit_align.scale.consolidate import load_full_state

CONFIG = {
    "model": {"class_path": "tiny", "init_args": {"arch": "gpt2", "n_layer": 1, "d_model": 32, "n_head": 2,
                                                  "vocab_size": 300}},
    "sequence": [{"name": "only", "method": {"class_path": "sft"},
                  "data": {"train": {"path": "json", "data_files": "unused.jsonl"}, "max_length": 16,
                           "max_prompt_length": 8}}],
}


def _policy():
    from lit_align.validation.config import parse_run_config

    return parse_run_config(CONFIG, check_data=False).model.instantiate().build()


def _perturbed(seed: int):
    policy = _policy()
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in policy.model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return policy


def _run_dir(tmp_path, policy, *, sharded: bool):
    run = tmp_path / "run"
    ckpt = run / "checkpoints" / "000-only"
    if sharded:  # the layout rank 0..N-1 write together; one process writes it the same way
        ckpt.mkdir(parents=True)
        dcp.save(S._plain_state(policy.model), checkpoint_id=str(ckpt / S.SHARDED_POLICY))
        from safetensors.torch import save_file

        save_file({}, str(ckpt / "method_state.safetensors"))
        (ckpt / "margins.json").write_text("{}")
    else:
        S.save_checkpoint(run, "checkpoints/000-only", model=policy.model, method_state={},
                          memory=ReplayMemory(MemoryConfig()),
                          margins={})
    save_config(CONFIG, run / "config.yaml")
    state = S.SequenceState(config_digest=S.config_digest(CONFIG), completed=["only"],
                            checkpoint="checkpoints/000-only")
    S.commit(run, state, None)
    return run


def _logits(model, ids):
    model.eval()
    with torch.no_grad():
        return model(input_ids=ids).logits


@pytest.mark.parametrize("sharded", [False, True])
def test_export_loads_with_identical_logits(tmp_path, sharded):
    trained = _perturbed(1)
    run = _run_dir(tmp_path, trained, sharded=sharded)
    assert (run / "checkpoints/000-only/policy").is_dir() == sharded
    assert main(["export", "--run", str(run), "--out", str(tmp_path / "hf")]) == 0
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "hf")
    ids = torch.randint(0, 300, (2, 12))
    assert torch.equal(_logits(loaded, ids), _logits(trained.model, ids))


def test_sharded_checkpoint_loads_into_a_fresh_policy(tmp_path):
    trained = _perturbed(2)
    run = _run_dir(tmp_path, trained, sharded=True)
    fresh = _policy()
    S.load_checkpoint(run / "checkpoints/000-only", fresh.model)
    for (name, a), b in zip(trained.model.state_dict().items(), fresh.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    # tied weights stay tied after loading
    assert fresh.model.lm_head.weight.data_ptr() == fresh.model.transformer.wte.weight.data_ptr()


def test_export_errors_name_the_fix(tmp_path):
    with pytest.raises(UserError, match="not a lit-align run directory"):
        export_run(tmp_path)
    run = _run_dir(tmp_path, _policy(), sharded=False)
    state = json.loads((run / "state.json").read_text()) | {"checkpoint": None}
    (run / "state.json").write_text(json.dumps(state))
    with pytest.raises(UserError, match="no task of this run has completed"):
        export_run(run)


def test_gathered_state_loads_with_tied_aliases_left_out():
    source = _perturbed(3)
    gathered = {n: p.detach().clone() for n, p in source.model.named_parameters()}  # one name per tensor
    assert "lm_head.weight" not in gathered
    target = _policy()
    load_full_state(target.model, gathered)
    assert torch.equal(target.model.lm_head.weight, source.model.lm_head.weight)
    gathered.pop("transformer.wpe.weight")
    with pytest.raises(RuntimeError, match="transformer.wpe.weight"):
        load_full_state(_policy().model, gathered)
