"""Nothing outside output_dir is written or deleted: task names that would leave it are refused by
validate, and a crafted state.json that points outside is refused before anything is removed."""

from __future__ import annotations

import json

import pytest

from lit_align.continual import state as S
from lit_align.continual.paths import contained, fresh_dir, remove_tree
from lit_align.errors import UserError
from lit_align.validation.config import validate_config


def _config(*names):
    return {"model": {"class_path": "tiny"},
            "sequence": [{"name": n, "method": {"class_path": "sft"},
                          "data": {"train": {"path": "json", "data_files": "x.jsonl"}}} for n in names]}


@pytest.mark.parametrize("name", ["../../x", "a/b", "", "..", ".hidden", "a\\b", "x" * 65, "tab\tname", "/abs"])
def test_unsafe_task_names_are_refused_by_validate(name):
    problems = validate_config(_config(name), check_data=False)
    assert len(problems) == 1 and problems[0].startswith("sequence[0].name: task name")
    assert "letters, digits" in problems[0]


@pytest.mark.parametrize("name", ["helpful", "hh-v2", "task_1.b", "A"])
def test_ordinary_task_names_pass(name):
    assert validate_config(_config(name), check_data=False) == []


def test_contained_refuses_paths_that_resolve_outside(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    assert contained(run, "checkpoints/000-a") == (run / "checkpoints" / "000-a").resolve()
    for bad in ("../outside", "checkpoints/../../outside", str(tmp_path / "elsewhere"), ".", ""):
        with pytest.raises(UserError, match="outside output_dir"):
            contained(run, bad)


def test_a_symlink_out_of_output_dir_is_refused(tmp_path):
    run, victim = tmp_path / "run", tmp_path / "victim"
    run.mkdir(), victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    (run / "tasks").symlink_to(victim)
    with pytest.raises(UserError, match="outside output_dir"):
        fresh_dir(run, "tasks", "a")
    assert (victim / "keep.txt").read_text() == "precious"


def test_commit_with_a_crafted_previous_checkpoint_deletes_nothing_outside(tmp_path):
    run, victim = tmp_path / "run", tmp_path / "victim"
    run.mkdir(), victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    state = S.SequenceState(config_digest="d", completed=["a"], checkpoint="checkpoints/000-a")
    with pytest.raises(UserError, match="outside output_dir"):
        S.commit(run, state, previous="../victim")
    assert (victim / "keep.txt").read_text() == "precious"
    crafted = S.SequenceState(config_digest="d", completed=["a"], checkpoint="../victim")
    with pytest.raises(UserError, match="outside output_dir"):
        S.commit(run, crafted, previous=None)
    assert not (run / S.STATE_FILE).exists()  # refused before state.json names it


def test_checkpoint_writer_never_removes_outside(tmp_path, tiny_policy):
    from lit_align.continual.memory import MemoryConfig, ReplayMemory

    run, victim = tmp_path / "run", tmp_path / "victim"
    run.mkdir(), victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    with pytest.raises(UserError, match="outside output_dir"):
        S.save_checkpoint(run, "../victim", model=tiny_policy.model, method_state={},
                          memory=ReplayMemory(MemoryConfig()), margins={})
    assert (victim / "keep.txt").read_text() == "precious"


def test_export_refuses_a_state_json_pointing_outside(tmp_path):
    from lit_align.config.load import save_config
    from lit_align.export import export_run

    run = tmp_path / "run"
    save_config(_config("a"), run / "config.yaml")
    (run / S.STATE_FILE).write_text(json.dumps({"config_digest": "d", "completed": ["a"],
                                                "checkpoint": "../../etc"}))
    with pytest.raises(UserError, match="outside output_dir"):
        export_run(run)


def test_remove_tree_of_a_missing_directory_is_fine(tmp_path):
    remove_tree(tmp_path, "not-there")
