"""MUSCLEModule: teachers frozen, student starts as the new model, wrong tokens pulled to the old one."""

import lightning as L
import pytest
import torch

from lit_align.binding import ComponentSpec
from lit_align.errors import ConfigError
from lit_align.modules.base import TaskContext
from lit_align.modules.continual.muscle import MUSCLEModule
from lit_align.modules.optim import OptimizerConfig
from tests.modules.helpers import datamodule_for

TINY = {"n_layer": 1, "d_model": 32, "n_head": 2, "vocab_size": 400}  # the conftest tiny policy's shape


def _old(seed=7, **extra):
    return ComponentSpec(class_path="tiny", init_args={**TINY, "seed": seed, **extra})


def test_at_the_start_only_wrong_tokens_contribute_and_training_leaves_teachers_alone(tiny_policy, sft_rows):
    module = MUSCLEModule(policy=tiny_policy, old_model=_old(), optimizer=OptimizerConfig(lr=1e-2, warmup_steps=0))
    dm = datamodule_for(module, sft_rows)
    module.on_task_start(TaskContext(name="compat", index=0, datamodule=dm))
    old_before = [p.detach().clone() for p in module.old_teacher.parameters()]
    new_before = [p.detach().clone() for p in module.new_teacher.parameters()]
    module.train()
    out = module.compute_loss(dm.collator([dm.train_set[i] for i in range(4)]))
    assert out.metrics["kl_new"].item() == pytest.approx(0.0, abs=1e-6)  # student == M_v2 at init
    assert out.metrics["kl_old"].item() > 0
    assert 0 < out.metrics["wrong_share"].item() <= 1
    # the loss is then exactly the wrong positions' KL to the old model
    trainer = L.Trainer(max_steps=6, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, datamodule=dm)
    assert all(torch.equal(a, b) for a, b in zip(old_before, module.old_teacher.parameters(), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(new_before, module.new_teacher.parameters(), strict=True))
    after = module.compute_loss(dm.collator([dm.train_set[i] for i in range(4)]))
    assert after.metrics["kl_old"].item() < out.metrics["kl_old"].item()  # pulled towards M_v1


def test_completion_only_and_ce_mix(tiny_policy, sft_rows):
    module = MUSCLEModule(policy=tiny_policy, old_model=_old(), train_on="completion", ce_weight=0.5)
    dm = datamodule_for(module, sft_rows)
    module.on_task_start(TaskContext(name="compat", index=0, datamodule=dm))
    out = module.compute_loss(dm.collator([dm.train_set[i] for i in range(2)]))
    assert set(out.terms) == {"compatibility", "cross_entropy"}
    assert out.loss.item() == pytest.approx(sum(t.item() for t in out.terms.values()), rel=1e-5)


def test_a_different_tokenizer_is_refused(tiny_policy, sft_rows):
    module = MUSCLEModule(policy=tiny_policy, old_model=_old(vocab_size=450))
    dm = datamodule_for(module, sft_rows)
    with pytest.raises(ConfigError, match="one vocabulary"):
        module.on_task_start(TaskContext(name="compat", index=0, datamodule=dm))


def test_without_teachers_the_error_says_how_to_set_them(tiny_policy, sft_rows):
    module = MUSCLEModule(policy=tiny_policy, old_model=_old())
    dm = datamodule_for(module, sft_rows)
    with pytest.raises(ConfigError, match="set_teachers"):
        module.compute_loss(dm.collator([dm.train_set[0]]))


def test_a_lora_policy_keeps_its_new_teacher_as_a_twin_adapter_on_the_same_base(sft_rows):
    import copy

    from lit_align.models import LoraConfig, TinyModelSpec
    from lit_align.modules.continual.muscle import NEW_TEACHER_ADAPTER

    policy = TinyModelSpec(**TINY, lora=LoraConfig(r=4, target_modules=["c_attn", "c_fc"])).build()
    reference = copy.deepcopy(policy.model).eval()  # the new model M_v2 as a separate copy would hold it
    module = MUSCLEModule(policy=policy, old_model=_old(), optimizer=OptimizerConfig(lr=5e-2, warmup_steps=0))
    dm = datamodule_for(module, sft_rows)
    base_params = sum(p.numel() for p in module.model.parameters())
    module.on_task_start(TaskContext(name="compat", index=0, datamodule=dm))
    assert module.new_teacher is None and module.new_teacher_adapter == NEW_TEACHER_ADAPTER
    added = sum(p.numel() for p in module.model.parameters()) - base_params
    adapter = sum(p.numel() for n, p in module.model.named_parameters() if ".lora_" in n and ".default." in n)
    assert added == adapter  # the twin costs one adapter, not a second base
    trainable = {n for n, p in module.model.named_parameters() if p.requires_grad}
    assert trainable and all(".default." in n for n in trainable)
    batch = dm.collator([dm.train_set[i] for i in range(4)])
    module.train()
    assert module.compute_loss(batch).metrics["kl_new"].item() == pytest.approx(0.0, abs=1e-6)
    L.Trainer(max_steps=6, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False).fit(module, datamodule=dm)
    assert {n for n, p in module.model.named_parameters() if p.requires_grad} == trainable  # flags restored
    assert module.compute_loss(batch).metrics["kl_new"].item() > 1e-4  # the student moved...
    from lit_align.modules.adapters import through_adapter

    with torch.no_grad(), through_adapter(module.model, NEW_TEACHER_ADAPTER):
        twin = module.model.eval()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        kept = reference(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert torch.allclose(twin, kept, atol=1e-5)  # ...the teacher did not
    module.on_task_end(TaskContext(name="compat", index=0, datamodule=dm))
    assert list(module.model.peft_config) == ["default"]  # checkpoints and exports hold the policy alone
