"""The real-model continual-alignment suite on SmolLM2-135M-Instruct (issue 19), at the size
two CPU cores allow (docs/real_suite.md says what it measured and how long it took).

    python -m benchmarks.real_suite build [--domains ...] [--train 40] [--test 16]
    python -m benchmarks.real_suite probe
    python -m benchmarks.real_suite run [--methods ...] [--orders 2] [--seeds 0 1] [--jobs 2] [--quick]
    python -m benchmarks.real_suite run --report-only

`build` samples K answers per prompt from the untuned model (temperature 1, 32 new tokens,
chat template), scores them with each domain's gold rule and keeps best vs worst pairs
(`lit_align.data.onpolicy`); pairs are cached under benchmarks/.cache/onpolicy (keyed by model
hash, domain and settings) and written to benchmarks/data/smollm2_style/ with a report of what
was dropped and why. `probe` keeps the factual questions the untuned model answers right, for
the general probe. `run` trains every method of `benchmarks/suites/real.py` over the domains in
each order and seed, each run in its own process (finished runs are read back, killed ones
resume), and writes benchmarks/results/suite_real.{json,md} after every finished run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
from benchmarks.results_io import write_results_json, write_results_text  # noqa: E402

DATA = REPO / "benchmarks" / "data" / "smollm2_style"
CACHE = REPO / "benchmarks" / ".cache" / "onpolicy"
LORA = {"r": 16, "alpha": 32, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                  "down_proj"]}
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


def _fit(config: dict, work: Path, name: str, threads: int, report_only: bool = False
         ) -> tuple[str, dict | None, str]:
    """One suite run in its own process (resumes a killed run; a complete one is read back;
    with `report_only`, a run not complete is left out instead of run)."""
    import yaml

    out = Path(config["output_dir"])
    results = out / "results.json"
    if results.is_file() and json.loads(results.read_text()).get("complete"):
        return name, json.loads(results.read_text()), ""
    if report_only:
        return name, None, ""
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    env = os.environ | {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    proc = subprocess.run([sys.executable, "-m", "lit_align.cli", "fit", "--config", str(path)], cwd=REPO,
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return name, None, proc.stderr[-3000:]
    return name, json.loads(results.read_text()), ""


def _span_minutes(run_dirs: list[Path]) -> float:
    """Wall time from the first run's start (its config.yaml) to the last run's end (results.json)."""
    if not run_dirs:
        return 0.0
    start = min((d / "config.yaml").stat().st_mtime for d in run_dirs)
    end = max((d / "results.json").stat().st_mtime for d in run_dirs)
    return round((end - start) / 60, 1)


def run(args) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from benchmarks.suites import real
    from benchmarks.suites.real_report import markdown, run_record, summarise

    size = real.QUICK if args.quick else real.FULL
    domains = list(real.QUICK_DOMAINS if args.quick else args.domains)
    orders = [domains, domains[::-1]][: args.orders]
    work = args.work / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    planned = []
    for seed in args.seeds:
        for o, order in enumerate(orders):
            for method in args.methods:
                # multitask is one task over the union: its second order concatenates the domains in
                # reverse, which only changes the shuffled batch order, a replicate like another seed
                name = f"{method}-o{o}-s{seed}"
                planned.append((name, method, o, seed,
                                real.run_config(method, order, seed, output_dir=work / "runs" / name, size=size)))
    stem = args.name or ("suite_real_quick" if args.quick else "suite_real")
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    records: dict[str, dict] = {}
    failures: list[str] = []
    started = time.perf_counter()

    def write() -> None:
        runs = [records[p[0]] for p in planned if p[0] in records]
        meta = {"model": "SmolLM2-135M-Instruct (Q4_1 GGUF dequantised to float32), LoRA r16 on every linear layer",
                "domains": domains, "orders": orders, "seeds": args.seeds, "methods": args.methods,
                "size": vars(size) | {"quick": args.quick}, "machine": f"{platform.machine()}, {os.cpu_count()} CPU "
                "cores, torch CPU", "jobs": args.jobs, "threads_per_run": args.threads,
                "recipe": real.RECIPE, "not_run": [p[0] for p in planned if p[0] not in records],
                "run_minutes_total": round(sum(r["minutes"] for r in runs), 1),
                "elapsed_minutes_this_sitting": round((time.perf_counter() - started) / 60, 1),
                "span_minutes": _span_minutes([work / "runs" / p[0] for p in planned if p[0] in records])}
        table = summarise(runs, args.methods)
        write_results_json(out_dir / f"{stem}.json", {"meta": meta, "summary": table, "runs": runs}, indent=1)
        write_results_text(out_dir / f"{stem}.md", markdown(meta, table, runs))

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(_fit, cfg, work, name, args.threads, args.report_only): (name, method, o, seed)
                   for name, method, o, seed, cfg in planned}
        from concurrent.futures import as_completed

        for future in as_completed(futures):
            name, method, o, seed = futures[future]
            _, results, error = future.result()
            if results is None and args.report_only:  # not complete: listed in meta["not_run"]
                continue
            if results is None:
                failures.append(name)
                print(f"[suite] {name} failed:\n{error}", file=sys.stderr, flush=True)
                continue
            records[name] = run_record(method, o, seed, results)
            write()  # every finished run lands in the results at once
            print(f"[suite] {name}: {records[name]['minutes']} min", flush=True)
    write()
    if failures:
        sys.exit(f"{len(failures)} run(s) failed: {', '.join(failures)}")


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
    r = sub.add_parser("run")
    from benchmarks.suites import real

    r.add_argument("--domains", nargs="+", default=list(real.DOMAINS), choices=list(DOMAINS))
    r.add_argument("--methods", nargs="+", default=list(real.REQUIRED), choices=list(real.METHODS))
    r.add_argument("--orders", type=int, default=2, choices=[1, 2])
    r.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    r.add_argument("--jobs", type=int, default=2, help="runs at once (each in its own process)")
    r.add_argument("--threads", type=int, default=1, help="torch threads per run")
    r.add_argument("--quick", action="store_true", help="CI size: 2 domains, 1 order, 1 seed, 2 steps per task")
    r.add_argument("--report-only", action="store_true",
                   help="rewrite the results from the runs already complete; start none")
    r.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    r.add_argument("--name", default=None, help="file stem of the report (default suite_real[_quick])")
    r.add_argument("--work", type=Path, default=REPO / "benchmarks" / ".cache" / "real_suite")
    args = parser.parse_args()
    if args.command == "run" and args.quick:
        args.orders, args.seeds = 1, args.seeds[:1]
        if args.methods == list(real.REQUIRED):
            args.methods = ["sequential", "replay"]
    {"build": build, "probe": probe, "prompts": prompts, "run": run}[args.command](args)


if __name__ == "__main__":
    main()
