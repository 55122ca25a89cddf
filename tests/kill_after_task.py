"""`python -m tests.kill_after_task N <lit-align args>`: run lit-align and die like `kill -9`
(exit 137, nothing cleaned up) on every rank right after task N is committed. The resume
tests' way to interrupt a run at a known point, kept out of the package: it overrides the
runner's `after_commit` hook and makes spawned ranks run this module too."""

from __future__ import annotations

import os
import sys


def main() -> None:
    from lit_align import cli
    from lit_align.continual import runner
    from lit_align.scale import launch

    index, argv = int(sys.argv[1]), sys.argv[2:]

    def die_after(self: runner.TaskSequenceRunner, committed: int) -> None:
        if committed == index:
            os._exit(137)

    runner.TaskSequenceRunner.after_commit = die_after  # type: ignore[method-assign]
    launch.WORKER_COMMAND = ["-m", "tests.kill_after_task", str(index)]
    sys.exit(cli.main(argv))


if __name__ == "__main__":
    main()
