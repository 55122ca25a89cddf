"""Bad study files (issue 29): each problem is one line naming the arm, verdict, hook or key and
the fix, exit 2, through `lit-align validate` and `lit-align study`."""

from __future__ import annotations

import pytest

from lit_align.cli import main
from tests.study.conftest import study_dict, write_study


def _validate(tmp_path, study, capsys) -> tuple[int, str]:
    code = main(["validate", "--config", str(write_study(tmp_path, study))])
    return code, capsys.readouterr().err


def test_a_good_study_validates_with_every_run_config(tiny_base, tmp_path, capsys):
    code = main(["validate", "--config", str(write_study(tmp_path, study_dict(tiny_base, tmp_path / "out")))])
    assert code == 0, capsys.readouterr().err
    assert "is valid" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()  # validate runs and writes nothing


def _verdict(rule: str, **args) -> list:
    return [{"name": "v", "claim": "c", "checks": [{"rule": rule, "args": args}]}]


CASES = [
    ("arm_unknown_key", {"arms": {"sequential": [], "replay": ["memory.per_tsk=0.5"]}},
     "arms.replay (o0, seed 0): memory.per_tsk: unknown key for MemoryConfig (memory); did you mean 'per_task'?"),
    ("verdict_unknown_arm", {"verdicts": _verdict("threshold", arm="copr", metric="bwt", below=0)},
     "verdicts[0].checks[0].args.arm: 'copr' is not an arm of this study (arms: sequential, replay)"),
    ("verdict_unknown_metric", {"verdicts": _verdict("threshold", arm="replay", metric="fwt", below=0)},
     "verdicts[0].checks[0].args.metric: 'fwt' is not in metrics (average_score, bwt, plasticity); add it there"),
    ("verdict_unknown_rule", {"verdicts": _verdict("tresh", arm="replay", metric="bwt")},
     "verdicts[0].checks[0].rule: unknown rule 'tresh'; choose one of paired_difference, ratio, share_of_runs, "
     "threshold, within"),
    ("verdict_bad_args", {"verdicts": _verdict("ratio", arm="replay", baseline="sequential", metric="bwt")},
     "verdicts[0].checks[0].args.at_most: required key for rule 'ratio' is missing; add it"),
    ("empty_arms", {"arms": {}}, "arms: is empty; add at least one arm"),
    ("empty_seeds", {"seeds": []}, "seeds: is empty; add at least one seed"),
    ("arm_name_path", {"arms": {"sequential": [], "replay": [], "../x": []}}, "arms.../x: task name '../x' must be"),
    ("hook_missing", {"after_run": "nowhere_module.measure"},
     "after_run: class_path 'nowhere_module.measure': cannot import module 'nowhere_module'"),
    ("order_not_permutation", {"orders": {"o0": ["kind", "color"], "o1": ["color"]}},
     "orders.o1: ['color'] is not an order of the base's tasks (kind, color); name each task once"),
    ("unknown_study_key", {"arm": {}}, "arm: unknown key for StudyConfig (top level); did you mean 'arms'?"),
    ("launcher_oversubscribed", {"launcher": {"class_path": "local_launcher", "init_args": {"jobs": 2, "threads": 2}}},
     "exceeds the"),
]


@pytest.mark.parametrize("changes, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_study_is_one_line_per_problem(changes, expected, tiny_base, tmp_path, capsys):
    code, err = _validate(tmp_path, study_dict(tiny_base, tmp_path / "out", **changes), capsys)
    assert code == 2 and "Traceback" not in err
    assert expected in err


def test_duplicate_arm_names_are_refused_by_the_yaml_reader(tiny_base, tmp_path, capsys):
    path = tmp_path / "dup.yaml"
    path.write_text(f"name: x\nbase: {tiny_base}\noutput_dir: {tmp_path / 'o'}\nseeds: [0]\n"
                    "arms:\n  replay: []\n  replay: []\n")
    assert main(["validate", "--config", str(path)]) == 2
    assert "duplicate key" in capsys.readouterr().err


def test_an_arm_problem_is_said_once_not_per_seed(tiny_base, tmp_path, capsys):
    arms = {"sequential": [], "replay": ["trainer.max_steps=0"]}
    _, err = _validate(tmp_path, study_dict(tiny_base, tmp_path / "out", arms=arms), capsys)
    assert err.count("trainer.max_steps: 0 trains nothing") == 1


HOOKS = '''
def prepare_returns(directory, seed):
    return {"data": str(directory)}


def after_run_list(run_dir, results):
    return [1.0]


def after_run_text(run_dir, results):
    return {"recall": "high"}


def after_run_good(run_dir, results):
    return {"recall": 0.5}
'''


@pytest.fixture
def hooks(tmp_path, monkeypatch):
    (tmp_path / "study_hooks.py").write_text(HOOKS)
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_prepare_hook_that_returns_a_value_is_named(hooks, tiny_base, tmp_path, capsys):
    path = write_study(tmp_path, study_dict(tiny_base, tmp_path / "out", prepare="study_hooks.prepare_returns"))
    assert main(["study", "run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("lit-align study: error: prepare hook study_hooks.prepare_returns returned dict; it must "
                           "write into the directory it is given and return None")


@pytest.mark.parametrize("hook, message", [
    ("after_run_list", "after_run hook study_hooks.after_run_list returned list of 1 item(s); it must return a dict "
                       "of metric name -> number"),
    ("after_run_text", "after_run hook study_hooks.after_run_text returned non-numbers for recall; it must return a "
                       "dict of metric name -> number"),
])
def test_an_after_run_hook_of_the_wrong_type_is_named(hooks, hook, message, tiny_base, tmp_path):
    from lit_align.contracts import ExtensionError
    from lit_align.study.engine import load_study

    path = write_study(tmp_path, study_dict(tiny_base, tmp_path / "out", after_run=f"study_hooks.{hook}"))
    study = load_study(str(path))
    run = study.plan()[0]
    with pytest.raises(ExtensionError) as caught:
        study.after_run(run, {"complete": True})
    assert str(caught.value) == message


def test_after_run_metrics_are_kept_beside_the_run_and_read_as_metrics(hooks, tiny_base, tmp_path):
    from lit_align.study.engine import EXTRA_METRICS_FILE, load_study
    from lit_align.study.metrics import read_metric

    path = write_study(tmp_path, study_dict(tiny_base, tmp_path / "out", after_run="study_hooks.after_run_good"))
    study = load_study(str(path))
    run = study.plan()[0]
    run.run_dir.mkdir(parents=True)
    extra = study.after_run(run, {"complete": True})
    assert extra == {"recall": 0.5} and (run.run_dir / EXTRA_METRICS_FILE).is_file()
    assert read_metric({"metrics": {}}, "recall", extra) == 0.5


def test_a_bounded_rule_needs_exactly_one_bound(tiny_base, tmp_path):
    from lit_align.study.check import study_problems

    raw = study_dict(tiny_base, tmp_path / "out")
    raw["verdicts"] = [{"name": "T1", "claim": "x", "checks": [
        {"rule": "share_of_runs", "args": {"arm": raw_arm, "metric": "bwt", "share": 1.0}}]}
        for raw_arm in list(raw["arms"])[:1]]
    problems = study_problems(raw, check_data=False)
    assert "verdicts[0].checks[0].args: rule 'share_of_runs' takes exactly one of at_least and at_most" in problems
