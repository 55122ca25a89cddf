"""Reference-policy log-probs, three ways (design §5).

- `cached` (default): one no-grad pass at task start writes the reference's
  log-probs into the datasets as columns; training then runs one forward per step.
- `adapter`: with LoRA, the base weights (adapter disabled) are the reference.
- `frozen_copy`: a frozen deep copy of the policy, for methods that need
  reference logits online.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any, Literal

import torch

from lit_align.data.collate import Collator, iter_batches
from lit_align.data.columns import with_column
from lit_align.errors import ConfigError
from lit_align.modules.forward import LogprobMode, response_logprobs

ReferenceMode = Literal["cached", "adapter", "frozen_copy"]
REF_COLUMNS = ("ref_chosen_logps", "ref_rejected_logps")


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[Any]:
    """No-grad eval mode (dropout off), restoring the previous mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


@contextlib.contextmanager
def dropout_off(model: Any) -> Iterator[Any]:
    """Eval mode (dropout off) with gradients still on: for a term that must be measured the
    way its reference value was (COPR's constraints vs their thresholds)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextlib.contextmanager
def adapter_disabled(model: Any) -> Iterator[Any]:
    with model.disable_adapter():
        yield model


def pair_logprobs(
    model: Any, batch: dict[str, torch.Tensor], *, average: bool, mode: LogprobMode = "auto"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Chosen and rejected log-probs `(B,)`, `(B,)` from one concatenated forward."""
    chosen, rejected = response_logprobs(model, batch, average=average, mode=mode).logps.chunk(2)
    return chosen, rejected


def compute_reference_columns(
    model: Any,
    dataset: Any,
    collator: Collator,
    *,
    batch_size: int,
    average: bool,
    device: torch.device,
    mode: LogprobMode = "auto",
    context: Callable[[Any], contextlib.AbstractContextManager[Any]] | None = None,
) -> tuple[list[float], list[float]]:
    """One no-grad pass over `dataset`: reference log-probs of every pair, in order."""
    chosen_all: list[float] = []
    rejected_all: list[float] = []
    ctx = context or contextlib.nullcontext
    with eval_mode(model), ctx(model):
        for batch in iter_batches(dataset, collator, batch_size, device):
            chosen, rejected = pair_logprobs(model, batch, average=average, mode=mode)
            chosen_all += chosen.float().tolist()
            rejected_all += rejected.float().tolist()
    return chosen_all, rejected_all


def with_reference_columns(dataset: Any, chosen: list[float], rejected: list[float]) -> Any:
    """Return `dataset` with the cached reference columns (replacing stale ones)."""
    return with_column(with_column(dataset, REF_COLUMNS[0], chosen), REF_COLUMNS[1], rejected)


def freeze(model: Any) -> Any:
    """`model` itself in eval mode with every parameter frozen (a teacher or reference)."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def frozen_copy(model: Any) -> Any:
    return freeze(copy.deepcopy(model))


def check_mode(mode: ReferenceMode, policy_is_peft: bool) -> None:
    if mode == "adapter" and not policy_is_peft:
        raise ConfigError(
            "method.init_args.reference: 'adapter' needs a LoRA policy; set model.init_args.lora "
            "or use reference: cached"
        )
