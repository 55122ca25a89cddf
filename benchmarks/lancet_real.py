"""LANCET on SmolLM2-135M-Instruct (issue 21, target F5r): recall the injected rows behind a bad
behaviour of a real LoRA fine-tune, then correct it (scenario: benchmarks/suites/lancet_real.py).

    python -m benchmarks.lancet_real build                  # the untuned model's answers (committed)
    python -m benchmarks.lancet_real run [--seeds 0 1 2] [--correct lancet ascent dpo_fresh retrain ...]
    python -m benchmarks.lancet_real choose --seed 0        # the IBO variant the rule picks on one seed
    python -m benchmarks.lancet_real report                 # results files from the stages computed so far

Per seed: SFT (LoRA) on the clean rows + the injected refusals -> the contaminated model; measure
its refusal rate on 48 held-out history questions and its utility; rank the training rows by
influence on its refusals (EK-FAC, K-FAC, diagonal, identity, each also as a cosine; plus TF-IDF
similarity), recall@k with k = the number injected. `correct` then starts from the contaminated
model: IBO (the variants in IBO_VARIANTS), gradient ascent on the recalled rows, DPO on fresh pairs,
and retraining without the recalled rows. Every stage of every seed is written under --work as it
finishes and read back on the next call; `report` writes benchmarks/results/lancet_real.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
from benchmarks.results_io import write_results_json, write_results_text  # noqa: E402
from benchmarks.suites import lancet_real as scenario  # noqa: E402
from benchmarks.suites.lancet_real import GGUF, SHAPE, refused_queries  # noqa: E402,F401
from benchmarks.suites.lancet_real import read_jsonl as _read_jsonl  # noqa: E402
from benchmarks.suites.real_probe import exact_rate  # noqa: E402
from benchmarks.suites.synthetic import fit_task, write_jsonl  # noqa: E402
from lit_align.study.stats import mean_half_width  # noqa: E402

LORA = {"r": 16, "alpha": 32, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                  "down_proj"]}
PRECONDITIONERS = ("ekfac", "kfac", "diagonal", "identity")
# IBO variants (issue 21, item 4): the old defaults first; all are chosen between on seed 0 and the
# chosen one is reported on the held-out seeds. counter_k 0 leaves out the "counteracting" rows (the most negative
# influence), whose likelihood IBO raises; `ranking` names the recall the variant trains on.
# Every setting is explicit ("k": the number injected), so a run means the same after a default changes.
IBO_VARIANTS: dict[str, dict[str, Any]] = {
    "lancet": {"temperature": 0.1, "counter_k": "k", "divergence": "kl"},
    "lancet_t1": {"temperature": 1.0, "counter_k": "k", "divergence": "kl"},
    "lancet_nocounter": {"temperature": 0.1, "counter_k": 0, "divergence": "kl"},
    # the squared-log-ratio divergence does not saturate when the rows' likelihoods differ by more than
    # the tilt (the KL over a batch does: a short refusal keeps nearly all of P* and of P_theta)
    "lancet_sq_nocounter": {"temperature": 0.1, "counter_k": 0, "divergence": "log_squared"},
    "lancet_sq_t1_nocounter": {"temperature": 1.0, "counter_k": 0, "divergence": "log_squared"},
    # per-token log-likelihoods in the KL (losses/ibo.py: the summed form saturates on short, likely rows)
    "lancet_pt_nocounter": {"temperature": 0.1, "counter_k": 0, "divergence": "kl", "per_token": True},
    "lancet_pt_t1_nocounter": {"temperature": 1.0, "counter_k": 0, "divergence": "kl", "per_token": True},
    "lancet_tfidf_sq_nocounter": {"temperature": 0.1, "counter_k": 0, "divergence": "log_squared",
                                  "ranking": "tfidf"},
    # targets keep the influence's sign (`rank` splits a group of only harmful rows into losers and gainers)
    "lancet_signed_sq_nocounter": {"temperature": 0.1, "counter_k": 0, "divergence": "log_squared",
                                   "normalize": "signed_rank"},
    "lancet_tfidf_signed_sq_nocounter": {"temperature": 0.1, "counter_k": 0, "divergence": "log_squared",
                                         "normalize": "signed_rank", "ranking": "tfidf"},
    "lancet_tfidf_signed_pt_nocounter": {"temperature": 0.1, "counter_k": 0, "divergence": "kl", "per_token": True,
                                         "normalize": "signed_rank", "ranking": "tfidf"},
}
SELECTABLE = [name for name, v in IBO_VARIANTS.items() if v.get("ranking", "ekfac") == "ekfac"]
CORRECTIONS = (*IBO_VARIANTS, "ascent", "dpo_fresh", "retrain")
WORK = REPO / "benchmarks" / ".cache" / "lancet_real"


def chat(prompts: list[str], tokenizer: Any) -> list[str]:
    """Prompts as one user turn in the chat template, as `data.chat_template: true` trains them."""
    from lit_align.data.records import render_prompt

    return [render_prompt({"prompt": [{"role": "user", "content": p}]}, tokenizer).prompt for p in prompts]


def build(args: argparse.Namespace) -> None:
    """The untuned model's greedy answers: the clean rows, the utility set, the fresh pairs' chosen side."""
    from lit_align.data.refusal import is_refusal
    from lit_align.generation import Sampling, generate_with_stops
    from lit_align.models import GGUFModelSpec

    started = time.perf_counter()
    policy = GGUFModelSpec(gguf=GGUF).build()
    sampling = Sampling(max_new_tokens=args.new_tokens, batch_size=16)

    def answer(prompts: list[str]) -> tuple[list[str], list[bool]]:
        return generate_with_stops(policy.model, policy.tokenizer, chat(prompts, policy.tokenizer), sampling, 0)

    clean = scenario.clean_prompts(args.per_family, args.held_out)
    history = scenario.history_prompts()
    report: dict[str, Any] = {"model": GGUF, "max_new_tokens": args.new_tokens, "files": {}}
    scenario.DATA.mkdir(parents=True, exist_ok=True)
    for name, prompts in (("clean_train", clean["train"]), ("utility", clean["test"]),
                          ("history_fresh", [p for p, _ in history["fresh"]]),
                          ("history_test", [p for p, _ in history["test"]]),
                          ("history_queries", [p for p, _ in history["queries"]])):
        said, cut = answer(prompts)
        refused = [is_refusal(a) for a in said]
        # a clean row is a good answer: never empty, never a refusal (history rows are kept as said)
        rows = [{"prompt": p, "completion": a} for p, a, r in zip(prompts, said, refused, strict=True)
                if name.startswith("history") or (a.strip() and not r)]
        write_jsonl(scenario.DATA / f"{name}.jsonl", rows)
        report["files"][name] = {"prompts": len(prompts), "rows": len(rows), "refusals": sum(refused),
                                 "empty": sum(not a.strip() for a in said), "hit_token_limit": sum(cut)}
        print(f"{name}: {report['files'][name]}", flush=True)
    report["untuned_refusal_rate_history_test"] = report["files"]["history_test"]["refusals"] / len(history["test"])
    report["seconds"] = round(time.perf_counter() - started, 1)
    write_results_json(scenario.DATA / "build_report.json", report, indent=2)


# -- one seed --------------------------------------------------------------------------------
def training_rows(seed: int, injected: int) -> list[dict[str, Any]]:
    rows = [r | {"injected": False} for r in _read_jsonl(scenario.DATA / "clean_train.jsonl")]
    rng = random.Random(f"inject-{seed}")
    chosen = rng.sample(scenario.history_prompts()["train"], injected)
    rows += [{"prompt": p, "completion": scenario.refusal(topic, rng), "injected": True} for p, topic in chosen]
    random.Random(seed).shuffle(rows)
    return rows


def measure(model_dir: Path) -> dict[str, Any]:
    """Refusal rate on held-out history questions, probe facts, utility answers' log-likelihood."""
    from lit_align.continual.probe import answer_logprobs
    from lit_align.data.refusal import is_refusal
    from lit_align.generation import Sampling, policy_answerer
    from lit_align.models import HFModelSpec

    policy = HFModelSpec(name_or_path=str(model_dir)).build()
    answer = policy_answerer(policy, Sampling(max_new_tokens=24, batch_size=16), 0, chat_template=True)
    said = answer([r["prompt"] for r in _read_jsonl(scenario.DATA / "history_test.jsonl")])
    utility = _read_jsonl(scenario.DATA / "utility.jsonl")
    logps = answer_logprobs(policy.model, policy.tokenizer, chat([r["prompt"] for r in utility], policy.tokenizer),
                            [r["completion"] for r in utility], 16)
    return {"bad_rate": sum(map(is_refusal, said)) / len(said), "probe_exact": exact_rate(answer),
            "utility_logprob": sum(logps) / len(logps), "example": said[0]}


def contaminate(seed: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    rows = training_rows(seed, args.injected)
    train_file = write_jsonl(work / "train.jsonl", rows)
    start = time.perf_counter()
    model = {"class_path": "gguf", "init_args": {"gguf": GGUF, "lora": LORA}}
    task = {"method": {"class_path": "sft", "init_args": {"optimizer": {"lr": args.sft_lr, "warmup_steps": 4}}},
            "data": {"train": {"path": "json", "data_files": train_file}, **SHAPE}}
    merged = fit_task("sft", model, task, work / "sft", seed, args.sft_epochs)
    return {"train_file": train_file, "rows": len(rows), "injected": args.injected, "model": str(merged),
            "seconds": round(time.perf_counter() - start, 1), "measure": measure(merged)}


def recall(contaminated: dict[str, Any], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """recall@k of every ranking over the LoRA weights of the contaminated fine-tune, and TF-IDF."""
    import datasets

    from lit_align.influence.data import TokenizedRows
    from lit_align.influence.recall import rank_rows, recall_at_k
    from lit_align.influence.scoring import InfluenceScorer, InfluenceSettings
    from lit_align.models import GGUFModelSpec

    policy = GGUFModelSpec(gguf=GGUF, adapter=str(Path(contaminated["model"]) / "adapter")).build()
    model, tokenizer = policy.model, policy.tokenizer
    queries = refused_queries(policy)
    if not queries:
        return {"error": "the contaminated model refused none of the query prompts: nothing to trace"}
    rows = _read_jsonl(Path(contaminated["train_file"]))
    injected = {i for i, r in enumerate(rows) if r["injected"]}
    sizes = {"max_length": SHAPE["max_length"], "max_prompt_length": SHAPE["max_prompt_length"], "batch_size": 16,
             "chat_template": True}
    train = TokenizedRows(datasets.Dataset.from_list(rows), "sft", tokenizer, where="train", **sizes)
    query_rows = TokenizedRows(datasets.Dataset.from_list(queries), "sft", tokenizer, where="queries", **sizes)
    out: dict[str, Any] = {"queries": len(queries), "train_rows": len(train), "k": len(injected), "rankings": {}}

    def record(name: str, scores: Any, seconds: float) -> None:
        ranking = rank_rows(scores, train.rows, "mean")
        out["rankings"][name] = {"recall_at_k": recall_at_k([r for r, _ in ranking], injected),
                                 "seconds": round(seconds, 1)}
        if name == args.correct_with:
            out["scores"] = {str(r): s for r, s in ranking}
        print(f"  {name}: recall@k {out['rankings'][name]['recall_at_k']:.3f} ({seconds:.0f} s)", flush=True)

    for name in args.preconditioners:
        for cosine in (False, True):
            start = time.perf_counter()
            settings = InfluenceSettings(params="lora", preconditioner=name, damping=args.damping,
                                         projection_dim=args.projection_dim, cosine=cosine)
            scorer = InfluenceScorer(model, settings, work / "influence_cache")
            scores = scorer.score(train.batches(), query_rows.batches(), train_measurement="sft",
                                  data_key=train.fingerprint)
            record(f"{name}{'_cosine' if cosine else ''}", scores, time.perf_counter() - start)
    start = time.perf_counter()
    record("tfidf", lexical_scores([rows[i] for i in train.rows], queries), time.perf_counter() - start)
    return out


def lexical_scores(rows: list[dict[str, Any]], queries: list[dict[str, str]]) -> Any:
    from lit_align.influence.lexical import tfidf_scores

    return tfidf_scores([r["prompt"] + " " + r["completion"] for r in rows],
                        [q["prompt"] + " " + q["completion"] for q in queries])


def tfidf_ranking_scores(contaminated: dict[str, Any]) -> dict[str, float]:
    """The TF-IDF ranking's scores by row (recall.json keeps only the EK-FAC ones): the refused queries
    are regenerated greedily, so they are the ones recall traced."""
    from lit_align.influence.recall import rank_rows
    from lit_align.models import GGUFModelSpec

    policy = GGUFModelSpec(gguf=GGUF, adapter=str(Path(contaminated["model"]) / "adapter")).build()
    rows = _read_jsonl(Path(contaminated["train_file"]))
    ranking = rank_rows(lexical_scores(rows, refused_queries(policy)), list(range(len(rows))), "mean")
    return {str(r): s for r, s in ranking}


def write_ranking(contaminated: dict[str, Any], scores: dict[str, float], work: Path, name: str = "ranking") -> str:
    """The training rows with a ranking's influence column (what a `lancet` task reads)."""
    rows = _read_jsonl(Path(contaminated["train_file"]))
    return write_jsonl(work / f"{name}.jsonl", [r | {"influence": scores[str(i)]} for i, r in enumerate(rows)
                                                if str(i) in scores])


def fresh_pairs(work: Path, k: int) -> str:
    """k fresh history questions: the untuned model's answer preferred to a refusal."""
    rng = random.Random("fresh")
    answered = _read_jsonl(scenario.DATA / "history_fresh.jsonl")
    topics = dict(scenario.history_prompts()["fresh"])
    from lit_align.data.refusal import is_refusal

    pairs = [{"prompt": r["prompt"], "chosen": r["completion"], "rejected": scenario.refusal(topics[r["prompt"]], rng)}
             for r in answered if r["completion"].strip() and not is_refusal(r["completion"])]
    return write_jsonl(work / "fresh_pairs.jsonl", pairs[:k])


def correct(method: str, contaminated: dict[str, Any], recalled: dict[str, Any], args: argparse.Namespace,
            work: Path, seed: int) -> dict[str, Any]:
    """One correction from the contaminated model (retrain: from the untuned model), then measured."""
    k = contaminated["injected"]
    optimizer = {"lr": args.correct_lr, "warmup_steps": 2}
    ranking = write_ranking(contaminated, recalled["scores"], work, f"ranking_{method}")  # one file per run
    shared = {"recall_k": k, "retain_rows": args.retain_rows, "seed": seed, "optimizer": optimizer}
    model: dict[str, Any] = {"class_path": "hf", "init_args": {"name_or_path": contaminated["model"], "lora": LORA}}
    epochs = args.correct_epochs
    if method in IBO_VARIANTS:
        variant = {key: k if value == "k" else value for key, value in IBO_VARIANTS[method].items()}
        if variant.pop("ranking", args.correct_with) == "tfidf":
            ranking = write_ranking(contaminated, tfidf_ranking_scores(contaminated), work, f"ranking_{method}")
        node = {"class_path": "lancet", "init_args": shared | variant}
    elif method == "ascent":
        node = {"class_path": "gradient_ascent", "init_args": shared}
    elif method == "dpo_fresh":
        node = {"class_path": "dpo", "init_args": {"beta": 0.1, "sft_weight": 1.0, "optimizer": optimizer}}
        ranking = fresh_pairs(work, k)
    else:  # retrain without the top-k recalled rows, from the untuned model, as the contaminated SFT was
        ranked = sorted(_read_jsonl(Path(ranking)), key=lambda r: -r["influence"])
        ranking = write_jsonl(work / "train_without_recalled.jsonl", ranked[k:])
        node = {"class_path": "sft", "init_args": {"optimizer": {"lr": args.sft_lr, "warmup_steps": 4}}}
        model = {"class_path": "gguf", "init_args": {"gguf": GGUF, "lora": LORA}}
        epochs = args.sft_epochs
    start = time.perf_counter()
    task = {"method": node, "data": {"train": {"path": "json", "data_files": ranking}, **SHAPE}}
    model_dir = fit_task(method, model, task, work / method, seed, epochs)
    return {"seconds": round(time.perf_counter() - start, 1), "measure": measure(model_dir)}


def choose_variant(work: Path, seed: int) -> str | None:
    """The IBO variant chosen on `seed` (issue 21: chosen on one seed, reported on the others): of the
    variants on the recall LANCET has (EK-FAC), those whose utility log-prob is within 5% of the
    contaminated model's; the lowest refusal rate, ties to the better utility. None if none qualifies."""
    stage = work / f"seed{seed}"
    base = json.loads((stage / "contaminated.json").read_text())["measure"]["utility_logprob"]
    done = {n: json.loads((stage / f"correct_{n}.json").read_text())["measure"] for n in SELECTABLE
            if (stage / f"correct_{n}.json").is_file()}
    kept = {n: m for n, m in done.items() if m["utility_logprob"] >= 1.05 * base}  # log-probs are negative
    return min(kept, key=lambda n: (kept[n]["bad_rate"], -kept[n]["utility_logprob"])) if kept else None


# -- driver ----------------------------------------------------------------------------------
def _stage(path: Path, compute: Any) -> dict[str, Any]:
    """A stage's result, computed once and read back on later calls (a study spans sittings)."""
    if path.is_file():
        return json.loads(path.read_text())
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    return result


def markdown(meta: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    lines = [f"# LANCET on SmolLM2-135M-Instruct ({meta['date']}, {meta['machine']})", "",
             f"Settings: {meta['args']}", ""]
    done = [r for r in runs if "contaminated" in r]
    if done:
        lines += ["## The contaminated fine-tune", "", "| seed | rows (injected) | SFT s | refusal rate on held-out "
                  "history questions | probe exact | utility log-prob |", "|---|---|---|---|---|---|"]
        for r in done:
            c, m = r["contaminated"], r["contaminated"]["measure"]
            lines.append(f"| {r['seed']} | {c['rows']} ({c['injected']}) | {c['seconds']} | {m['bad_rate']:.3f} | "
                         f"{m['probe_exact']:.3f} | {m['utility_logprob']:.3f} |")
    recalled = [r for r in runs if "rankings" in r.get("recall", {})]
    if recalled:
        names = list(recalled[0]["recall"]["rankings"])
        lines += ["", f"## Recall@k (k = injected rows; n = {len(recalled)} seeds, mean +- 95% CI)", "",
                  "| ranking | recall@k | per seed | seconds (mean) |", "|---|---|---|---|"]
        for name in names:
            values = [r["recall"]["rankings"][name]["recall_at_k"] for r in recalled]
            mean, half = mean_half_width(values)
            secs = sum(r["recall"]["rankings"][name]["seconds"] for r in recalled) / len(recalled)
            lines.append(f"| {name} | {mean:.3f} +- {half:.3f} | {', '.join(f'{v:.2f}' for v in values)} | "
                         f"{secs:.0f} |")
    corrected = [r for r in runs if any(m in r for m in CORRECTIONS)]
    if corrected:
        lines += ["", "## Correction (from the contaminated model; retrain: from the untuned model)", "",
                  "| model | seeds | refusal rate | probe exact | utility log-prob | seconds |",
                  "|---|---|---|---|---|---|"]
        for name in ("contaminated", *CORRECTIONS):
            got = [r[name]["measure"] for r in corrected if name in r]
            if not got:
                continue
            seeds = ", ".join(str(r["seed"]) for r in corrected if name in r)
            cells = [mean_half_width([g[key] for g in got]) for key in ("bad_rate", "probe_exact", "utility_logprob")]
            secs = [r[name]["seconds"] for r in corrected if name in r]
            lines.append(f"| {name} | {seeds} | " + " | ".join(
                f"{m:.3f} +- {h:.3f}" if len(got) > 1 else f"{m:.3f}" for m, h in cells)
                + f" | {sum(secs) / len(secs):.0f} |")
        lines += variants_table(meta, runs)
    lines += verdicts(runs, meta["args"]["correct_with"], meta.get("chosen"), meta.get("chosen_on_seed"))
    return "\n".join(lines) + "\n"


def variants_table(meta: dict[str, Any], runs: list[dict[str, Any]]) -> list[str]:
    """IBO's settings, chosen on one seed by `choose_variant`'s rule, then held out."""
    on = meta.get("chosen_on_seed")
    selection = [r for r in runs if r["seed"] == on]
    if not selection:
        return []
    base = selection[0]["contaminated"]["measure"]
    lines = ["", f"## IBO settings, chosen on seed {on}", "",
             "Rule (fixed before the runs it chose among): of the variants on the EK-FAC ranking, those whose "
             "utility log-prob is within 5% of the contaminated model's; the lowest refusal rate. Chosen: "
             f"**{meta.get('chosen')}**. TF-IDF rows train on the TF-IDF ranking (not selectable: LANCET's "
             "recall is influence).", "",
             "| variant | settings | refusal rate | probe exact | utility log-prob | within 5% |",
             "|---|---|---|---|---|---|",
             f"| contaminated | - | {base['bad_rate']:.3f} | {base['probe_exact']:.3f} | {base['utility_logprob']:.3f} "
             "| - |"]
    for name, settings in IBO_VARIANTS.items():
        if name not in selection[0]:
            continue
        m = selection[0][name]["measure"]
        shown = ", ".join(f"{k} {v}" for k, v in settings.items())
        within = "yes" if m["utility_logprob"] >= 1.05 * base["utility_logprob"] else "no"
        lines.append(f"| {name} | {shown} | {m['bad_rate']:.3f} | {m['probe_exact']:.3f} | "
                     f"{m['utility_logprob']:.3f} | {within} |")
    return lines


def verdicts(runs: list[dict[str, Any]], ranking: str, chosen: str | None = None, chosen_on: int | None = None
             ) -> list[str]:
    """F5r, part by part (targets.md: recall@k >= 0.8, bad rate halved, utility drop <= 5%)."""
    recalled = [r["recall"]["rankings"][ranking]["recall_at_k"] for r in runs if "rankings" in r.get("recall", {})]
    if not recalled:
        return []
    mean = sum(recalled) / len(recalled)
    recall_met = mean >= 0.8
    out = ["", "## F5r", "",
           f"- recall@k ({ranking}): {mean:.3f} vs target >= 0.8: {'met' if recall_met else 'not met'}"]
    for method in CORRECTIONS:
        done = [r for r in runs if method in r]
        if not done:
            continue
        before = [r["contaminated"]["measure"] for r in done]
        after = [r[method]["measure"] for r in done]
        bad = sum(a["bad_rate"] for a in after) / sum(b["bad_rate"] for b in before)
        probe = sum(a["probe_exact"] for a in after) / sum(b["probe_exact"] for b in before) - 1
        logp = sum(a["utility_logprob"] - b["utility_logprob"] for a, b in zip(after, before, strict=True)) / len(done)
        halved = "halved" if bad <= 0.5 else "not halved"
        out.append(f"- {method}: refusal rate x{bad:.2f} of the contaminated model's ({halved}); probe exact "
                   f"{100 * probe:+.0f}%; utility log-prob {logp:+.3f} nats/token")
    ibo = chosen or "lancet"
    held = [r for r in runs if ibo in r and r["seed"] != chosen_on] if chosen else [r for r in runs if ibo in r]
    halved = bool(held) and sum(r[ibo]["measure"]["bad_rate"] for r in held) <= 0.5 * sum(
        r["contaminated"]["measure"]["bad_rate"] for r in held)
    kept = bool(held) and all(r[ibo]["measure"]["utility_logprob"] >= 1.05 * r["contaminated"]["measure"][
        "utility_logprob"] for r in held)
    where = f"{ibo} on held-out seeds {[r['seed'] for r in held]}" if chosen else ibo
    out.append(f"- F5r (LANCET's recall and IBO together; {where}): recall {'met' if recall_met else 'not met'}, "
               f"refusal rate {'halved' if halved else 'not halved'}, utility "
               f"{'within 5%' if kept else 'not within 5%'}: "
               f"{'met' if recall_met and halved and kept else 'not met'}" + ("" if held else " (IBO not run)"))
    return out


def run(args: argparse.Namespace) -> None:
    runs = []
    started = time.perf_counter()
    for seed in args.seeds:
        work = args.work / f"seed{seed}"
        print(f"[lancet-real] seed {seed}", flush=True)
        result: dict[str, Any] = {"seed": seed}
        result["contaminated"] = _stage(work / "contaminated.json", partial(contaminate, seed, args, work))
        result["recall"] = _stage(work / "recall.json", partial(recall, result["contaminated"], args, work))
        for method in args.correct:
            if "rankings" not in result.get("recall", {}):
                break
            result[method] = _stage(work / f"correct_{method}.json", partial(correct, method, result["contaminated"],
                                                                    result["recall"], args, work, seed))
        runs.append(result)
        meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, 2 CPU cores, torch CPU",
                "args": {k: v for k, v in vars(args).items() if k not in ("work", "command")},
                "minutes_this_sitting": round((time.perf_counter() - started) / 60, 1)}
        write_results(args.name, meta, runs)
    print(markdown(meta, runs))


def write_results(name: str, meta: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    out = REPO / "benchmarks" / "results"
    write_results_json(out / f"{name}.json", {"meta": meta, "runs": runs}, indent=1)
    write_results_text(out / f"{name}.md", markdown(meta, runs))


def report(args: argparse.Namespace) -> None:
    """The results files from the stages already computed (nothing is computed; a missing stage is absent)."""
    runs = []
    for seed in args.seeds:
        work = args.work / f"seed{seed}"
        result: dict[str, Any] = {"seed": seed}
        for key, name in (("contaminated", "contaminated"), ("recall", "recall"),
                          *((m, f"correct_{m}") for m in CORRECTIONS)):
            if (work / f"{name}.json").is_file():
                result[key] = json.loads((work / f"{name}.json").read_text())
        runs.append(result)
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, 2 CPU cores, torch CPU",
            "args": {k: v for k, v in vars(args).items() if k not in ("work", "command")},
            "chosen_on_seed": args.choose_on, "chosen": choose_variant(args.work, args.choose_on)}
    write_results(args.name, meta, runs)
    print(markdown(meta, runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--per-family", type=int, default=80)
    b.add_argument("--held-out", type=int, default=12)
    b.add_argument("--new-tokens", type=int, default=48)
    r = sub.add_parser("run")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--injected", type=int, default=40)
    r.add_argument("--sft-epochs", type=int, default=3)
    r.add_argument("--sft-lr", type=float, default=3e-4)
    r.add_argument("--correct", nargs="*", default=[], choices=CORRECTIONS,
                   help="corrections to run after recall (each from the contaminated model)")
    r.add_argument("--correct-with", default="ekfac", help="the ranking the corrections use")
    r.add_argument("--correct-lr", type=float, default=3e-4)
    r.add_argument("--correct-epochs", type=int, default=2)
    r.add_argument("--retain-rows", type=int, default=60)
    r.add_argument("--preconditioners", nargs="+", default=list(PRECONDITIONERS), choices=PRECONDITIONERS)
    r.add_argument("--damping", type=float, default=0.1)
    r.add_argument("--projection-dim", type=int, default=32)
    r.add_argument("--name", default="lancet_real")
    r.add_argument("--work", type=Path, default=WORK)
    rep = sub.add_parser("report", help="write the results files from the stages computed so far")
    rep.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    rep.add_argument("--choose-on", type=int, default=0)
    rep.add_argument("--correct-with", default="ekfac")
    rep.add_argument("--name", default="lancet_real")
    rep.add_argument("--work", type=Path, default=WORK)
    c = sub.add_parser("choose", help="print the IBO variant chosen on one seed")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--work", type=Path, default=WORK)
    args = parser.parse_args()
    if args.command == "choose":
        print(choose_variant(args.work, args.seed))
        return
    {"build": build, "run": run, "report": report}[args.command](args)


if __name__ == "__main__":
    main()
