"""Recall: rank the training rows behind undesirable outputs (`lit-align influence`).

The queries are undesirable outputs: given as `prompt` + `completion` rows, or produced
here by answering `prompt` rows with the model and keeping the answers a scorer flags
(score below `bad_below`). Every training row gets its influence on the queries
(aggregated by mean or max over queries); the ranking, highest first, is written as
jsonl or parquet with the row's own columns, and a summary next to it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import torch

from lit_align.binding import ComponentOf, ComponentSpec, Range
from lit_align.config.data import SourceConfig
from lit_align.errors import ConfigError, DataError
from lit_align.generation import Sampling, policy_answerer
from lit_align.influence.scoring import InfluenceScorer, InfluenceSettings
from lit_align.io import atomic_write_json

log = logging.getLogger(__name__)


@dataclass
class QueryConfig:
    """Undesirable outputs: rows with `prompt` + `completion`, or `prompt` rows to answer
    (`generate`) whose answers `scorer` flags (score < `bad_below`) on split `split`."""

    source: SourceConfig
    generate: Sampling | None = None
    scorer: Annotated[ComponentSpec, ComponentOf("lit_align.scorers.ResponseScorer")] | None = None
    split: str = "queries"
    bad_below: float = 0.5


@dataclass
class InfluenceConfig:
    model: Annotated[ComponentSpec, ComponentOf("lit_align.models.ModelSpec")]
    train: SourceConfig
    queries: QueryConfig
    output: str  # ranking file: .jsonl or .parquet
    train_kind: Literal["sft", "preference"] = "sft"
    influence: InfluenceSettings = field(default_factory=InfluenceSettings)
    aggregate: Literal["mean", "max"] = "mean"
    batch_size: Annotated[int, Range(gt=0)] = 16
    max_length: Annotated[int, Range(gt=1)] = 512
    max_prompt_length: Annotated[int, Range(gt=0)] = 256
    # as the fine-tune's data.chat_template: plain-string rows and query prompts go through the
    # tokenizer's chat template, so a row's gradient is the one training saw
    chat_template: bool = False
    cache_dir: str | None = None  # default: <output dir>/influence_cache
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.output.endswith((".jsonl", ".parquet")):
            raise ConfigError(f"influence output {self.output!r}: name a .jsonl or .parquet file")
        if self.queries.generate is not None and self.queries.scorer is None:
            raise ConfigError("influence queries.generate needs queries.scorer to flag which answers are "
                              "undesirable (or give prompt + completion rows without generate)")


def load_influence_config(path: str, overrides: list[str] | None = None) -> tuple[InfluenceConfig, dict[str, Any]]:
    from lit_align.validation.config import load_typed_config

    return load_typed_config(path, InfluenceConfig, "influence config", overrides)


def undesirable_outputs(cfg: QueryConfig, policy: Any, seed: int, chat_template: bool = False
                        ) -> list[dict[str, str]]:
    """Query rows `{prompt, completion}`: as given, or generated and flagged by the scorer."""
    from lit_align.data.sources import load_source

    rows = load_source(cfg.source, "queries.source")
    columns = list(rows.column_names)
    if cfg.generate is None:
        if "prompt" not in columns or "completion" not in columns:
            raise DataError(f"queries.source: needs `prompt` and `completion` columns (the undesirable "
                            f"outputs; columns: {', '.join(columns)}), or set queries.generate + scorer")
        return [{"prompt": r["prompt"], "completion": r["completion"]} for r in rows]
    if "prompt" not in columns:
        raise DataError(f"queries.source: no `prompt` column to answer (columns: {', '.join(columns)})")
    prompts = list(rows["prompt"])
    answers = policy_answerer(policy, cfg.generate, seed, chat_template=chat_template)(prompts)
    assert cfg.scorer is not None
    scores = cfg.scorer.instantiate().score(cfg.split, prompts, answers)
    flagged = [{"prompt": p, "completion": a} for p, a, s in zip(prompts, answers, scores, strict=True)
               if s < cfg.bad_below and a.strip()]
    if not flagged:
        raise DataError(f"queries: the scorer flagged none of {len(prompts)} answers (score < {cfg.bad_below}); "
                        "nothing to trace: the model may not misbehave on these prompts")
    return flagged


def rank_rows(scores: torch.Tensor, kept_rows: list[int], aggregate: str) -> list[tuple[int, float]]:
    """`(source row, aggregated score)`, highest influence first (ties by row)."""
    agg = scores.mean(1) if aggregate == "mean" else scores.max(1).values
    pairs = [(row, float(s)) for row, s in zip(kept_rows, agg.tolist(), strict=True)]
    return sorted(pairs, key=lambda p: (-p[1], p[0]))


def write_ranking(path: Path, ranking: list[tuple[int, float]], source_rows: Any) -> None:
    import datasets

    records = [{"rank": i + 1, "row": row, "influence": score, **source_rows[row]}
               for i, (row, score) in enumerate(ranking)]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    table = datasets.Dataset.from_list(records)
    if path.suffix == ".parquet":
        table.to_parquet(str(tmp))
    else:
        table.to_json(str(tmp), lines=True, force_ascii=False)
    tmp.replace(path)


def run_influence(cfg: InfluenceConfig) -> dict[str, Any]:
    """Score, rank, write the ranking and `<output>.summary.json`; returns the summary."""
    import datasets

    from lit_align.data.sources import load_source
    from lit_align.influence.data import TokenizedRows

    started = time.perf_counter()
    policy = cfg.model.instantiate().build()
    queries = undesirable_outputs(cfg.queries, policy, cfg.seed, cfg.chat_template)
    train_rows = load_source(cfg.train, "train")
    sizes = {"max_length": cfg.max_length, "max_prompt_length": cfg.max_prompt_length, "batch_size": cfg.batch_size,
             "chat_template": cfg.chat_template}
    train = TokenizedRows(train_rows, cfg.train_kind, policy.tokenizer, where="train", **sizes)
    query_set = TokenizedRows(datasets.Dataset.from_list(queries), "sft", policy.tokenizer, where="queries", **sizes)
    output = Path(cfg.output)
    scorer = InfluenceScorer(policy.model, cfg.influence, cfg.cache_dir or output.parent / "influence_cache")
    scores = scorer.score(train.batches(), query_set.batches(), train_measurement=cfg.train_kind,
                          data_key=train.fingerprint)
    ranking = rank_rows(scores, train.rows, cfg.aggregate)
    write_ranking(output, ranking, train_rows)
    torch.save({"scores": scores, "rows": train.rows, "queries": queries},
               output.with_name(output.stem + ".scores.pt"))
    summary = {
        "output": str(output), "train_rows": len(train), "train_rows_dropped": dict(train.report.dropped),
        "queries": len(queries), "aggregate": cfg.aggregate, "scorer": scorer.describe(),
        "top": [{"row": r, "influence": s} for r, s in ranking[:10]],
        "seconds": round(time.perf_counter() - started, 2), "settings": asdict(cfg.influence),
    }
    atomic_write_json(output.with_name(output.stem + ".summary.json"), summary)
    return summary


def recall_at_k(ranked_rows: list[int], relevant: set[int], k: int | None = None) -> float:
    """Share of the relevant rows found among the top k (k defaults to the number relevant)."""
    if not relevant:
        raise ValueError("recall_at_k needs at least one relevant row")
    k = len(relevant) if k is None else k
    return sum(1 for r in ranked_rows[:k] if r in relevant) / len(relevant)


def read_ranking(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"influence ranking {path} not found; run `lit-align influence --config ...` first")
    if path.suffix == ".parquet":
        import datasets

        return datasets.Dataset.from_parquet(str(path)).to_list()
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
