"""COPRModule: frozen targets, fitting, constraints and multipliers, carried state."""

import copy

import lightning as L
import pytest
import torch

from lit_align.config.continual import MemoryConfig
from lit_align.continual.memory import ReplayMemory
from lit_align.data.synthetic import ranked_samples
from lit_align.losses.copr import policy_fit_loss
from lit_align.modules.base import TaskContext
from lit_align.modules.continual.copr import LOG_LAMBDA, TARGET_COLUMN, THRESHOLD, COPRModule
from lit_align.modules.optim import OptimizerConfig
from tests.modules.helpers import datamodule_for, fit

RANKED = [{k: r[k] for k in ("prompt", "responses", "scores")} for r in ranked_samples("short", 16, seed=0)]


def _trainer(steps):
    return L.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)


def _memory_with(task_name, dm):
    """A memory holding every row of a finished task, with its cached targets."""
    memory = ReplayMemory(MemoryConfig(per_task=1.0))
    own = dm.own_train_set
    memory.add(task_name, [dict(own[i]) | {"task": task_name} for i in range(len(own))])
    return memory


@pytest.mark.parametrize("rows", ["pairs", "ranked"])
def test_targets_come_from_the_frozen_start_policy_and_training_fits_them(tiny_policy, pref_rows, rows):
    data = pref_rows if rows == "pairs" else RANKED
    module = COPRModule(policy=tiny_policy, sft_weight=0.0, optimizer=OptimizerConfig(lr=1e-2, warmup_steps=0))
    start = copy.deepcopy(module.model)
    dm = datamodule_for(module, data)
    module.on_task_start(TaskContext(name="t", index=0, datamodule=dm))
    cached = list(dm.train_set[TARGET_COLUMN])
    assert cached == module.compute_targets(start, dm.train_set, dm.collator, 8)  # P* from pi_prev

    def fit_error():
        batch = dm.collator([dm.train_set[i] for i in range(len(dm.train_set))])
        with torch.no_grad():
            cand = module.candidate_logps(module.model, batch)
            return policy_fit_loss(cand.logps, batch[TARGET_COLUMN], cand.mask).mean().item()

    before = fit_error()
    _trainer(12).fit(module, datamodule=dm)
    assert dm.train_set[TARGET_COLUMN] == cached  # targets never follow the policy
    assert fit_error() < 0.5 * before
    moved = [not torch.equal(a, b) for a, b in zip(start.parameters(), module.model.parameters(), strict=True)]
    assert all(moved)
    assert all(torch.equal(a, b) for a, b in zip(start.parameters(), copy.deepcopy(start).parameters(),
                                                 strict=True))


def _second_task(policy, pref_rows, **args):
    first = COPRModule(policy=policy)
    _, dm_first = fit(first, pref_rows, steps=2)
    memory = _memory_with("old", dm_first)
    module = COPRModule(policy=policy, memory_batch_size=4, optimizer=OptimizerConfig(lr=1e-2, warmup_steps=0),
                        **args)
    dm = datamodule_for(module, RANKED)
    return module, dm, memory


def test_thresholds_are_the_memory_fit_error_at_the_task_start(tiny_policy, pref_rows):
    module, dm, memory = _second_task(tiny_policy, pref_rows)
    module.on_task_start(TaskContext(name="new", index=1, datamodule=dm, memory=memory))
    assert module.memory_tasks == ["old"]
    rows = memory.rows("old")
    with torch.no_grad():
        direct = module._memory_fit([rows], dm.collator)
    assert module.thresholds.tolist() == pytest.approx(direct.tolist(), rel=1e-5)
    assert module.log_multipliers.tolist() == [0.0]  # lambda = multiplier_init = 1


@pytest.mark.parametrize("offset, direction", [(-10.0, 1), (10.0, -1)])
def test_multipliers_rise_on_violated_constraints_and_fall_on_satisfied(tiny_policy, pref_rows, offset, direction):
    module, dm, memory = _second_task(tiny_policy, pref_rows, multiplier_lr=0.05)
    module.on_task_start(TaskContext(name="new", index=1, datamodule=dm, memory=memory))
    module.thresholds = module.thresholds + offset  # d_i far below (violated) or above (satisfied) the error
    trainer = _trainer(4)
    trainer.fit(module, datamodule=dm)
    assert direction * module.log_multipliers.item() > 0
    logged = trainer.callback_metrics["train/lambda_old"].item()  # the lambda the last step used
    assert direction * (module.log_multipliers.item() - torch.tensor(logged).log().item()) > 0
    assert direction * torch.tensor(logged).log().item() > 0
    assert direction * trainer.callback_metrics["train/constraint_old"].item() > 0


def test_multiplier_and_threshold_state_is_carried_to_the_next_task(tiny_policy, pref_rows):
    module, dm, memory = _second_task(tiny_policy, pref_rows)
    ctx = TaskContext(name="new", index=1, datamodule=dm, memory=memory)
    module.on_task_start(ctx)
    module.log_multipliers = torch.tensor([1.25])
    state = module.on_task_end(ctx)
    assert state[LOG_LAMBDA + "old"].item() == 1.25
    assert state[THRESHOLD + "old"].item() == pytest.approx(module.thresholds.item())
    following = COPRModule(policy=module.policy)
    following.on_task_start(TaskContext(name="next", index=2, datamodule=datamodule_for(following, RANKED),
                                        memory=memory, method_state=state))
    assert following.log_multipliers.tolist() == [1.25]


def test_fixed_regularization_adds_the_weighted_memory_fit(tiny_policy, pref_rows):
    module, dm, memory = _second_task(tiny_policy, pref_rows, regularization="fixed", regularization_weight=2.0)
    module.on_task_start(TaskContext(name="new", index=1, datamodule=dm, memory=memory))
    module.train()
    torch.manual_seed(0)
    batch = dm.collator([dm.train_set[i] for i in range(4)])
    out = module.compute_loss(batch)
    assert out.loss.item() == pytest.approx(sum(t.item() for t in out.terms.values()), rel=1e-5)
    assert out.terms["regularization"].item() == pytest.approx(2.0 * out.metrics["memory_fit_old"].item(), rel=1e-5)


def test_missing_targets_say_how_to_cache_them(tiny_policy, pref_rows):
    module = COPRModule(policy=tiny_policy)
    dm = datamodule_for(module, pref_rows)
    with pytest.raises(Exception, match="cache_targets"):
        module.compute_loss(dm.collator([dm.train_set[0]]))


def test_constraints_are_measured_like_their_thresholds_even_with_dropout(tiny_policy, pref_rows):
    for layer in tiny_policy.model.modules():  # heavy dropout everywhere, as LoRA dropout adds on real models
        if isinstance(layer, torch.nn.Dropout):
            layer.p = 0.5
    module, dm, memory = _second_task(tiny_policy, pref_rows)
    one = memory.rows("old")[:1]  # one memory row: every sampled memory batch is that row
    memory = ReplayMemory(MemoryConfig(per_task=1.0))
    memory.add("old", one)
    module.on_task_start(TaskContext(name="new", index=1, datamodule=dm, memory=memory))
    module.train()
    batch = next(iter(dm.train_dataloader()))
    out = module.compute_loss(batch)
    # at the task's start the policy is the one the threshold was measured on: no violation
    assert out.metrics["constraint_old"].item() == pytest.approx(0.0, abs=1e-5)
    assert module.model.training  # dropout is back on for the task's own objective
    out.loss.backward()
    assert any(p.grad is not None for p in module.model.parameters())  # gradients flow through the constraint
