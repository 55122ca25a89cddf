"""Committed results never carry the paths of the machine that made them.

Every absolute path inside the repository is written relative to it (`benchmarks/.cache/...`);
any other absolute path is reduced to `<outside>/<name>`, which says it was scratch space.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
_ABSOLUTE = re.compile(r"(?<![\w.])/(?:[\w.+-]+/)*[\w.+-]+")


def relative_paths(text: str, repo: Path = REPO) -> str:
    root = str(repo).rstrip("/") + "/"
    text = text.replace(root, "")

    def outside(match: re.Match[str]) -> str:
        path = match.group(0)
        return path if path.count("/") < 2 else f"<outside>/{path.rsplit('/', 1)[-1]}"

    return _ABSOLUTE.sub(outside, text)


def write_results_json(path: Path, payload: Any, **dumps: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(relative_paths(json.dumps(payload, **dumps)))


def write_results_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(relative_paths(text))
