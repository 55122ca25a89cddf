"""Save a trained policy as a Hugging Face model directory that serves anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def export_policy(policy: Any, directory: str | Path, *, merge_lora: bool = True) -> Path:
    """Write model + tokenizer with `save_pretrained` (safetensors).

    With LoRA, `merge_lora` folds the adapter into a copy of the base weights so
    the directory loads with plain `AutoModelForCausalLM.from_pretrained`;
    otherwise only the adapter is written (load it with `peft`).
    """
    import copy

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    model = policy.model
    if policy.is_peft and merge_lora:
        model = copy.deepcopy(model).merge_and_unload()
    model.save_pretrained(out, safe_serialization=True)
    policy.tokenizer.save_pretrained(out)
    return out
