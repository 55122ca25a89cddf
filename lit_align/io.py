"""Atomic file writes: a reader (or a resumed run) never sees half a file.

Import-light on purpose: config saving uses it before torch is loaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write to a hidden sibling, then rename over `path` (atomic on one filesystem)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, target)


def atomic_write_json(path: str | os.PathLike[str], payload: Any, *, indent: int | None = 2) -> None:
    atomic_write_text(path, json.dumps(payload, indent=indent))
