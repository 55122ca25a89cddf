"""Kill -9 a sequence at random moments, resume it, and compare with an uninterrupted run (R1).

    python -m benchmarks.reliability.kill_resume [--trials 10]

Each trial starts `lit-align fit` on a 3-task tiny sequence (DPO + EWC + replay,
so method state and memory must survive), kills it with SIGKILL after a random
delay, runs `fit` again until it completes, and checks that every per-example
margin and every metric equals those of a clean run with the same seed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"
from benchmarks.results_io import write_results_json  # noqa: E402


def write_config(root: Path, out: Path) -> Path:
    from lit_align.data.synthetic import preference_pairs

    tasks = []
    for domain in ("polite", "colors", "short"):
        for split, n, seed in (("train", 96, 0), ("eval", 32, 1)):
            path = root / f"{domain}_{split}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in preference_pairs(domain, n, seed)))
        tasks.append({"name": domain, "method": {"class_path": "dpo_ewc", "init_args": {"optimizer": {"lr": 2e-3}}},
                      "data": {"train": {"path": "json", "data_files": str(root / f"{domain}_train.jsonl")},
                               "eval": {"path": "json", "data_files": str(root / f"{domain}_eval.jsonl")},
                               "batch_size": 8, "max_length": 48, "max_prompt_length": 24}})
    config = {"seed": 5, "output_dir": str(out), "export": "none", "tracking": {"backend": "none"},
              "model": {"class_path": "tiny", "init_args": {"n_layer": 2, "d_model": 64, "n_head": 4}},
              "trainer": {"max_epochs": 2, "accelerator": "cpu", "enable_progress_bar": False},
              "memory": {"per_task": 0.2, "replay_ratio": 0.2}, "evaluation": {"plots": False},
              "sequence": tasks}
    path = root / f"{out.name}.yaml"
    path.write_text(json.dumps(config))
    return path


def fit(config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lit_align.cli", "fit", "--config", str(config)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp())
    clean_cfg = write_config(root, root / "clean")
    start = time.perf_counter()
    proc = fit(clean_cfg)
    assert proc.wait() == 0, proc.stderr.read()
    clean_seconds = time.perf_counter() - start
    clean = json.loads((root / "clean" / "per_example.json").read_text())
    clean_metrics = json.loads((root / "clean" / "results.json").read_text())["metrics"]
    trials = []
    for trial in range(args.trials):
        out = root / f"trial{trial}"
        cfg = write_config(root, out)
        delay = rng.uniform(0.3, 0.95) * clean_seconds
        proc = fit(cfg)
        time.sleep(delay)
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state = out / "state.json"
        completed_at_kill = len(json.loads(state.read_text())["completed"]) if state.exists() else 0
        resumes = 0
        while not (out / "results.json").exists() or not json.loads((out / "results.json").read_text())["complete"]:
            again = fit(cfg)
            assert again.wait() == 0, again.stderr.read()
            resumes += 1
        got = json.loads((out / "per_example.json").read_text())
        metrics = json.loads((out / "results.json").read_text())["metrics"]
        equal = got["after"] == clean["after"] and metrics == clean_metrics
        trials.append({"trial": trial, "kill_after_s": round(delay, 2), "killed": killed,
                       "tasks_done_at_kill": completed_at_kill, "resumes": resumes, "equal": equal})
        print(trials[-1], flush=True)
    passed = sum(t["equal"] for t in trials)
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_results_json(RESULTS / "kill_resume.json", {"clean_seconds": clean_seconds, "trials": trials,
                                                      "passed": passed}, indent=2)
    lines = ["# Kill -9 and resume (R1)", "",
             f"3-task tiny sequence (DPO + EWC + replay), clean run {clean_seconds:.1f}s; SIGKILL at a random "
             "moment between 30% and 95% of it, then `fit` again until complete.", "",
             "| trial | killed after (s) | tasks done at kill | resumes | identical to clean run |",
             "|---|---|---|---|---|"]
    lines += [f"| {t['trial']} | {t['kill_after_s']} | {t['tasks_done_at_kill']} | {t['resumes']} | "
              f"{'yes' if t['equal'] else 'NO'} |" for t in trials]
    lines += ["", f"**{passed}/{len(trials)}** resumed runs equal the uninterrupted run."]
    (RESULTS / "kill_resume.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
