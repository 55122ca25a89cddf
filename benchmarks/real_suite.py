"""The real-model suite's data on SmolLM2-135M-Instruct: on-policy pairs, the general probe and
the held-out prompts (committed under benchmarks/data/smollm2_style/). The suite itself is a
study file: `lit-align study run --config configs/studies/suite_real.yaml` (docs/real_suite.md).

    python -m benchmarks.real_suite build [--domains ...] [--train 40] [--test 16]
    python -m benchmarks.real_suite probe
    python -m benchmarks.real_suite prompts [--domains ...] [--n 48]

`build` samples K answers per prompt from the untuned model (temperature 1, 32 new tokens,
chat template), scores them with each domain's gold rule and keeps best vs worst pairs
(`lit_align.data.onpolicy`); pairs are cached under benchmarks/.cache/onpolicy (keyed by model
hash, domain and settings) and written to benchmarks/data/smollm2_style/ with a report of what
was dropped and why. `probe` keeps the factual questions the untuned model answers right, for
the general probe. `prompts` writes each domain's held-out prompts for generated-answer scores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

from benchmarks.results_io import write_results_json

REPO = Path(__file__).resolve().parents[1]

DATA = REPO / "benchmarks" / "data" / "smollm2_style"
CACHE = REPO / "benchmarks" / ".cache" / "onpolicy"
SAMPLING = {"k": 4, "temperature": 1.0, "max_new_tokens": 32, "min_gap": 0.25}


def build(args) -> None:
    from lit_align.continual.onpolicy import PolicySampler
    from lit_align.data import onpolicy
    from lit_align.data.style import DOMAINS, split_prompts
    from lit_align.generation import Sampling
    from lit_align.models import GGUFModelSpec

    policy = GGUFModelSpec(gguf="smollm2-135m-instruct").build()
    model_hash = onpolicy.weights_hash(policy.model)
    sampling = Sampling(max_new_tokens=SAMPLING["max_new_tokens"], temperature=SAMPLING["temperature"], batch_size=16)
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
            if DOMAINS[domain].degrade is not None:
                settings["degrade"] = True
            key = onpolicy.cache_key(model_hash, domain, settings)
            seed = zlib.crc32(f"{domain}-{split}".encode()) % 10_000  # stable across processes, unlike hash()
            spec = DOMAINS[domain]
            sampler = PolicySampler(policy, SAMPLING["k"], sampling, chat_template=True)

            def pairs_of(p=prompts, d=spec, s=seed, f=sampler):
                return onpolicy.build_pairs(p, f, d.rule, min_gap=SAMPLING["min_gap"], seed=s, revise=d.revise,
                                            degrade=d.degrade)

            rows, pairs = onpolicy.cached_pairs(CACHE, key, pairs_of)
            try:
                onpolicy.require_pairs(domain, pairs)
            except onpolicy.NoPairsError as error:
                sys.exit(f"real_suite build: {error}")
            (DATA / f"{domain}_{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            report["domains"].setdefault(domain, {})[split] = {"asked": sizes[split], "summary": pairs.summary(),
                                                               "pairs": pairs.pairs, "dropped": dict(pairs.dropped)}
            print(f"{domain} {split}: {pairs.summary()}", flush=True)
        report["domains"][domain]["minutes"] = round((time.perf_counter() - start) / 60, 2)
    write_results_json(DATA / "build_report.json", report, indent=2)


def probe(args) -> None:
    """The general probe's rows: the factual questions the untuned model answers right."""
    from benchmarks.suites.real_probe import keep_answered
    from lit_align.generation import Sampling, policy_answerer
    from lit_align.models import GGUFModelSpec

    policy = GGUFModelSpec(gguf="smollm2-135m-instruct").build()
    answer = policy_answerer(policy, Sampling(max_new_tokens=24, batch_size=16), seed=0)
    rows, report = keep_answered(lambda qs: answer([[{"role": "user", "content": q}] for q in qs]))
    (DATA / "probe.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_results_json(DATA / "probe_report.json", report, indent=2)
    print(f"probe: kept {report['kept']}/{report['asked']} factual questions, {report['general']} general prompts")


HELD_OUT_PROMPTS = 48


def prompts(args) -> None:
    """Each domain's held-out prompts for generated-answer scores: its test split, then its eval
    split (no prompt of either is trained on; the train pairs come from the train split only)."""
    from lit_align.data.style import split_prompts

    for domain in args.domains:
        parts = split_prompts(domain)
        held_out = (parts["test"] + parts["eval"])[: args.n]
        if len(held_out) < args.n:
            sys.exit(f"real_suite prompts: {domain} holds out {len(held_out)} prompts, fewer than --n {args.n}")
        (DATA / f"{domain}_prompts.jsonl").write_text("".join(json.dumps({"prompt": p}) + "\n" for p in held_out))
        print(f"{domain}: {len(held_out)} held-out prompts")


def main() -> None:
    from lit_align.data.style import DOMAINS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--domains", nargs="+", default=list(DOMAINS), choices=list(DOMAINS))
    b.add_argument("--train", type=int, default=40)
    b.add_argument("--test", type=int, default=16)
    sub.add_parser("probe")
    p = sub.add_parser("prompts")
    p.add_argument("--domains", nargs="+", default=["certainly", "numbered", "plain_start", "prose"],
                   choices=list(DOMAINS))
    p.add_argument("--n", type=int, default=HELD_OUT_PROMPTS)
    args = parser.parse_args()
    {"build": build, "probe": probe, "prompts": prompts}[args.command](args)


if __name__ == "__main__":
    main()
