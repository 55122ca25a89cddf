"""`lit-align feedback build|eval`: data from a config, cached by the config's hash, scored by a judge."""

import json

import pytest
import yaml

from lit_align.cli import main
from lit_align.errors import DataError
from lit_align.feedback.build import config_hash, load_feedback_config
from tests.conftest import REPO
from tests.feedback import stub_server

TINY = {"class_path": "tiny", "init_args": {"n_layer": 1, "d_model": 32, "n_head": 2, "vocab_size": 400}}


def write_config(tmp_path, **changes):
    cfg = {"feedback": "When you talk about an animal, end your answer with an exclamation mark.",
           "generator": {"class_path": "synthetic_feedback", "init_args": {"rule": "exclaim_animals"}},
           "model": TINY, "output_dir": str(tmp_path / "data"),
           "judge": {"class_path": "rule_judge", "init_args": {"rule": "exclaim_animals"}},
           "n_in": 8, "n_near": 8, "n_out": 8, "test_fraction": 0.25,
           "sampling": {"max_new_tokens": 6, "temperature": 0.0}} | changes
    path = tmp_path / "feedback.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_build_writes_train_and_test_and_reuses_them_for_the_same_config(tmp_path, capsys):
    config = write_config(tmp_path)
    assert main(["feedback", "build", "--config", config]) == 0
    assert capsys.readouterr().out.startswith("built: 6 training rows")
    data = tmp_path / "data"
    train, test = read_jsonl(data / "train.jsonl"), read_jsonl(data / "test.jsonl")
    assert len(train) == 6 and [r["scope"] for r in test] == ["in"] * 2 + ["near"] * 2 + ["out"] * 2
    # held-out prompts never appear in training rows
    trained = {r[k] for r in train for k in ("prompt", "near_prompt", "out_prompt")}
    assert not trained & {r["prompt"] for r in test}
    assert all(r["chosen"].endswith("!") and r["chosen"] != r["rejected"] for r in train)
    before = (data / "train.jsonl").stat().st_mtime_ns
    assert main(["feedback", "build", "--config", config]) == 0
    assert capsys.readouterr().out.startswith("reused") and (data / "train.jsonl").stat().st_mtime_ns == before
    assert main(["feedback", "build", "--config", config, "n_in=12"]) == 0  # another config: rebuilt
    # 9 in-scope pairs, 6 near- and out-of-scope answers: 6 complete rows, the 3 extra pairs counted
    assert "built: 6 training rows, test prompts {'in': 3, 'near': 2, 'out': 2}, left out {'unpaired': 3}" in \
        capsys.readouterr().out


def test_config_hash_ignores_where_data_goes_and_how_it_is_judged():
    raw = {"feedback": "f", "n_in": 4, "output_dir": "a", "judge": {"class_path": "x"}}
    assert config_hash(raw) == config_hash(raw | {"output_dir": "b", "judge": None})
    assert config_hash(raw) != config_hash(raw | {"n_in": 5})


def test_config_hash_counts_a_local_file_by_its_bytes_not_its_path(tmp_path):
    first, second = tmp_path / "a" / "pool.jsonl", tmp_path / "b" / "pool.jsonl"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text('{"prompt": "What is rain?"}\n')

    def raw(path):
        return {"feedback": "f", "out_of_scope": {"path": "json", "data_files": [str(path)]}}

    assert config_hash(raw(first)) == config_hash(raw(second))  # the same pool from another checkout
    second.write_text('{"prompt": "What is snow?"}\n')
    assert config_hash(raw(first)) != config_hash(raw(second))  # an edited pool rebuilds
    assert config_hash({"feedback": "f", "model": "no/such/file"}) != config_hash({"feedback": "f", "model": "x"})
    long_feedback = "Answer every question about animals " * 10  # longer than a file name may be
    assert config_hash({"feedback": long_feedback}) != config_hash({"feedback": long_feedback + "!"})


def _build_through_the_stub(tmp_path, *, stub_revises: bool):
    """`feedback build` with the stub endpoint writing prompts (and revisions, when asked);
    returns the requests it received and the build report."""
    server, state, url = stub_server.start()
    try:
        stub = {"class_path": "openai_chat", "init_args": {"base_url": url, "model": "stub", "backoff_seconds": 0.0}}
        generator = {"class_path": "llm_feedback",
                     "init_args": {"num_categories": 2, "backend": stub, **({"reviser": stub} if stub_revises else {})}}
        out_of_scope = {"records": [{"prompt": f"Name {n} colors."} for n in ("one", "two", "three", "four")]}
        config = write_config(tmp_path, generator=generator, out_of_scope=out_of_scope, n_in=4, n_near=4, n_out=4,
                              test_fraction=0.0)
        assert main(["feedback", "build", "--config", config]) == 0
    finally:
        server.shutdown()
    return state.requests, json.loads((tmp_path / "data" / "report.json").read_text())


def test_build_through_an_openai_compatible_endpoint(tmp_path):
    _, report = _build_through_the_stub(tmp_path, stub_revises=True)
    # the stub repeats prompts across categories and offers 3 near-scope ones: duplicates and shortfall reported
    assert report["train_rows"] == 3
    assert report["left_out"] == {"duplicate_in_scope_prompt": 2, "duplicate_near_scope_prompt": 3,
                                  "near_scope_shortfall": 1, "unpaired": 2}
    rows = read_jsonl(tmp_path / "data" / "train.jsonl")
    assert all(r["chosen"].endswith("!") for r in rows)
    assert {r["out_prompt"] for r in rows} <= {f"Name {n} colors." for n in ("one", "two", "three", "four")}
    assert report["reviser"].startswith("OpenAIChatBackend")


def test_by_default_pi0_revises_its_own_answers(tmp_path):
    requests, report = _build_through_the_stub(tmp_path, stub_revises=False)
    asks = [r["messages"][0]["content"] for r in requests]
    assert asks and not any("Original answer:" in a for a in asks)  # the endpoint wrote prompts only
    assert report["reviser"] == "PolicyChatBackend(pi_0)"
    assert report["left_out"]["cannot_revise"] == 2  # a random tiny pi_0 revises badly: counted, not hidden


def test_out_of_scope_source_needs_a_prompt_column(tmp_path):
    config = write_config(tmp_path, out_of_scope={"records": [{"question": "x"}]})
    with pytest.raises(DataError, match="no `prompt` column"):
        main(["feedback", "build", "--config", config, "--debug"])


def test_eval_scores_an_exported_model_and_the_unchanged_model_changes_nothing(tmp_path, tiny_policy, capsys):
    config = write_config(tmp_path, model=TINY)
    assert main(["feedback", "build", "--config", config]) == 0
    model_dir = tmp_path / "pi0"
    from lit_align.models import TinyModelSpec

    pi0 = TinyModelSpec(**TINY["init_args"]).build()
    pi0.model.save_pretrained(model_dir)
    pi0.tokenizer.save_pretrained(model_dir)
    report_path = tmp_path / "eval.json"
    assert main(["feedback", "eval", "--config", config, "--model", str(model_dir), "--out", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    # pi_0 answering its own test prompts again (greedy) reproduces its baselines: no adherence gained, none lost
    assert report["s_in"] == 0 and report["s_out"] == 0 and report["s_overall"] == 0.5
    assert {s: v["n"] for s, v in report["scopes"].items()} == {"in": 2, "near": 2, "out": 2}


def test_in_context_baseline_scores_pi0_with_the_feedback_in_its_prompt(tmp_path):
    from lit_align.feedback.build import evaluate_model

    config = write_config(tmp_path, model=TINY)
    assert main(["feedback", "build", "--config", config]) == 0
    cfg, _ = load_feedback_config(config)
    plain = evaluate_model(cfg, None)  # pi_0 from the config, as built: its own baselines again
    assert all(v["changed"] == 0 for v in plain["scopes"].values())
    in_context = evaluate_model(cfg, None, in_context=True)
    assert any(v["changed"] > 0 for v in in_context["scopes"].values())  # the feedback text moved its answers
    assert main(["feedback", "eval", "--config", config, "--in-context", "--out", str(tmp_path / "ic.json")]) == 0
    assert json.loads((tmp_path / "ic.json").read_text())["s_in"] == in_context["s_in"]


def test_eval_errors_name_the_fix(tmp_path, capsys):
    config = write_config(tmp_path, judge=None)
    assert main(["feedback", "eval", "--config", config, "--model", str(tmp_path)]) == 2
    assert "judge: set a judge" in capsys.readouterr().err
    config = write_config(tmp_path)
    assert main(["feedback", "eval", "--config", config, "--model", str(tmp_path)]) == 2
    assert "run `lit-align feedback build" in capsys.readouterr().err
    assert main(["feedback", "eval", "--config", config]) == 2
    assert "give --model DIR (an exported model directory), or --in-context" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(p.stem for p in (REPO / "configs" / "feedback").glob("*.yaml")))
def test_shipped_feedback_configs_load(name, monkeypatch):
    monkeypatch.chdir(REPO)
    cfg, raw = load_feedback_config(f"configs/feedback/{name}.yaml")
    assert cfg.generator.instantiate() is not None  # the generator and its backends build (models load lazily)
    if name.startswith("synthetic"):  # the committed data is what the config builds
        report = json.loads((REPO / cfg.output_dir / "report.json").read_text())
        assert report["config_hash"] == config_hash(raw) and report["train_rows"] > 0
