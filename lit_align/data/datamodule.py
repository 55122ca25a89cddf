"""`AlignmentDataModule`: sources -> rendered rows -> token ids -> padded batches.

Built by the runner for one task; the method says which record kind it needs.
Tokenised splits are `datasets.Dataset`s, so methods can add cached columns
(reference log-probs) with `add_column` and the collator passes them through.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
from torch.utils.data import DataLoader

from lit_align.data.collate import Collator
from lit_align.data.config import DataConfig
from lit_align.data.records import RecordKind
from lit_align.data.sources import load_source
from lit_align.data.tokenize import RowReport, TokenizeSettings, tokenize_dataset

log = logging.getLogger(__name__)


class AlignmentDataModule(L.LightningDataModule):
    def __init__(self, config: DataConfig, *, kind: RecordKind, tokenizer: Any, where: str) -> None:
        super().__init__()
        self.config = config
        self.kind = kind
        self.tokenizer = tokenizer
        self.where = where
        self.train_set: Any = None
        self.own_train_set: Any = None  # the task's own rows, before replay rows are mixed in
        self.eval_set: Any = None
        self.reports: list[RowReport] = []

    def _prepare(self, source: Any, split: str) -> Any:
        import datasets

        where = f"{self.where}.{split}"
        rows = load_source(source, where)
        settings = TokenizeSettings(
            max_length=self.config.max_length,
            max_prompt_length=self.config.max_prompt_length,
            over_length=self.config.over_length,
            bad_rows=self.config.bad_rows,
        )
        columns, report = tokenize_dataset(rows, self.kind, self.tokenizer, settings, where)
        self.reports.append(report)
        if report.dropped or report.truncated:
            log.warning(report.summary())
        return datasets.Dataset.from_dict(columns)

    def setup(self, stage: str | None = None) -> None:
        """`fit` prepares both splits; `validate` only the eval split."""
        if self.train_set is None and stage != "validate":
            self.train_set = self.own_train_set = self._prepare(self.config.train, "train")
        if self.eval_set is None and self.config.eval is not None:
            self.eval_set = self._prepare(self.config.eval, "eval")

    @property
    def eval_batch_size(self) -> int:
        """Batch size of passes without gradients (evaluation, reference caching)."""
        return self.config.eval_batch_size or self.config.batch_size

    @property
    def collator(self) -> Collator:
        return Collator(kind=self.kind, pad_id=self.tokenizer.pad_token_id)

    def _loader(self, dataset: Any, batch_size: int, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            collate_fn=self.collator,
            num_workers=self.config.num_workers,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.config.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        if self.eval_set is None:
            return []
        return self._loader(self.eval_set, self.eval_batch_size, shuffle=False)
