"""Trainer arguments checked by Lightning's own rules before anything is built.

`lit-align validate` builds a `lightning.Trainer` from each task's merged trainer arguments
(strategy aside: lit-align resolves its own names) and turns Lightning's refusal into one
line naming the task. A Trainer holds no model and writes nothing until `fit`, so this is
cheap and exact: a rule Lightning adds later is checked too. Two rules are lit-align's
own: a run that would train nothing (`max_steps: 0`, `max_epochs: 0`) is refused rather
than reported as trained.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

_NOT_PROBED = ("strategy", "logger", "callbacks", "plugins", "default_root_dir")


def trainer_problems(kwargs: dict[str, Any], where: str) -> list[str]:
    for key in ("max_steps", "max_epochs"):
        if kwargs.get(key) == 0:
            return [f"{where}.{key}: 0 trains nothing; remove it or set at least 1"]
    accelerator = str(kwargs.get("accelerator", "auto")).lower()
    if accelerator in ("gpu", "cuda"):
        import torch

        if not torch.cuda.is_available():
            return [f"{where}.accelerator: {accelerator!r} but this machine has no usable GPU "
                    f"(torch.cuda.is_available() is False); use accelerator: cpu or auto"]
    import lightning as L

    probe = {k: v for k, v in kwargs.items() if k not in _NOT_PROBED}
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    level = rank_zero.level
    rank_zero.setLevel(logging.ERROR)  # "GPU available: False" lines belong to fit, not validate
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            L.Trainer(**{"enable_checkpointing": False, "enable_progress_bar": False,
                         "enable_model_summary": False, **probe, "logger": False})
    except Exception as exc:  # Lightning raises MisconfigurationException, ValueError, RuntimeError, ...
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [f"{where}: Lightning refuses these Trainer arguments: {message} (fix that argument)"]
    finally:
        rank_zero.setLevel(level)
    return []
