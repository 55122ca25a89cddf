"""The quickstart through the real CLI: trains, logs to MLflow, exports a servable model."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from lit_align.cli import main
from tests.conftest import REPO

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("qs") / "run"
    shutil.copytree(REPO / "benchmarks" / "data", out.parent / "benchmarks" / "data")
    code = main([
        "fit", "--config", str(REPO / "configs" / "quickstart.yaml"),
        f"output_dir={out}", f"vars.data_dir={out.parent / 'benchmarks/data/quickstart'}",
        "trainer.enable_progress_bar=false",
    ])
    assert code == 0
    return out


def test_results_show_learning(quickstart_run):
    results = json.loads((quickstart_run / "results.json").read_text())
    tasks = {t["name"]: t for t in results["tasks"]}
    assert list(tasks) == ["sft", "dpo_polite"]
    assert tasks["sft"]["metrics"]["val/perplexity"] < 10  # vocab 512: uniform would be ~512
    assert tasks["dpo_polite"]["metrics"]["val/accuracy"] > 0.8  # held-out pairs
    assert (quickstart_run / "config.yaml").is_file()
    assert not (quickstart_run / ".lit-align.lock").exists()


def test_mlflow_has_one_run_per_task_with_metrics(quickstart_run):
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{quickstart_run / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("lit-align")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.tags["task"] for r in runs) == ["dpo_polite", "sft"]
    dpo = next(r for r in runs if r.data.tags["task"] == "dpo_polite")
    assert "val/accuracy" in dpo.data.metrics and "train/loss" in dpo.data.metrics
    history = client.get_metric_history(dpo.info.run_id, "train/loss")
    assert len(history) >= 2


def test_export_loads_with_from_pretrained_and_identical_logits(quickstart_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = quickstart_run / "tasks" / "dpo_polite" / "model"
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    ids = tok("Tell me about the cat.", return_tensors="pt").input_ids
    again = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    with torch.no_grad():
        assert torch.equal(model(ids).logits, again(ids).logits)
    assert tok.chat_template is not None


def test_evaluate_scores_an_exported_checkpoint_against_the_base(quickstart_run):
    model_dir = quickstart_run / "tasks" / "dpo_polite" / "model"
    data = quickstart_run.parent / "benchmarks/data/quickstart"
    out = quickstart_run.parent / "eval"
    code = main(["evaluate", "--config", str(REPO / "configs" / "quickstart.yaml"), "--checkpoint",
                 str(model_dir), f"output_dir={out}", f"vars.data_dir={data}"])
    assert code == 0
    report = json.loads((out / "evaluation.json").read_text())
    assert report["tasks"]["dpo_polite"]["val/accuracy"] > 0.8
    assert report["tasks"]["sft"]["val/perplexity"] < 100  # uniform over the vocabulary: ~512
