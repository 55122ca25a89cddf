import json

import datasets
import pytest

from lit_align.config.data import SourceConfig
from lit_align.data.sources import load_source
from lit_align.errors import DataError

ROWS = [{"prompt": f"q{i}", "chosen": "a", "rejected": "b"} for i in range(5)]


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_file_builders(fmt, tmp_path):
    path = tmp_path / f"rows.{fmt}"
    ds = datasets.Dataset.from_list(ROWS)
    {"json": ds.to_json, "csv": ds.to_csv, "parquet": ds.to_parquet}[fmt](str(path))
    out = load_source(SourceConfig(path=fmt, data_files=str(path), limit=3), "w")
    assert len(out) == 3 and out[0]["prompt"] == "q0"


def test_local_directory_and_records(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    assert len(load_source(SourceConfig(path=str(tmp_path / "d")), "w")) == 5
    assert load_source(SourceConfig(records=ROWS[:2]), "w")["prompt"] == ["q0", "q1"]


def test_hh_format_conversion():
    rows = [{"chosen": "\n\nHuman: Q\n\nAssistant: good", "rejected": "\n\nHuman: Q\n\nAssistant: bad"}]
    out = load_source(SourceConfig(records=rows, format="hh_rlhf"), "w")
    assert sorted(out.column_names) == ["chosen", "prompt", "rejected"]
    assert out[0]["rejected"] == " bad"


def test_errors_name_the_source(tmp_path):
    with pytest.raises(DataError, match="w: cannot find dataset"):
        load_source(SourceConfig(path="json", data_files=str(tmp_path / "none.jsonl")), "w")
    with pytest.raises(DataError, match="w.records: is empty"):
        load_source(SourceConfig(records=[]), "w")
    with pytest.raises(DataError, match="not in the 'hh_rlhf' layout"):
        load_source(SourceConfig(records=[{"x": 1}], format="hh_rlhf"), "w")


SHP_ROWS = [  # the published column layout of stanfordnlp/SHP
    {"post_id": "p1", "domain": "askculinary_train", "upvote_ratio": 0.9, "history": "How do I fry?",
     "c_root_id_A": "a", "c_root_id_B": "b", "created_at_utc_A": 1, "created_at_utc_B": 2, "score_A": 10,
     "score_B": 3, "human_ref_A": "Hot oil.", "human_ref_B": "Cold pan.", "labels": 1, "seconds_difference": 1.0,
     "score_ratio": 3.3},
    {"post_id": "p2", "domain": "askphysics_train", "upvote_ratio": 0.8, "history": "Why is the sky blue?",
     "c_root_id_A": "c", "c_root_id_B": "d", "created_at_utc_A": 1, "created_at_utc_B": 2, "score_A": 1,
     "score_B": 9, "human_ref_A": "Magic.", "human_ref_B": "Rayleigh scattering.", "labels": 0,
     "seconds_difference": 1.0, "score_ratio": 9.0},
]


def test_shp_converter_and_domain_filter(tmp_path):
    path = tmp_path / "shp.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in SHP_ROWS))
    both = load_source(SourceConfig(path="json", data_files=str(path), format="shp"), "w")
    assert sorted(both["domain"]) == ["askculinary", "askphysics"]
    physics = load_source(SourceConfig(path="json", data_files=str(path), format="shp",
                                       filter={"domain": "askphysics"}), "w")
    assert physics[0]["chosen"] == "Rayleigh scattering." and physics[0]["rejected"] == "Magic."
    with pytest.raises(DataError, match="no row matches"):
        load_source(SourceConfig(path="json", data_files=str(path), format="shp", filter={"domain": "x"}), "w")
    with pytest.raises(DataError, match="filter: no column"):
        load_source(SourceConfig(path="json", data_files=str(path), filter={"nope": 1}), "w")


def test_ultrafeedback_converter_renders_through_the_chat_template(tmp_path, tiny_policy):
    from lit_align.data.records import render_preference

    row = {"prompt": "Hi?", "prompt_id": "x", "score_chosen": 8.0, "score_rejected": 3.0,
           "chosen": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello!"}],
           "rejected": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Go."}],
           "messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello!"}]}
    path = tmp_path / "uf.parquet"
    datasets.Dataset.from_list([row]).to_parquet(str(path))
    out = load_source(SourceConfig(path="parquet", data_files=str(path), format="ultrafeedback"), "w")
    assert out[0]["margin"] == 5.0
    rendered = render_preference(out[0], tiny_policy.tokenizer)
    assert rendered.prompt == "<|user|>Hi?<|end|><|assistant|>"  # the user turn appears once
    assert rendered.responses == ["Hello!<|end|>", "Go.<|end|>"]


def test_limit_with_a_seed_samples_across_the_file():
    from lit_align.config.data import SourceConfig
    from lit_align.data.sources import load_source

    rows = [{"text": f"r{i}", "domain": "a" if i < 50 else "b"} for i in range(100)]
    first = load_source(SourceConfig(records=rows, limit=10), "t")
    assert set(first["domain"]) == {"a"}  # file order: one group only
    sampled = load_source(SourceConfig(records=rows, limit=10, limit_seed=0), "t")
    assert set(sampled["domain"]) == {"a", "b"} and len(sampled) == 10
    assert sampled["text"] == load_source(SourceConfig(records=rows, limit=10, limit_seed=0), "t")["text"]
