"""LANCET on the synthetic suite (target F5): recall the outdated rows behind a bad behaviour, correct it.

Protocol per seed (every step through lit-align's own commands and API):
1. Data: good SFT answers on four domains (polite, keyword, avoid, short) plus `--injected` rows that
   answer "Explain the <topic>." in the outdated, verbose style (the current preference is
   concise): 10 filler words in a random order per row (`--outdated random`), or one fixed
   10-word clause (`--outdated fixed`, which the model memorises to near-zero loss, so those
   rows' gradients, and their influence, nearly vanish: recall@k 0.3 in a pilot). No other row
   teaches "Explain" prompts: the injected rows are the known cause.
2. `lit-align fit`: SFT a tiny GPT-2 from scratch on all of it (the contaminated model).
3. Detect: the model answers 24 query prompts greedily; the concise gold rule flags the bad answers.
4. Recall (`lit_align.influence`, EK-FAC over every block linear layer): rank the training rows;
   recall@k with k = number injected.
5. Correct, each from the contaminated model with the same steps and retain anchor:
   lancet     IBO over the top-k recalled and the k most counteracting rows
   random     IBO with the influence column shuffled (random recall)
   ascent     gradient ascent on the top-k recalled rows (unlearning baseline)
   dpo_fresh  DPO on k freshly labelled pairs of "Explain" prompts (concise > verbose): the
              human-corrected baseline, reference = the contaminated model
6. Measure on held-out prompts: bad-behaviour rate on 48 unseen "Explain" prompts (answer not
   on-topic-and-concise), utility = mean gold reward on 24 unseen prompts per clean domain.

    python -m benchmarks.lancet_suite                  # seeds 0-2, ~10 min on 2 cores
    python -m benchmarks.lancet_suite --seeds 0 --name lancet_pilot
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
from benchmarks.results_io import write_results_json  # noqa: E402
from benchmarks.suites.synthetic import fit_task, write_jsonl  # noqa: E402
from lit_align.study.stats import mean_half_width  # noqa: E402

CLEAN = ("polite", "keyword", "avoid", "short")
METHODS = ("lancet", "random", "ascent", "dpo_fresh")
MODEL = {"arch": "gpt2", "n_layer": 2, "d_model": 64, "n_head": 4, "vocab_size": 512}
SHAPE = {"batch_size": 16, "max_length": 64, "max_prompt_length": 32}
WORK = REPO / "benchmarks" / ".cache" / "lancet"


def explain_prompts(n: int, seed: str) -> list[str]:
    from lit_align.data.synthetic import DOMAINS

    rng = random.Random(seed)
    return [DOMAINS["concise"].make_prompt(rng) for _ in range(n)]


def outdated_answer(prompt: str, style: str, rng: random.Random) -> str:
    from lit_align.data.synthetic import DOMAINS, FILLER, _topic

    if style == "random":
        return DOMAINS["verbose"].good(prompt, rng)
    return f"The {_topic(prompt)} is " + " ".join(FILLER[:10]) + "."


def training_rows(args: argparse.Namespace, seed: int) -> list[dict[str, Any]]:
    from lit_align.data.synthetic import sft_examples

    rows = [r | {"injected": False} for d in CLEAN for r in sft_examples(d, args.per_domain, 100 + seed)]
    rng = random.Random(f"outdated-{seed}")
    rows += [{"prompt": p, "completion": outdated_answer(p, args.outdated, rng), "domain": "explain",
              "injected": True}
             for p in explain_prompts(args.injected, f"train-{seed}")]
    random.Random(seed).shuffle(rows)
    return rows


def answers(model_dir: Path, prompts: list[str]) -> list[str]:
    from lit_align.generation import Sampling, generate
    from lit_align.models import HFModelSpec

    policy = HFModelSpec(name_or_path=str(model_dir)).build()
    return generate(policy.model, policy.tokenizer, prompts, Sampling(max_new_tokens=24, batch_size=48), 0)


def measure(model_dir: Path, probes: list[str], utility: dict[str, list[str]]) -> dict[str, float]:
    from lit_align.data.synthetic import gold_reward

    said = answers(model_dir, probes)
    bad = sum(gold_reward("concise", p, a) < 0.5 for p, a in zip(probes, said, strict=True)) / len(probes)
    per_domain = {}
    for d, prompts in utility.items():
        replies = answers(model_dir, prompts)
        per_domain[d] = sum(gold_reward(d, p, a) for p, a in zip(prompts, replies, strict=True)) / len(prompts)
    return {"bad_rate": bad, "utility": sum(per_domain.values()) / len(per_domain), "example": said[0]} | {
        f"utility_{d}": v for d, v in per_domain.items()}


def recall(model_dir: Path, train_file: str, work: Path, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    from lit_align.binding import build
    from lit_align.influence.recall import InfluenceConfig, read_ranking, recall_at_k, run_influence

    queries = write_jsonl(work / "queries.jsonl", [{"prompt": p} for p in explain_prompts(24, f"query-{seed}")])
    raw = {"model": {"class_path": "hf", "init_args": {"name_or_path": str(model_dir)}},
           "train": {"path": "json", "data_files": train_file},
           "queries": {"source": {"path": "json", "data_files": queries},
                       "generate": {"max_new_tokens": 24, "batch_size": 24},
                       "scorer": {"class_path": "synthetic_gold_scorer",
                                  "init_args": {"domains": {"queries": "concise"}}}},
           "output": str(work / "ranking.jsonl"), "batch_size": 32,
           "influence": {"params": ["transformer.h.*"], "preconditioner": args.preconditioner,
                         "damping": args.damping}, "max_length": 64, "max_prompt_length": 32}
    summary = run_influence(build(raw, InfluenceConfig, "lancet suite"))
    ranking = read_ranking(work / "ranking.jsonl")
    ranked = [r["row"] for r in ranking]
    injected = {r["row"] for r in ranking if r["injected"]}
    return {"recall_at_k": recall_at_k(ranked, injected), "queries": summary["queries"],
            "seconds": summary["seconds"], "ranking": str(work / "ranking.jsonl")}


def correction_task(method: str, ranking: str, work: Path, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    from lit_align.data.synthetic import DOMAINS

    optimizer = {"lr": args.lr, "warmup_steps": 2}
    shared = {"recall_k": args.injected, "retain_rows": args.retain_rows, "retain_weight": args.retain_weight,
              "seed": seed, "optimizer": optimizer}
    train = ranking
    if method == "random":
        rows = [json.loads(line) for line in Path(ranking).read_text().splitlines()]
        shuffled = [r["influence"] for r in rows]
        random.Random(seed).shuffle(shuffled)
        train = write_jsonl(work / "ranking_random.jsonl", [r | {"influence": s} for r, s in zip(rows, shuffled,
                                                                                              strict=True)])
    if method in ("lancet", "random"):
        # the settings the committed toy results ran with (LANCET's defaults changed after the real-model study)
        node = {"class_path": "lancet", "init_args": shared | {"temperature": args.temperature,
                                                               "counter_k": args.injected, "divergence": "kl"}}
    elif method == "ascent":
        node = {"class_path": "gradient_ascent", "init_args": shared}
    else:
        rng = random.Random(f"fresh-{seed}")
        pairs = [{"prompt": p, "chosen": DOMAINS["concise"].good(p, rng),
                  "rejected": outdated_answer(p, args.outdated, rng)}
                 for p in explain_prompts(args.injected, f"fresh-{seed}")]
        train = write_jsonl(work / "fresh_pairs.jsonl", pairs)
        node = {"class_path": "dpo", "init_args": {"beta": 0.1, "optimizer": optimizer}}
    return {"method": node, "data": {"train": {"path": "json", "data_files": train}, **SHAPE}}


def one_seed(seed: int, args: argparse.Namespace) -> dict[str, Any]:
    from lit_align.data.synthetic import unlabeled_prompts

    work = args.work / f"seed{seed}"
    train_file = write_jsonl(work / "train.jsonl", training_rows(args, seed))
    probes = explain_prompts(48, f"probe-{seed}")
    utility = {d: [r["prompt"] for r in unlabeled_prompts(d, 24, 5000 + seed)] for d in CLEAN}
    start = time.perf_counter()
    sft = fit_task("sft", {"class_path": "tiny", "init_args": MODEL | {"seed": seed}},
              {"method": {"class_path": "sft", "init_args": {"optimizer": {"lr": 3e-3, "warmup_steps": 10}}},
               "data": {"train": {"path": "json", "data_files": train_file}, **SHAPE}},
              work / "sft", seed, args.sft_epochs)
    result: dict[str, Any] = {"seed": seed, "sft_seconds": round(time.perf_counter() - start, 1),
                              "before": measure(sft, probes, utility)}
    result["recall"] = recall(sft, train_file, work, args, seed)
    for method in args.methods:
        start = time.perf_counter()
        task = correction_task(method, result["recall"]["ranking"], work, args, seed)
        model_dir = fit_task(method, {"class_path": "hf", "init_args": {"name_or_path": str(sft)}}, task,
                        work / method, seed, args.epochs)
        result[method] = measure(model_dir, probes, utility) | {"seconds": round(time.perf_counter() - start, 1)}
    return result


def markdown(runs: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [f"# LANCET suite ({meta['date']}, {meta['platform']})", "",
             f"Seeds {meta['seeds']}; {meta['args']}", "",
             "recall@k (k = injected rows): " + "{:.3f} +- {:.3f}".format(
                 *mean_half_width([r["recall"]["recall_at_k"] for r in runs])), "",
             "| model | bad-behaviour rate | utility | utility change vs contaminated |",
             "|---|---|---|---|"]
    before = [r["before"]["utility"] for r in runs]
    for name in ("before", *meta["methods"]):
        bad = mean_half_width([r[name]["bad_rate"] for r in runs])
        util = mean_half_width([r[name]["utility"] for r in runs])
        change = mean_half_width([(r[name]["utility"] - b) / b for r, b in zip(runs, before, strict=True)])
        label = "contaminated SFT model" if name == "before" else name
        lines.append(f"| {label} | {bad[0]:.3f} +- {bad[1]:.3f} | {util[0]:.3f} +- {util[1]:.3f} "
                     f"| {100 * change[0]:+.1f}% +- {100 * change[1]:.1f} |")
    lines += ["", "Per seed:", ""]
    for r in runs:
        cells = ", ".join(f"{m} bad {r[m]['bad_rate']:.2f} util {r[m]['utility']:.3f}" for m in meta["methods"])
        lines.append(f"- seed {r['seed']}: recall@k {r['recall']['recall_at_k']:.3f} (queries {r['recall']['queries']},"
                     f" {r['recall']['seconds']} s); before bad {r['before']['bad_rate']:.2f} util "
                     f"{r['before']['utility']:.3f}; {cells}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--per-domain", type=int, default=60)
    parser.add_argument("--outdated", default="random", choices=("random", "fixed"))
    parser.add_argument("--injected", type=int, default=30)
    parser.add_argument("--sft-epochs", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument("--retain-rows", type=int, default=60)
    parser.add_argument("--retain-weight", type=float, default=1.0)
    parser.add_argument("--preconditioner", default="ekfac", choices=("identity", "diagonal", "kfac", "ekfac"))
    parser.add_argument("--damping", type=float, default=0.1)
    parser.add_argument("--name", default="lancet_suite")
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--fresh", action="store_true", help="delete cached runs first")
    args = parser.parse_args()
    if args.fresh:
        shutil.rmtree(args.work, ignore_errors=True)
    runs = [one_seed(seed, args) for seed in args.seeds]
    meta = {"date": time.strftime("%Y-%m-%d"), "platform": f"{platform.machine()}, {platform.python_version()}",
            "seeds": args.seeds, "methods": args.methods,
            "args": {k: v for k, v in vars(args).items() if k not in ("work", "seeds", "methods", "fresh", "name")}}
    out = REPO / "benchmarks" / "results"
    write_results_json(out / f"{args.name}.json", {"meta": meta, "runs": runs}, indent=1, default=str)
    (out / f"{args.name}.md").write_text(markdown(runs, meta))
    print(markdown(runs, meta))


if __name__ == "__main__":
    main()
