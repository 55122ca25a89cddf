"""Fit a tiny model to rows in a plain loop: influence tests and benchmarks need a model near a
minimum of its training loss (influence functions assume one), in seconds, without a Trainer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


def fit_rows(model: Any, batches: Callable[[], Iterable[dict[str, torch.Tensor]]], *, epochs: int,
             lr: float = 3e-3) -> Any:
    """AdamW on the mean summed response NLL over `epochs` passes of `batches()`; returns the
    model in eval mode."""
    from lit_align.influence.gradients import row_losses

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for batch in batches():
            loss = row_losses(model, batch, "sft").mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()
