"""User mistakes that passed `validate` or ended in a traceback or a misleading line (issue 34):
each is now one line naming the key or file and the fix, exit code 2, no traceback."""

from __future__ import annotations

import pytest

from lit_align.cli import main
from tests.test_cli_errors import _apply, _run, base_config, data_dir  # noqa: F401


@pytest.fixture
def odd_files(data_dir):  # noqa: F811
    (data_dir / "open_quote.csv").write_text('prompt,chosen,rejected\n"a,b,c\nd,e,f\ng,h,i\n')
    (data_dir / "cut.jsonl").write_text('{"prompt": "a", "chosen": "b", "rejected": "c"}\n'
                                        '{"prompt": "a", "chosen": "b", "rejected": "c"}\n{"prompt": "a", "cho')
    (data_dir / "adir.jsonl").mkdir()
    return data_dir


C3PO = {"class_path": "c3po", "init_args": {"loss": "ipo"}}
MUSCLE_MISSING = {"class_path": "muscle",
                  "init_args": {"old_model": {"class_path": "hf", "init_args": {"name_or_path": "/nonexistent/v1"}}}}

CASES = [
    ("policy_names_of_its_kind", {"memory.policy": "fifo"},
     "memory.policy.class_path: class_path 'fifo' is neither a registered name nor a dotted path; "
     "(registered: balanced, reservoir, score_ranked)"),
    ("score_ranked_without_scores", {"memory.policy": "score_ranked", "memory.per_task": 0.5},
     "memory.policy: ScoreRankedPolicy keeps the rows a method scores, but sequence[1].method DPOModule scores none"),
    ("c3po_narrows_loss", {"sequence.1.method": C3PO},
     "sequence[1].method.init_args.loss: C3PO uses the sigmoid DPO loss (got 'ipo'); remove `loss`"),
    ("muscle_old_model_path", {"sequence.1.method": MUSCLE_MISSING},
     "sequence[1].method.init_args.old_model.init_args.name_or_path: the directory /nonexistent/v1 does not exist"),
    ("csv_open_quote", {"sequence.1.data.train": {"path": "csv", "data_files": "DATA/open_quote.csv"}},
     "open_quote.csv line 2 opens a quote that is not closed where the line ends (the field runs on to line 4)"),
    ("csv_on_jsonl", {"sequence.1.data.train": {"path": "csv", "data_files": "DATA/pref.jsonl"}},
     "pref.jsonl holds JSON, not CSV (its first line starts with '{'); set path: json"),
    ("data_files_dir", {"sequence.1.data.train.data_files": "DATA/adir.jsonl"},
     "adir.jsonl is a directory; name the files in it (e.g. "),
    ("json_cut_last_line", {"sequence.1.data.train.data_files": "DATA/cut.jsonl"},
     "cut.jsonl line 3 is not valid JSON (Unterminated string starting at: column 17) (the file may have been cut "
     "off); fix or remove that line"),
]


def _with_data(value, root):
    if isinstance(value, dict):
        return {k: _with_data(v, root) for k, v in value.items()}
    return str(root / value[5:]) if isinstance(value, str) and value.startswith("DATA/") else value


@pytest.mark.parametrize("changes, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_names_the_key_and_the_fix(changes, expected, odd_files, tmp_path, capsys):
    cfg = _apply(base_config(odd_files, tmp_path / "out"), _with_data(changes, odd_files), odd_files)
    code, err = _run("validate", cfg, tmp_path, capsys)
    assert code == 2 and "Traceback" not in err
    assert expected in err
    if "policy_names" in str(changes):
        assert "dpo" not in err  # only the names of the kind the key expects


def test_an_override_past_the_end_of_a_list_names_the_list(data_dir, tmp_path, capsys):  # noqa: F811
    cfg = base_config(data_dir, tmp_path / "out")
    path = tmp_path / "c.yaml"
    _run("validate", cfg, tmp_path, capsys)
    code = main(["validate", "--config", str(tmp_path / "config.yaml"), "sequence.9.name=x"])
    err = capsys.readouterr().err
    assert code == 2 and not path.exists()
    assert err.strip() == ("lit-align validate: error: cannot apply override 'sequence.9.name=x': sequence has 2 "
                           "item(s) (indices 0-1); an override changes an item, it cannot add one")


def test_an_override_replacing_a_component_drops_the_old_init_args(data_dir, tmp_path, capsys):  # noqa: F811
    from lit_align.config.load import load_config

    _run("validate", base_config(data_dir, tmp_path / "out"), tmp_path, capsys)
    cfg = load_config([str(tmp_path / "config.yaml")], ["model={class_path: hf, init_args: {name_or_path: x/y}}"])
    assert cfg["model"] == {"class_path": "hf", "init_args": {"name_or_path": "x/y"}}


def test_an_output_dir_that_cannot_be_written_is_one_line(data_dir, tmp_path, capsys):  # noqa: F811
    code, err = _run("fit", base_config(data_dir, tmp_path / "out") | {"output_dir": "/proc/litalign"}, tmp_path,
                     capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip().startswith("lit-align fit: error: output_dir: /proc/litalign cannot be written (")


def test_a_hub_id_offline_fails_at_once_naming_the_model(data_dir, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = base_config(data_dir, tmp_path / "out")
    cfg["model"] = {"class_path": "hf", "init_args": {"name_or_path": "nobody-here/no-such-model"}}
    code, err = _run("fit", cfg, tmp_path, capsys)
    assert code == 2 and "Traceback" not in err and "Retrying" not in err
    assert ("model.init_args.name_or_path: 'nobody-here/no-such-model' is a hub id, this machine cannot reach the "
            "hub") in err
