"""What a resume trusts: the config digest (which keys change a run's identity), state.json
read back as written, and a damaged or foreign state.json refused with the fix, not a traceback."""

from __future__ import annotations

import json

import pytest

from lit_align.continual import state as S
from lit_align.errors import UserError

CONFIG = {"seed": 0, "model": {"class_path": "tiny"}, "sequence": [{"name": "a"}], "output_dir": "runs/x",
          "tracking": {"backend": "mlflow"}}


def test_the_digest_ignores_where_a_run_writes_and_tracks_but_not_what_it_trains():
    moved = CONFIG | {"output_dir": "elsewhere", "tracking": {"backend": "none"}}
    reordered = dict(reversed(list(CONFIG.items())))
    assert S.config_digest(moved) == S.config_digest(reordered) == S.config_digest(CONFIG)
    assert S.config_digest(CONFIG | {"seed": 1}) != S.config_digest(CONFIG)
    assert S.config_digest(CONFIG | {"sequence": [{"name": "b"}]}) != S.config_digest(CONFIG)


def test_state_reads_back_as_written(tmp_path):
    assert S.load_state(tmp_path, "abc") is None  # a fresh output_dir
    written = S.SequenceState("abc", completed=["a"], checkpoint="checkpoints/000_a", parent_run_id="r1",
                              task_results=[{"name": "a", "scores": {"eval/a": 0.5}}])
    S.save_state(tmp_path, written)
    assert S.load_state(tmp_path, "abc") == written
    assert not list(tmp_path.glob("*.tmp*"))  # the atomic write leaves no temporary file


@pytest.mark.parametrize("text", ['{"config_digest": "abc", "compl', "[1, 2]", '{"config_digest": "abc", "x": 1}'])
def test_a_damaged_state_names_the_file_and_both_ways_out(tmp_path, text):
    (tmp_path / S.STATE_FILE).write_text(text)
    with pytest.raises(UserError) as err:
        S.load_state(tmp_path, "abc")
    message = str(err.value)
    assert "state.json is damaged" in message and "new output_dir" in message and "checkpoints" in message
    assert "\n" not in message


def test_a_state_of_another_config_is_refused(tmp_path):
    S.save_state(tmp_path, S.SequenceState("abc"))
    with pytest.raises(UserError, match="different config"):
        S.load_state(tmp_path, "def")
    assert json.loads((tmp_path / S.STATE_FILE).read_text())["config_digest"] == "abc"  # left as it was


def test_commit_puts_the_new_checkpoint_in_force_then_drops_the_old(tmp_path):
    for name in ("checkpoints/000_a", "checkpoints/001_b"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / "policy.safetensors").write_bytes(b"x")
    S.commit(tmp_path, S.SequenceState("abc", completed=["a", "b"], checkpoint="checkpoints/001_b"),
             previous="checkpoints/000_a")
    assert S.load_state(tmp_path, "abc").checkpoint == "checkpoints/001_b"
    assert not (tmp_path / "checkpoints/000_a").exists() and (tmp_path / "checkpoints/001_b").is_dir()
    S.commit(tmp_path, S.SequenceState("abc", checkpoint="checkpoints/001_b"), previous="checkpoints/001_b")
    assert (tmp_path / "checkpoints/001_b").is_dir()  # re-committing the one in force keeps it
