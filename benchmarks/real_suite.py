"""The real-model continual-alignment suite on SmolLM2-135M-Instruct (issue 19), at the size
two CPU cores allow.

    python benchmarks/real_suite.py build [--domains ...] [--train 40] [--test 16] [--k 4]
    python benchmarks/real_suite.py run --methods sequential replay [--domains brief detailed certainly]

`build` samples K answers per prompt from the untuned model (temperature 1, 32 new tokens,
chat template), scores them with each domain's gold rule and keeps best vs worst pairs
(`lit_align.data.onpolicy`); pairs are cached under benchmarks/.cache/onpolicy (keyed by model
hash, domain and settings) and written to benchmarks/data/smollm2_style/ with a report of
what was dropped and why. Train pairs come from the domain's train prompts, eval pairs from
its held-out test prompts. `run` trains the domains in sequence with LoRA DPO (sequential,
or with 20% replay) and builds the result matrix from the gold score of greedy answers to
each domain's held-out prompts (plus pairwise accuracy), then writes
benchmarks/results/real_suite.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.results_io import write_results_json, write_results_text  # noqa: E402

DATA = REPO / "benchmarks" / "data" / "smollm2_style"
CACHE = REPO / "benchmarks" / ".cache" / "onpolicy"
LORA = {"r": 16, "alpha": 32, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                  "down_proj"]}
SAMPLING = {"k": 4, "temperature": 1.0, "max_new_tokens": 32, "min_gap": 0.25}


def _sampler(policy, settings: dict):
    from lit_align.data.records import render_prompt
    from lit_align.generation import Sampling, generate

    k = settings["k"]
    sampling = Sampling(max_new_tokens=settings["max_new_tokens"], temperature=settings["temperature"],
                        batch_size=16)

    def sample(prompts: list[str], seed: int) -> list[list[str]]:
        rendered = [render_prompt({"prompt": [{"role": "user", "content": p}]}, policy.tokenizer).prompt
                    for p in prompts for _ in range(k)]
        flat = generate(policy.model, policy.tokenizer, rendered, sampling, seed)
        return [flat[i * k : (i + 1) * k] for i in range(len(prompts))]

    return sample


def build(args) -> None:
    from lit_align.data import onpolicy
    from lit_align.data.style import DOMAINS, split_prompts
    from lit_align.models import GGUFModelSpec

    policy = GGUFModelSpec(gguf="smollm2-135m-instruct").build()
    model_hash = onpolicy.weights_hash(policy.model)
    sample = _sampler(policy, SAMPLING)
    report = {"model": "smollm2-135m-instruct", "model_hash": model_hash, "sampling": SAMPLING, "domains": {}}
    if (DATA / "build_report.json").is_file():  # a build of some domains keeps the others' entries
        report["domains"] = json.loads((DATA / "build_report.json").read_text())["domains"]
    DATA.mkdir(parents=True, exist_ok=True)
    for domain in args.domains:
        start = time.perf_counter()
        report["domains"][domain] = {}
        parts = split_prompts(domain)
        sizes = {"train": args.train, "eval": args.test}
        for split, prompts in (("train", parts["train"][: args.train]), ("eval", parts["test"][: args.test])):
            settings = SAMPLING | {"split": split, "n": len(prompts)}
            if DOMAINS[domain].revise is not None:  # pairs may hold revisions: another cache entry
                settings["revise"] = True
            key = onpolicy.cache_key(model_hash, domain, settings)
            seed = zlib.crc32(f"{domain}-{split}".encode()) % 10_000  # stable across processes, unlike hash()
            rows, pairs = onpolicy.cached_pairs(CACHE, key, lambda p=prompts, d=domain, s=seed: onpolicy.build_pairs(
                p, sample, DOMAINS[d].rule, min_gap=SAMPLING["min_gap"], seed=s, revise=DOMAINS[d].revise))
            (DATA / f"{domain}_{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            report["domains"].setdefault(domain, {})[split] = {"asked": sizes[split], "summary": pairs.summary(),
                                                               "pairs": pairs.pairs, "dropped": dict(pairs.dropped)}
            print(f"{domain} {split}: {pairs.summary()}", flush=True)
        report["domains"][domain]["minutes"] = round((time.perf_counter() - start) / 60, 2)
    write_results_json(DATA / "build_report.json", report, indent=2)


def _config(domains: list[str], method: str, out: Path) -> dict:
    memory = {"per_task": 0.25, "replay_ratio": 0.2} if method == "replay" else {}
    dpo = {"class_path": "dpo", "init_args": {"beta": 0.1, "optimizer": {"lr": 5.0e-4, "warmup_steps": 2}}}
    return {
        "seed": 0, "output_dir": str(out), "export": "none",
        "model": {"class_path": "gguf", "init_args": {"gguf": "smollm2-135m-instruct", "lora": LORA}},
        "trainer": {"max_epochs": 1, "accelerator": "cpu", "enable_progress_bar": False},
        "memory": memory,
        "evaluation": {"batch_size": 16, "generation": {
            "scorer": {"class_path": "style_gold_scorer"}, "num_prompts": 12, "max_new_tokens": 32,
            "batch_size": 12}},
        "sequence": [{"name": d, "method": dpo, "data": {
            "train": {"path": "json", "data_files": str(DATA / f"{d}_train.jsonl")},
            "eval": {"path": "json", "data_files": str(DATA / f"{d}_eval.jsonl")},
            "chat_template": True, "batch_size": 4, "max_length": 160, "max_prompt_length": 64}}
            for d in domains],
    }


def run(args) -> None:
    import yaml

    runs = {}
    for method in args.methods:
        out = REPO / "benchmarks" / ".cache" / "real_suite" / method
        path = out.parent / f"{method}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(_config(args.domains, method, out)))
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "lit_align.cli", "fit", "--config", str(path)], cwd=REPO,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"{method} failed:\n{proc.stderr[-3000:]}")
        results = json.loads((out / "results.json").read_text())
        runs[method] = {"minutes": round((time.perf_counter() - start) / 60, 1), "results": results}
        print(f"{method}: done in {runs[method]['minutes']} min", flush=True)
    meta = {"model": "SmolLM2-135M-Instruct (LoRA r16, DPO beta 0.1, lr 5e-4, 1 epoch per task, batch 4)",
            "domains": args.domains, "seeds": [0], "machine": "2 CPU cores (x86_64), torch CPU",
            "sizes": "train/eval pairs per domain in benchmarks/data/smollm2_style/build_report.json; 12 held-out "
                     "prompts per domain for the generated matrix, 32 new tokens"}
    write_results_json(REPO / "benchmarks" / "results" / "real_suite.json", {"meta": meta, "runs": runs}, indent=1)
    write_results_text(REPO / "benchmarks" / "results" / "real_suite.md", markdown(meta, runs))


def markdown(meta: dict, runs: dict) -> str:
    lines = [f"# Real-model suite: {meta['model']}", "", f"Domains in order: {', '.join(meta['domains'])}; "
             f"seeds {meta['seeds']}; {meta['machine']}. Sizes: {meta['sizes']}.", ""]
    for method, run in runs.items():
        res = run["results"]
        lines += [f"## {method} ({run['minutes']} min)", ""]
        for block, title in ((res.get("generation"), "gold score of greedy answers to held-out prompts (primary)"),
                             (res, "pairwise preference accuracy on held-out pairs vs the untuned model")):
            if not block or not block.get("matrix"):
                continue
            names = block["splits"]
            lines += [f"{title}:", "", "| after \\ on | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
            if block.get("baseline"):
                lines.append("| (untuned) | " + " | ".join(f"{v:.3f}" for v in block["baseline"]) + " |")
            for task, row in zip(block["tasks"], block["matrix"], strict=True):
                lines.append(f"| {task} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
            m = block.get("metrics", {})
            keys = ("average_score", "bwt", "forgetting", "fwt", "nfr_mean_consecutive", "nfr_vs_first")
            lines += ["", ", ".join(f"{k} {m[k]:+.3f}" for k in keys if isinstance(m.get(k), (int, float))), ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    from lit_align.data.style import DOMAINS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--domains", nargs="+", default=list(DOMAINS), choices=list(DOMAINS))
    b.add_argument("--train", type=int, default=40)
    b.add_argument("--test", type=int, default=16)
    r = sub.add_parser("run")
    r.add_argument("--domains", nargs="+", default=["brief", "detailed", "certainly"], choices=list(DOMAINS))
    r.add_argument("--methods", nargs="+", default=["sequential", "replay"], choices=["sequential", "replay"])
    args = parser.parse_args()
    build(args) if args.command == "build" else run(args)


if __name__ == "__main__":
    main()
