"""`lit-align compat`: how compatible is a model update? Negative flips between an old and a new model.

Discrete splits (`kind: choice`, ranked or pairwise rows): each model picks the
candidate with the highest log-likelihood; right = the best-scored candidate.
Reported: accuracies, NFR, PFR (over all N) and MUSCLE's inconsistency flips
NFR_mc. Generative splits (`kind: generative`, prompt/completion rows): each
model answers greedily; a similarity (exact match, token F1 in the manner of
ROUGE-1, or a configured `ResponseScorer`) scores the answer, and the
continuous form gives NFR/PFR with mean gain and mean regression. The metric
functions are the runner's (`continual/metrics.py`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from lit_align.binding import ComponentOf, ComponentSpec, Range
from lit_align.config.data import SourceConfig
from lit_align.continual.metrics import continuous_flips, flip_rates, inconsistency_flip_rate
from lit_align.data.records import BadRow, render_sft

Similarity = Literal["exact", "token_f1"]


@dataclass
class CompatSplit:
    source: SourceConfig
    kind: Literal["choice", "generative"] = "choice"


@dataclass
class CompatConfig:
    """The `--data` file of `lit-align compat`."""

    splits: dict[str, CompatSplit]
    similarity: Similarity = "token_f1"
    scorer: Annotated[ComponentSpec, ComponentOf("lit_align.scorers.ResponseScorer")] | None = None
    normalize: bool = False  # choice: mean token log-prob per candidate (lm-eval's acc_norm spirit)
    max_length: Annotated[int, Range(gt=0)] = 512
    max_prompt_length: Annotated[int, Range(gt=0)] = 256
    batch_size: Annotated[int, Range(gt=0)] = 16
    max_new_tokens: Annotated[int, Range(gt=0)] = 64


def exact_match(answer: str, reference: str) -> float:
    return float(" ".join(answer.split()) == " ".join(reference.split()))


def token_f1(answer: str, reference: str) -> float:
    """Unigram F1 over lower-cased whitespace tokens (ROUGE-1 F without stemming)."""
    a, r = answer.lower().split(), reference.lower().split()
    common = sum((Counter(a) & Counter(r)).values())
    if not a or not r or common == 0:
        return float(a == r)
    precision, recall = common / len(a), common / len(r)
    return 2 * precision * recall / (precision + recall)


SIMILARITIES = {"exact": exact_match, "token_f1": token_f1}


# -- per-model predictions ------------------------------------------------------------------------
def choice_dataset(rows: Any, tokenizer: Any, cfg: CompatConfig, where: str) -> Any:
    """A choice split tokenised once, as ranked rows (pairs are J = 2), for both models."""
    import datasets

    from lit_align.data.tokenize import TokenizeSettings, tokenize_dataset

    settings = TokenizeSettings(max_length=cfg.max_length, max_prompt_length=cfg.max_prompt_length)
    columns, _ = tokenize_dataset(rows, "ranked", tokenizer, settings, where)
    return datasets.Dataset.from_dict(columns)


def choice_predictions(model: Any, tokenizer: Any, dataset: Any, cfg: CompatConfig) -> tuple[list, list]:
    """(predicted candidate, best candidate) per row, by log-likelihood."""
    from lit_align.data.collate import Collator, iter_batches
    from lit_align.modules.forward import CandidateLogProbs
    from lit_align.modules.reference import eval_mode

    collate = Collator(kind="ranked", pad_id=tokenizer.pad_token_id)
    device = next(model.parameters()).device
    predicted: list[int] = []
    best: list[int] = []
    with eval_mode(model):
        for batch in iter_batches(dataset, collate, cfg.batch_size, device):
            cand = CandidateLogProbs(model, batch, average=cfg.normalize)
            predicted += cand.predicted().tolist()
            best += cand.best.tolist()
    return predicted, best


def generative_items(rows: Any, tokenizer: Any, where: str) -> tuple[list[str], list[str]]:
    """Prompt texts and reference answers of prompt/completion (or messages) rows."""
    from lit_align.errors import DataError

    prompts, references = [], []
    for index, row in enumerate(rows):
        try:
            rendered = render_sft(row, tokenizer)
        except BadRow as bad:
            raise DataError(f"{where} row {index}: {bad.detail} [{bad.reason}]") from None
        prompts.append(rendered.prompt)
        references.append(_answer_text(row) if rendered.templated else rendered.responses[0])
    return prompts, references


def _answer_text(row: dict[str, Any]) -> str:
    """The reference answer of a conversational row: the assistant's words, not the chat template's
    rendering of them (which ends in an end-of-turn marker a decoded answer never has)."""
    messages = row["messages"][-1:] if row.get("messages") is not None else row["completion"]
    return "\n".join(str(m.get("content") or "") for m in messages)


# -- comparison -----------------------------------------------------------------------------------
def compare_choice(old: list[int], new: list[int], target: list[int]) -> dict[str, float]:
    old_right = [o == t for o, t in zip(old, target, strict=True)]
    new_right = [n == t for n, t in zip(new, target, strict=True)]
    flips = flip_rates(old_right, new_right)
    return {"n": flips.n, "old_accuracy": sum(old_right) / max(1, flips.n),
            "new_accuracy": sum(new_right) / max(1, flips.n), "nfr": flips.nfr, "pfr": flips.pfr,
            "nfr_mc": inconsistency_flip_rate(old, new, target)}


def compare_generative(old_scores: list[float], new_scores: list[float]) -> dict[str, float]:
    flips = continuous_flips(old_scores, new_scores)
    n = len(old_scores)
    return {"n": n, "old_score": sum(old_scores) / max(1, n), "new_score": sum(new_scores) / max(1, n),
            "nfr": flips.nfr, "pfr": flips.pfr, "mean_gain": flips.mean_gain,
            "mean_regression": flips.mean_regression}


def overall(splits: dict[str, dict[str, float]]) -> dict[str, float]:
    """NFR and PFR over every example of every split (weighted by split size)."""
    n = sum(s["n"] for s in splits.values())
    return {"n": n, **{k: sum(s[k] * s["n"] for s in splits.values()) / max(1, n) for k in ("nfr", "pfr")}}


def _check_model_path(flag: str, path: str) -> None:
    """A run's checkpoint directory holds raw weights without a model config: point at the export."""
    from pathlib import Path

    from lit_align.errors import UserError

    p = Path(path)
    if (p / "policy.safetensors").is_file() and not (p / "config.json").is_file():
        raise UserError(f"{flag} {path} is a lit-align checkpoint (raw weights); give the task's exported "
                        "model instead: <output_dir>/tasks/<task>/model (set export: every_task in the run)")
    if (p.is_absolute() or path.startswith(".")) and not p.is_dir():  # a path, not a hub id
        raise UserError(f"{flag} {path}: no such model directory")


def run_compat(old_path: str, new_path: str, cfg: CompatConfig, seed: int = 0) -> dict[str, Any]:
    """Score both models on every split; the report `lit-align compat` prints and saves."""
    from lit_align.continual.runner import quiet_third_party
    from lit_align.data.sources import load_source
    from lit_align.generation import Sampling, generate
    from lit_align.models import HFModelSpec

    quiet_third_party()
    for flag, path in (("--old", old_path), ("--new", new_path)):
        _check_model_path(flag, path)
    models = {"old": HFModelSpec(name_or_path=old_path).build(), "new": HFModelSpec(name_or_path=new_path).build()}
    tokenizer = models["new"].tokenizer
    if models["old"].tokenizer.get_vocab() != tokenizer.get_vocab():
        from lit_align.errors import UserError

        raise UserError("--old and --new use different tokenizers; flips are compared per example and "
                        "need one tokenizer (MUSCLE's setting)")
    scorer = cfg.scorer.instantiate() if cfg.scorer is not None else None
    sampling = Sampling(max_new_tokens=cfg.max_new_tokens, temperature=0.0, batch_size=cfg.batch_size)
    report: dict[str, dict[str, float]] = {}
    for name, split in cfg.splits.items():
        where = f"--data splits.{name}"
        rows = load_source(split.source, where)
        if split.kind == "choice":
            dataset = choice_dataset(rows, tokenizer, cfg, where)
            (old, target), (new, _) = (choice_predictions(models[k].model, tokenizer, dataset, cfg)
                                       for k in ("old", "new"))
            report[name] = {"kind": "choice", **compare_choice(old, new, target)}
            continue
        prompts, references = generative_items(rows, tokenizer, where)
        scores = {}
        for key, policy in models.items():
            answers = generate(policy.model, tokenizer, prompts, sampling, seed)
            scores[key] = (scorer.score(name, prompts, answers) if scorer is not None else
                           [SIMILARITIES[cfg.similarity](a, r) for a, r in zip(answers, references, strict=True)])
        report[name] = {"kind": "generative", **compare_generative(scores["old"], scores["new"])}
    return {"old": old_path, "new": new_path, "splits": report, "overall": overall(report)}


# -- the command's outputs ------------------------------------------------------------------------
def load_compat_config(path: str) -> CompatConfig:
    from lit_align.validation.config import load_typed_config

    return load_typed_config(path, CompatConfig, "--data")[0]


def table(report: dict[str, Any]) -> str:
    """Markdown: one row per split, then the overall flip rates."""
    lines = ["| split | kind | n | old | new | NFR | PFR | NFR_mc | mean gain | mean regression |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in report["splits"].items():
        old, new = (s["old_accuracy"], s["new_accuracy"]) if s["kind"] == "choice" else (s["old_score"], s["new_score"])
        cells = [f"{s.get(k):.3f}" if k in s else "-" for k in ("nfr", "pfr", "nfr_mc", "mean_gain", "mean_regression")]
        lines.append(f"| {name} | {s['kind']} | {s['n']} | {old:.3f} | {new:.3f} | " + " | ".join(cells) + " |")
    o = report["overall"]
    lines.append(f"| **overall** | | {o['n']} | | | {o['nfr']:.3f} | {o['pfr']:.3f} | | | |")
    return "\n".join(lines) + "\n"


def log_to_mlflow(report: dict[str, Any], tracking_uri: str, experiment: str) -> str:
    import mlflow

    from lit_align.tracking.mlflow import check_reachable

    check_reachable(tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name="compat") as run:
        mlflow.log_params({"old": report["old"], "new": report["new"]})
        metrics = {f"overall/{k}": v for k, v in report["overall"].items()}
        for name, s in report["splits"].items():
            metrics |= {f"{name}/{k}": v for k, v in s.items() if k != "kind"}
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        mlflow.log_dict(report, "compat.json")
        return run.info.run_id
