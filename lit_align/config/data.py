"""Typed data settings: the `data:` block of a task. Import-light (no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from lit_align.binding import ComponentOf, ComponentSpec, Range
from lit_align.errors import ConfigError


@dataclass
class SourceConfig:
    """Where rows come from.

    Either `datasets.load_dataset(path, name=..., data_files=..., split=...)`
    (a hub id, a local directory, or a builder such as "json"/"parquet"/"csv"
    with `data_files`), or inline `records` (a list of mappings). `format`
    converts a published layout (HH-RLHF, SHP, UltraFeedback-binarized) to
    prompt/chosen/rejected; `filter` then keeps one domain, e.g.
    `{domain: askculinary}` to split SHP by subreddit; `limit` caps the rows: the first
    `limit` in file order, or with `limit_seed` a seeded random sample (so a group of
    subreddits is sampled across, not taken from the one that comes first in the file).
    """

    path: str | None = None
    data_files: str | list[str] | dict[str, Any] | None = None
    name: str | None = None
    data_dir: str | None = None
    split: str = "train"
    records: list[dict[str, Any]] | None = None
    format: Literal["auto", "hh_rlhf", "shp", "ultrafeedback"] = "auto"
    filter: dict[str, Any] | None = None  # keep rows whose column equals the value (or is in the list)
    limit: Annotated[int, Range(gt=0)] | None = None
    limit_seed: int | None = None


@dataclass
class OnPolicyConfig:
    """Regenerate the task's pairs from the current policy when the task starts.

    The task's `train` rows give the prompts. K answers per prompt are sampled at
    `temperature` (chat-templated when `data.chat_template`) and scored by `scorer` (its
    split is the task's name). Best vs worst is kept when the scores differ by at least
    `min_gap`. This is how continual alignment meets a deployed model: each domain's
    preferences are collected on what the model says now, not on what it said before the
    sequence. The pairs are saved in `tasks/<name>/onpolicy_pairs.jsonl` with their report.
    """

    scorer: Annotated[ComponentSpec, ComponentOf("lit_align.scorers.ResponseScorer")]
    k: Annotated[int, Range(ge=2)] = 4
    temperature: Annotated[float, Range(gt=0)] = 1.0
    max_new_tokens: Annotated[int, Range(gt=0)] = 32
    min_gap: Annotated[float, Range(ge=0)] = 0.25
    batch_size: Annotated[int, Range(gt=0)] = 16


@dataclass
class DataConfig:
    """Tokenisation and batching for one task.

    Prompts that do not fit are cut from the left (`keep_end`: the end of a prompt
    is what the response answers); responses from the right (`keep_start`).
    `over_length` chooses between truncating, dropping and failing on such rows;
    `bad_rows` between failing on and dropping malformed rows (counted either way).
    """

    train: SourceConfig
    eval: SourceConfig | None = None
    batch_size: Annotated[int, Range(gt=0)] = 8
    eval_batch_size: Annotated[int, Range(gt=0)] | None = None
    max_length: Annotated[int, Range(gt=1)] = 512
    max_prompt_length: Annotated[int, Range(gt=0)] = 256
    over_length: Literal["truncate", "drop", "error"] = "truncate"
    bad_rows: Literal["error", "drop"] = "error"
    chat_template: bool = False  # render plain-string rows through the tokenizer's chat template (chat models)
    num_workers: Annotated[int, Range(ge=0)] = 0
    shuffle: bool = True  # false: batches in file order (identical global batches at any world size)
    onpolicy: OnPolicyConfig | None = None  # train pairs sampled from the policy at the task's start

    def __post_init__(self) -> None:
        if self.max_prompt_length >= self.max_length:
            raise ConfigError(
                f"max_prompt_length ({self.max_prompt_length}) must be < max_length "
                f"({self.max_length}) so every response keeps at least one token"
            )
