"""`lit-align compat`: similarity functions, flip bookkeeping on hand-made cases, the command and its gate."""

import json

import pytest
import yaml

from lit_align.cli import main
from lit_align.compat import compare_choice, compare_generative, exact_match, generative_items, overall, token_f1
from tests.conftest import write_jsonl


def test_token_f1_and_exact_match():
    # common tokens {the, cat}: P = 2/3, R = 2/4 -> F1 = 2 * (2/3 * 1/2) / (2/3 + 1/2) = 4/7
    assert token_f1("The cat sat", "the cat is here") == pytest.approx(4 / 7)
    assert token_f1("", "") == 1.0 and token_f1("a", "b") == 0.0
    assert exact_match(" a  b ", "a b") == 1.0 and exact_match("a", "A") == 0.0


def test_choice_flips_hand_made():
    # right before/after: [T,T,F,F] -> [T,F,T,T]: NFR 1/4 (row 1), PFR 2/4 (rows 2, 3);
    # NFR_mc: new wrong and different from old: row 1 only (row 3's old answer was wrong, new is right)
    out = compare_choice(old=[0, 1, 2, 0], new=[0, 2, 1, 1], target=[0, 1, 1, 1])
    assert out == {"n": 4, "old_accuracy": 0.5, "new_accuracy": 0.75, "nfr": 0.25, "pfr": 0.5, "nfr_mc": 0.25}
    # wrong -> differently wrong counts for NFR_mc but not NFR
    out = compare_choice(old=[2], new=[0], target=[1])
    assert out["nfr"] == 0.0 and out["nfr_mc"] == 1.0


def test_generative_flips_with_ties():
    # D = [0, -0.5, +0.4, 0]: ties are neither; gain 0.4 over 1 example, regression 0.5 over 1
    out = compare_generative([0.5, 1.0, 0.2, 0.3], [0.5, 0.5, 0.6, 0.3])
    assert out["nfr"] == 0.25 and out["pfr"] == 0.25
    assert out["mean_gain"] == pytest.approx(0.4) and out["mean_regression"] == pytest.approx(0.5)


def test_overall_weights_splits_by_size():
    assert overall({"a": {"n": 1, "nfr": 1.0, "pfr": 0.0}, "b": {"n": 3, "nfr": 0.0, "pfr": 1.0}}) == {
        "n": 4, "nfr": 0.25, "pfr": 0.75}


@pytest.fixture
def two_models(tmp_path):
    from lit_align.hf_export import export_policy
    from lit_align.models import TinyModelSpec

    paths = []
    for seed in (0, 1):
        policy = TinyModelSpec(n_layer=1, d_model=32, n_head=2, vocab_size=400, seed=seed).build()
        paths.append(str(export_policy(policy, tmp_path / f"m{seed}")))
    return paths


def _data(tmp_path, pref_rows, sft_rows):
    spec = {
        "splits": {
            "polite": {"source": {"path": "json", "data_files": str(write_jsonl(tmp_path / "p.jsonl", pref_rows))}},
            "short_gen": {"source": {"path": "json",
                                     "data_files": str(write_jsonl(tmp_path / "s.jsonl", sft_rows[:6]))},
                          "kind": "generative"},
        },
        "similarity": "token_f1",
        "max_new_tokens": 8,
    }
    path = tmp_path / "compat.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_compat_command_report_json_and_mlflow(tmp_path, two_models, pref_rows, sft_rows, capsys):
    data = _data(tmp_path, pref_rows, sft_rows)
    out = tmp_path / "report.json"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    code = main(["compat", "--old", two_models[0], "--new", two_models[1], "--data", str(data), "--out", str(out),
                 "--tracking-uri", uri])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["splits"]["polite"]["n"] == len(pref_rows) and report["splits"]["short_gen"]["n"] == 6
    assert {"nfr", "pfr", "nfr_mc", "old_accuracy"} <= report["splits"]["polite"].keys()
    assert {"mean_gain", "mean_regression"} <= report["splits"]["short_gen"].keys()
    assert "| **overall** |" in capsys.readouterr().out
    import mlflow

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["lit-align-compat"])
    assert len(runs) == 1 and "metrics.overall/nfr" in runs.columns


def test_gate_fails_only_when_nfr_is_above_the_limit(tmp_path, two_models, pref_rows, sft_rows, capsys):
    data = _data(tmp_path, pref_rows, sft_rows)
    same = ["compat", "--old", two_models[0], "--new", two_models[0], "--data", str(data)]
    assert main([*same, "--max-nfr", "0"]) == 0  # a model has no flips against itself
    report_args = ["compat", "--old", two_models[0], "--new", two_models[1], "--data", str(data), "--out",
                   str(tmp_path / "r.json")]
    assert main([*report_args, "--max-nfr", "-0.5"]) == 1
    assert "gate failed: NFR" in capsys.readouterr().err


def test_bad_data_file_is_a_user_error(tmp_path, two_models, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"splits": {"x": {"source": {"path": "json"}, "kind": "multiple"}}}))
    assert main(["compat", "--old", two_models[0], "--new", two_models[1], "--data", str(path)]) == 2
    assert "--data.splits.x.kind" in capsys.readouterr().err


def test_a_run_checkpoint_is_refused_with_the_export_path(tmp_path, two_models, pref_rows, sft_rows, capsys):
    ckpt = tmp_path / "checkpoints" / "000-task"
    ckpt.mkdir(parents=True)
    (ckpt / "policy.safetensors").write_bytes(b"")
    data = _data(tmp_path, pref_rows, sft_rows)
    assert main(["compat", "--old", str(ckpt), "--new", two_models[1], "--data", str(data)]) == 2
    assert "tasks/<task>/model" in capsys.readouterr().err
    assert main(["compat", "--old", str(tmp_path / "nope"), "--new", two_models[1], "--data", str(data)]) == 2
    assert "no such model directory" in capsys.readouterr().err


@pytest.mark.parametrize("row", [
    {"prompt": [{"role": "user", "content": "What is 2 + 3?"}], "completion": [{"role": "assistant", "content": "5"}]},
    {"messages": [{"role": "user", "content": "What is 2 + 3?"}, {"role": "assistant", "content": "5"}]},
])
def test_conversational_generative_rows_are_scored_against_the_assistants_words(tiny_policy, row):
    """The reference of a chat row is "5", not the template's "5<|im_end|>..." tail: an exact answer
    decoded without special tokens must match it (before the fix, exact match was 0 for every model)."""
    prompts, references = generative_items([row], tiny_policy.tokenizer, "t")
    assert references == ["5"] and exact_match("5", references[0]) == 1.0
    assert prompts[0].endswith(tiny_policy.tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2 + 3?"}], tokenize=False, add_generation_prompt=True)[-20:])
