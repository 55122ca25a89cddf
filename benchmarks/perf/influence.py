"""Influence scoring speed and fidelity (targets.md P4): batched scorer vs a naive per-example loop.

Same tiny GPT-2 (d=16, fitted on 256 synthetic SFT rows), same tracked weights (both attention
output projections, 512 numbers, small enough for the exact Hessian), 8 query rows.
- naive: one backward per training and query row (autograd), then g_z^T (H + damping)^-1 g_q
  with the exact Hessian inverse precomputed (its cost is not counted: a gift to the baseline);
- lit-align: `InfluenceScorer`, one forward/backward per batch of 64 rows, for each preconditioner.
Speed is the ratio of wall times in this process; fidelity is the Spearman correlation of
each method's mean query influence with exact influence (exact damped Hessian, eigenvalues
clamped at 0, damping 0.1 x mean eigenvalue for all).

    python -m benchmarks.perf.influence [--rows 256]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
from benchmarks.results_io import write_results_json  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
PARAMS = ["transformer.h.*.attn.c_proj"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--damping", type=float, default=0.1)
    args = parser.parse_args()
    import datasets
    import torch
    from scipy.stats import spearmanr

    from lit_align.data.synthetic import sft_examples
    from lit_align.influence.data import TokenizedRows
    from lit_align.influence.exact import damped_inverse_influence, exact_hessian
    from lit_align.influence.gradients import autograd_row_gradients
    from lit_align.influence.layers import select_layers
    from lit_align.influence.scoring import InfluenceScorer, InfluenceSettings
    from lit_align.models import TinyModelSpec
    from lit_align.testing.fitting import fit_rows

    torch.manual_seed(0)
    policy = TinyModelSpec(arch="gpt2", n_layer=2, d_model=16, n_head=2, vocab_size=512).build()
    per = args.rows // 4
    rows = sum((sft_examples(d, per, 0) for d in ("polite", "short", "keyword", "avoid")), [])
    shape = {"where": "perf", "max_length": 48, "max_prompt_length": 24}
    train = TokenizedRows(datasets.Dataset.from_list(rows), "sft", policy.tokenizer, batch_size=64, **shape)
    queries = TokenizedRows(datasets.Dataset.from_list(sft_examples("short", 8, 1)), "sft", policy.tokenizer,
                            batch_size=8, **shape)
    fit_rows(policy.model, train.batches(), epochs=40)
    layers = select_layers(policy.model, PARAMS)
    hessian = exact_hessian(policy.model, layers, train.batches()(), "sft")

    def one_by_one(tokenized: TokenizedRows) -> torch.Tensor:
        out = []
        for batch in tokenized.batches()():
            for i in range(batch["input_ids"].shape[0]):
                single = {k: batch[k][i : i + 1] for k in ("input_ids", "attention_mask", "labels")}
                out.append(autograd_row_gradients(policy.model, layers, single, "sft"))
        return torch.cat(out)

    start = time.perf_counter()
    g_train, g_query = one_by_one(train), one_by_one(queries)
    exact = damped_inverse_influence(hessian, g_train, g_query, args.damping)
    naive_seconds = time.perf_counter() - start
    exact_mean = exact.mean(1).numpy()

    report = {"rows": len(train), "queries": len(queries), "params": sum(layer.numel for layer in layers),
              "damping": args.damping, "naive_seconds": round(naive_seconds, 3), "methods": {},
              "platform": f"{platform.machine()}, {platform.python_version()}, torch {torch.__version__}",
              "date": time.strftime("%Y-%m-%d")}
    for name in ("identity", "diagonal", "kfac", "ekfac"):
        best = float("inf")
        for _ in range(3):
            scorer = InfluenceScorer(policy.model, InfluenceSettings(params=PARAMS, preconditioner=name,
                                                                     damping=args.damping))
            start = time.perf_counter()
            scores = scorer.score(train.batches(), queries.batches(), train_measurement="sft", data_key="perf")
            best = min(best, time.perf_counter() - start)
        report["methods"][name] = {
            "seconds": round(best, 3), "speedup_vs_naive": round(naive_seconds / best, 1),
            "spearman_vs_exact_mean": round(float(spearmanr(scores.mean(1).numpy(), exact_mean)[0]), 3),
            "spearman_vs_exact_pairs": round(float(spearmanr(scores.flatten().numpy(),
                                                             exact.flatten().numpy())[0]), 3)}
    lines = [f"# Influence scoring vs a naive per-example loop ({report['date']}, {report['platform']})", "",
             f"{report['rows']} training rows x {report['queries']} queries, {report['params']} tracked weights, "
             f"damping {args.damping}; naive loop + exact Hessian inverse: {report['naive_seconds']} s", "",
             "| preconditioner | seconds | speed-up vs naive | Spearman vs exact (mean over queries) "
             "| Spearman vs exact (all pairs) |", "|---|---|---|---|---|"]
    for name, m in report["methods"].items():
        lines.append(f"| {name} | {m['seconds']} | {m['speedup_vs_naive']}x | {m['spearman_vs_exact_mean']} "
                     f"| {m['spearman_vs_exact_pairs']} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_results_json(RESULTS / "influence_perf.json", report, indent=1)
    (RESULTS / "influence_perf.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
