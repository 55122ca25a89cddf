"""COPFModule: learns from prompts alone by sampling and scoring its own candidates."""

import lightning as L
import pytest

from lit_align.binding import ComponentSpec
from lit_align.data.synthetic import unlabeled_prompts
from lit_align.modules.base import TaskContext
from lit_align.modules.continual.copf import COPFModule, candidate_records
from lit_align.modules.continual.copr import TARGET_COLUMN
from lit_align.scorers import ResponseScorer
from tests.modules.helpers import datamodule_for

PROMPTS = [{"prompt": r["prompt"]} for r in unlabeled_prompts("short", 8, seed=0)]


class LengthScorer(ResponseScorer):
    """Shorter is better; records what it was asked."""

    calls: list = []

    def score(self, split, prompts, responses):
        LengthScorer.calls.append((split, len(responses)))
        return [-float(len(r)) for r in responses]


class ConstantScorer(ResponseScorer):
    def score(self, split, prompts, responses):
        return [1.0] * len(responses)


def _spec(cls):
    return ComponentSpec(class_path=f"{__name__}.{cls.__name__}", init_args={})


def test_candidate_records_drop_empty_and_repeated_samples():
    records, empty = candidate_records(["p", "q"], ["a", "", "a", "b", "x", "x", "x", " "], 4,
                                       [1.0, 9.0, 2.0, 0.0, 5.0, 5.0, 5.0, 5.0])
    assert empty == 2
    assert records[0] == {"prompt": "p", "responses": ["a", "b"], "scores": [1.0, 0.0]}  # first score of "a" kept
    assert records[1] == {"prompt": "q", "responses": ["x"], "scores": [5.0]}


def test_copf_samples_scores_and_trains_on_its_candidates(tiny_policy):
    LengthScorer.calls.clear()
    module = COPFModule(policy=tiny_policy, scorer=_spec(LengthScorer), num_samples=3, max_new_tokens=8)
    dm = datamodule_for(module, PROMPTS)
    assert dm.kind == "prompt"
    module.on_task_start(TaskContext(name="short", index=0, datamodule=dm))
    assert LengthScorer.calls == [("short", 3 * len(PROMPTS))]
    assert dm.kind == "ranked" and dm.train_set is dm.own_train_set
    report = dm.reports[-1]
    assert report.where.endswith(".sampled") and report.kept + sum(report.dropped.values()) == len(PROMPTS)
    for row in dm.train_set:
        assert 2 <= len(row["response_ids"]) <= 3
        assert len(row[TARGET_COLUMN]) == len(row["scores"])
    trainer = L.Trainer(max_steps=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, datamodule=dm)
    assert trainer.callback_metrics["train/fit"].item() >= 0


def test_copf_with_a_scorer_that_ranks_nothing_says_so(tiny_policy):
    module = COPFModule(policy=tiny_policy, scorer=_spec(ConstantScorer), num_samples=2, max_new_tokens=4)
    dm = datamodule_for(module, PROMPTS)
    with pytest.raises(Exception, match="no usable rows left"):
        module.on_task_start(TaskContext(name="short", index=0, datamodule=dm))
