"""Run a module for a few steps outside the runner, as a user would in a notebook."""

from __future__ import annotations

import lightning as L

from lit_align.config.data import DataConfig, SourceConfig
from lit_align.data.datamodule import AlignmentDataModule
from lit_align.modules.base import TaskContext


def datamodule_for(module, rows, *, batch_size: int = 4, eval_rows=None) -> AlignmentDataModule:
    config = DataConfig(
        train=SourceConfig(records=rows),
        eval=SourceConfig(records=eval_rows) if eval_rows else None,
        batch_size=batch_size, max_length=64, max_prompt_length=32,
    )
    dm = AlignmentDataModule(config, kind=module.data_kind, eval_kind=module.eval_data_kind,
                             tokenizer=module.policy.tokenizer, where="test")
    dm.setup("fit")
    return dm


def fit(module, rows, *, steps: int = 3, eval_rows=None) -> tuple[L.Trainer, AlignmentDataModule]:
    dm = datamodule_for(module, rows, eval_rows=eval_rows)
    module.on_task_start(TaskContext(name="t", index=0, datamodule=dm))
    trainer = L.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, datamodule=dm)
    return trainer, dm
