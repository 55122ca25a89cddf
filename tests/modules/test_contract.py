"""The method contract: one way to cache columns (train columns reach the task's own rows, which
the replay memory stores, even with replay rows mixed in), per-row loss terms reachable by a
subclass, and stand-ins for the datamodule and memory Protocols."""

from __future__ import annotations

import torch

from lit_align.losses.dpo import dpo_loss
from lit_align.modules.base import TaskContext
from lit_align.modules.contract import TaskData, TaskMemory
from lit_align.modules.dpo import DPOModule
from lit_align.modules.reference import REF_COLUMNS
from tests.modules.helpers import datamodule_for

PAIRS = [{"prompt": f"Tell me about item {i}.", "chosen": "A kind, full answer.", "rejected": "No."}
         for i in range(6)]


def test_cached_reference_reaches_own_rows_with_replay_mixed_in(tiny_policy):
    module = DPOModule(policy=tiny_policy)
    dm = datamodule_for(module, PAIRS)
    replayed = [dict(dm.own_train_set[i]) | {"task": "old"} for i in range(2)]
    dm.mix_in_replay(replayed)
    module.on_task_start(TaskContext(name="t", index=0, datamodule=dm))
    assert len(dm.train_set) == 8 and all(c in dm.train_set.column_names for c in REF_COLUMNS)
    own = dm.own_rows()
    assert len(own) == 6 and all(REF_COLUMNS[0] in r and REF_COLUMNS[1] in r for r in own)
    assert [r[REF_COLUMNS[0]] for r in own] == dm.train_set[REF_COLUMNS[0]][:6]


def test_eval_columns_through_the_same_call(tiny_policy):
    module = DPOModule(policy=tiny_policy)
    dm = datamodule_for(module, PAIRS, eval_rows=PAIRS[:3])
    dm.add_columns("eval", {"weight": [1.0, 2.0, 3.0]})
    assert dm.eval_set["weight"] == [1.0, 2.0, 3.0]


def test_pair_terms_are_the_per_row_losses(tiny_policy):
    from lit_align.modules.forward import response_logprobs

    module = DPOModule(policy=tiny_policy, reference="frozen_copy", beta=0.2)
    dm = datamodule_for(module, PAIRS)
    batch = next(iter(dm.train_dataloader()))
    seq = response_logprobs(module.model, batch)
    terms = module.pair_terms(batch, seq)
    policy_chosen, policy_rejected = seq.logps.chunk(2)
    ref_chosen, ref_rejected = module.reference_logps(batch)
    expected = dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.2).losses
    assert terms.loss.losses.shape == (len(batch["row"]),) and torch.allclose(terms.loss.losses, expected)
    assert torch.equal(terms.reference[0], ref_chosen) and torch.equal(terms.reference[1], ref_rejected)
    # a subclass reuses them: the reduced loss equals the mean of the per-row terms it read
    out = module.preference_loss(batch, seq, terms)
    assert torch.allclose(out.terms["preference"], terms.loss.losses.mean())


def test_datamodule_and_memory_satisfy_the_protocols(tiny_policy):
    from lit_align.config.continual import MemoryConfig
    from lit_align.continual.memory import ReplayMemory

    def uses_contract(data: TaskData, memory: TaskMemory) -> int:
        return len(data.own_rows()) + len(memory)

    dm = datamodule_for(DPOModule(policy=tiny_policy), PAIRS)
    assert uses_contract(dm, ReplayMemory(MemoryConfig())) == 6
    for name in ("add_columns", "own_rows", "replace_train_set", "collator", "eval_collator"):
        assert hasattr(dm, name)
