"""More user mistakes that used to end in a traceback, a misleading line or silent success:
each is now one line naming the thing and the fix, exit code 2, no traceback (R2, issue 18)."""

from __future__ import annotations

import json
import math

import pytest

from lit_align.cli import main
from tests.conftest import write_jsonl
from tests.test_cli_errors import _DELETE, GOOD_PAIR, _apply, _run, base_config, data_dir  # noqa: F401


@pytest.fixture
def bad_files(data_dir):  # noqa: F811
    (data_dir / "latin1.jsonl").write_bytes(b'{"prompt": "caf\xe9", "chosen": "a", "rejected": "b"}\n')
    (data_dir / "empty_file.jsonl").write_bytes(b"")
    (data_dir / "extra.csv").write_text('prompt,chosen,rejected\na,b,c\n"d, quoted",e,f\ng,h,i,EXTRA\nj,k,l\n')
    (data_dir / "a_file").write_text("x")
    (data_dir / "not_a_model").mkdir()
    (data_dir / "fake.gguf").write_bytes(b"PK\x03\x04 this is a zip")
    write_jsonl(data_dir / "number.jsonl", [{**GOOD_PAIR, "chosen": 3}])
    write_jsonl(data_dir / "no_role.jsonl", [{**GOOD_PAIR, "chosen": [{"content": "hi"}]}])
    write_jsonl(data_dir / "strings.jsonl", [{**GOOD_PAIR, "chosen": ["a", "b"]}])
    write_jsonl(data_dir / "whitespace.jsonl", [{**GOOD_PAIR, "rejected": "Sure,  the cat\nis good. "}])
    write_jsonl(data_dir / "sft_number.jsonl", [{"prompt": "Hi.", "completion": 42}])
    return data_dir


VALIDATE_CASES = [
    ("name_parent", {"sequence.0.name": "../../x"}, "sequence[0].name: task name '../../x' must be"),
    ("name_slash", {"sequence.0.name": "a/b"}, "task name 'a/b' must be 1-64 letters"),
    ("name_empty", {"sequence.0.name": ""}, "task name '' must be"),
    ("name_dotdot", {"sequence.1.name": ".."}, "sequence[1].name: task name '..'"),
    ("name_space", {"sequence.0.name": "my task"}, "task name 'my task' must be"),
    ("name_absolute", {"sequence.0.name": "/etc"}, "task name '/etc' must be"),
    ("output_dir_file", {"output_dir": "DATA/a_file"}, "is a file, not a directory; give a directory path"),
    ("output_dir_under_file", {"output_dir": "DATA/a_file/run"}, "cannot be created"),
    ("accelerator_gpu", {"trainer.accelerator": "gpu"},
     "trainer.accelerator: 'gpu' but this machine has no usable GPU"),
    ("accelerator_cuda", {"trainer.accelerator": "cuda"}, "use accelerator: cpu or auto"),
    ("max_epochs_negative", {"trainer.max_epochs": -2, "trainer.max_steps": _DELETE},
     "Lightning refuses these Trainer arguments: `max_epochs` must be a non-negative integer or -1"),
    ("devices_zero", {"trainer.devices": 0}, "`Trainer(devices=0)` value is not a valid input"),
    ("max_steps_zero", {"trainer.max_steps": 0}, "trainer.max_steps: 0 trains nothing; remove it or set at least 1"),
    ("max_epochs_zero", {"trainer.max_steps": _DELETE, "trainer.max_epochs": 0}, "trainer.max_epochs: 0 trains"),
    ("task_max_steps_zero", {"sequence.1.trainer": {"max_steps": 0}}, "sequence[1].trainer.max_steps: 0 trains"),
    ("beta_inf", {"sequence.1.method.init_args.beta": math.inf}, "beta must be a finite number (got inf)"),
    ("beta_nan", {"sequence.1.method.init_args.beta": math.nan}, "beta must be a finite number (got nan)"),
    ("lr_inf", {"sequence.1.method.init_args.optimizer": {"lr": math.inf}}, "optimizer.lr must be a finite number"),
    ("hf_missing_dir", {"model": {"class_path": "hf", "init_args": {"name_or_path": "/nonexistent/model"}}},
     "model.init_args.name_or_path: the directory /nonexistent/model does not exist"),
    ("hf_not_a_model", {"model": {"class_path": "hf", "init_args": {"name_or_path": "DATA/not_a_model"}}},
     "is not a model directory (no config.json)"),
    ("max_length_over_positions", {"model.init_args.max_positions": 48},
     "sequence[1].data.max_length: 64 exceeds the model's position limit (48 tokens)"),
    ("class_path_module", {"sequence.0.method.class_path": "lit_align.modules.sft"},
     "names a module, not a class; name a class in it; e.g. lit_align.modules.sft.SFTModule"),
    ("model_class_path_module", {"model.class_path": "lit_align.models"}, "'lit_align.models' names a module"),
    ("gguf_missing", {"model": {"class_path": "gguf", "init_args": {"gguf": "/nonexistent/m.gguf"}}},
     "is neither an existing GGUF file nor a packaged model"),
    ("gguf_not_gguf", {"model": {"class_path": "gguf", "init_args": {"gguf": "DATA/fake.gguf"}}},
     "is not a GGUF file (it starts with b'PK"),
    ("gguf_unknown_name", {"model": {"class_path": "gguf", "init_args": {"gguf": "llama-9000"}}},
     "'llama-9000' is neither an existing GGUF file nor a packaged model (smollm2-135m-instruct)"),
    ("gguf_dir", {"model": {"class_path": "gguf", "init_args": {"gguf": "DATA/not_a_model"}}},
     "is a directory; give the path of a .gguf file"),
    ("non_utf8", {"sequence.0.data.train.data_files": "DATA/latin1.jsonl"},
     "latin1.jsonl is not valid UTF-8 (byte 0xe9 at byte offset 15)"),
    ("empty_file", {"sequence.0.data.train.data_files": "DATA/empty_file.jsonl"},
     "empty_file.jsonl is empty (no rows)"),
    ("csv_extra_field", {"sequence.1.data.train": {"path": "csv", "data_files": "DATA/extra.csv"}},
     "extra.csv line 4 has 4 fields, the header has 3 (prompt, chosen, rejected); quote fields that hold commas"),
    ("glob_no_match", {"sequence.0.data.train.data_files": "DATA/nothing-*.jsonl"}, "no files match"),
    ("eval_non_utf8", {"sequence.1.data.eval": {"path": "json", "data_files": "DATA/latin1.jsonl"}},
     "sequence[1].data.eval: "),
]

FIT_CASES = [
    ("chosen_number", {"sequence": "DPO_ONLY", "sequence.0.data.train.data_files": "DATA/number.jsonl"},
     "'chosen' must be a string or a list of {role, content} messages, got int '3' [bad_type]"),
    ("messages_without_role", {"sequence": "DPO_ONLY", "sequence.0.data.train.data_files": "DATA/no_role.jsonl"},
     "got messages without a 'role' key [bad_type]"),
    ("list_of_strings", {"sequence": "DPO_ONLY", "sequence.0.data.train.data_files": "DATA/strings.jsonl"},
     "got a list of strings [bad_type]"),
    ("whitespace_pair", {"sequence": "DPO_ONLY", "sequence.0.data.train.data_files": "DATA/whitespace.jsonl"},
     "chosen and rejected differ only in whitespace [identical_pair]"),
    ("sft_completion_number", {"sequence.0.data.train.data_files": "DATA/sft_number.jsonl"},
     "'completion' must be a string or a list of {role, content} messages, got int '42'"),
    ("lora_targets_nothing", {"model.init_args.lora": {"target_modules": ["query_key_value"]}},
     "lora.target_modules: ['query_key_value'] matches no layer of the model; its linear layers are named"),
]


def _paths(changes: dict, data_dir) -> dict:  # noqa: F811
    out = {}
    for key, value in changes.items():
        if isinstance(value, dict):
            value = json.loads(json.dumps(value).replace('"DATA/', f'"{data_dir}/'))
        out[key] = value
    return out


CASES = [("validate", *c) for c in VALIDATE_CASES] + [("fit", *c) for c in FIT_CASES]


@pytest.mark.parametrize("command,changes,expected", [(c[0], *c[2:]) for c in CASES],
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_one_line_exit_2(command, changes, expected, bad_files, tmp_path, capsys):
    cfg = _apply(base_config(bad_files, tmp_path / "out"), _paths(changes, bad_files), bad_files)
    code, err = _run(command, cfg, tmp_path, capsys)
    assert code == 2, err
    assert expected in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("content", ['{"config_digest": "abc", "compl', "", "[1, 2]",
                                     '{"config_digest": "x", "oops": 1}'])
def test_damaged_state_json_names_the_file_and_the_fix(content, data_dir, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "out"
    out.mkdir()
    (out / "state.json").write_text(content)
    code, err = _run("fit", base_config(data_dir, out), tmp_path, capsys)
    assert code == 2 and "state.json is damaged" in err and "start over with a new output_dir" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("text,expected", [
    ("model:\n\tclass_path: tiny\n", "line 2, column 1: found character"),
    ("seed: 1\nseed: 2\n", "line 2, column 1: found duplicate key seed (each key may appear once per mapping)"),
    ("a: [1, 2\nb: 3\n", "line 2, column 2: did not find expected ',' or ']'"),
])
def test_yaml_errors_say_where_and_why(text, expected, tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main(["validate", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1
    if "\t" in text:
        assert "tabs cannot indent YAML; use spaces" in err


def test_evaluate_checkpoint_that_is_not_a_model(data_dir, tmp_path, capsys):  # noqa: F811
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(base_config(data_dir, tmp_path / "out")))
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", "--config", str(path), "--checkpoint", str(tmp_path / "empty")]) == 2
    assert "is not a model directory (no config.json)" in capsys.readouterr().err


def test_empty_prompts_are_allowed_and_counted(tiny_policy):
    import datasets

    from lit_align.data.tokenize import TokenizeSettings, tokenize_dataset

    rows = [GOOD_PAIR, {**GOOD_PAIR, "prompt": ""}, {**GOOD_PAIR, "prompt": "  "}]
    _, report = tokenize_dataset(datasets.Dataset.from_list(rows), "preference", tiny_policy.tokenizer,
                                 TokenizeSettings(), "t")
    assert report.kept == 3 and report.empty_prompts == 2
    assert "2 with an empty prompt" in report.summary()


def test_lock_is_never_seen_without_its_pid(tmp_path):
    from lit_align.continual.lock import OutputDirLock

    with OutputDirLock(tmp_path):
        assert (tmp_path / ".lit-align.lock").read_text() == str(__import__("os").getpid())
        assert sorted(p.name for p in tmp_path.iterdir()) == [".lit-align.lock"]  # the claim file is gone
    assert not (tmp_path / ".lit-align.lock").exists()
