"""Pad tokenised rows into batches.

Preference batches hold chosen and rejected sequences stacked along the batch
axis, `(2B, T)`: rows `[:B]` are prompt+chosen and rows `[B:]` prompt+rejected,
so one forward pass scores both. Labels are -100 on prompt and padding tokens.
Float columns (e.g. cached reference log-probs) pass through as `(B,)` tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

IGNORE_INDEX = -100
RESPONSE_KEYS = {"preference": ("chosen_ids", "rejected_ids"), "sft": ("completion_ids",)}


def pad_sequences(
    prompts: list[list[int]], responses: list[list[int]], pad_id: int
) -> dict[str, torch.Tensor]:
    """Right-pad prompt+response sequences; labels mask the prompt and the padding."""
    lengths = [len(p) + len(r) for p, r in zip(prompts, responses, strict=True)]
    width = max(lengths)
    input_ids = torch.full((len(lengths), width), pad_id, dtype=torch.long)
    labels = torch.full((len(lengths), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(lengths), width), dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompts, responses, strict=True)):
        seq = torch.tensor(p + r, dtype=torch.long)
        input_ids[i, : len(seq)] = seq
        labels[i, len(p) : len(seq)] = seq[len(p) :]
        attention_mask[i, : len(seq)] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


@dataclass
class Collator:
    kind: str
    pad_id: int

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        keys = RESPONSE_KEYS[self.kind]
        prompts = [r["prompt_ids"] for r in rows]
        responses = [r[k] for k in keys for r in rows]
        batch = pad_sequences(prompts * len(keys), responses, self.pad_id)
        batch["row"] = torch.tensor([r["row"] for r in rows], dtype=torch.long)
        for key, value in rows[0].items():
            if isinstance(value, float):
                batch[key] = torch.tensor([r[key] for r in rows], dtype=torch.float32)
        return batch
