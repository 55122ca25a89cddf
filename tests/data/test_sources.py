import json

import datasets
import pytest

from lit_align.data.config import SourceConfig
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
