"""How usable is a 135M model as C3PO's data generator? (issue 20, F3r item 2)

For each of four checkable feedbacks (benchmarks/suites/feedback_real.py), `lit-align feedback
build` runs with SmolLM2-135M-Instruct as the category and prompt writer (`hf_chat`) and as pi_0,
which answers and revises its own answers (configs/feedback/smollm2_self_generated.yaml). Measured,
per feedback and seed, from what the build wrote:
- whether the category list was usable at all (else the build stops: nothing can follow);
- the lists and rows the build left out, by reason (its report.json);
- in-scope prompts that pass the feedback's keyword scope test; near-scope prompts that also pass it
  (written as near-scope, but about the feedback's subject);
- revisions that follow the feedback (the exact check), against pi_0's own answers before revision.

    python -m benchmarks.c3po_generator_real [--seeds 0] [--work runs/c3po_generator_real]
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
from benchmarks.suites.feedback_real import FEEDBACKS, CheckableFeedback  # noqa: E402

CONFIG = REPO / "configs" / "feedback" / "smollm2_self_generated.yaml"


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def build_one(item: CheckableFeedback, seed: int, work: Path, given: bool) -> dict[str, Any]:
    """One build; `given`: the feedback's categories in the config (the category call skipped)."""
    from lit_align.errors import UserError
    from lit_align.feedback.build import build_feedback_data, load_feedback_config

    out = work / f"{item.name}_seed{seed}{'_given' if given else ''}"
    overrides = [f"feedback={json.dumps(item.feedback)}", f"output_dir={out}", f"seed={seed}"]
    if given:
        overrides.append(f"generator.init_args.categories={json.dumps(list(item.categories))}")
    cfg, raw = load_feedback_config(str(CONFIG), overrides)
    start = time.perf_counter()
    try:
        report = build_feedback_data(cfg, raw)
    except UserError as error:  # an unusable category or prompt list stops the build
        return {"feedback": item.name, "seed": seed, "categories": "given" if given else "generated",
                "usable": False, "error": str(error)[:300],
                "seconds": round(time.perf_counter() - start, 1)}
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    tests = [json.loads(line) for line in (out / "test.jsonl").read_text().splitlines()]
    in_prompts = [r["prompt"] for r in rows] + [t["prompt"] for t in tests if t["scope"] == "in"]
    near_prompts = [r["near_prompt"] for r in rows] + [t["prompt"] for t in tests if t["scope"] == "near"]
    return {
        "feedback": item.name, "seed": seed, "categories": "given" if given else "generated", "usable": True,
        "seconds": round(time.perf_counter() - start, 1),
        "train_rows": report["train_rows"], "left_out": report["left_out"],
        "in_scope_prompts": len(in_prompts), "in_scope_keyword": _share([item.in_scope(p) for p in in_prompts]),
        "near_scope_prompts": len(near_prompts),
        "near_scope_keyword": _share([item.in_scope(p) for p in near_prompts]),
        "baseline_follows": _share([item.follows(r["rejected"]) for r in rows]),
        "revision_follows": _share([item.follows(r["chosen"]) for r in rows]),
        "example": {"prompt": rows[0]["prompt"], "revised": rows[0]["chosen"][:200]} if rows else None,
    }


def markdown(meta: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    lines = [f"# SmolLM2-135M-Instruct as C3PO's generator and reviser ({meta['date']}, {meta['machine']})", "",
             f"Config: {meta['config']} (n_in = n_near = n_out = 16 requested, 4 categories, writer at "
             "temperature 0.7, pi_0 greedy, answers and revisions up to 128 tokens).", "",
             "| feedback | seed | categories | build ran | train rows | in-scope prompts (keyword-in-scope) | "
             "near-scope prompts (keyword-in-scope) | pi_0 answers follow | revisions follow | left out | s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        if not r["usable"]:
            lines.append(f"| {r['feedback']} | {r['seed']} | {r['categories']} | no | - | - | - | - | - | "
                         f"{r['error'][:120]} | "
                         f"{r['seconds']} |")
            continue
        left = ", ".join(f"{k} {v}" for k, v in r["left_out"].items()) or "-"
        lines.append(f"| {r['feedback']} | {r['seed']} | {r['categories']} | yes | {r['train_rows']} | "
                     f"{r['in_scope_prompts']} "
                     f"({r['in_scope_keyword']}) | {r['near_scope_prompts']} ({r['near_scope_keyword']}) | "
                     f"{r['baseline_follows']} | {r['revision_follows']} | {left} | {r['seconds']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "c3po_generator_real")
    parser.add_argument("--name", default="c3po_generator_real")
    parser.add_argument("--categories", choices=["generated", "given", "both"], default="both",
                        help="the writer lists the categories, they come from the config, or both in turn")
    parser.add_argument("--given-seeds", type=int, nargs="+", default=None,
                        help="seeds of the given-categories builds (default: --seeds)")
    args = parser.parse_args()
    import torch

    started = time.perf_counter()
    runs = []
    meta = {"date": time.strftime("%Y-%m-%d"), "config": str(CONFIG.relative_to(REPO)),
            "machine": f"{platform.machine()}, 2 CPU cores, torch {torch.__version__} CPU"}
    plan = [(False, args.seeds)] if args.categories in ("generated", "both") else []
    plan += [(True, args.given_seeds or args.seeds)] if args.categories in ("given", "both") else []
    for given, seeds in plan:
        for seed, item in ((s, f) for s in seeds for f in FEEDBACKS):
            runs.append(build_one(item, seed, args.work, given))
            print(json.dumps(runs[-1])[:400], flush=True)
            meta["minutes"] = round((time.perf_counter() - started) / 60, 1)
            write_results_json(REPO / "benchmarks" / "results" / f"{args.name}.json", {"meta": meta, "runs": runs},
                               indent=1)
            write_results_text(REPO / "benchmarks" / "results" / f"{args.name}.md", markdown(meta, runs))
    print(markdown(meta, runs))


if __name__ == "__main__":
    main()
