"""Rows -> token ids -> batches for influence passes, through the training pipeline's own
rendering, masking and truncation (so a row's gradient is the gradient training saw)."""

from __future__ import annotations

from typing import Any

from lit_align.data.collate import Collator, iter_batches
from lit_align.data.records import RecordKind
from lit_align.data.tokenize import TokenizeSettings, tokenize_dataset
from lit_align.influence.scoring import Batches, rows_fingerprint


class TokenizedRows:
    """A `datasets.Dataset` of rows tokenised as training would; `batches()` gives a fresh pass."""

    def __init__(self, rows: Any, kind: RecordKind, tokenizer: Any, *, where: str, max_length: int = 512,
                 max_prompt_length: int = 256, batch_size: int = 16, device: Any = "cpu",
                 chat_template: bool = False) -> None:
        import datasets

        settings = TokenizeSettings(max_length=max_length, max_prompt_length=max_prompt_length,
                                    chat_template=chat_template)
        columns, self.report = tokenize_dataset(rows, kind, tokenizer, settings, where)
        self.fingerprint = rows_fingerprint(columns)
        self.dataset = datasets.Dataset.from_dict(columns)
        self.kind, self.batch_size, self.device = kind, batch_size, device
        self.collator = Collator(kind=kind, pad_id=tokenizer.pad_token_id)

    def __len__(self) -> int:
        return len(self.dataset)

    @property
    def rows(self) -> list[int]:
        """Index of each kept row in the source (rows a tokeniser rejected are absent)."""
        return list(self.dataset["row"])

    def batches(self) -> Batches:
        return lambda: iter_batches(self.dataset, self.collator, self.batch_size, self.device)
