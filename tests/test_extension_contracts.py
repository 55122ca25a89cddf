"""A user's extension that returns the wrong type (R8, issue 34): one line naming the user's
function or class and the type it must return, exit 2; never a deep traceback, never a silent
no-op. Each extension lives in a module written here, as a user's own would."""

from __future__ import annotations

import logging
import textwrap

import pytest

from tests.test_cli_errors import _run, base_config, data_dir  # noqa: F401

EXTENSIONS = textwrap.dedent('''
    import torch
    from lit_align.continual.memory_policies import MemoryPolicy
    from lit_align.modules.dpo import DPOModule
    from lit_align.scorers import ResponseScorer


    def bare_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta=0.1):
        return -torch.nn.functional.logsigmoid(beta * (policy_chosen_logps - policy_rejected_logps)).mean()


    class BareLossModule(DPOModule):
        def compute_loss(self, batch):
            return super().compute_loss(batch).loss


    class ReturningPolicy(MemoryPolicy):
        def add(self, task, rows, *, budget, capacity, rng):
            return rows[:budget]


    class ForgetfulPolicy(MemoryPolicy):
        def add(self, task, rows, *, budget, capacity, rng):
            self.rows_by_task[task] = []


    class ThreeScores(DPOModule):
        def select_for_memory(self, task):
            return [1.0, 2.0, 3.0]


    class Picky(DPOModule):
        def __init__(self, *, alpha: float = 1.0, **dpo_args):
            super().__init__(**dpo_args)
            if alpha > 0.5:
                from lit_align.errors import ConfigError
                raise ConfigError(f"method.init_args.alpha must be <= 0.5 (got {alpha})")


    class ShortScorer(ResponseScorer):
        def score(self, split, prompts, responses):
            return [1.0]
''')


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "user_ext.py").write_text(EXTENSIONS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "user_ext"


def _dpo_only(data_dir, tmp_path, **method):  # noqa: F811
    cfg = base_config(data_dir, tmp_path / "out")
    cfg["sequence"] = cfg["sequence"][1:]
    cfg["sequence"][0]["method"] = method or cfg["sequence"][0]["method"]
    return cfg


def test_a_loss_returning_a_bare_tensor_is_named(user_module, data_dir, tmp_path, capsys):  # noqa: F811
    cfg = _dpo_only(data_dir, tmp_path, class_path="dpo", init_args={"loss": "user_ext.bare_loss"})
    code, err = _run("fit", cfg, tmp_path, capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip() == ("lit-align fit: error: loss user_ext.bare_loss returned Tensor of shape (); it must "
                           "return PreferenceLossOutput(losses, chosen_rewards, rejected_rewards) from "
                           "lit_align.losses.dpo, each of shape (B,)")


def test_a_compute_loss_returning_a_bare_tensor_is_named(user_module, data_dir, tmp_path, capsys):  # noqa: F811
    cfg = _dpo_only(data_dir, tmp_path, class_path="user_ext.BareLossModule")
    code, err = _run("fit", cfg, tmp_path, capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip() == ("lit-align fit: error: user_ext.BareLossModule.compute_loss returned Tensor of shape (); "
                           "it must return LossOutput(loss, terms, metrics) from lit_align.modules.base")


def test_a_policy_returning_rows_instead_of_storing_them_is_named(user_module, data_dir, tmp_path,  # noqa: F811
                                                                 capsys):
    cfg = _dpo_only(data_dir, tmp_path)
    cfg["memory"] = {"per_task": 0.5, "replay_ratio": 0.2, "policy": "user_ext.ReturningPolicy"}
    code, err = _run("fit", cfg, tmp_path, capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip() == ("lit-align fit: error: user_ext.ReturningPolicy.add returned list of 2 item(s); it must "
                           "store the rows it keeps in self.rows_by_task[task] and return None")


def test_a_policy_that_keeps_nothing_of_a_positive_budget_is_warned(user_module, data_dir, tmp_path,  # noqa: F811
                                                                   capsys, caplog):
    cfg = _dpo_only(data_dir, tmp_path)
    cfg["memory"] = {"per_task": 0.5, "replay_ratio": 0.2, "policy": "user_ext.ForgetfulPolicy"}
    with caplog.at_level(logging.WARNING, logger="lit_align.continual.memory"):
        code, _ = _run("fit", cfg, tmp_path, capsys)
    assert code == 0
    assert ("replay memory: task 'dpo' kept 0 of its 4 rows although memory.per_task allows 2; check "
            "user_ext.ForgetfulPolicy.add") in caplog.text


def test_select_for_memory_with_the_wrong_count_is_named(user_module, data_dir, tmp_path, capsys):  # noqa: F811
    cfg = _dpo_only(data_dir, tmp_path, class_path="user_ext.ThreeScores")
    code, err = _run("fit", cfg, tmp_path, capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip() == ("lit-align fit: error: user_ext.ThreeScores.select_for_memory returned 3 score(s) for "
                           "4 rows; it must return one number per row, in row order, or None")


def test_a_scorer_returning_too_few_scores_is_named_not_scored_nan(user_module):
    import importlib

    from lit_align.contracts import ExtensionError
    from lit_align.scorers import score_tolerantly

    scorer = importlib.import_module("user_ext").ShortScorer()
    with pytest.raises(ExtensionError, match=r"^user_ext.ShortScorer.score returned 1 score\(s\) for 2 rows"):
        score_tolerantly(scorer, "polite", ["a", "b"], ["x", "y"])


@pytest.mark.parametrize("value, message", [
    ("3", "returned str; it must return a list of 2 numbers"),
    ([1.0, "x"], "returned a score of type str; scores must be numbers"),
    ([True, 1.0], "returned a score of type bool"),
    ([1.0, None], "returned a score of type NoneType"),
])
def test_expect_scores_names_each_wrong_shape(value, message):
    from lit_align.contracts import ExtensionError, expect_scores

    with pytest.raises(ExtensionError, match=message):
        expect_scores(value, 2, "my.Method.select_for_memory")
    assert expect_scores(None, 2, "x") is None and expect_scores((1, 2.5), 2, "x") == [1.0, 2.5]


def test_a_constructors_error_names_the_task_it_belongs_to(user_module, data_dir, tmp_path, capsys):  # noqa: F811
    """Constructors name their keys from `method.`: the runner says which task's method (the key
    path used to be `method.init_args...` whichever task it was)."""
    cfg = _dpo_only(data_dir, tmp_path, class_path="user_ext.Picky")
    code, err = _run("fit", cfg, tmp_path, capsys)
    assert code == 2
    assert err.strip() == "lit-align fit: error: sequence[0].method.init_args.alpha must be <= 0.5 (got 1.0)"
