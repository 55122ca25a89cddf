"""Our log-probs + losses agree with TRL's implementation on the same inputs (targets.md F6).

DPO: TRL's `DPOTrainer` builds and tokenises the batch and computes its loss on
a tiny model; we compute ours from the same batch and weights. Bradley-Terry:
TRL's `RewardTrainer.compute_loss` runs on fixed reward tensors. TRL is a dev
dependency only.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from types import SimpleNamespace

import pytest
import torch

trl = pytest.importorskip("trl")

from lit_align.losses.dpo import PREFERENCE_LOSSES  # noqa: E402
from lit_align.losses.logprobs import sequence_logprobs  # noqa: E402
from lit_align.losses.reward import bradley_terry_loss  # noqa: E402


@pytest.fixture(scope="module")
def trl_setup(tmp_path_factory, _tiny_policy_template):
    from datasets import Dataset

    from lit_align.data.synthetic import preference_pairs

    policy = copy.deepcopy(_tiny_policy_template.model)
    reference = copy.deepcopy(policy)
    torch.manual_seed(0)
    with torch.no_grad():  # policy != reference, so log-ratios are not zero
        for p in policy.parameters():
            p.add_(0.02 * torch.randn_like(p))
    rows = [{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in preference_pairs("short", 8, 0)]
    return policy, reference, Dataset.from_list(rows), _tiny_policy_template.tokenizer, tmp_path_factory.mktemp("trl")


@pytest.mark.parametrize("loss_type,beta,smoothing", [
    ("sigmoid", 0.1, 0.0), ("ipo", 0.5, 0.0), ("hinge", 0.3, 0.0), ("robust", 0.1, 0.2),
])
def test_dpo_variants_match_trl(loss_type, beta, smoothing, trl_setup):
    from trl import DPOConfig, DPOTrainer

    policy, reference, dataset, tokenizer, out = trl_setup
    args = DPOConfig(output_dir=str(out), per_device_train_batch_size=8, report_to=[], use_cpu=True,
                     loss_type=[loss_type], beta=beta, label_smoothing=smoothing, max_length=64,
                     bf16=False)  # TRL wraps the reference forward in bf16 autocast otherwise
    trainer = DPOTrainer(model=copy.deepcopy(policy), ref_model=copy.deepcopy(reference), args=args,
                         train_dataset=dataset, processing_class=tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    trainer.model.train()
    with torch.no_grad():
        trl_loss = trainer._compute_loss(trainer.model, dict(batch), False)

    variant = PREFERENCE_LOSSES[loss_type]
    labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)
    with torch.no_grad():
        logps = [
            sequence_logprobs(m(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits,
                              labels, average=variant.length_normalized).logps.chunk(2)
            for m in (policy, reference)
        ]
    kwargs = {"label_smoothing": smoothing} if loss_type == "robust" else {}
    ours = variant.fn(*logps[0], *logps[1], beta=beta, **kwargs).losses.mean()
    assert torch.allclose(ours, trl_loss, atol=1e-5), (ours.item(), trl_loss.item())


@pytest.mark.parametrize("with_margin", [False, True])
def test_bradley_terry_matches_trl_reward_trainer(with_margin):
    from trl import RewardTrainer

    torch.manual_seed(0)
    chosen, rejected, margin = torch.randn(6), torch.randn(6), torch.rand(6)
    metrics = defaultdict(lambda: defaultdict(list))
    stub = SimpleNamespace(
        model=SimpleNamespace(training=False),
        args=SimpleNamespace(center_rewards_coefficient=None),
        accelerator=SimpleNamespace(gather=lambda x: x, gather_for_metrics=lambda x: x),
        _metrics=metrics,
        _total_train_tokens=0,
    )
    inputs = {"margin": margin} if with_margin else {}
    model = lambda **_: SimpleNamespace(logits=torch.cat([chosen, rejected]).unsqueeze(-1))  # noqa: E731
    trl_loss = RewardTrainer.compute_loss(stub, model, inputs)
    ours = bradley_terry_loss(chosen, rejected, margin if with_margin else None)
    assert torch.allclose(ours.loss, trl_loss, atol=1e-6)
    assert ours.accuracy.item() == pytest.approx(metrics["eval"]["accuracy"][0])
