"""Model specs (tiny, HF from a local directory, LoRA) and export round trips."""

import pytest
import torch

from lit_align.errors import ConfigError
from lit_align.hf_export import export_policy
from lit_align.models import HFModelSpec, LoraConfig, Policy, TinyModelSpec, apply_lora


def _logits(model, tokenizer, text="Tell me about the cat."):
    ids = tokenizer(text, return_tensors="pt").input_ids
    with torch.no_grad():
        return model.eval()(ids).logits


def test_tiny_spec_is_seeded_and_llama_works():
    a = TinyModelSpec(n_layer=1, d_model=32, n_head=2, seed=3).build()
    b = TinyModelSpec(n_layer=1, d_model=32, n_head=2, seed=3).build()
    assert a.model.training  # stages train the policy
    assert torch.equal(_logits(a.model, a.tokenizer), _logits(b.model, b.tokenizer))
    llama = TinyModelSpec(arch="llama", n_layer=1, d_model=32, n_head=2).build()
    assert llama.model.config.model_type == "llama"


def test_hf_spec_loads_an_exported_directory_with_identical_logits(tiny_policy, tmp_path):
    export_policy(tiny_policy, tmp_path / "m")
    loaded = HFModelSpec(name_or_path=str(tmp_path / "m")).build()
    assert loaded.model.training
    assert torch.equal(_logits(loaded.model, loaded.tokenizer), _logits(tiny_policy.model, tiny_policy.tokenizer))
    assert loaded.tokenizer.chat_template == tiny_policy.tokenizer.chat_template


def test_lora_export_merges_into_a_plain_model(tiny_policy, tmp_path):
    peft_model = apply_lora(tiny_policy.model, LoraConfig(r=2, alpha=4))
    with torch.no_grad():  # make the adapter non-zero so merging matters
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.add_(0.05)
    policy = Policy(model=peft_model, tokenizer=tiny_policy.tokenizer)
    export_policy(policy, tmp_path / "merged", merge_lora=True)
    merged = HFModelSpec(name_or_path=str(tmp_path / "merged")).build()
    assert not merged.is_peft
    assert torch.allclose(_logits(merged.model, merged.tokenizer), _logits(peft_model, policy.tokenizer), atol=1e-5)
    assert policy.is_peft  # exporting must not merge the live policy


def test_a_saved_adapter_goes_back_on_its_base_trainable(tmp_path):
    spec = {"n_layer": 1, "d_model": 32, "n_head": 2, "seed": 3}
    trained = TinyModelSpec(**spec, lora=LoraConfig(r=2, alpha=4)).build()
    with torch.no_grad():
        for name, p in trained.model.named_parameters():
            if "lora_B" in name:
                p.add_(0.05)
    export_policy(trained, tmp_path / "model", merge_lora=True)
    again = TinyModelSpec(**spec, adapter=str(tmp_path / "model" / "adapter")).build()
    assert again.is_peft and again.model.training
    assert {n for n, p in again.model.named_parameters() if p.requires_grad} == {
        n for n, p in trained.model.named_parameters() if p.requires_grad}
    torch.testing.assert_close(_logits(again.model, again.tokenizer), _logits(trained.model, trained.tokenizer))


def test_adapter_problems_name_the_key(tmp_path):
    spec = {"n_layer": 1, "d_model": 32, "n_head": 2}
    assert TinyModelSpec(**spec, adapter=str(tmp_path)).problems() == [
        f"model.init_args.adapter: {tmp_path} holds no adapter_config.json; give the directory peft saved "
        "(a LoRA fit's export writes it to <model dir>/adapter)"]
    both = TinyModelSpec(**spec, adapter=str(tmp_path), lora=LoraConfig())
    assert both.problems() == ["model.init_args: set lora (a new adapter) or adapter (a saved one), not both"]
    with pytest.raises(ConfigError, match="not both"):
        both.build()


def test_hf_spec_errors_name_the_path(tmp_path):
    with pytest.raises(ConfigError, match="model.init_args.name_or_path: the directory .*nothing-here does not exist"):
        HFModelSpec(name_or_path=str(tmp_path / "nothing-here")).build()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="is not a model directory \\(no config.json\\)"):
        HFModelSpec(name_or_path=str(tmp_path / "empty")).build()
    assert HFModelSpec(name_or_path="x").trust_remote_code is False
