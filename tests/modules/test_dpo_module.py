"""DPO module: every trainable parameter moves, the reference never does (3 modes)."""

import copy

import pytest
import torch

from lit_align.models import LoraConfig, Policy, apply_lora
from lit_align.modules.dpo import DPOModule
from lit_align.modules.optim import OptimizerConfig
from lit_align.modules.reference import REF_COLUMNS, pair_logprobs
from tests.modules.helpers import datamodule_for, fit

OPT = OptimizerConfig(lr=1e-2)


def _snapshot(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _assert_all_trainable_changed(model, before):
    unchanged = [n for n, p in model.named_parameters() if p.requires_grad and torch.equal(p, before[n])]
    assert unchanged == []


def test_cached_reference_columns_equal_initial_model(tiny_policy, pref_rows):
    initial = copy.deepcopy(tiny_policy.model).eval()
    module = DPOModule(policy=tiny_policy, optimizer=OPT)
    before = _snapshot(module.model)
    _, dm = fit(module, pref_rows, steps=4)
    _assert_all_trainable_changed(module.model, before)
    batch = dm.collator([dm.train_set[i] for i in range(4)])
    with torch.no_grad():
        chosen, rejected = pair_logprobs(initial, batch, average=False)
    assert torch.allclose(batch[REF_COLUMNS[0]], chosen, atol=1e-5)
    assert torch.allclose(batch[REF_COLUMNS[1]], rejected, atol=1e-5)


def test_frozen_copy_reference_stays_frozen(tiny_policy, pref_rows):
    module = DPOModule(policy=tiny_policy, reference="frozen_copy", optimizer=OPT)
    ref_before = _snapshot(module.reference_model)
    before = _snapshot(module.model)
    fit(module, pref_rows, steps=3)
    _assert_all_trainable_changed(module.model, before)
    assert all(torch.equal(p, ref_before[n]) for n, p in module.reference_model.named_parameters())
    assert not any(p.requires_grad for p in module.reference_model.parameters())


def test_adapter_reference_is_the_untouched_base(tiny_policy, pref_rows):
    base = copy.deepcopy(tiny_policy.model).eval()
    lora = Policy(model=apply_lora(tiny_policy.model, LoraConfig(r=4, alpha=8)), tokenizer=tiny_policy.tokenizer)
    module = DPOModule(policy=lora, reference="adapter", optimizer=OPT)
    before = _snapshot(module.model)
    fit(module, pref_rows, steps=3)
    trainable = [n for n, p in module.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    _assert_all_trainable_changed(module.model, before)
    frozen = [n for n, p in module.model.named_parameters() if not p.requires_grad]
    assert all(torch.equal(module.model.get_parameter(n), before[n]) for n in frozen)
    dm = datamodule_for(module, pref_rows)
    batch = dm.collator([dm.train_set[i] for i in range(4)])
    with torch.no_grad():
        expected = pair_logprobs(base, batch, average=False)
    got = module.reference_logps(batch)
    assert torch.allclose(got[0], expected[0], atol=1e-5) and torch.allclose(got[1], expected[1], atol=1e-5)


@pytest.mark.parametrize("loss", ["sigmoid", "ipo", "hinge", "robust", "simpo"])
def test_every_variant_trains_and_learns_the_preference(loss, tiny_policy, pref_rows):
    module = DPOModule(policy=tiny_policy, loss=loss, beta=0.5 if loss != "simpo" else 2.0,
                       optimizer=OptimizerConfig(lr=5e-3), sft_weight=0.1)
    trainer, _ = fit(module, pref_rows * 2, steps=12)
    metrics = trainer.callback_metrics
    assert torch.isfinite(metrics["train/loss"])
    assert metrics["train/sft"] > 0
    assert metrics["train/accuracy"] > 0.5


def test_missing_cached_columns_is_a_clear_error(tiny_policy, pref_rows):
    from lit_align.errors import ConfigError

    module = DPOModule(policy=tiny_policy)
    dm = datamodule_for(module, pref_rows)
    with pytest.raises(ConfigError, match="cached reference log-probs are missing"):
        module.compute_loss(dm.collator([dm.train_set[0]]))


def test_nan_loss_names_step_term_and_rows(tiny_policy, pref_rows):
    from lit_align.errors import TrainingError

    module = DPOModule(policy=tiny_policy)
    dm = datamodule_for(module, pref_rows)
    module.cache_reference(dm)
    batch = dm.collator([dm.train_set[i] for i in range(2)])
    batch[REF_COLUMNS[0]] = torch.tensor([float("nan"), 0.0])
    out = module.compute_loss(batch)
    with pytest.raises(TrainingError, match=r"non-finite loss at step 0: term\(s\) preference .* rows \[0, 1\]"):
        module._check_finite(out, batch)


@pytest.mark.parametrize("shift, warned", [(0.0, False), (8.0, True)])
def test_likelihood_displacement_is_logged_and_warned(tiny_policy, pref_rows, caplog, shift, warned):
    """With the cached reference raised by `shift` nats, the policy's chosen and rejected
    log-likelihoods read `shift` lower than at the task start: beyond 5 nats, a warning."""
    import lightning as L

    from lit_align.modules.base import TaskContext

    module = DPOModule(policy=tiny_policy, optimizer=OptimizerConfig(lr=1e-12, warmup_steps=0))  # weights stay put
    module.task_name = "polite"  # as the runner sets it: the warning names the task
    dm = datamodule_for(module, pref_rows)
    module.on_task_start(TaskContext(name="t", index=0, datamodule=dm))
    dm.add_columns("train", {c: [v + shift for v in dm.train_set[c]] for c in REF_COLUMNS})
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    with caplog.at_level("WARNING", logger="lit_align.modules.dpo"):
        trainer.fit(module, datamodule=dm)
    assert trainer.callback_metrics["train/chosen_logratio"].item() == pytest.approx(-shift, abs=1e-3)
    assert trainer.callback_metrics["train/rejected_logratio"].item() == pytest.approx(-shift, abs=1e-3)
    assert ("task 'polite': likelihood displacement in epoch 0: chosen log-likelihood fell 8.0 nats"
            in caplog.text) is warned


@pytest.mark.parametrize("mode", ["adapter", "frozen_copy"])
def test_displacement_is_measured_with_an_uncached_reference(tiny_policy, pref_rows, mode):
    """With the adapter or a frozen copy as reference, the drift is measured too (it was only read from
    cached columns before). The first step's policy is the reference, so the drift starts at 0; after
    steps at a high learning rate it is the policy's log-likelihood minus the reference's, by hand."""
    policy = Policy(apply_lora(tiny_policy.model, LoraConfig(r=4, alpha=8)), tiny_policy.tokenizer) \
        if mode == "adapter" else tiny_policy
    module = DPOModule(policy=policy, reference=mode, optimizer=OptimizerConfig(lr=5e-2, warmup_steps=0))
    dm = datamodule_for(module, pref_rows)
    batch = dm.collator([dm.train_set[i] for i in range(4)])
    first = module.compute_loss(batch).metrics
    assert first["chosen_logratio"].item() == pytest.approx(0.0, abs=1e-4)
    fit(module, pref_rows, steps=6)
    out = module.compute_loss(batch).metrics
    with torch.no_grad():
        policy_chosen, policy_rejected = pair_logprobs(module.model, batch, average=False)
        ref_chosen, ref_rejected = module.reference_logps(batch)
    assert out["chosen_logratio"].item() == pytest.approx((policy_chosen - ref_chosen).mean().item(), abs=1e-3)
    assert out["rejected_logratio"].item() == pytest.approx((policy_rejected - ref_rejected).mean().item(), abs=1e-3)
    assert abs(out["rejected_logratio"].item()) > 1e-3  # the policy moved away from the reference


def test_margin_capped_replay_drops_only_replayed_pairs_past_the_cap(tiny_policy, pref_rows):
    """Reference log-probs set so the implicit-reward margins are 2.0 and 0.5 (replayed) and 3.0 (own).
    Cap 1.0: the first replayed pair stops contributing; the own pair never does. By hand, sigmoid DPO's
    per-pair loss is log(1 + e^-m): 0.126928 (m 2), 0.474077 (m 0.5), 0.048587 (m 3); the loss is the
    batch mean with the capped term 0: (0.474077 + 0.048587) / 3 = 0.174221, uncapped 0.216531."""
    from lit_align.modules.forward import response_logprobs

    dm = datamodule_for(DPOModule(policy=tiny_policy), pref_rows)
    batch = dm.collator([dm.train_set[i] for i in range(3)])
    batch["replay"] = torch.tensor([1.0, 1.0, 0.0])

    def loss_with(cap):
        module = DPOModule(policy=tiny_policy, beta=0.1, replay_margin_cap=cap)
        with torch.no_grad():
            seq = response_logprobs(module.model, batch, average=False)
        chosen, rejected = seq.logps.chunk(2)
        # margin m = beta * ((pc - rc) - (pr - rr)): rc = pc - 10 m, rr = pr
        batch[REF_COLUMNS[0]] = chosen - 10 * torch.tensor([2.0, 0.5, 3.0])
        batch[REF_COLUMNS[1]] = rejected.clone()
        with torch.no_grad():
            return module.compute_loss(batch)

    capped, uncapped = loss_with(1.0), loss_with(None)
    assert capped.terms["preference"].item() == pytest.approx(0.174221, abs=1e-5)
    assert uncapped.terms["preference"].item() == pytest.approx(0.216531, abs=1e-5)
    assert capped.metrics["replay_capped_share"].item() == pytest.approx(0.5)
    assert "replay_capped_share" not in uncapped.metrics


@pytest.mark.parametrize("weight", [0.0, 0.25, 1.0])
def test_mixture_reference_is_the_weighted_log_prob_mix_of_initial_and_task_start(tiny_policy, pref_rows, weight):
    """log pi_ref = w log pi_0 + (1 - w) log pi_{t-1}: the cached columns equal that mix of the two
    models' own log-probs, pair by pair (w = 0: the task start, w = 1: the initial model)."""
    from lit_align.modules.base import TaskContext

    initial = copy.deepcopy(tiny_policy.model)
    with torch.no_grad():  # the policy has moved away from pi_0 by the time this task starts
        for p in tiny_policy.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    module = DPOModule(policy=tiny_policy, reference_from="mixture", reference_mixture=weight)
    dm = datamodule_for(module, pref_rows)
    module.on_task_start(TaskContext(name="t", index=1, datamodule=dm, build_initial_model=lambda: initial))
    batch = dm.collator([dm.train_set[i] for i in range(4)])
    with torch.no_grad():
        now_c, now_r = pair_logprobs(tiny_policy.model, batch, average=False)
        ini_c, ini_r = pair_logprobs(initial, batch, average=False)
    assert torch.allclose(batch[REF_COLUMNS[0]], weight * ini_c + (1 - weight) * now_c, atol=1e-4)
    assert torch.allclose(batch[REF_COLUMNS[1]], weight * ini_r + (1 - weight) * now_r, atol=1e-4)
    assert not torch.allclose(ini_c, now_c, atol=1e-3)  # the two references differ: the mix is a real one


def test_mixture_reference_needs_a_cached_reference(tiny_policy):
    from lit_align.errors import ConfigError

    with pytest.raises(ConfigError, match="reference_from: mixture needs reference: cached"):
        DPOModule(policy=tiny_policy, reference_from="mixture", reference="frozen_copy")
    problems = DPOModule.config_problems({"reference_from": "mixture", "reference": "frozen_copy"}, "m.init_args")
    assert problems == ["m.init_args.reference_from: mixture needs reference: cached (the two references' log-probs "
                        "are mixed once per task; got reference: frozen_copy)"]
