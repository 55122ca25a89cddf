"""Per-example gradients from one batched pass equal autograd run row by row."""

from __future__ import annotations

import pytest
import torch

from lit_align.data.synthetic import sft_examples
from lit_align.errors import ConfigError
from lit_align.influence.gradients import autograd_row_gradients, batch_gradients, flatten
from lit_align.influence.layers import select_layers
from lit_align.models import LoraConfig
from tests.influence.conftest import rows_for, tiny_policy


@pytest.mark.parametrize("patterns", [["*.attn.c_proj", "*.mlp.c_fc"], ["transformer.h.0.*"]])
def test_conv1d_per_example_gradients_match_autograd(patterns):
    torch.manual_seed(0)
    policy = tiny_policy()
    rows = rows_for(policy, sft_examples("polite", 5, 0) + sft_examples("colors", 4, 0), batch_size=9)
    layers = select_layers(policy.model, patterns)
    batch = next(iter(rows.batches()()))
    hooked = flatten(batch_gradients(policy.model, layers, batch, "sft").grads, layers)
    naive = autograd_row_gradients(policy.model, layers, batch, "sft")
    assert hooked.shape == (9, sum(layer.numel for layer in layers))
    torch.testing.assert_close(hooked, naive, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(hooked[0], hooked[1])  # rows really differ


def test_preference_rows_use_the_chosen_minus_rejected_direction(pairs_rows):
    torch.manual_seed(0)
    policy = tiny_policy()
    rows = rows_for(policy, pairs_rows, kind="preference", batch_size=6)
    layers = select_layers(policy.model, ["*.mlp.*"])
    batch = next(iter(rows.batches()()))
    hooked = flatten(batch_gradients(policy.model, layers, batch, "preference").grads, layers)
    torch.testing.assert_close(hooked, autograd_row_gradients(policy.model, layers, batch, "preference"),
                               rtol=1e-4, atol=1e-5)
    chosen_only = {k: batch[k][:6] for k in ("input_ids", "attention_mask", "labels")}
    rejected_only = {k: batch[k][6:] for k in ("input_ids", "attention_mask", "labels")}
    direction = (autograd_row_gradients(policy.model, layers, chosen_only, "sft")
                 - autograd_row_gradients(policy.model, layers, rejected_only, "sft"))
    torch.testing.assert_close(hooked, direction, rtol=1e-4, atol=1e-5)


def test_lora_weights_are_tracked_and_match_autograd():
    torch.manual_seed(0)
    policy = tiny_policy(lora=LoraConfig(r=2, target_modules=["c_attn", "c_fc"]))
    for p in policy.model.parameters():  # LoRA B starts at zero: move it so A's gradient is not zero
        if p.requires_grad:
            p.data.normal_(0, 0.1)
    layers = select_layers(policy.model, "lora")
    assert layers and all(".lora_A." in layer.name or ".lora_B." in layer.name for layer in layers)
    rows = rows_for(policy, sft_examples("short", 6, 0), batch_size=6)
    batch = next(iter(rows.batches()()))
    frozen_before = [p.requires_grad for p in policy.model.parameters()]
    hooked = flatten(batch_gradients(policy.model, layers, batch, "sft").grads, layers)
    torch.testing.assert_close(hooked, autograd_row_gradients(policy.model, layers, batch, "sft"),
                               rtol=1e-4, atol=1e-5)
    assert [p.requires_grad for p in policy.model.parameters()] == frozen_before  # restored


def test_layer_selection_errors_name_the_fix():
    policy = tiny_policy()
    with pytest.raises(ConfigError, match="no LoRA adapter"):
        select_layers(policy.model, "lora")
    with pytest.raises(ConfigError, match=r"no linear layer matches \['\*\.nothing'\].*linear layers include"):
        select_layers(policy.model, ["*.nothing"])


def test_a_tied_head_and_a_reused_layer_are_refused_not_half_counted():
    from lit_align.influence.layers import capture

    policy = tiny_policy()  # GPT-2 ties lm_head.weight to the token embeddings
    assert policy.model.lm_head.weight is policy.model.transformer.wte.weight
    with pytest.raises(ConfigError, match=r"lm_head\.weight is tied to transformer\.wte\.weight .* leave it out"):
        select_layers(policy.model, ["lm_head"])
    assert [layer.name for layer in select_layers(policy.model, ["*.mlp.c_fc"])]  # untied layers still fine

    class Twice(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(3, 3)

        def forward(self, x):
            return self.layer(self.layer(x))

    model = Twice()
    layers = select_layers(model, ["layer"])
    with pytest.raises(ConfigError, match="layer is called more than once per forward"), capture(layers):
        model(torch.ones(1, 2, 3, requires_grad=True)).sum().backward()
