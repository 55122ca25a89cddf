"""A fit's output is lit-align's own lines unless --verbose: no dataset-builder bars, device
lines or MLflow table creation; when stdout is not a terminal, progress comes as plain lines,
and under max_steps the rich bar never reads `Epoch 0/-2`."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.conftest import write_jsonl
from tests.test_cli_errors import GOOD_PAIR

pytestmark = pytest.mark.integration
NOISE = ("Generating train split", "GPU available", "TPU available", "Creating initial MLflow database",
         "`Trainer.fit` stopped", "litlogger", "Loading `train_dataloader` to estimate")


def _fit(tmp_path, *extra):
    write_jsonl(tmp_path / "pref.jsonl", [GOOD_PAIR] * 8)
    cfg = {"output_dir": str(tmp_path / "run"), "export": "none",
           "model": {"class_path": "tiny", "init_args": {"n_layer": 1, "d_model": 32, "n_head": 2}},
           "trainer": {"max_steps": 4, "accelerator": "cpu", "log_every_n_steps": 2},
           "sequence": [{"name": "dpo", "method": {"class_path": "dpo"},
                         "data": {"train": {"path": "json", "data_files": str(tmp_path / "pref.jsonl")},
                                  "batch_size": 2, "max_length": 64, "max_prompt_length": 32}}]}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    return subprocess.run([sys.executable, "-m", "lit_align.cli", "fit", "--config", str(tmp_path / "c.yaml"),
                           *extra], capture_output=True, text=True)


def test_output_is_lit_aligns_own_with_plain_progress(tmp_path):
    done = _fit(tmp_path)
    assert done.returncode == 0, done.stderr
    both = done.stdout + done.stderr
    assert not [n for n in NOISE if n in both], both
    assert "[dpo] step 2/4 loss" in done.stdout and "[dpo] step 4/4" in done.stdout
    assert "[dpo] training done: 4 steps" in done.stdout


def test_verbose_keeps_the_dependencies_output(tmp_path):
    done = _fit(tmp_path, "--verbose")
    assert done.returncode == 0, done.stderr
    assert "GPU available" in done.stdout + done.stderr


def test_rich_bar_names_max_steps_instead_of_a_negative_epoch():
    from unittest.mock import MagicMock

    from lit_align.continual.progress import StepAwareProgressBar

    bar = StepAwareProgressBar()
    trainer = MagicMock(max_epochs=-1, max_steps=40)
    bar._trainer = trainer
    assert bar._get_train_description(0).strip() == "Epoch 0 (max_steps 40)"
    trainer.max_epochs = 3
    assert bar._get_train_description(1).strip() == "Epoch 1/2"
