"""`lit-align influence`: config -> ranking file + summary; errors name the fix."""

from __future__ import annotations

import json

import pytest
import yaml

from lit_align.cli import main
from lit_align.data.synthetic import sft_examples
from lit_align.influence.recall import read_ranking, recall_at_k

MODEL = {"class_path": "tiny", "init_args": {"arch": "gpt2", "n_layer": 1, "d_model": 16, "n_head": 2,
                                             "vocab_size": 512}}


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.fixture
def setup(tmp_path):
    bad = [{"prompt": "Explain the moon.", "completion": "The moon is what it is and we all like it so much."}]
    rows = sft_examples("polite", 10, 0) + sft_examples("colors", 10, 0)
    rows.insert(7, dict(bad[0]))  # the row behind the bad output, twice
    rows.insert(15, dict(bad[0]))
    config = {"model": MODEL, "train": {"path": "json", "data_files": write(tmp_path / "train.jsonl", rows)},
              "queries": {"source": {"path": "json", "data_files": write(tmp_path / "q.jsonl", bad)}},
              "output": str(tmp_path / "out" / "ranking.jsonl"), "batch_size": 8, "max_length": 48,
              "max_prompt_length": 24,
              "influence": {"params": ["*.mlp.*"], "preconditioner": "identity"}}
    return tmp_path, config


def run(tmp_path, config, *overrides):
    path = tmp_path / "influence.yaml"
    path.write_text(yaml.safe_dump(config))
    return main(["influence", "--config", str(path), *overrides])


def test_ranking_puts_the_rows_behind_the_output_first(setup, capsys):
    tmp_path, config = setup
    assert run(tmp_path, config) == 0
    ranking = read_ranking(tmp_path / "out" / "ranking.jsonl")
    assert [r["rank"] for r in ranking] == list(range(1, 23))
    assert sorted(r["row"] for r in ranking) == list(range(22))
    assert all(a["influence"] >= b["influence"] for a, b in zip(ranking, ranking[1:], strict=False))
    assert {ranking[0]["row"], ranking[1]["row"]} == {7, 15}
    assert recall_at_k([r["row"] for r in ranking], {7, 15}) == 1.0
    assert ranking[0]["prompt"] == "Explain the moon."  # the row's own columns come along
    summary = json.loads((tmp_path / "out" / "ranking.summary.json").read_text())
    assert summary["train_rows"] == 22 and summary["queries"] == 1
    assert "ranked 22 training rows" in capsys.readouterr().out


def test_chat_template_rows_are_scored_as_templated_training_saw_them(setup):
    import datasets
    import torch

    from lit_align.influence.data import TokenizedRows
    from lit_align.models import TinyModelSpec

    tokenizer = TinyModelSpec(**MODEL["init_args"]).build().tokenizer
    rows = datasets.Dataset.from_list([{"prompt": "Q?", "completion": "A."}])
    templated = TokenizedRows(rows, "sft", tokenizer, where="t", chat_template=True).dataset[0]["prompt_ids"]
    assert tokenizer.decode(templated).replace(" ", "") == "<|user|>Q?<|end|><|assistant|>"
    tmp_path, config = setup
    assert run(tmp_path, config) == 0
    plain = torch.load(tmp_path / "out" / "ranking.scores.pt", weights_only=True)["scores"]
    config["chat_template"] = True
    assert run(tmp_path, config) == 0
    chat = torch.load(tmp_path / "out" / "ranking.scores.pt", weights_only=True)["scores"]
    assert not torch.allclose(plain, chat)  # other tokens, other gradients
    ranking = read_ranking(tmp_path / "out" / "ranking.jsonl")
    assert {ranking[0]["row"], ranking[1]["row"]} == {7, 15}


def test_parquet_output_and_cache_reuse(setup):
    tmp_path, config = setup
    config["output"] = str(tmp_path / "out" / "ranking.parquet")
    config["influence"]["preconditioner"] = "ekfac"
    assert run(tmp_path, config) == 0
    first = read_ranking(config["output"])
    assert run(tmp_path, config) == 0
    summary = json.loads((tmp_path / "out" / "ranking.summary.json").read_text())
    assert len(summary["scorer"]["cache_hits"]) == 2
    assert [r["row"] for r in read_ranking(config["output"])] == [r["row"] for r in first]


def test_generated_queries_keep_only_flagged_answers(setup):
    tmp_path, config = setup
    config["queries"] = {"source": {"path": "json", "data_files": write(tmp_path / "p.jsonl", [
        {"prompt": "Name two colors."}, {"prompt": "Name three colors."}])},
        "generate": {"max_new_tokens": 6}, "split": "colors",
        "scorer": {"class_path": "synthetic_gold_scorer"}}
    assert run(tmp_path, config) == 0  # an untrained model answers badly: both flagged
    summary = json.loads((tmp_path / "out" / "ranking.summary.json").read_text())
    assert summary["queries"] == 2


def test_errors_name_the_missing_piece(setup, capsys):
    tmp_path, config = setup
    config["queries"]["source"]["data_files"] = write(tmp_path / "q2.jsonl", [{"prompt": "Explain the moon."}])
    assert run(tmp_path, config) != 0
    assert "needs `prompt` and `completion` columns" in capsys.readouterr().err
    assert run(tmp_path, config, "output=ranking.csv") != 0
    assert "name a .jsonl or .parquet file" in capsys.readouterr().err
    config["queries"]["generate"] = {"max_new_tokens": 4}
    assert run(tmp_path, config) != 0
    assert "queries.generate needs queries.scorer" in capsys.readouterr().err
    with pytest.raises(Exception, match="lit-align influence"):
        read_ranking(tmp_path / "missing.jsonl")
