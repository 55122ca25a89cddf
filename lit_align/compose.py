"""Compose updates of one base model by adding their weight deltas: W = W_0 + sum_i w_i (W_i - W_0).

C3PO trains one LoRA adapter per piece of feedback; the paper composes feedbacks by adding the
adapters' low-rank deltas (phi' = phi_1 + phi_2). This does that exactly for adapter directories
(`adapter_config.json`, merged into the base one at a time) and for merged or fully fine-tuned
model directories (task arithmetic), so any run's exported `tasks/<task>/model` can be composed.
Only two models are held in memory at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from lit_align.errors import DataError, UserError


def _load_update(base_dir: str, update_dir: str) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForCausalLM

    path = Path(update_dir)
    if not path.is_dir():
        raise DataError(f"update {update_dir}: not a directory; pass exported model or adapter directories")
    if (path / "adapter_config.json").is_file():
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(base_dir)
        return PeftModel.from_pretrained(base, update_dir).merge_and_unload().state_dict()
    if not (path / "config.json").is_file():
        raise DataError(f"update {update_dir}: neither a model (config.json) nor a LoRA adapter "
                        "(adapter_config.json) directory")
    return AutoModelForCausalLM.from_pretrained(update_dir).state_dict()


def _check_tokenizers(base_dir: str, update_dirs: Sequence[str]) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    for d in update_dirs:
        if (Path(d) / "tokenizer_config.json").is_file() and AutoTokenizer.from_pretrained(d).get_vocab() != \
                tokenizer.get_vocab():
            raise UserError(f"update {d}: its tokenizer differs from the base's ({base_dir}); deltas of models "
                            "with different vocabularies do not add up")
    return tokenizer


def compose_updates(base_dir: str, update_dirs: Sequence[str], out_dir: str,
                    weights: Sequence[float] | None = None) -> Path:
    """Write the composed model (and the base's tokenizer) to `out_dir`."""
    from transformers import AutoModelForCausalLM

    if not update_dirs:
        raise UserError("compose: give at least one update directory")
    weights = list(weights) if weights is not None else [1.0] * len(update_dirs)
    if len(weights) != len(update_dirs):
        raise UserError(f"compose: {len(weights)} weights for {len(update_dirs)} updates; give one per update")
    tokenizer = _check_tokenizers(base_dir, update_dirs)
    model = AutoModelForCausalLM.from_pretrained(base_dir)
    base = {k: v.clone() for k, v in model.state_dict().items()}
    total = {k: torch.zeros_like(v) for k, v in base.items() if v.is_floating_point()}
    for update_dir, weight in zip(update_dirs, weights, strict=True):
        update = _load_update(base_dir, update_dir)
        missing = sorted(set(total) - set(update))
        if missing or any(update[k].shape != base[k].shape for k in total):
            bad = missing[0] if missing else next(k for k in total if update[k].shape != base[k].shape)
            raise UserError(f"update {update_dir}: parameter {bad!r} is missing or has another shape than in the "
                            f"base {base_dir}; updates must share the base's architecture")
        for k in total:
            total[k] += weight * (update[k].to(total[k].dtype) - base[k])
        del update
    model.load_state_dict({k: base[k] + total[k] if k in total else base[k] for k in base})
    out = Path(out_dir)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out
