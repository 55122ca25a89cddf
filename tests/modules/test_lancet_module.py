"""LANCET / gradient-ascent tasks on an influence ranking: row selection, loss terms, effect."""

from __future__ import annotations

import pytest
import torch

from lit_align.data.collate import iter_batches
from lit_align.data.synthetic import sft_examples
from lit_align.errors import DataError
from lit_align.models import TinyModelSpec
from lit_align.modules.base import TaskContext
from lit_align.modules.continual.lancet import GradientAscentModule, LANCETModule
from lit_align.modules.forward import response_logprobs
from lit_align.modules.optim import OptimizerConfig
from tests.modules.helpers import datamodule_for, fit


def ranking_rows() -> list[dict]:
    rows = sft_examples("polite", 6, 0) + sft_examples("short", 6, 0)
    scores = [50.0, 40.0, -30.0, -20.0, 1.0, 0.5, 0.2, 0.1, -0.1, -0.2, 0.0, 0.3]
    return [r | {"influence": s} for r, s in zip(rows, scores, strict=True)]


def make(cls, **kwargs):
    torch.manual_seed(0)
    policy = TinyModelSpec(arch="gpt2", n_layer=1, d_model=32, n_head=2, vocab_size=512).build()
    return cls(policy=policy, optimizer=OptimizerConfig(lr=5e-3, warmup_steps=0), **kwargs)


def test_lancet_selects_recalled_counter_and_retain_rows_with_rank_targets():
    module = make(LANCETModule, recall_k=2, counter_k=2, retain_rows=3, temperature=0.5)
    dm = datamodule_for(module, ranking_rows())
    module.on_task_start(TaskContext(name="fix", index=0, datamodule=dm))
    train = dm.train_set
    assert len(train) == 7  # 2 recalled + 2 counter + 3 retain
    by_row = {r: (rec, t) for r, rec, t in zip(train["row"], train["recalled"], train["ibo_target"], strict=True)}
    # group [50, 40, -30, -20] ranks 3, 2, 0, 1 of 0..3 -> s~ = 1, 1/3, -1, -1/3 -> t = -s~ / 0.5
    assert by_row[0] == (1.0, pytest.approx(-2.0)) and by_row[1] == (1.0, pytest.approx(-2 / 3))
    assert by_row[2] == (1.0, pytest.approx(2.0)) and by_row[3] == (1.0, pytest.approx(2 / 3))
    assert sum(1 for r, (rec, _) in by_row.items() if rec == 0.0) == 3
    assert "reference_logp" in train.column_names


def test_gradient_ascent_recalls_only_the_top_rows():
    module = make(GradientAscentModule, recall_k=2, retain_rows=None)
    dm = datamodule_for(module, ranking_rows())
    module.on_task_start(TaskContext(name="fix", index=0, datamodule=dm))
    recalled = {r for r, flag in zip(dm.train_set["row"], dm.train_set["recalled"], strict=True) if flag}
    assert recalled == {0, 1} and len(dm.train_set) == 12


def logps_by_row(module, dm) -> dict[int, float]:
    out = {}
    module.model.eval()
    with torch.no_grad():
        for batch in iter_batches(dm.own_train_set, dm.collator, 16, "cpu"):
            for row, lp in zip(batch["row"].tolist(), response_logprobs(module.model, batch).logps.tolist(),
                               strict=True):
                out[row] = lp
    return out


def test_training_lowers_the_influential_rows_and_raises_the_counter_rows():
    module = make(LANCETModule, recall_k=2, counter_k=2, retain_rows=4, temperature=0.2, divergence="kl")
    _, dm = fit(module, ranking_rows(), steps=12)
    before = dict(zip(dm.own_train_set["row"], dm.own_train_set["reference_logp"], strict=True))
    after = logps_by_row(module, dm)
    change = {r: after[r] - before[r] for r in range(4)}
    assert change[0] < -0.5  # the most influential row lost likelihood, in absolute terms
    assert change[0] < change[2]  # ... and relative to the most counteracting one
    assert change[0] + change[1] < change[2] + change[3]


def test_missing_influence_column_names_the_command():
    module = make(LANCETModule, recall_k=2)
    dm = datamodule_for(module, sft_examples("polite", 4, 0))
    with pytest.raises(DataError, match="no 'influence' column.*lit-align influence"):
        module.on_task_start(TaskContext(name="fix", index=0, datamodule=dm))


def test_eval_rows_without_ranking_columns_score_their_nll():
    module = make(LANCETModule, recall_k=2)
    dm = datamodule_for(module, ranking_rows(), eval_rows=sft_examples("short", 4, 1))
    batch = next(iter(dm.val_dataloader()))
    out = module.compute_loss(batch)
    assert set(out.terms) == {"nll"} and out.loss.item() > 0


def test_the_proximal_option_holds_the_weights_nearer_the_pre_correction_model():
    def distance(module, start):
        params = dict(module.model.named_parameters())
        return sum((params[n] - v).pow(2).sum().item() for n, v in start.items())

    moved = {}
    for proximal in (0.0, 1.0e5):  # the default squared log-ratio pulls harder than the KL: 1e4 held it to 0.84x
        module = make(LANCETModule, recall_k=2, counter_k=2, retain_rows=3, proximal=proximal)
        start = {n: p.detach().clone() for n, p in module.model.named_parameters() if p.requires_grad}
        _, dm = fit(module, ranking_rows(), steps=6)
        moved[proximal] = distance(module, start)
        if proximal:
            assert module.regularization({})["proximal"].item() > 0  # logged as its own term
        else:
            assert module.regularization({}) == {}
    assert moved[1.0e5] < 0.5 * moved[0.0]


@pytest.mark.parametrize("settings", [{"per_token": True}, {"divergence": "log_squared"}])
def test_without_counter_rows_signed_targets_lower_every_recalled_row(settings):
    """The real-model study's settings (counter_k 0, signed_rank): both recalled rows get t < 0 and
    lose likelihood, per token or by the squared log-ratio, against the retain rows pinned at 0."""
    module = make(LANCETModule, recall_k=2, counter_k=0, retain_rows=4, temperature=0.2, normalize="signed_rank",
                  **settings)
    _, dm = fit(module, ranking_rows(), steps=12)
    targets = dict(zip(dm.own_train_set["row"], dm.own_train_set["ibo_target"], strict=True))
    assert targets[0] < targets[1] < 0  # the most influential the most negative; nobody gains
    before = dict(zip(dm.own_train_set["row"], dm.own_train_set["reference_logp"], strict=True))
    after = logps_by_row(module, dm)
    assert after[0] - before[0] < -0.5 and after[1] - before[1] < 0
