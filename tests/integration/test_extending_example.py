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
