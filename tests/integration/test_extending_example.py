"""docs/extending.md's example: a new continual method from one Python file and one YAML."""

import json

import pytest

from lit_align.cli import main
from tests.conftest import REPO

pytestmark = pytest.mark.integration


def test_user_method_runs_from_its_own_file(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(REPO / "docs" / "examples"))
    monkeypatch.chdir(REPO)
    config = "docs/examples/l2_anchor.yaml"
    assert main(["validate", "--config", config]) == 0
    assert main(["validate", "--config", config, "sequence.0.method.init_args.anchor_wieght=1"]) == 2
    assert "did you mean 'anchor_weight'" in capsys.readouterr().err
    out = tmp_path / "run"
    assert main(["fit", "--config", config, f"output_dir={out}", "tracking.backend=none",
                 "trainer.enable_progress_bar=false", "trainer.max_epochs=null", "trainer.max_steps=6"]) == 0
    results = json.loads((out / "results.json").read_text())
    metrics = results["tasks_detail"][1]["metrics"]
    assert metrics["train/l2_anchor"] > 0
    assert results["tasks"] == ["polite", "short"] and "bwt" in results["metrics"]


def test_user_loss_and_memory_policy_run_from_their_own_files(tmp_path, monkeypatch, capsys):
    """docs/extending.md: a loss and a replay policy in the user's modules, named by dotted path."""
    monkeypatch.syspath_prepend(str(REPO / "docs" / "examples"))
    monkeypatch.chdir(REPO)
    config = "docs/examples/own_loss_and_memory.yaml"
    assert main(["validate", "--config", config]) == 0
    # validate checks the loss's own arguments and the policy's, with suggestions
    assert main(["validate", "--config", config, "vars.method.init_args.loss_args.targt=1"]) == 2
    assert "loss_args.targt: unknown key for loss 'sppo_hard.sppo_hard'; did you mean 'target'" in \
        capsys.readouterr().err
    assert main(["validate", "--config", config, "vars.method.init_args.loss=sppo_hard.nope"]) == 2
    assert "module 'sppo_hard' has no 'nope'" in capsys.readouterr().err
    assert main(["validate", "--config", config, "memory.policy.init_args.colum=x"]) == 2
    assert "did you mean 'column'" in capsys.readouterr().err
    out = tmp_path / "run"
    assert main(["fit", "--config", config, f"output_dir={out}", "tracking.backend=none",
                 "trainer.enable_progress_bar=false", "trainer.max_epochs=null", "trainer.max_steps=4"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["tasks"] == ["polite", "short"]
    memory = json.loads(next((out / "checkpoints").iterdir()).joinpath("memory.json").read_text())
    kept = memory["policy"]["rows_by_task"]
    assert sorted(kept) == ["polite", "short"] and sum(map(len, kept.values())) <= 16
    polite = kept["polite"]  # the longest chosen responses, longest first
    assert [len(r["chosen_ids"]) for r in polite] == sorted((len(r["chosen_ids"]) for r in polite), reverse=True)
