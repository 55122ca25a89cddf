"""What a user's extension must hand back, checked where the package receives it.

`validate` checks names and arguments; it cannot run a user's function. So the first value a
loss, a `compute_loss`, a memory policy, `select_for_memory` or a scorer returns is checked
here, and a wrong one ends the run with one line naming the user's code and the type it must
return, instead of an `AttributeError` deep inside the package or a silent no-op.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from lit_align.errors import UserError


class ExtensionError(UserError):
    """A user's loss, module, policy, scorer or hook returned what its contract does not allow."""


def qualified_name(obj: Any) -> str:
    """`my_losses.sppo_hard`, `my_methods.MyDPO.compute_loss`: where the user finds the code."""
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}.{name}" if module else name


def describe(value: Any) -> str:
    if hasattr(value, "shape"):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {len(value)} item(s)"
    return type(value).__name__


def expect_instance(value: Any, expected: type, owner: str, contract: str) -> Any:
    """`value` when it is an `expected`; else one line naming `owner` (the user's code) and `contract`."""
    if not isinstance(value, expected):
        raise ExtensionError(f"{owner} returned {describe(value)}; it must return {contract}")
    return value


def expect_scores(scores: Any, rows: int, owner: str) -> list[float] | None:
    """None, or one finite-or-not number per row (`select_for_memory`, a scorer's `score`)."""
    if scores is None:
        return None
    if hasattr(scores, "tolist"):  # a tensor or an array of scores is fine
        scores = scores.tolist()
    if not isinstance(scores, Sequence) or isinstance(scores, (str, bytes)):
        raise ExtensionError(f"{owner} returned {describe(scores)}; it must return a list of {rows} numbers "
                             f"(one per row) or None")
    if len(scores) != rows:
        raise ExtensionError(f"{owner} returned {len(scores)} score(s) for {rows} rows; it must return one number "
                             f"per row, in row order, or None")
    for score in scores:
        if not isinstance(score, numbers.Real) or isinstance(score, bool):
            raise ExtensionError(f"{owner} returned a score of type {type(score).__name__}; scores must be numbers")
    return [float(s) for s in scores]
