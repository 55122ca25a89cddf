import pytest

from lit_align.config.load import load_config, save_config
from lit_align.errors import ConfigError


def test_merge_in_order_overrides_and_interpolation(tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("vars: {root: /data}\nx: 1\nnested: {p: '${vars.root}/f.jsonl', q: 2}\n")
    b.write_text("x: 2\nnested: {q: 3}\n")
    cfg = load_config([str(a), str(b)], ["nested.q=4", "y=[1,2]"])
    assert cfg == {"vars": {"root": "/data"}, "x": 2, "nested": {"p": "/data/f.jsonl", "q": 4}, "y": [1, 2]}


def test_list_index_override(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("sequence:\n  - {name: t, method: {init_args: {beta: 0.1}}}\n")
    cfg = load_config([str(a)], ["sequence.0.method.init_args.beta=0.2"])
    assert cfg["sequence"][0]["method"]["init_args"]["beta"] == 0.2


def test_errors_are_one_line_and_name_the_thing(tmp_path):
    with pytest.raises(ConfigError, match="config file not found: .*missing.yaml"):
        load_config([str(tmp_path / "missing.yaml")])
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="cannot parse .*bad.yaml as YAML"):
        load_config([str(bad)])
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config([str(lst)])
    ok = tmp_path / "ok.yaml"
    ok.write_text("a: ${nope}\n")
    with pytest.raises(ConfigError, match="cannot resolve interpolation at a"):
        load_config([str(ok)])
    with pytest.raises(ConfigError, match="is not KEY=VALUE"):
        load_config([str(ok)], ["novalue"])


def test_save_config_roundtrip(tmp_path):
    save_config({"a": {"b": [1, 2]}}, tmp_path / "out" / "config.yaml")
    assert load_config([str(tmp_path / "out" / "config.yaml")]) == {"a": {"b": [1, 2]}}


def test_changing_class_path_replaces_the_component(tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("model: {class_path: tiny, init_args: {n_layer: 2}}\n")
    b.write_text("model: {class_path: hf, init_args: {name_or_path: x}}\n")
    assert load_config([str(a), str(b)])["model"] == {"class_path": "hf", "init_args": {"name_or_path": "x"}}
    same = tmp_path / "same.yaml"
    same.write_text("model: {class_path: tiny, init_args: {d_model: 32}}\n")
    assert load_config([str(a), str(same)])["model"]["init_args"] == {"n_layer": 2, "d_model": 32}
    assert load_config([str(a)], ["model.class_path=hf"])["model"] == {"class_path": "hf"}
    assert load_config([str(a)], ["model.class_path=tiny"])["model"]["init_args"] == {"n_layer": 2}
