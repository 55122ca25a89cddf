import torch

from lit_align.config.continual import MemoryConfig
from lit_align.continual.memory import ReplayMemory
from lit_align.modules.base import TaskContext
from lit_align.modules.continual.ewc import ANCHOR, FISHER, EWCDPOModule
from lit_align.modules.optim import OptimizerConfig
from tests.modules.helpers import fit


def test_fisher_is_normalised_anchors_saved_and_penalty_pulls_back(tiny_policy, pref_rows):
    module = EWCDPOModule(policy=tiny_policy, ewc_lambda=10.0, fisher_batches=2, optimizer=OptimizerConfig(lr=1e-2))
    _, dm = fit(module, pref_rows, steps=3)
    ctx = TaskContext(name="t", index=0, datamodule=dm, memory=ReplayMemory(MemoryConfig()))
    state = module.on_task_end(ctx)
    fisher = {k: v for k, v in state.items() if k.startswith(FISHER)}
    total = sum(float(v.sum()) for v in fisher.values())
    count = sum(v.numel() for v in fisher.values())
    assert abs(total / count - 1.0) < 1e-4
    for name, p in module.model.named_parameters():
        assert torch.equal(state[ANCHOR + name], p.detach())

    nxt = EWCDPOModule(policy=module.policy, ewc_lambda=10.0)
    nxt.on_task_start(TaskContext(name="u", index=1, datamodule=dm, method_state=state))
    batch = dm.collator([dm.train_set[i] for i in range(2)])
    assert nxt.regularization(batch)["ewc"].item() == 0.0  # at the anchor
    with torch.no_grad():
        for p in nxt.model.parameters():
            p.add_(0.01)
    penalty = nxt.regularization(batch)["ewc"]
    assert penalty.item() > 0
    penalty.backward()
    grads = [p.grad for p in nxt.model.parameters() if p.grad is not None]
    assert grads and all((g >= 0).all() for g in grads)  # the gradient points back to the anchor


def test_nll_fisher_option(tiny_policy, pref_rows):
    module = EWCDPOModule(policy=tiny_policy, fisher_loss="nll", fisher_batches=1)
    _, dm = fit(module, pref_rows, steps=1)
    state = module.on_task_end(TaskContext(name="t", index=0, datamodule=dm))
    assert sum(float(v.sum()) for k, v in state.items() if k.startswith(FISHER)) > 0
