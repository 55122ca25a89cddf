"""Evaluation after every task: per-example preference margins on every eval split.

The score of a model on a pair is measured against a fixed reference, the
initial model (computed once, before any training), so numbers are comparable
across tasks: margin = [log pi(y+) - log pi_0(y+)] - [log pi(y-) - log pi_0(y-)].
The result matrix and the flip rates come from the same stored margins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lit_align.config.data import SourceConfig
from lit_align.config.schema import RunConfig
from lit_align.data.collate import Collator
from lit_align.data.records import column_problem
from lit_align.data.sources import load_source
from lit_align.data.tokenize import TokenizeSettings, tokenize_dataset
from lit_align.errors import ConfigError
from lit_align.modules.reference import compute_reference_columns


@dataclass
class EvalSplit:
    """A tokenised eval split and the initial model's log-probs of its pairs."""

    name: str
    columns: dict[str, list[Any]]
    prompts: list[str] = field(default_factory=list)  # distinct prompt texts, for generation
    initial_chosen: list[float] = field(default_factory=list)
    initial_rejected: list[float] = field(default_factory=list)

    @property
    def dataset(self) -> Any:
        import datasets

        return datasets.Dataset.from_dict(self.columns)


def _split_sources(run: RunConfig) -> list[tuple[str, SourceConfig, TokenizeSettings, str]]:
    ev = run.evaluation
    if ev.splits:
        settings = TokenizeSettings(max_length=ev.max_length, max_prompt_length=ev.max_prompt_length,
                                    chat_template=ev.chat_template)
        return [(name, src, settings, f"evaluation.splits.{name}") for name, src in ev.splits.items()]
    out = []
    for index, task in enumerate(run.sequence):
        if task.data.eval is None or task.method.resolve().data_kind == "sft":
            continue
        settings = TokenizeSettings(max_length=task.data.max_length, max_prompt_length=task.data.max_prompt_length,
                                    over_length=task.data.over_length, bad_rows=task.data.bad_rows,
                                    chat_template=task.data.chat_template)
        out.append((task.name, task.data.eval, settings, f"sequence[{index}].data.eval"))
    return out


def pair_columns(dataset: Any, tokenizer: Any, settings: TokenizeSettings, where: str) -> dict[str, list[Any]]:
    """Preference columns of an eval source; ranked data (`responses` + `scores`) is scored
    on its best-vs-worst pair, so one matrix covers pairwise and ranked tasks."""
    if column_problem(list(dataset.column_names), "preference", where) is None:
        return tokenize_dataset(dataset, "preference", tokenizer, settings, where)[0]
    ranked, _ = tokenize_dataset(dataset, "ranked", tokenizer, settings, where)
    best = [max(range(len(s)), key=s.__getitem__) for s in ranked["scores"]]
    worst = [min(range(len(s)), key=s.__getitem__) for s in ranked["scores"]]
    return {
        "row": ranked["row"],
        "prompt_ids": ranked["prompt_ids"],
        "chosen_ids": [r[i] for r, i in zip(ranked["response_ids"], best, strict=True)],
        "rejected_ids": [r[i] for r, i in zip(ranked["response_ids"], worst, strict=True)],
    }


def build_eval_splits(run: RunConfig, tokenizer: Any) -> list[EvalSplit]:
    """The matrix columns, tokenised; empty when no task has preference eval data."""
    splits = []
    generation = run.evaluation.generation
    own_prompts = generation.prompts if generation is not None else {}
    for name, source, settings, where in _split_sources(run):
        columns = pair_columns(load_source(source, where), tokenizer, settings, where)
        if name in own_prompts:
            place = f"evaluation.generation.prompts.{name}"
            ids = tokenize_dataset(load_source(own_prompts[name], place), "prompt", tokenizer, settings, place)[0]
        else:
            ids = columns
        texts = tokenizer.batch_decode(ids["prompt_ids"], skip_special_tokens=False)
        splits.append(EvalSplit(name=name, columns=columns, prompts=list(dict.fromkeys(texts))))
    unknown = sorted(set(own_prompts) - {s.name for s in splits})
    if unknown:  # validate says so first; a run built from Python gets the same line
        raise ConfigError(f"evaluation.generation.prompts.{unknown[0]}: not an eval split "
                          f"(splits: {', '.join(s.name for s in splits)})")
    return splits


def pair_logps(model: Any, split: EvalSplit, collator: Collator, batch_size: int, device: Any):
    return compute_reference_columns(model, split.dataset, collator, batch_size=batch_size, average=False,
                                     device=device)


def cache_initial(model: Any, splits: list[EvalSplit], collator: Collator, batch_size: int, device: Any) -> None:
    for split in splits:
        split.initial_chosen, split.initial_rejected = pair_logps(model, split, collator, batch_size, device)


def margins(model: Any, split: EvalSplit, collator: Collator, batch_size: int, device: Any) -> list[float]:
    """Per-example log-ratio margin of `model` over the initial model."""
    chosen, rejected = pair_logps(model, split, collator, batch_size, device)
    c = np.asarray(chosen) - np.asarray(split.initial_chosen)
    r = np.asarray(rejected) - np.asarray(split.initial_rejected)
    return (c - r).tolist()


def pair_scores(margin_values: list[float], tolerance: float = 1e-6) -> np.ndarray:
    """1 for a margin > 0, 0.5 for a tie (|margin| <= tolerance: float noise), else 0."""
    m = np.asarray(margin_values, dtype=float)
    return np.where(m > tolerance, 1.0, np.where(m < -tolerance, 0.0, 0.5))


def correct(margin_values: list[float], tolerance: float = 1e-6) -> list[bool]:
    return (np.asarray(margin_values, dtype=float) > tolerance).tolist()


def split_score(margin_values: list[float]) -> float:
    return float(pair_scores(margin_values).mean())
