"""C3POModule on synthetic feedback rows: the loss's parts, the reference, the constraint terms."""

import pytest
import torch

from lit_align.data.tokenize import TokenizeSettings, tokenize_dataset
from lit_align.errors import ConfigError
from lit_align.feedback.dataset import SyntheticFeedbackGenerator, build_feedback_rows
from lit_align.feedback.synthetic import RULES, out_of_scope_prompts
from lit_align.modules.continual.c3po import C3POModule
from lit_align.modules.optim import OptimizerConfig
from tests.modules.helpers import fit


def plain_answers(prompts):
    return [f"The {p.split(' the ')[-1].split(' ')[0].strip('.')} is good." for p in prompts]


def rows(n=16):
    rule = RULES["exclaim_animals"]
    out, _ = build_feedback_rows(SyntheticFeedbackGenerator(rule=rule.name), rule.feedback, plain_answers,
                                 out_of_scope=out_of_scope_prompts(rule, n, seed=0), n_in=n, n_near=n, seed=0)
    return out


def test_feedback_rows_tokenise_all_three_parts_and_count_partial_rows(tiny_policy):
    import datasets

    data = rows(4)
    data[1]["near_completion"] = ""  # a broken near-scope part drops the whole row
    cols, report = tokenize_dataset(datasets.Dataset.from_list(data), "feedback", tiny_policy.tokenizer,
                                    TokenizeSettings(bad_rows="drop"), "t")
    assert report.kept == 3 and report.dropped == {"empty_response": 1}
    assert {"chosen_ids", "rejected_ids", "near_prompt_ids", "near_ids", "out_prompt_ids", "out_ids"} <= set(cols)
    assert cols["row"] == [0, 2, 3]


def test_loss_parts_and_learning_the_in_scope_pair(tiny_policy):
    module = C3POModule(policy=tiny_policy, optimizer=OptimizerConfig(lr=1e-2, warmup_steps=0))
    trainer, dm = fit(module, rows(), steps=10)
    batch = dm.collator([dm.train_set[i] for i in range(4)])
    out = module.compute_loss(batch)
    assert set(out.terms) == {"dpo", "out_of_scope", "near_scope"}
    assert out.loss.item() == pytest.approx(sum(t.item() for t in out.terms.values()), rel=1e-5)
    assert out.terms["out_of_scope"].item() == pytest.approx(0.2 * out.metrics["out_of_scope_nll"].item(), rel=1e-5)
    assert out.terms["near_scope"].item() == pytest.approx(0.1 * out.metrics["near_scope_nll"].item(), rel=1e-5)
    assert trainer.callback_metrics["train/accuracy"].item() == 1.0  # revised answers now preferred
    # the drift of the pair's log-likelihoods is measured as in DPO: policy minus the cached reference
    from lit_align.modules.reference import REF_COLUMNS, pair_logprobs

    with torch.no_grad():
        chosen, rejected = pair_logprobs(module.model, batch, average=False)
    assert out.metrics["chosen_logratio"].item() == pytest.approx(
        (chosen - batch[REF_COLUMNS[0]]).mean().item(), abs=1e-3)
    assert out.metrics["rejected_logratio"].item() == pytest.approx(
        (rejected - batch[REF_COLUMNS[1]]).mean().item(), abs=1e-3)
    assert out.metrics["rejected_logratio"].item() < out.metrics["chosen_logratio"].item()


def test_distillation_needs_the_reference_logits(tiny_policy):
    with pytest.raises(ConfigError, match="kd_weight"):
        C3POModule(policy=tiny_policy, kd_weight=0.5)
    module = C3POModule(policy=tiny_policy, kd_weight=0.5, reference="frozen_copy")
    _, dm = fit(module, rows(8), steps=2)
    out = module.compute_loss(dm.collator([dm.train_set[i] for i in range(2)]))
    assert torch.isfinite(out.loss)


def test_sequence_sum_distillation_weighs_answers_by_their_length(tiny_policy):
    """At the start the student is pi_0: both reductions give zero KL; after training, the summed
    form is the token mean times the mean answer length (more than the mean, here)."""
    import copy

    outs = {}
    for reduction in ("token_mean", "sequence_sum"):
        module = C3POModule(policy=copy.deepcopy(tiny_policy), kd_weight=1.0, reference="frozen_copy",
                            kd_reduction=reduction, lambda_near=0.0)
        _, dm = fit(module, rows(8), steps=3)
        module.eval()
        with torch.no_grad():
            outs[reduction] = module.compute_loss(dm.collator([dm.train_set[i] for i in range(4)]))
    mean, summed = (outs[r].terms["out_of_scope"].item() for r in ("token_mean", "sequence_sum"))
    assert mean > 0 and summed > 2 * mean  # answers are several tokens long
