"""A frozen twin of a LoRA policy's adapter on the same base model.

A method that needs the policy as it was at the task's start (MUSCLE's new teacher, a
distillation target) would otherwise hold a deep copy of the whole model. When the policy
is a LoRA model the base is frozen and shared anyway, so the twin can be a second adapter
on the same base: one base in memory instead of two, the copy costing only the adapter.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import torch


def add_frozen_twin(model: Any, name: str) -> None:
    """Add adapter `name` to a PeftModel with the active adapter's config and weights, frozen."""
    active = model.active_adapter
    model.add_adapter(name, copy.deepcopy(model.peft_config[active]))
    params = dict(model.named_parameters())
    with torch.no_grad():
        for key, value in params.items():
            if f".{active}." in key:
                params[key.replace(f".{active}.", f".{name}.")].copy_(value)
    for key, value in params.items():
        if f".{name}." in key:
            value.requires_grad_(False)


@contextlib.contextmanager
def through_adapter(model: Any, name: str) -> Iterator[Any]:
    """Forward passes inside go through adapter `name`; the active adapter and every
    parameter's `requires_grad` are restored after (peft's `set_adapter` changes both)."""
    active = model.active_adapter
    flags = {key: p.requires_grad for key, p in model.named_parameters()}
    model.set_adapter(name)
    try:
        yield model
    finally:
        model.set_adapter(active)
        for key, p in model.named_parameters():
            p.requires_grad_(flags[key])


def remove_twin(model: Any, name: str) -> None:
    if name in model.peft_config:
        model.delete_adapter(name)
