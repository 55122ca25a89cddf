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
ADVERTS = ("litlogger",)  # dropped wherever they appear in a line, on every run, --verbose or not
DEVICE_AND_LOOP_LINES = ("💡 Tip", "GPU available", "TPU available", "HPU available", "You are using a CUDA device",
                         "`Trainer.fit` stopped", "Loading `train_dataloader` to estimate")
# "[rank: 0] Received SIGTERM: 15": lit-align says what it does about the signal in its own line
SIGNAL_LINES = ("Received SIGTERM", "Bypassing SIGTERM")
_LIGHTNING_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero",
                      "lightning.pytorch.accelerators.cuda", "lightning.pytorch.trainer.connectors.signal_connector")
_DEPENDENCIES = r"(lightning|pytorch_lightning|lightning_fabric|transformers|peft|torch|datasets|deepspeed|mlflow)"


class _DropLines(logging.Filter):
    """Drops records whose message starts with one of `prefixes` or contains one of `substrings`."""

    def __init__(self, prefixes: tuple[str, ...], substrings: tuple[str, ...]) -> None:
        super().__init__()
        self.key = (prefixes, substrings)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        prefixes, substrings = self.key
        return not (message.startswith(prefixes) or any(s in message for s in substrings))


def drop_lightning_lines(*, prefixes: tuple[str, ...] = (), substrings: tuple[str, ...] = ()) -> None:
    """Filter Lightning's info lines; installing the same filter twice is a no-op."""
    for name in _LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropLines) and f.key == (prefixes, substrings) for f in logger.filters):
            logger.addFilter(_DropLines(prefixes, substrings))


def quiet_output() -> None:
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    drop_lightning_lines(substrings=ADVERTS)  # the same filter the runner installs: a no-op after it
    drop_lightning_lines(prefixes=DEVICE_AND_LOOP_LINES)
    drop_lightning_lines(substrings=SIGNAL_LINES)
    for name in ("mlflow", "alembic"):  # database-creation INFO lines of the local store
        logging.getLogger(name).setLevel(logging.WARNING)
    for category in (UserWarning, FutureWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category, module=_DEPENDENCIES)
