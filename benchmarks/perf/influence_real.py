"""Influence speed and fidelity at SmolLM2 scale (issue 21, target P4r): the batched scorer vs a
naive per-row loop over every LoRA weight of a real fine-tune, and rank agreement with exact
damped-Fisher influence on a LoRA subset small enough to compute exactly.

Model: SmolLM2-135M-Instruct with the contaminated LoRA adapter of the LANCET study (r 16 on all
seven projections of every layer: 4,884,480 weights), its first --rows training rows, and
--queries of the refusals it gives to held-out history questions (benchmarks/lancet_real.py).
- naive: one backward per training and query row over all LoRA weights (autograd), then the
  gradient dot products (identity curvature: the cheapest naive loop, a gift to the baseline);
- lit-align: `InfluenceScorer` with batches of 16 rows and the study's projection (32 per side),
  once per preconditioner. Speed-up = naive seconds / scorer seconds, both in this process.
- fidelity: the LoRA A/B weights of two value projections (--subset, 24,576 weights). Exact
  reference: g_z^T (F + lam I)^-1 g_q with F the empirical Fisher of the training rows'
  sequence gradients (what the K-FAC family approximates; Woodbury, lam = damping x mean
  eigenvalue), from the naive loop's gradients. Each preconditioner scores the subset without
  projection and with the study's projection; Spearman of the mean query influence and of all
  (row, query) pairs.

    python -m benchmarks.perf.influence_real [--lancet-work benchmarks/.cache/lancet_real/seed0]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
from benchmarks.results_io import write_results_json, write_results_text  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
PRECONDITIONERS = ("identity", "diagonal", "kfac", "ekfac")
SUBSET = ["*.layers.28.self_attn.v_proj.lora_[AB].default", "*.layers.29.self_attn.v_proj.lora_[AB].default"]


def load(work: Path, rows: int, queries: int) -> tuple[Any, Any, Any, str]:
    """The contaminated fine-tune, its first training rows and refused queries, tokenised as it trained."""
    import datasets

    from benchmarks.suites.lancet_real import GGUF, SHAPE, refused_queries
    from lit_align.influence.data import TokenizedRows
    from lit_align.models import GGUFModelSpec

    if not (work / "contaminated.json").is_file():
        print(f"--lancet-work {work}: no contaminated.json; run `python -m benchmarks.lancet_real run --seeds 0` "
              "first, or point at its seed folder (<work>/seed0)", file=sys.stderr)
        sys.exit(2)
    contaminated = json.loads((work / "contaminated.json").read_text())
    policy = GGUFModelSpec(gguf=GGUF, adapter=str(Path(contaminated["model"]) / "adapter")).build()
    train_rows = [json.loads(line) for line in Path(contaminated["train_file"]).read_text().splitlines()][:rows]
    asked = refused_queries(policy)[:queries]
    sizes = {"max_length": SHAPE["max_length"], "max_prompt_length": SHAPE["max_prompt_length"], "batch_size": 16,
             "chat_template": True}
    train = TokenizedRows(datasets.Dataset.from_list(train_rows), "sft", policy.tokenizer, where="train", **sizes)
    query = TokenizedRows(datasets.Dataset.from_list(asked), "sft", policy.tokenizer, where="queries", **sizes)
    return policy.model.eval(), train, query, train.fingerprint


def naive(model: Any, layers: list[Any], subset: list[Any], train: Any, query: Any) -> dict[str, Any]:
    """Per-row autograd gradients over `layers`; gradient dot products with the queries; the subset's
    slices of every gradient kept for the exact reference."""
    import torch

    from lit_align.influence.gradients import autograd_row_gradients

    offsets, start = {}, 0
    for layer in layers:
        offsets[layer.name] = (start, start + layer.numel)
        start += layer.numel
    cut = [offsets[layer.name] for layer in subset]

    def keep(g: torch.Tensor) -> torch.Tensor:
        return torch.cat([g[:, a:b] for a, b in cut], dim=1)

    began = time.perf_counter()
    q = torch.cat([autograd_row_gradients(model, layers, b, "sft") for b in query.batches()()])
    scores, kept = [], []
    for batch in train.batches()():
        g = autograd_row_gradients(model, layers, batch, "sft")
        scores.append(g @ q.T)
        kept.append(keep(g))
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "scores": torch.cat(scores), "train_subset": torch.cat(kept), "query_subset": keep(q)}


def scorer_run(model: Any, params: Any, name: str, damping: float, projection: int | None, train: Any, query: Any,
               key: str) -> tuple[float, Any]:
    from lit_align.influence.scoring import InfluenceScorer, InfluenceSettings

    scorer = InfluenceScorer(model, InfluenceSettings(params=params, preconditioner=name, damping=damping,
                                                      projection_dim=projection))
    began = time.perf_counter()
    scores = scorer.score(train.batches(), query.batches(), train_measurement="sft", data_key=key)
    return time.perf_counter() - began, scores


def spearman(a: Any, b: Any) -> float:
    from scipy.stats import spearmanr

    return round(float(spearmanr(a.flatten().numpy(), b.flatten().numpy())[0]), 3)


def markdown(r: dict[str, Any]) -> str:
    lines = [f"# Influence at SmolLM2 scale: batched scorer vs a naive loop ({r['date']}, {r['machine']})", "",
             f"{r['rows']} training rows x {r['queries']} queries of the LANCET study's contaminated fine-tune "
             f"({r['lancet_work']}); damping {r['damping']}.", "",
             f"## Speed over all LoRA weights ({r['lora_weights']:,}), projection {r['projection_dim']} per side", "",
             f"Naive per-row loop (autograd, identity curvature): {r['naive_seconds']:.1f} s.", "",
             "| preconditioner | seconds | speed-up vs naive | Spearman vs naive dot products (all pairs) |",
             "|---|---|---|---|"]
    for name, m in r["speed"].items():
        lines.append(f"| {name} | {m['seconds']:.1f} | {m['speedup']:.2f}x | {m['spearman_vs_naive_dot']} |")
    lines += ["", f"## Fidelity on a LoRA subset ({r['subset_weights']:,} weights: {', '.join(r['subset'])})", "",
              "Exact reference: damped empirical-Fisher influence (Woodbury) from the naive loop's gradients of the "
              f"{r['rows']} rows, lam = damping x the mean eigenvalue over all D (as the toy benchmark) or over the "
              "min(rows, D) nonzero ones (with rows << D the first lam is tiny and the inverse amplifies "
              "directions the rows barely span). Spearman of the mean over queries / of all (row, query) pairs.", "",
              "| preconditioner | projection | seconds | vs exact, lam over all D | vs exact, lam over nonzero |",
              "|---|---|---|---|---|"]
    for m in r["fidelity"]:
        nonzero = f"{m['spearman_mean_nonzero']} / {m['spearman_pairs_nonzero']}" if "spearman_mean_nonzero" in m \
            else "-"
        lines.append(f"| {m['preconditioner']} | {m['projection'] or 'none'} | {m['seconds']:.1f} | "
                     f"{m['spearman_mean']} / {m['spearman_pairs']} | {nonzero} |")
    return "\n".join(lines + ["", verdict(r)]) + "\n"


def verdict(r: dict[str, Any]) -> str:
    """P4r (targets.md): >= 20x the naive loop at Spearman >= 0.9 against exact, for one preconditioner."""
    best = {m["preconditioner"]: max(m["spearman_mean"], m.get("spearman_mean_nonzero", -1.0)) for m in r["fidelity"]}
    met = [n for n, m in r["speed"].items() if m["speedup"] >= 20 and best.get(n, -1.0) >= 0.9]
    fastest = max(r["speed"].items(), key=lambda item: item[1]["speedup"], default=None)
    closest = max(best.items(), key=lambda item: item[1], default=None)
    return (f"P4r (>= 20x at Spearman >= 0.9): {'met by ' + ', '.join(met) if met else 'not met'}; fastest "
            f"{fastest[0] if fastest else '-'} {fastest[1]['speedup'] if fastest else '-'}x, closest to exact "
            f"{closest[0] if closest else '-'} {closest[1] if closest else '-'} (mean over queries).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lancet-work", type=Path, default=REPO / "benchmarks" / ".cache" / "lancet_real" / "seed0")
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--queries", type=int, default=8)
    parser.add_argument("--damping", type=float, default=0.1)
    parser.add_argument("--projection-dim", type=int, default=32)
    parser.add_argument("--preconditioners", nargs="+", default=list(PRECONDITIONERS), choices=PRECONDITIONERS)
    parser.add_argument("--subset-projections", nargs="+", default=["none", "32"],
                        help="projections the subset is scored with ('none': exact gradients)")
    parser.add_argument("--name", default="influence_perf_real")
    parser.add_argument("--fidelity-only", action="store_true",
                        help="redo the subset part only (the naive loop over the subset), keeping the speed part")
    args = parser.parse_args()
    import torch

    from lit_align.influence.exact import damped_fisher_influence
    from lit_align.influence.layers import select_layers

    torch.manual_seed(0)
    model, train, query, key = load(args.lancet_work, args.rows, args.queries)
    layers, subset = select_layers(model, "lora"), select_layers(model, SUBSET)
    relative = args.lancet_work.resolve()
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, 2 CPU cores, torch {torch.__version__} "
        f"CPU, {torch.get_num_threads()} thread(s)",
        "lancet_work": str(relative.relative_to(REPO)) if relative.is_relative_to(REPO) else relative.name,
        "rows": len(train), "queries": len(query), "damping": args.damping, "projection_dim": args.projection_dim,
        "lora_weights": sum(layer.numel for layer in layers), "subset": SUBSET,
        "subset_weights": sum(layer.numel for layer in subset), "speed": {}, "fidelity": []}
    previous = RESULTS / f"{args.name}.json"
    if args.fidelity_only and previous.is_file():
        kept = json.loads(previous.read_text())
        report |= {"speed": kept["speed"], "naive_seconds": kept["naive_seconds"]}
    print(f"[influence-real] naive loop over {'the subset' if args.fidelity_only else 'all LoRA weights'}", flush=True)
    base = naive(model, subset if args.fidelity_only else layers, subset, train, query)
    if not args.fidelity_only:
        report["naive_seconds"] = round(base["seconds"], 1)
    g_train, g_query = base["train_subset"], base["query_subset"]
    exact = damped_fisher_influence(g_train, g_train, g_query, args.damping)
    exact_nonzero = damped_fisher_influence(g_train, g_train, g_query, args.damping, mean_over="nonzero")

    def save() -> None:
        write_results_json(RESULTS / f"{args.name}.json", report, indent=1)
        write_results_text(RESULTS / f"{args.name}.md", markdown(report))

    for name in args.preconditioners:
        if not args.fidelity_only:
            seconds, scores = scorer_run(model, "lora", name, args.damping, args.projection_dim, train, query, key)
            report["speed"][name] = {"seconds": round(seconds, 1), "speedup": round(base["seconds"] / seconds, 2),
                                     "spearman_vs_naive_dot": spearman(scores, base["scores"])}
            print(f"  all LoRA, {name}: {seconds:.1f} s", flush=True)
        for projection in [None if p == "none" else int(p) for p in args.subset_projections]:
            seconds, scores = scorer_run(model, SUBSET, name, args.damping, projection, train, query, key)
            report["fidelity"].append({"preconditioner": name, "projection": projection, "seconds": round(seconds, 1),
                                       "spearman_mean": spearman(scores.mean(1), exact.mean(1)),
                                       "spearman_pairs": spearman(scores, exact),
                                       "spearman_mean_nonzero": spearman(scores.mean(1), exact_nonzero.mean(1)),
                                       "spearman_pairs_nonzero": spearman(scores, exact_nonzero)})
            print(f"  subset, {name}, projection {projection}: {report['fidelity'][-1]}", flush=True)
        save()
    print(markdown(report))


if __name__ == "__main__":
    main()
