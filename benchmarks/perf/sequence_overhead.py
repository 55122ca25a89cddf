"""Share of a 4-task sequence's wall time that is not training (targets.md P3).

Runs the quickstart sequence (SFT, then DPO on three domains with replay) on a
4-layer GPT-2 (d=128, vocab 2048) and reads the runner's own per-phase timings:
data loading, reference caching, training (Lightning fit, including its
per-epoch validation), memory updates, evaluation of every domain, checkpoint,
export.

    python -m benchmarks.perf.sequence_overhead [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"
from benchmarks.results_io import write_results_json  # noqa: E402

PHASES = ("setup", "data", "reference_caching", "train", "method_end", "evaluation", "checkpoint", "export")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    import torch

    from lit_align.cli import main as cli

    torch.set_num_threads(2)
    out = Path(tempfile.mkdtemp()) / "run"
    code = cli([
        "fit", "--config", str(REPO / "configs" / "quickstart.yaml"), f"output_dir={out}",
        f"vars.data_dir={REPO / 'benchmarks/data/quickstart'}", "tracking.backend=none",
        "trainer.enable_progress_bar=false", f"trainer.max_epochs={args.epochs}",
        "model.init_args.n_layer=4", "model.init_args.d_model=128", "model.init_args.vocab_size=2048",
    ])
    if code != 0:
        raise SystemExit(code)
    results = json.loads((out / "results.json").read_text())
    timings = results["timings"]
    summary = {
        "machine": f"{platform.machine()}, 2 threads, {platform.platform()}",
        "torch": torch.__version__,
        "epochs_per_task": args.epochs,
        "tasks": [t["name"] for t in results["tasks_detail"]],
        "timings_seconds": timings,
        "non_training_share": timings["non_training_share"],
        "per_task": {t["name"]: t["seconds"] for t in results["tasks_detail"]},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_results_json(RESULTS / "sequence_overhead.json", summary, indent=2)
    lines = [
        "# Sequence overhead: share of wall time that is not training (P3)",
        "",
        f"{summary['machine']}; torch {summary['torch']}; quickstart sequence (SFT + 3 DPO domains, replay 10%/0.2) "
        f"on a 4-layer GPT-2 (d=128, vocab 2048), {args.epochs} epochs per task.",
        "",
        "| phase | seconds | share |",
        "|---|---|---|",
    ]
    wall = timings["wall"]
    for phase in PHASES:
        if phase in timings:
            lines.append(f"| {phase} | {timings[phase]:.2f} | {timings[phase] / wall:.1%} |")
    lines += [f"| **wall** | {wall:.2f} | |", "",
              f"Not training: **{timings['non_training_share']:.1%}** of wall time (target <= 20%)."]
    (RESULTS / "sequence_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
