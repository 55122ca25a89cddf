"""Keep a command's output to lit-align's own lines unless `--verbose`.

Dependencies print progress bars for dataset builders, Lightning's device-availability
lines, adverts and deprecation warnings about their own internals; none of it tells the user
anything about their run. Environment switches are set before those libraries are imported,
logging filters and warning filters after. Import-light: `lit-align --help` stays fast.
"""

from __future__ import annotations

import logging
import os
import warnings

_ENV = {
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",  # "Generating train split: ..."
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",  # "Loading weights", dequantisation bars
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "MLFLOW_LOGGING_LEVEL": "WARNING",  # mlflow configures its logger on import; "Creating initial ... tables"
}
_DROPPED_PREFIXES = ("GPU available", "TPU available", "HPU available", "💡 Tip", "You are using a CUDA device",
                     "`Trainer.fit` stopped")
_DEPENDENCIES = r"(lightning|pytorch_lightning|lightning_fabric|transformers|peft|torch|datasets|deepspeed|mlflow)"


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith(_DROPPED_PREFIXES) or "litlogger" in message)


def quiet_output() -> None:
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero",
                 "lightning.pytorch.accelerators.cuda"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise())
    for name in ("mlflow", "alembic"):  # database-creation INFO lines of the local store
        logging.getLogger(name).setLevel(logging.WARNING)
    for category in (UserWarning, FutureWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category, module=_DEPENDENCIES)
