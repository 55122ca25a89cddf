"""The one rule for a run's files: nothing outside `output_dir` is written or deleted.

Task names and `state.json` end up in paths (`checkpoints/000-<task>`, `tasks/<task>/model`).
Names are validated, and every path the runner, the checkpoint writer and the exporter write
or remove is resolved here and refused unless it lies inside the output directory, so a
crafted `state.json` or a name that slipped past validation cannot reach anything else.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from lit_align.errors import UserError

TASK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def task_name_problem(name: object, where: str) -> str | None:
    """Why `name` cannot name a task (it becomes a directory name), or None."""
    if not isinstance(name, str) or not TASK_NAME.fullmatch(name) or ".." in name:
        return (f"{where}: task name {name!r} must be 1-64 letters, digits, '_', '-' or '.', starting with a "
                f"letter or digit (it names directories under output_dir); e.g. 'helpful_v2'")
    return None


def contained(output_dir: Path, *parts: str | Path) -> Path:
    """`output_dir/parts...`, refused unless it resolves to a path strictly inside `output_dir`."""
    root = Path(output_dir).resolve()
    target = root.joinpath(*parts).resolve()
    if target == root or not target.is_relative_to(root):
        raise UserError(f"refusing to write or delete {target}: it is outside output_dir {root} (a task name "
                        f"or state.json names a path above it); fix the task name or start a new output_dir")
    return target


def remove_tree(output_dir: Path, *parts: str | Path) -> Path:
    """Delete a directory inside `output_dir` (missing is fine; anything else is refused);
    returns the resolved path it removed."""
    target = contained(output_dir, *parts)
    if target.is_symlink():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    return target


def fresh_dir(output_dir: Path, *parts: str | Path) -> Path:
    """An empty directory inside `output_dir` (a partial one from a crashed attempt is replaced)."""
    target = remove_tree(output_dir, *parts)
    target.mkdir(parents=True)
    return target
