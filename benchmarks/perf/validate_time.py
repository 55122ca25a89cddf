"""How long `lit-align validate` takes, and how much of it is importing the libraries (V1).

Each measurement is a fresh process, as a user's command is. Three commands interleave A B C A B C
(this machine is noisy): the import floor (`import lightning, datasets`: what any command that
checks a method class against its signature must import), `lit-align --help` (the CLI alone), and
`lit-align validate --config <config>`. Medians of `--repeats`; the machine is named.

    python -m benchmarks.perf.validate_time [--repeats 7] [--config configs/quickstart.yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"


def commands(config: str) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "lit_align.cli"]
    return {
        "import floor (lightning, datasets)": [sys.executable, "-c", "import lightning, datasets"],
        "lit-align --help": [*cli, "--help"],
        f"lit-align validate --config {config}": [*cli, "validate", "--config", config],
    }


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--config", default="configs/quickstart.yaml")
    args = parser.parse_args()
    named = commands(args.config)
    seconds: dict[str, list[float]] = {name: [] for name in named}
    for _ in range(args.repeats):
        for name, command in named.items():
            seconds[name].append(round(wall(command), 3))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    validate = medians[f"lit-align validate --config {args.config}"]
    floor = medians["import floor (lightning, datasets)"]
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load_average_at_end": os.getloadavg()[0],
        "repeats": args.repeats,
        "seconds": seconds,
        "median_seconds": medians,
        "validate_minus_import_floor": round(validate - floor, 3),
        "target_V1_seconds": 5.0,
        "met": validate <= 5.0,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "validate_time.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# `lit-align validate` wall time (V1: <= 5 s on 2 quiet cores)", "",
             f"Machine: {result['machine']}; load average at the end {result['load_average_at_end']:.2f}; "
             f"{args.repeats} interleaved repeats, fresh process each.", "",
             "| command | median s | all |", "|---|---|---|"]
    lines += [f"| {name} | {medians[name]:.2f} | {', '.join(f'{v:.2f}' for v in values)} |"
              for name, values in seconds.items()]
    verdict = "met" if result["met"] else "not met"
    lines += ["", f"V1 {verdict}: validate {validate:.2f} s, of which {floor:.2f} s is importing lightning and "
              f"datasets; lit-align's own imports and checks take {validate - floor:.2f} s.", ""]
    (RESULTS / "validate_time.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
