"""`data.onpolicy`: a task's pairs sampled from the policy as it stands when the task starts,
scored by a ResponseScorer; the same pairs after a kill and resume; a non-preference method
refused before anything runs."""

from __future__ import annotations

import json

import pytest
import yaml

from lit_align.cli import main
from lit_align.scorers import ResponseScorer
from tests.conftest import write_jsonl

pytestmark = pytest.mark.integration


class LengthScorer(ResponseScorer):
    """Longer answers score higher (a tiny random model's answers vary in length)."""

    def score(self, split, prompts, responses):
        return [len(r) / 10 for r in responses]


def _config(tmp_path, out, method="dpo"):
    from tests.continual.test_runner import sequence_config

    path, out_dir = sequence_config(tmp_path, out=out)
    cfg = yaml.safe_load(path.read_text())
    prompts = write_jsonl(tmp_path / "prompts.jsonl", [{"prompt": f"Tell me about thing {i}."} for i in range(6)])
    task = cfg["sequence"][1]
    task["data"]["train"] = {"path": "json", "data_files": str(prompts)}
    task["data"]["onpolicy"] = {"scorer": {"class_path": "tests.continual.test_onpolicy_tasks.LengthScorer"},
                                "k": 3, "max_new_tokens": 8, "min_gap": 0.1}
    task["method"] = {"class_path": method} if method != "dpo" else task["method"]
    path.write_text(yaml.safe_dump(cfg))
    return path, out_dir


def test_pairs_come_from_the_policy_at_the_task_start_and_match_after_a_resume(tmp_path):
    from tests.continual.test_runner import _fit_subprocess

    killed, killed_dir = _config(tmp_path, "killed")
    clean, clean_dir = _config(tmp_path, "clean")
    assert _fit_subprocess(killed, kill_after=0).returncode == 137
    for path in (killed, clean):
        proc = _fit_subprocess(path)
        assert proc.returncode == 0, proc.stderr[-2000:]
    pairs = [json.loads(line) for line in (clean_dir / "tasks" / "colors" / "onpolicy_pairs.jsonl").open()]
    report = json.loads((clean_dir / "tasks" / "colors" / "onpolicy_report.json").read_text())
    assert 0 < len(pairs) == report["pairs"] and report["pairs"] + sum(report["dropped"].values()) == 6
    for row in pairs:  # best vs worst of the sampled answers, by the scorer
        assert row["chosen_score"] == len(row["chosen"]) / 10 and row["rejected_score"] == len(row["rejected"]) / 10
        assert row["chosen_score"] - row["rejected_score"] >= 0.1
    results = json.loads((clean_dir / "results.json").read_text())
    detail = results["tasks_detail"][1]
    assert detail["data"][0].startswith(f"sequence[1].data.onpolicy: {len(pairs)} pairs from 6 prompts")
    assert detail["steps"] == 4 and "onpolicy_data" in detail["seconds"]
    assert (killed_dir / "tasks" / "colors" / "onpolicy_pairs.jsonl").read_text() == \
        (clean_dir / "tasks" / "colors" / "onpolicy_pairs.jsonl").read_text()
    resumed = json.loads((killed_dir / "results.json").read_text())
    assert resumed["matrix"] == results["matrix"]


def test_onpolicy_with_a_method_that_is_not_trained_on_pairs_is_refused(tmp_path, capsys):
    path, out_dir = _config(tmp_path, "sft", method="sft")
    assert main(["fit", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "data.onpolicy makes preference pairs" in err[0] and "trains on sft data" in err[0]
    assert not out_dir.exists()
