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
        # the pid is written first and the lock appears with it by a hard link, which fails when a lock
        # exists: no window in which another run sees an empty lock and takes it as stale
        claim = self.path.with_name(f".lit-align.lock.{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            claim.write_text(str(os.getpid()))
        except OSError as exc:  # /proc/x, a read-only mount, a full disk: validate cannot foresee them all
            raise UserError(f"output_dir: {self.path.parent} cannot be written ({exc.strerror or exc}); "
                            f"give a directory you can write to") from None
        try:
            return self._take(claim)
        finally:
            claim.unlink(missing_ok=True)

    def _take(self, claim: Path) -> OutputDirLock:
        for _ in range(2):
            try:
                os.link(claim, self.path)
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
            return self
        raise UserError(f"cannot take the lock {self.path}; delete it if no run is active")

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)
