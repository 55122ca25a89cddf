"""Save a trained policy as a Hugging Face model directory that serves anywhere (used by every
module's export; the `lit-align export` command is `lit_align.export`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ADAPTER_SUBDIR = "adapter"


def export_policy(policy: Any, directory: str | Path, *, merge_lora: bool = True) -> Path:
    """Write model + tokenizer with `save_pretrained` (safetensors).

    With LoRA, `merge_lora` folds the adapter into a copy of the base weights so
    the directory loads with plain `AutoModelForCausalLM.from_pretrained`, and the
    adapter alone (a few MB, for `peft` or `lit-align compose`) goes to `adapter/`
    inside it; without `merge_lora` only the adapter is written, at `directory`.
    """
    import copy

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    model = policy.model
    if policy.is_peft and merge_lora:
        model.save_pretrained(out / ADAPTER_SUBDIR, safe_serialization=True)
        policy.tokenizer.save_pretrained(out / ADAPTER_SUBDIR)
        model = copy.deepcopy(model).merge_and_unload()
    model.save_pretrained(out, safe_serialization=True)
    policy.tokenizer.save_pretrained(out)
    return out
