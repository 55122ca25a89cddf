"""One run per output directory: a live owner refuses a second run, a dead owner's lock is
taken over, and the lock goes when the run ends."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lit_align.continual.lock import OutputDirLock
from lit_align.errors import UserError


def test_a_live_owner_refuses_and_the_lock_goes_with_the_run(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / ".lit-align.lock").write_text(str(sleeper.pid))
        with pytest.raises(UserError, match=rf"in use by another lit-align run \(pid {sleeper.pid}\)"), \
                OutputDirLock(tmp_path):
            pass
    finally:
        sleeper.kill()
        sleeper.wait()
    with OutputDirLock(tmp_path) as lock:  # the owner is dead now: its lock is stale and taken over
        assert lock.path.read_text() == str(__import__("os").getpid())
    assert not (tmp_path / ".lit-align.lock").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no claim file left behind
