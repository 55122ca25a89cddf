"""`AlignmentDataModule`: sources -> rendered rows -> token ids -> padded batches.

Built by the runner for one task; the method says which record kind it needs.
Tokenised splits are `datasets.Dataset`s, so methods can add cached columns
(reference log-probs) with `add_column` and the collator passes them through.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import lightning as L
from torch.utils.data import DataLoader

from lit_align.config.data import DataConfig
from lit_align.data.collate import Collator
from lit_align.data.columns import with_column
from lit_align.data.records import RecordKind
from lit_align.data.sources import load_source
from lit_align.data.tokenize import RowReport, TokenizeSettings, tokenize_dataset, truncation_warning

log = logging.getLogger(__name__)


class AlignmentDataModule(L.LightningDataModule):
    def __init__(self, config: DataConfig, *, kind: RecordKind, tokenizer: Any, where: str,
                 eval_kind: RecordKind | None = None) -> None:
        super().__init__()
        self.config = config
        self.kind = kind
        self.eval_kind = eval_kind or kind
        self.tokenizer = tokenizer
        self.where = where
        self.train_set: Any = None
        self.own_train_set: Any = None  # the task's own rows, before replay rows are mixed in
        self.eval_set: Any = None
        self.source_rows: dict[str, Any] = {}  # each split's rows as loaded, with columns tokenising drops
        self.reports: list[RowReport] = []

    def _prepare(self, source: Any, split: str, kind: RecordKind) -> Any:
        import datasets

        where = f"{self.where}.{split}"
        rows = self.source_rows[split] = load_source(source, where)
        settings = TokenizeSettings(
            max_length=self.config.max_length,
            max_prompt_length=self.config.max_prompt_length,
            over_length=self.config.over_length,
            bad_rows=self.config.bad_rows,
            chat_template=self.config.chat_template,
        )
        columns, report = tokenize_dataset(rows, kind, self.tokenizer, settings, where)
        self.reports.append(report)
        if report.dropped or report.truncated or report.prompt_truncated or report.empty_prompts:
            log.warning(report.summary())
        warning = truncation_warning(report, settings.max_length)
        if warning is not None:
            log.warning(warning)
        return datasets.Dataset.from_dict(columns)

    def setup(self, stage: str | None = None) -> None:
        """`fit` prepares both splits; `validate` only the eval split."""
        if self.train_set is None and stage != "validate":
            self.train_set = self.own_train_set = self._prepare(self.config.train, "train", self.kind)
        if self.eval_set is None and self.config.eval is not None:
            self.eval_set = self._prepare(self.config.eval, "eval", self.eval_kind)

    # -- what methods and the runner change after setup -------------------------------------
    def mix_in_replay(self, rows: list[dict[str, Any]]) -> None:
        """Append replayed rows after the task's own rows, flagged by a `replay` float column
        (own rows first: `add_columns` relies on that order)."""
        import datasets

        if not rows:
            return
        columns = set(self.own_train_set.column_names)
        own = self.own_train_set.add_column("replay", [0.0] * len(self.own_train_set))
        replay = datasets.Dataset.from_list([{k: r[k] for k in columns} | {"replay": 1.0} for r in rows])
        self.train_set = datasets.concatenate_datasets([own, replay])

    def add_columns(self, split: Literal["train", "eval"], columns: dict[str, list[Any]]) -> None:
        """The one way a method caches per-row values (reference log-probs, targets) into its
        data: `train` columns cover the replay rows too (one value per row of `train_set`, own
        rows first), and the task's own rows keep theirs, so the replay memory stores them."""
        if split == "eval":
            if self.eval_set is None:
                raise ValueError(f"{self.where}: no eval split to add columns {sorted(columns)} to")
            for name, values in columns.items():
                self.eval_set = with_column(self.eval_set, name, values)
            return
        n_own = len(self.own_train_set)
        mixed = self.train_set is not self.own_train_set
        for name, values in columns.items():
            self.train_set = with_column(self.train_set, name, values)
            if mixed:
                self.own_train_set = with_column(self.own_train_set, name, values[:n_own])
        if not mixed:
            self.own_train_set = self.train_set

    def own_rows(self) -> list[dict[str, Any]]:
        """The task's own training rows (no replay rows) with every column a method cached."""
        own = self.own_train_set
        return [dict(own[i]) for i in range(len(own))]

    def replace_train_set(self, dataset: Any, kind: RecordKind) -> None:
        """Train on rows a method built itself (e.g. sampled and scored responses)."""
        self.train_set = self.own_train_set = dataset
        self.kind = kind

    @property
    def eval_batch_size(self) -> int:
        """Batch size of passes without gradients (evaluation, reference caching)."""
        return self.config.eval_batch_size or self.config.batch_size

    @property
    def collator(self) -> Collator:
        return Collator(kind=self.kind, pad_id=self.tokenizer.pad_token_id)

    @property
    def eval_collator(self) -> Collator:
        return Collator(kind=self.eval_kind, pad_id=self.tokenizer.pad_token_id)

    def _loader(self, dataset: Any, batch_size: int, shuffle: bool, collator: Collator) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            collate_fn=collator,
            num_workers=self.config.num_workers,
        )

    def train_dataloader(self) -> DataLoader:
        from lit_align.scale import ranks

        if ranks.world_size() == 1:
            return self._loader(self.train_set, self.config.batch_size, self.config.shuffle, self.collator)
        # Our own sampler: Lightning's would always shuffle, so `shuffle: false` would not give the
        # single-process global batches. The seed comes from the task's seeded RNG (equal on all ranks).
        import torch
        from torch.utils.data import DistributedSampler

        sampler = DistributedSampler(self.train_set, num_replicas=ranks.world_size(), rank=ranks.global_rank(),
                                     shuffle=self.config.shuffle, seed=int(torch.randint(2**31 - 1, ()).item()))
        return DataLoader(self.train_set, batch_size=self.config.batch_size, sampler=sampler,
                          collate_fn=self.collator, num_workers=self.config.num_workers)

    def val_dataloader(self) -> DataLoader | list:
        if self.eval_set is None:
            return []
        return self._loader(self.eval_set, self.eval_batch_size, shuffle=False, collator=self.eval_collator)

