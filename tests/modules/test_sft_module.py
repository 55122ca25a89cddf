import copy

import torch

from lit_align.models import Policy
from lit_align.modules.optim import OptimizerConfig, lr_factor
from lit_align.modules.sft import SFTModule
from tests.modules.helpers import fit


def test_sft_lowers_nll_and_moves_every_parameter(tiny_policy, sft_rows):
    module = SFTModule(policy=tiny_policy, optimizer=OptimizerConfig(lr=1e-2))
    before = {n: p.detach().clone() for n, p in module.model.named_parameters()}
    rows = [{"prompt": r["prompt"], "completion": r["completion"]} for r in sft_rows[:8]]
    initial = SFTModule(policy=Policy(model=copy.deepcopy(tiny_policy.model), tokenizer=tiny_policy.tokenizer))
    trainer, dm = fit(module, sft_rows, steps=15, eval_rows=rows)
    assert all(not torch.equal(p, before[n]) for n, p in module.model.named_parameters())
    batch = dm.collator([dm.eval_set[i] for i in range(8)])
    with torch.no_grad():
        start, end = initial.compute_loss(batch).loss.item(), module.compute_loss(batch).loss.item()
    assert end < 0.7 * start  # ln(400) ~ 6.0 at init
    assert "val/perplexity" in trainer.callback_metrics


def test_lr_schedule_warmup_then_cosine_to_floor():
    cfg = OptimizerConfig(lr=1.0, warmup_steps=4, scheduler="cosine", min_lr_ratio=0.1)
    assert lr_factor(0, 14, cfg) == 0.2  # (0 + 1) / (4 + 1)
    assert lr_factor(4, 14, cfg) == 1.0  # cosine starts at the top
    assert abs(lr_factor(9, 14, cfg) - 0.55) < 1e-9  # half way: 0.1 + 0.9 * 0.5
    assert abs(lr_factor(14, 14, cfg) - 0.1) < 1e-9
    assert lr_factor(9, 14, OptimizerConfig(scheduler="linear", warmup_steps=4)) == 0.5
    assert lr_factor(100, 14, OptimizerConfig(scheduler="constant")) == 1.0
