"""Does each piece of feedback survive composition? (issue 20, C3PO item 4, on SmolLM2-135M-Instruct)

Per seed whose four feedbacks `benchmarks/c3po_real.py` has trained: `lit-align compose` adds the
four C3PO LoRA adapters' deltas to pi_0 (weights 1, the paper's phi' = phi_1 + phi_2 + ...), and the
composed model answers every feedback's held-out prompts. A feedback survives when the composed
model keeps at least 80% of its own adapter's S_in (the rule is fixed here, before the runs). Both
are scored with the same answer budget (--eval-tokens, the study's).
Results: benchmarks/results/c3po_compose_real.{json,md}.

    python -m benchmarks.c3po_compose_real [--seeds 0 1 2] [--work benchmarks/.cache/c3po_real]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
from benchmarks.results_io import write_results_json, write_results_text  # noqa: E402
from benchmarks.suites.feedback_real import (  # noqa: E402
    FEEDBACKS,  # noqa: E402
    WORK,
    evaluation_config,
    feedback_config,
)
from benchmarks.suites.feedback_scores import score  # noqa: E402
from benchmarks.suites.real_probe import model_exact_rate  # noqa: E402

SURVIVES = 0.8  # share of the single adapter's S_in the composed model must keep


def pi0_dir() -> Path:
    """pi_0 as a float model directory (the GGUF's dequantised cache), the base the deltas add to."""
    from lit_align.gguf import resolve_gguf
    from lit_align.model_cache import cached_model_dir, default_cache_root

    return cached_model_dir(resolve_gguf("smollm2-135m-instruct"), default_cache_root())


def compose_seed(seed: int, work: Path, n: int, eval_tokens: int) -> dict[str, Any] | None:
    from lit_align.cli import main

    runs = {f.name: work / f"{f.name}-s{seed}" for f in FEEDBACKS}
    adapters = [d / "c3po" / "tasks" / "c3po" / "model" / "adapter" for d in runs.values()]
    if not all((run / "c3po-score.json").is_file() for run in runs.values()):
        return None  # this seed's four C3PO runs are not all finished
    cached = work / f"composed-s{seed}.json"
    earlier = json.loads(cached.read_text()) if cached.is_file() else {}
    if earlier.get("eval_tokens") == eval_tokens:  # scored in another budget: score again
        return earlier
    composed = work / f"composed-s{seed}"
    if not (composed / "config.json").is_file():
        args = ["compose", "--base", str(pi0_dir()), "--updates", *map(str, adapters), "--out", str(composed)]
        if main(args) != 0:
            raise RuntimeError(f"lit-align compose failed for seed {seed}")
    result: dict[str, Any] = {"seed": seed, "eval_tokens": eval_tokens, "probe_exact": model_exact_rate(composed),
                              "feedbacks": {}}
    for name, run in runs.items():
        alone = json.loads((run / "c3po-score.json").read_text())
        together = score(evaluation_config(feedback_config(name, seed, run, n), eval_tokens), composed)
        kept = together["s_in"] / alone["s_in"] if alone["s_in"] > 0 else None
        result["feedbacks"][name] = {"alone": alone, "composed": together, "s_in_kept": kept,
                                     "survives": kept is not None and kept >= SURVIVES}
    cached.write_text(json.dumps(result))
    return result


def markdown(meta: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    lines = [f"# C3PO adapters composed with `lit-align compose` ({meta['date']}, {meta['machine']})", "",
             "Per seed, the four feedbacks' C3PO adapters (benchmarks/c3po_real.py) added to pi_0 with weight 1. "
             f"A feedback survives when the composed model keeps >= {SURVIVES:.0%} of its own adapter's S_in; both "
             f"answer in {meta['args']['eval_tokens']} greedy tokens.", "",
             "| seed | feedback | S_in alone | S_in composed | kept | S_out alone | S_out composed | survives |",
             "|---|---|---|---|---|---|---|---|"]
    for run in runs:
        for name, f in run["feedbacks"].items():
            kept = "-" if f["s_in_kept"] is None else f"{f['s_in_kept']:.2f}"
            verdict = "n/a (not learned alone)" if f["s_in_kept"] is None else "yes" if f["survives"] else "no"
            lines.append(f"| {run['seed']} | {name} | {f['alone']['s_in']:.3f} | {f['composed']['s_in']:.3f} | "
                         f"{kept} | {f['alone']['s_out']:.3f} | {f['composed']['s_out']:.3f} | {verdict} |")
    lines += ["", "Probe exact rate of the composed model: "
              + ", ".join(f"seed {r['seed']} {r['probe_exact']:.3f}" for r in runs) + "."]
    learned = [f for r in runs for f in r["feedbacks"].values() if f["s_in_kept"] is not None]
    lines += ["", f"{sum(f['survives'] for f in learned)} of {len(learned)} feedback-seed pairs whose adapter learned "
              "its feedback alone (S_in > 0) survive composition."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=24, help="the --n benchmarks/c3po_real.py ran with")
    parser.add_argument("--eval-tokens", type=int, default=80, help="c3po_real.py's --eval-tokens")
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--name", default="c3po_compose_real")
    args = parser.parse_args()
    import torch

    runs = [r for seed in args.seeds if (r := compose_seed(seed, args.work, args.n, args.eval_tokens)) is not None]
    if not runs:
        raise SystemExit(f"no seed has all four C3PO runs finished under {args.work}; run benchmarks/c3po_real.py")
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, 2 CPU cores, torch "
            f"{torch.__version__} CPU", "args": {k: v for k, v in vars(args).items() if k != "work"}}
    out = REPO / "benchmarks" / "results"
    write_results_json(out / f"{args.name}.json", {"meta": meta, "runs": runs}, indent=1)
    write_results_text(out / f"{args.name}.md", markdown(meta, runs))
    print(markdown(meta, runs))


if __name__ == "__main__":
    main()
