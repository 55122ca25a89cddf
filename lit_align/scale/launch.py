"""Start the worker processes of a multi-process run before anything else happens.

Lightning would launch workers itself at the first `Trainer.fit`, re-running the
command from the top while rank 0 is already past its pre-training work (data,
reference scores, tracking). lit-align runs many `fit`s per command, so it
launches every local rank up front instead: all ranks then execute the same
program from the start, and each later `Trainer` finds `LOCAL_RANK` set and joins
(exactly as under torchrun or SLURM, which this code leaves alone).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from lit_align.errors import ConfigError

EXTERNAL_LAUNCHER_VARS = ("LOCAL_RANK", "TORCHELASTIC_RUN_ID", "SLURM_PROCID")


def launched_externally() -> bool:
    return any(v in os.environ for v in EXTERNAL_LAUNCHER_VARS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Workers:
    """Local ranks 1..n-1 of this command; any of them failing takes the whole run down."""

    def __init__(self, procs: list[subprocess.Popen[bytes]]) -> None:
        self.procs = procs
        self._watch = threading.Thread(target=self._watch_failures, daemon=True)
        self._watch.start()

    def _watch_failures(self) -> None:
        while True:
            for proc in self.procs:
                code = proc.poll()
                if code not in (None, 0):
                    for other in self.procs:
                        if other.poll() is None:
                            other.kill()
                    print(f"lit-align: rank {self.procs.index(proc) + 1} exited with code {code}; "
                          f"stopping the run", file=sys.stderr, flush=True)
                    os._exit(code if code > 0 else 1)
            if all(p.poll() is not None for p in self.procs):
                return
            time.sleep(0.5)

    def stop(self) -> None:
        """Rank 0 failed: the workers would wait for it at the next collective until the timeout."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()

    def wait(self) -> int:
        """Exit status of the slowest worker once all have finished (0 when all succeeded)."""
        codes = [p.wait() for p in self.procs]
        return next((c for c in codes if c != 0), 0)


WORKER_COMMAND = ["-m", "lit_align.cli"]  # what each spawned rank runs, before the CLI arguments


def launch_local_ranks(processes: int, num_nodes: int, argv: Sequence[str]) -> Workers | None:
    """Spawn ranks 1..processes-1 running `lit-align <argv>`; this process becomes rank 0."""
    if processes <= 1 or launched_externally():
        return None
    if num_nodes > 1:
        raise ConfigError(f"trainer.num_nodes is {num_nodes}: start multi-node runs with torchrun or srun on "
                          f"every node (docs/scaling.md); lit-align launches local processes only")
    env = os.environ | {
        "MASTER_ADDR": os.environ.get("MASTER_ADDR", "127.0.0.1"),
        "MASTER_PORT": os.environ.get("MASTER_PORT", str(_free_port())),
        "WORLD_SIZE": str(processes),
        "NODE_RANK": "0",
    }
    procs = []
    for rank in range(1, processes):
        command = [sys.executable, *WORKER_COMMAND, *argv]
        procs.append(subprocess.Popen(command, env=env | {"LOCAL_RANK": str(rank), "RANK": str(rank)}))
    os.environ.update(env | {"LOCAL_RANK": "0", "RANK": "0"})
    return Workers(procs)
