"""A LoRA policy's checkpoint holds the adapter alone (the base is rebuilt from the model
spec), loads back bit-identically into a fresh LoRA policy, and is refused by a model without
LoRA; its export writes the merged model and the adapter beside it."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from lit_align.continual import state as S
from lit_align.continual.memory import MemoryConfig, ReplayMemory
from lit_align.errors import UserError
from lit_align.hf_export import ADAPTER_SUBDIR, export_policy
from lit_align.models import LoraConfig, TinyModelSpec

SPEC = dict(arch="llama", n_layer=2, d_model=32, n_head=2, vocab_size=300, seed=0)


def _lora_policy(seed: int | None = None):
    policy = TinyModelSpec(**SPEC, lora=LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).build()
    if seed is not None:  # move the adapter away from its init (B starts at zero)
        torch.manual_seed(seed)
        with torch.no_grad():
            for p in policy.model.parameters():
                if p.requires_grad:
                    p.add_(0.05 * torch.randn_like(p))
    return policy


def _save(directory, policy):
    S.save_checkpoint(directory.parent, directory.name, model=policy.model, method_state={},
                      memory=ReplayMemory(MemoryConfig()), margins={})


def test_checkpoint_holds_only_the_adapter_and_restores_it(tmp_path):
    trained = _lora_policy(seed=1)
    _save(tmp_path / "ckpt", trained)
    stored = load_file(str(tmp_path / "ckpt" / S.POLICY_FILE))
    # 2 layers x (q, v) x (lora_A, lora_B)
    assert len(stored) == 8 and all(".lora_" in k for k in stored)
    fresh = _lora_policy()
    S.load_checkpoint(tmp_path / "ckpt", fresh.model)
    for (name, a), (_, b) in zip(trained.model.state_dict().items(), fresh.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_adapter_checkpoint_refused_by_a_model_without_lora(tmp_path):
    _save(tmp_path / "ckpt", _lora_policy(seed=1))
    plain = TinyModelSpec(**SPEC).build()
    with pytest.raises(UserError, match="does not match the configured model"):
        S.load_checkpoint(tmp_path / "ckpt", plain.model)


def test_adapter_checkpoint_refused_when_the_adapter_layout_changed(tmp_path):
    _save(tmp_path / "ckpt", _lora_policy(seed=1))
    wider = TinyModelSpec(**SPEC, lora=LoraConfig(r=4, target_modules=["q_proj", "v_proj", "o_proj"])).build()
    with pytest.raises(UserError, match="o_proj"):
        S.load_checkpoint(tmp_path / "ckpt", wider.model)


def test_export_writes_merged_model_and_adapter(tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    policy = _lora_policy(seed=2)
    out = export_policy(policy, tmp_path / "model")
    merged = AutoModelForCausalLM.from_pretrained(out)
    base = TinyModelSpec(**SPEC).build().model
    adapted = PeftModel.from_pretrained(base, out / ADAPTER_SUBDIR)
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    merged.eval(), adapted.eval(), policy.model.eval()
    with torch.no_grad():
        expected = policy.model(input_ids=ids).logits
        assert torch.allclose(merged(input_ids=ids).logits, expected, atol=1e-5)
        assert torch.allclose(adapted(input_ids=ids).logits, expected, atol=1e-6)
    adapter_bytes = (out / ADAPTER_SUBDIR / "adapter_model.safetensors").stat().st_size
    assert adapter_bytes < (out / "model.safetensors").stat().st_size


def test_trainable_summary_counts_lora_tensors():
    policy = _lora_policy()
    summary = policy.trainable()
    # per layer: q and v are 32 -> 32; r = 4: A is 4 x 32, B is 32 x 4, so 256 per module, 2 modules, 2 layers
    assert summary["trainable_parameters"] == 2 * 2 * 256
    assert summary["lora_target_modules"] == ["q_proj", "v_proj"]
    assert len(summary["tensors"]) == 8


def test_lora_target_matching_nothing_lists_the_layer_names():
    from lit_align.errors import ConfigError

    with pytest.raises(ConfigError, match="matches no layer of the model; its linear layers are named .*q_proj"):
        TinyModelSpec(**SPEC, lora=LoraConfig(target_modules=["query_key_value"])).build()
