"""One run per output directory: a lock file holding the owner's pid."""

from __future__ import annotations

import os
from pathlib import Path

from lit_align.errors import UserError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputDirLock:
    """Refuses a second concurrent run into the same directory; stale locks are taken over."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / ".lit-align.lock"

    def __enter__(self) -> OutputDirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    owner = int(self.path.read_text().strip() or 0)
                except (OSError, ValueError):
                    owner = 0
                if owner and owner != os.getpid() and _alive(owner):
                    raise UserError(
                        f"output_dir {self.path.parent} is in use by another lit-align run "
                        f"(pid {owner}); wait for it or set a different output_dir"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its owner died
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            return self
        raise UserError(f"cannot take the lock {self.path}; delete it if no run is active")

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)
