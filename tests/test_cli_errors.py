"""Malformed configs and data: each gives exit code 2 and an error naming the key or
column and the fix, with no traceback (targets.md R2)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lit_align.cli import main
from tests.conftest import write_jsonl

GOOD_PAIR = {"prompt": "Tell me about the cat.", "chosen": "Sure, the cat is good.", "rejected": "No."}


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    write_jsonl(d / "pref.jsonl", [GOOD_PAIR] * 4)
    write_jsonl(d / "sft.jsonl", [{"prompt": "Hi.", "completion": "Hello."}] * 4)
    write_jsonl(d / "no_rejected.jsonl", [{"prompt": "a", "chosen": "b"}] * 2)
    write_jsonl(d / "no_completion.jsonl", [{"prompt": "a", "answer": "b"}] * 2)
    write_jsonl(d / "empty.jsonl", [GOOD_PAIR, GOOD_PAIR, {**GOOD_PAIR, "chosen": "  "}])
    write_jsonl(d / "identical.jsonl", [GOOD_PAIR, {**GOOD_PAIR, "rejected": GOOD_PAIR["chosen"]}])
    write_jsonl(d / "long.jsonl", [{**GOOD_PAIR, "chosen": "cat " * 200}])
    return d


def base_config(data_dir: Path, out: Path) -> dict:
    return {
        "output_dir": str(out),
        "tracking": {"backend": "none"},
        "export": "none",
        "model": {"class_path": "tiny", "init_args": {"n_layer": 1, "d_model": 32, "n_head": 2}},
        "trainer": {"max_steps": 1, "accelerator": "cpu", "enable_progress_bar": False},
        "sequence": [
            {"name": "sft", "method": {"class_path": "sft"},
             "data": {"train": {"path": "json", "data_files": str(data_dir / "sft.jsonl")}}},
            {"name": "dpo", "method": {"class_path": "dpo", "init_args": {"beta": 0.1}},
             "data": {"train": {"path": "json", "data_files": str(data_dir / "pref.jsonl")},
                      "max_length": 64, "max_prompt_length": 32}},
        ],
    }


def _set(cfg: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    node = cfg
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node.setdefault(k, {})
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


_DELETE = object()

# (id, {dotted key: value}, expected fragment of the error)
VALIDATE_CASES = [
    ("unknown_top_key", {"seedd": 1}, "seedd: unknown key for RunConfig (top level); did you mean 'seed'"),
    ("seed_type", {"seed": "abc"}, "seed: expected an integer, got str 'abc'"),
    ("seed_range", {"seed": -1}, "seed must be >= 0 (got -1)"),
    ("missing_sequence", {"sequence": _DELETE}, "sequence: required key for RunConfig"),
    ("empty_sequence", {"sequence": []}, "sequence: is empty; add at least one task"),
    ("duplicate_names", {"sequence.1.name": "sft"}, "task name 'sft' is used twice"),
    ("sequence_not_list", {"sequence": {"a": 1}}, "sequence: expected a list"),
    ("missing_model", {"model": _DELETE}, "model: required key for RunConfig"),
    ("bad_class_path", {"sequence.0.method.class_path": "nope.Module"},
     "sequence[0].method.class_path: class_path 'nope.Module': cannot import module 'nope'"),
    ("unregistered_name", {"sequence.0.method.class_path": "dpoo"}, "neither a registered name"),
    ("missing_attr", {"sequence.0.method.class_path": "lit_align.modules.sft.Nope"},
     "module 'lit_align.modules.sft' has no 'Nope'"),
    ("not_a_module", {"sequence.0.method.class_path": "tiny"}, "is not a subclass of AlignmentModule"),
    ("model_not_spec", {"model.class_path": "sft"}, "model.class_path: 'sft' is not a subclass of ModelSpec"),
    ("arg_typo", {"sequence.1.method.init_args.bta": 0.1}, "did you mean 'beta'"),
    ("beta_range", {"sequence.1.method.init_args.beta": -0.1},
     "sequence[1].method.init_args.beta must be > 0 (got -0.1)"),
    ("beta_type", {"sequence.1.method.init_args.beta": "big"}, "beta: expected a number, got str 'big'"),
    ("reference_choice", {"sequence.1.method.init_args.reference": "copy"},
     "reference: must be one of 'cached', 'adapter', 'frozen_copy'"),
    ("lr_range", {"sequence.1.method.init_args.optimizer": {"lr": 0}}, "optimizer.lr must be > 0"),
    ("scheduler_choice", {"sequence.1.method.init_args.optimizer": {"scheduler": "step"}},
     "optimizer.scheduler: must be one of"),
    ("runtime_arg", {"sequence.0.method.init_args": {"policy": "x"}}, "supplied by lit-align at run time"),
    ("init_args_type", {"sequence.0.method.init_args": [1]}, "expected a mapping of arguments for SFTModule"),
    ("key_beside_class_path", {"sequence.1.method.beta": 0.2}, "put arguments under init_args"),
    ("model_arg_typo", {"model.init_args.layers": 2}, "model.init_args.layers: unknown key for TinyModelSpec"),
    ("model_arg_type", {"model.init_args.arch": "bert"}, "model.init_args.arch: must be one of 'gpt2', 'llama'"),
    ("trainer_typo", {"trainer.max_epoch": 1},
     "trainer.max_epoch: unknown key for lightning.Trainer; did you mean 'max_epochs'"),
    ("task_trainer_typo", {"sequence.0.trainer": {"max_step": 1}}, "sequence[0].trainer.max_step: unknown key"),
    ("missing_train", {"sequence.0.data.train": _DELETE}, "sequence[0].data.train: required key for DataConfig"),
    ("batch_size_range", {"sequence.0.data.batch_size": 0}, "sequence[0].data.batch_size must be > 0"),
    ("over_length_choice", {"sequence.0.data.over_length": "cut"},
     "over_length: must be one of 'truncate', 'drop', 'error'"),
    ("bad_rows_choice", {"sequence.0.data.bad_rows": "skip"}, "bad_rows: must be one of 'error', 'drop'"),
    ("prompt_too_long", {"sequence.1.data.max_prompt_length": 64},
     "sequence[1].data: max_prompt_length (64) must be < max_length (64)"),
    ("source_key_typo", {"sequence.0.data.train.data_file": "x"}, "did you mean 'data_files'"),
    ("tracking_backend", {"tracking.backend": "wandb"}, "tracking.backend: must be one of 'mlflow', 'none'"),
    ("task_missing_name", {"sequence.0.name": _DELETE}, "sequence[0].name: required key for TaskConfig"),
]

DATA_CASES = [
    ("missing_file", {"sequence.0.data.train.data_files": "DATA/missing.jsonl"},
     "sequence[0].data.train: cannot find dataset"),
    ("missing_column_pref", {"sequence.1.data.train.data_files": "DATA/no_rejected.jsonl"},
     "sequence[1].data.train: missing column(s) 'rejected' for preference data"),
    ("missing_column_sft", {"sequence.0.data.train.data_files": "DATA/no_completion.jsonl"},
     "sequence[0].data.train: missing column(s) 'completion' for sft data"),
    ("records_and_path", {"sequence.0.data.train.records": [{"text": "a"}]}, "give either 'records' or 'path'"),
    ("no_source", {"sequence.0.data.train": {"split": "train"}},
     "set 'path' (a dataset or file builder) or inline 'records'"),
    ("bad_split", {"sequence.0.data.train.split": "nope"}, "sequence[0].data.train: cannot load 'json'"),
]

FIT_CASES = [
    ("empty_response", {"sequence": "DPO_ONLY", "sequence.0.data.train.data_files": "DATA/empty.jsonl"},
     "sequence[0].data.train row 2: 'chosen' response is empty [empty_response]"),
    ("identical_pair", {"sequence": "DPO_ONLY", "sequence.0.data.train.data_files": "DATA/identical.jsonl"},
     "row 1: chosen and rejected are identical [identical_pair]"),
    ("over_length", {"sequence": "DPO_ONLY", "sequence.0.data.train.data_files": "DATA/long.jsonl",
                     "sequence.0.data.over_length": "error"},
     "row 0: longer than max_length=64 tokens [over_length]"),
    ("unknown_loss", {"sequence": "DPO_ONLY", "sequence.0.method.init_args.loss": "sigmoidd"},
     "method.init_args.loss: unknown loss 'sigmoidd'"),
    ("loss_args_unknown", {"sequence": "DPO_ONLY", "sequence.0.method.init_args.loss_args": {"gamma": 1.0}},
     "loss_args.gamma: unknown key for loss 'sigmoid'"),
    ("adapter_without_lora", {"sequence": "DPO_ONLY", "sequence.0.method.init_args.reference": "adapter"},
     "'adapter' needs a LoRA policy"),
    ("heads_do_not_divide", {"model.init_args.n_head": 5}, "d_model (32) must be divisible by n_head (5)"),
]


def _run(command: str, cfg: dict, tmp_path: Path, capsys) -> tuple[int, str]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code = main([command, "--config", str(path)])
    return code, capsys.readouterr().err


def _apply(cfg: dict, changes: dict, data_dir: Path) -> dict:
    cfg = copy.deepcopy(cfg)
    for key, value in changes.items():
        if value == "DPO_ONLY":
            cfg["sequence"] = cfg["sequence"][1:]
            continue
        if isinstance(value, str) and value.startswith("DATA/"):
            value = str(data_dir / value[5:])
        _set(cfg, key, value)
    return cfg


REJECTED = [("validate", *c) for c in VALIDATE_CASES + DATA_CASES] + [("fit", *c) for c in FIT_CASES]


@pytest.mark.parametrize("command,changes,expected", [(c[0], *c[2:]) for c in REJECTED],
                         ids=[f"{c[0]}-{c[1]}" for c in REJECTED])
def test_rejected_with_exit_2_and_one_message(command, changes, expected, data_dir, tmp_path, capsys):
    cfg = _apply(base_config(data_dir, tmp_path / "out"), changes, data_dir)
    code, err = _run(command, cfg, tmp_path, capsys)
    assert code == 2
    assert expected in err
    assert "Traceback" not in err


def test_base_config_is_valid(data_dir, tmp_path, capsys):
    code, err = _run("validate", base_config(data_dir, tmp_path / "out"), tmp_path, capsys)
    assert code == 0, err


def test_all_problems_reported_at_once(data_dir, tmp_path, capsys):
    changes = {"seed": "x", "sequence.1.method.init_args.beta": 0, "trainer.max_epoch": 1}
    code, err = _run("validate", _apply(base_config(data_dir, tmp_path), changes, data_dir), tmp_path, capsys)
    assert code == 2
    assert "3 config problems" in err


@pytest.mark.parametrize("argv,expected", [
    (["validate", "--config", "missing.yaml"], "config file not found: missing.yaml"),
    (["validate", "--config", "configs/quickstart.yaml", "novalue"], "is not KEY=VALUE"),
])
def test_cli_argument_errors(argv, expected, capsys):
    assert main(argv) == 2
    assert expected in capsys.readouterr().err


def test_yaml_syntax_error_in_subprocess(tmp_path):
    """The installed entry point: exit 2, one line on stderr, no traceback."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    proc = subprocess.run([sys.executable, "-m", "lit_align.cli", "validate", "--config", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "cannot parse" in proc.stderr
    assert "Traceback" not in proc.stderr
