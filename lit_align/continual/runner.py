"""`TaskSequenceRunner`: trains a policy through a sequence of tasks and reports what
each task taught and what it cost.

Per task: build the method around the current policy, set up its data (mixing
in replay rows), `on_task_start`, `Trainer.fit`, `on_task_end`, offer the task's
rows to the replay memory, evaluate every eval split, write a checkpoint and
commit `state.json`. A run into an output dir with a committed state resumes
after its last completed task. A single-stage run is a sequence of one task.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lit_align.config.load import save_config
from lit_align.config.schema import RunConfig, TaskConfig
from lit_align.continual import state as S
from lit_align.continual.interrupt import GracefulStop, Interrupted
from lit_align.continual.lock import OutputDirLock
from lit_align.continual.paths import contained
from lit_align.continual.results import scalar_metrics
from lit_align.continual.scoring import SequenceScorer
from lit_align.contracts import expect_scores, qualified_name
from lit_align.errors import ConfigError
from lit_align.io import atomic_write_json
from lit_align.quiet import ADVERTS, drop_lightning_lines
from lit_align.scale import ranks

log = logging.getLogger(__name__)

TRAINER_DEFAULTS: dict[str, Any] = {
    "enable_checkpointing": False,
    "enable_model_summary": False,
    "num_sanity_val_steps": 0,
    "log_every_n_steps": 10,
}


def quiet_third_party() -> None:
    """Progress bars and adverts from dependencies drown the training display."""
    import datasets
    import torch
    from transformers.utils import logging as hf_logging

    if not torch.cuda.is_available():  # DeepSpeed (imported by transformers' save) warns when it guesses
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    drop_lightning_lines(substrings=ADVERTS)


@contextlib.contextmanager
def timed(seconds: dict[str, float], *names: str) -> Iterator[None]:
    """Add the wall time of the block to each of `seconds[name]` (P3: the phases of a task)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        spent = time.perf_counter() - start
        for name in names:
            seconds[name] = round(seconds.get(name, 0.0) + spent, 3)


@dataclasses.dataclass
class SequenceParts:
    """What moves from task to task: the policy (rebuilt after a sharded fit), the replay
    memory, the state a method hands its successor (EWC's Fisher, COPR's multipliers), the
    scorer that evaluates every split, and the tracker."""

    policy: Any
    memory: Any  # ReplayMemory
    scoring: SequenceScorer
    tracker: Any  # SequenceTracker
    method_state: dict[str, Any] = dataclasses.field(default_factory=dict)


class TaskSequenceRunner:
    def __init__(self, config: RunConfig, raw_config: dict[str, Any]) -> None:
        self.config = config
        self.raw_config = raw_config
        self.output_dir = Path(config.output_dir)
        self.stop = GracefulStop()
        self.task_notes: list[str] = []  # the current task's notes beside its data reports (replay, reference cache)

    # -- building blocks ---------------------------------------------------------------------
    def _trainer_kwargs(self, task: TaskConfig, logger: Any) -> dict[str, Any]:
        from lit_align.scale.strategies import build_strategy

        kwargs = {**TRAINER_DEFAULTS, **self.config.trainer, **task.trainer}
        kwargs.setdefault("logger", logger if logger is not None else False)
        kwargs.setdefault("default_root_dir", str(contained(self.output_dir, "tasks", task.name)))
        if "strategy" in kwargs:
            kwargs["strategy"] = build_strategy(kwargs)
        if "callbacks" not in kwargs:
            from lit_align.continual.progress import progress_callbacks

            kwargs["callbacks"], kwargs["enable_progress_bar"] = progress_callbacks(
                kwargs, task.name, interrupted=lambda: self.stop.requested)
        return kwargs

    def _build_module(self, task: TaskConfig, index: int, policy: Any) -> Any:
        from lit_align.modules.base import AlignmentModule

        try:
            module = task.method.instantiate(policy=policy)
        except ConfigError as exc:  # a constructor names its keys from `method.`: say which task's method
            raise ConfigError([f"sequence[{index}].{p}" if p.startswith("method.") else p for p in exc.problems]
                              ) from None
        if not isinstance(module, AlignmentModule):
            raise ConfigError(f"sequence[{index}].method: {task.method.class_path} is not an AlignmentModule")
        module.task_name = task.name
        return module

    def _build_initial_model(self) -> Any:
        return self._build_policy().model

    def _build_policy(self) -> Any:
        return self.config.model.instantiate().build()

    def _datamodule(self, task: TaskConfig, index: int, module: Any, policy: Any, memory: Any) -> Any:
        from lit_align.data.datamodule import AlignmentDataModule

        dm = AlignmentDataModule(task.data, kind=module.data_kind, eval_kind=module.eval_data_kind,
                                 tokenizer=policy.tokenizer, where=f"sequence[{index}].data")
        dm.setup("fit")
        ratio = self.config.memory.replay_ratio
        self.task_notes = []
        if ratio > 0 and len(memory):
            columns = set(dm.train_set.column_names)
            rows = memory.sample(round(ratio / (1 - ratio) * len(dm.train_set)), columns)
            if self.config.memory.onpolicy is not None:  # the replayed prompts answered afresh by the policy
                from lit_align.continual.onpolicy_replay import refresh_replay

                rows, refresh = refresh_replay(rows, policy, self.config.memory.onpolicy,
                                               seed=self.config.seed + index, max_length=task.data.max_length)
                self.task_notes.append(refresh.summary())
            dm.mix_in_replay(rows)
        return dm

    def after_commit(self, index: int) -> None:
        """Called on every rank once task `index` is committed (its checkpoint and state.json
        written): a subclass may notify or snapshot here; the resume tests die here."""

    # -- the sequence ----------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """On every rank of a multi-process run; rank 0 alone holds the lock and writes files."""
        quiet_third_party()
        ranks.init_process_group()
        with OutputDirLock(self.output_dir) if ranks.is_main() else contextlib.nullcontext(), self.stop:
            return self._run()

    def _run(self) -> dict[str, Any]:
        import lightning as L

        from lit_align.continual.display import SequenceDisplay
        from lit_align.continual.eval_progress import EvalProgress
        from lit_align.continual.evaluation import build_eval_splits
        from lit_align.continual.memory import ReplayMemory
        from lit_align.tracking.mlflow import SequenceTracker

        cfg = self.config
        main = ranks.is_main()
        digest = S.config_digest(self.raw_config)
        state = S.load_state(self.output_dir, digest) or S.SequenceState(config_digest=digest)
        ranks.barrier()  # every rank has read state.json before rank 0 writes anything
        if main:
            save_config(self.raw_config, contained(self.output_dir, "config.yaml"))
        tracking = cfg.tracking if main else dataclasses.replace(cfg.tracking, backend="none")
        tracker = SequenceTracker(tracking, self.output_dir, cfg.tracking.run_name or self.output_dir.name)
        state.parent_run_id = tracker.start(self.raw_config, state.parent_run_id, tuple(state.completed))
        if main and state.checkpoint is None:  # a kill before the first task ends reuses this parent run
            S.save_state(self.output_dir, state)
        display = SequenceDisplay([t.name for t in cfg.sequence], enabled=main)

        L.seed_everything(cfg.seed, verbose=False)
        policy = self._build_policy()
        trainable = policy.trainable()
        if main:
            atomic_write_json(contained(self.output_dir, "trainable.json"), trainable)
        display.trainable(trainable)
        splits = build_eval_splits(cfg, policy.tokenizer)
        scoring = SequenceScorer(cfg, policy, splits, EvalProgress(enabled=main))
        parts = SequenceParts(policy=policy, memory=ReplayMemory(cfg.memory, seed=cfg.seed), scoring=scoring,
                              tracker=tracker)
        if state.checkpoint is not None:
            ckpt = contained(self.output_dir, state.checkpoint)
            parts.method_state, stored = S.load_checkpoint(ckpt, policy.model)
            scoring.restore(stored)
            parts.memory = ReplayMemory.load(ckpt / "memory.json", cfg.memory)
            display.resumed(len(state.completed))
        elif cfg.evaluation.reference_task is None:
            scoring.set_reference()  # the untrained model is the fixed reference

        for index, task in enumerate(cfg.sequence):
            if index < len(state.completed):
                continue
            display.task_start(index)
            result = self._run_task(index, task, parts)
            report = scoring.report()
            state.task_results.append(result)
            previous = state.checkpoint
            state.checkpoint = f"checkpoints/{index:03d}-{task.name}"
            state.completed.append(task.name)
            with timed(result["seconds"], "checkpoint", "total"):
                S.save_checkpoint(self.output_dir, state.checkpoint, model=parts.policy.model,
                                  method_state=parts.method_state, memory=parts.memory, margins=scoring.stored())
                if main:
                    self._write_results(report, state, scoring)
                    S.commit(self.output_dir, state, previous)
                ranks.barrier()
            display.task_end(index, result, report)
            self.after_commit(index)

        report = scoring.report()
        paths = self._write_results(report, state, scoring, final=True) if main else []
        tracker.log_artifacts(paths)
        tracker.finish(scalar_metrics(report))
        display.finish(report, state.task_results)
        return {"report": report, "tasks": state.task_results}

    def _run_task(self, index: int, task: TaskConfig, parts: SequenceParts) -> dict[str, Any]:
        """Train one task and evaluate every split; updates `parts` in place, returns the
        task's entry of results.json."""
        import lightning as L

        from lit_align.continual.onpolicy import onpolicy_task
        from lit_align.modules.base import TaskContext
        from lit_align.scale.consolidate import rebuild_if_sharded

        seconds: dict[str, float] = {}
        start = time.perf_counter()
        onpolicy_note = []
        if task.data.onpolicy is not None:
            with timed(seconds, "onpolicy_data"):
                task, note = onpolicy_task(task, index, parts.policy, seed=self.config.seed + index,
                                           output_dir=self.output_dir)
                onpolicy_note.append(note)
        L.seed_everything(self.config.seed + index, workers=True, verbose=False)
        module = self._build_module(task, index, parts.policy)
        with timed(seconds, "data"):
            dm = self._datamodule(task, index, module, parts.policy, parts.memory)
        context = TaskContext(name=task.name, index=index, datamodule=dm, memory=parts.memory,
                              method_state=dict(parts.method_state), build_initial_model=self._build_initial_model)
        with timed(seconds, "reference_caching"):
            module.on_task_start(context)
        cache = getattr(module, "reference_cache", None)
        if cache is not None:  # a hit means this task did no reference pass (modules/reference_cache.py)
            self.task_notes.append(f"reference cache: {cache.hits} hit(s), {cache.misses} miss(es)")
        logger = parts.tracker.task_logger(task.name, index, task.method.class_path, self.raw_config["sequence"][index])
        trainer = L.Trainer(**self._trainer_kwargs(task, logger))
        with timed(seconds, "train"):
            self.stop.trainer = trainer
            try:
                trainer.fit(module, datamodule=dm)
            except SystemExit:  # Lightning exits on a second Ctrl-C inside fit, and on SIGTERM with code 0
                if self.stop.requested:
                    raise Interrupted(self.stop.signum) from None
                raise
            finally:
                self.stop.trainer = None
            self.stop.check()  # a Ctrl-C during fit: nothing of this task is evaluated or committed
            parts.policy = rebuild_if_sharded(trainer, module, self._build_policy) or parts.policy
            parts.scoring.policy = parts.policy
        with timed(seconds, "method_end"):
            parts.method_state = module.on_task_end(context)
            scores = expect_scores(module.select_for_memory(context), len(dm.own_train_set),
                                   f"{qualified_name(type(module))}.select_for_memory")
            if parts.memory.config.enabled:  # materialise the task's rows only when a memory keeps some
                parts.memory.add(task.name, [row | {"task": task.name} for row in dm.own_rows()], scores)
        with timed(seconds, "evaluation"):
            eval_scores = parts.scoring.after_task(task.name)
        with timed(seconds, "export"):
            last = index == len(self.config.sequence) - 1
            wanted = self.config.export == "every_task" or (self.config.export == "last" and last)
            if wanted and ranks.is_main():
                module.export(contained(self.output_dir, "tasks", task.name))
        metrics = {k: round(float(v), 6) for k, v in sorted(trainer.callback_metrics.items())}
        parts.tracker.log_task_end(logger, eval_scores, step=index)
        result = {
            "name": task.name,
            "method": type(module).__name__,
            "steps": trainer.global_step,
            "metrics": metrics,
            "scores": eval_scores,
            "data": onpolicy_note + self.task_notes + [r.summary() for r in dm.reports],
            "memory_size": len(parts.memory),
            "seconds": seconds | {"total": round(time.perf_counter() - start, 3)},
        }
        return result

    def _write_results(self, report, state, scoring, final: bool = False) -> list[Path]:
        from lit_align.continual.report import write_results

        return write_results(self.output_dir, report, state.task_results, scoring.baseline, scoring.margins_after,
                             complete=len(state.completed) == len(self.config.sequence),
                             plots=final and self.config.evaluation.plots,
                             setup_seconds=scoring.setup_seconds,
                             generated={"baseline": scoring.generated_baseline, "after": scoring.generated_after}
                             if scoring.generation is not None else None,
                             generations=scoring.generations)
