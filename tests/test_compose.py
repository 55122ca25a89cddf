"""`lit-align compose`: W_0 + sum_i w_i (W_i - W_0), from merged models and from LoRA adapter directories."""

import copy

import pytest
import torch

from lit_align.cli import main
from lit_align.compose import compose_updates
from lit_align.errors import UserError


def save(policy, model, path):
    model.save_pretrained(path)
    policy.tokenizer.save_pretrained(path)
    return str(path)


def perturbed(model, seed):
    out = copy.deepcopy(model)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in out.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=g))
    return out


def test_compose_adds_weighted_deltas_of_full_models(tmp_path, tiny_policy):
    from transformers import AutoModelForCausalLM

    base = tiny_policy.model
    one, two = perturbed(base, 1), perturbed(base, 2)
    dirs = [save(tiny_policy, m, tmp_path / n) for m, n in ((base, "base"), (one, "one"), (two, "two"))]
    assert main(["compose", "--base", dirs[0], "--updates", dirs[1], dirs[2], "--weights", "1", "0.5",
                 "--out", str(tmp_path / "out")]) == 0
    composed = AutoModelForCausalLM.from_pretrained(tmp_path / "out").state_dict()
    b, s1, s2 = base.state_dict(), one.state_dict(), two.state_dict()
    for k, v in composed.items():
        if v.is_floating_point():
            torch.testing.assert_close(v, b[k] + (s1[k] - b[k]) + 0.5 * (s2[k] - b[k]), rtol=0, atol=1e-6)


def test_compose_of_lora_adapters_equals_the_sum_of_their_low_rank_deltas(tmp_path, tiny_policy):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base_dir = save(tiny_policy, tiny_policy.model, tmp_path / "base")
    adapters, merged = [], []
    for seed in (1, 2):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_pretrained(base_dir)
        peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "c_fc"],
                                                      init_lora_weights=False))
        peft_model.save_pretrained(tmp_path / f"adapter{seed}")
        adapters.append(str(tmp_path / f"adapter{seed}"))
        merged.append(copy.deepcopy(peft_model).merge_and_unload().state_dict())
    compose_updates(base_dir, adapters, str(tmp_path / "out"))
    composed = AutoModelForCausalLM.from_pretrained(tmp_path / "out").state_dict()
    b = tiny_policy.model.state_dict()
    changed = 0
    for k, v in composed.items():
        if v.is_floating_point():
            expected = b[k] + (merged[0][k] - b[k]) + (merged[1][k] - b[k])
            torch.testing.assert_close(v, expected, rtol=0, atol=1e-6)
            changed += not torch.equal(v, b[k])
    assert changed >= 2  # the one block's c_attn and c_fc moved


def test_compose_refuses_bad_input(tmp_path, tiny_policy):
    base_dir = save(tiny_policy, tiny_policy.model, tmp_path / "base")
    with pytest.raises(UserError, match="2 weights for 1 updates"):
        compose_updates(base_dir, [base_dir], str(tmp_path / "out"), [1.0, 2.0])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="neither a model"):
        compose_updates(base_dir, [str(tmp_path / "empty")], str(tmp_path / "out"))
    with pytest.raises(UserError, match="not a directory"):
        compose_updates(base_dir, [str(tmp_path / "missing")], str(tmp_path / "out"))
