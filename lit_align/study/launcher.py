"""Launchers: where a study's runs execute. Each run is `lit-align fit --config <run>/config.yaml`
in its own process, so a run of a study is exactly what a user reruns by hand, and the
runner's resume is the only cache.

`LocalLauncher` runs `jobs` processes at a time on this machine with `threads` torch threads
each, so that jobs x threads <= cores: two processes at two threads each on two cores spin-wait
and ran 23x slower here. `SubmititLauncher` hands the same commands to a cluster through
submitit (Slurm, or its local executor for a test). A launcher of one's own subclasses
`Launcher` and is named by `class_path` under `launcher:`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from lit_align.binding import Range
from lit_align.errors import ConfigError


@dataclass(frozen=True)
class RunJob:
    """One run: its label (`arm/order-seed`), directory and the config `fit` reads."""

    label: str
    run_dir: Path
    config_path: Path

    def command(self) -> list[str]:
        return [sys.executable, "-m", "lit_align.cli", "fit", "--config", str(self.config_path)]


@dataclass(frozen=True)
class RunOutcome:
    job: RunJob
    returncode: int
    error: str | None  # the last line the run printed on stderr, when it failed


def thread_env(threads: int) -> dict[str, str]:
    """The environment that caps torch, OpenMP and MKL at `threads` intra-op threads."""
    value = str(threads)
    return {**os.environ, "OMP_NUM_THREADS": value, "MKL_NUM_THREADS": value, "TOKENIZERS_PARALLELISM": "false"}


def run_locally(job: RunJob, threads: int) -> RunOutcome:
    """Run one job to completion, its output in `<run_dir>/study.log`."""
    job.run_dir.mkdir(parents=True, exist_ok=True)
    with open(job.run_dir / "study.log", "a", encoding="utf-8") as log:
        done = subprocess.run(job.command(), stdout=log, stderr=subprocess.PIPE, text=True, env=thread_env(threads))
        log.write(done.stderr)
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    return RunOutcome(job, done.returncode, None if done.returncode == 0 else (lines[-1] if lines else
                                                                                f"exit code {done.returncode}"))


class Launcher:
    """Runs jobs and yields each outcome as it finishes (the study records it at once)."""

    def launch(self, jobs: list[RunJob]) -> Iterator[RunOutcome]:
        raise NotImplementedError(f"{type(self).__name__} must implement launch(jobs)")


class LocalLauncher(Launcher):
    """`jobs` processes at a time; `threads` per job (default: cores // jobs, at least 1)."""

    def __init__(self, *, jobs: Annotated[int, Range(ge=1)] = 1,
                 threads: Annotated[int, Range(ge=1)] | None = None) -> None:
        cores = os.cpu_count() or 1
        self.jobs = jobs
        self.threads = threads or max(1, cores // jobs)
        if self.jobs * self.threads > cores:
            raise ConfigError(f"launcher.init_args: {jobs} jobs x {self.threads} threads exceeds the {cores} cores "
                              f"here; processes that share cores spin-wait (measured 23x slower): lower jobs or "
                              f"threads")

    def launch(self, jobs: list[RunJob]) -> Iterator[RunOutcome]:
        if self.jobs == 1:  # in order, one at a time: a kill leaves at most one run unfinished
            for job in jobs:
                yield run_locally(job, self.threads)
            return
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = [pool.submit(run_locally, job, self.threads) for job in jobs]
            for future in as_completed(futures):
                yield future.result()


class SubmititLauncher(Launcher):
    """The same commands through submitit: `cluster: slurm` on a Slurm cluster (with
    `slurm_args` passed to the executor, e.g. partition, time), `cluster: local` for
    submitit's local executor (tests, a workstation). Logs go to `folder`."""

    def __init__(self, *, folder: str, cluster: str = "slurm", threads: Annotated[int, Range(ge=1)] = 1,
                 timeout_min: Annotated[int, Range(ge=1)] = 60, slurm_args: dict[str, str | int] | None = None
                 ) -> None:
        self.folder, self.cluster, self.threads = folder, cluster, threads
        self.timeout_min, self.slurm_args = timeout_min, dict(slurm_args or {})

    def _executor(self) -> object:
        try:
            import submitit
        except ImportError as exc:
            raise ConfigError("launcher: submitit_launcher needs the submitit package; pip install submitit "
                              "(or the [cluster] extra)") from exc
        executor = submitit.AutoExecutor(folder=self.folder, cluster=self.cluster)
        executor.update_parameters(timeout_min=self.timeout_min, cpus_per_task=self.threads,
                                   **({f"slurm_{k}": v for k, v in self.slurm_args.items()}
                                      if self.cluster == "slurm" else {}))
        return executor

    def launch(self, jobs: list[RunJob]) -> Iterator[RunOutcome]:
        executor = self._executor()
        submitted = [(job, executor.submit(run_locally, job, self.threads)) for job in jobs]  # type: ignore[attr-defined]
        for job, handle in submitted:
            try:
                yield handle.result()
            except Exception as exc:  # noqa: BLE001 - the cluster lost the job: recorded as failed, the study goes on
                yield RunOutcome(job, 1, f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1:]}")

