"""COPF: continual optimal policy fitting from unlabeled prompts (arXiv 2310.15694 v1).

COPR's machinery with the candidates made by the model itself: at task start the
previous policy samples `num_samples` responses per prompt (Monte Carlo), a
scoring module (`scorer`, any `ResponseScorer`: a reward model, a judge, or the
synthetic suite's gold rule) scores them, and the optimal policy over those
samples is fitted; earlier tasks are kept by a fixed-weight function
regulariser on their memories (no multipliers). See docs/methods/copf.md.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, ClassVar, Literal

import torch

from lit_align.binding import ComponentOf, ComponentSpec, Range
from lit_align.data.records import RecordKind
from lit_align.data.tokenize import TokenizeSettings, tokenize_dataset
from lit_align.errors import DataError
from lit_align.generation import Sampling, generate
from lit_align.modules.base import TaskContext
from lit_align.modules.continual.copr import COPRModule
from lit_align.scorers import ResponseScorer

log = logging.getLogger(__name__)


def candidate_records(prompts: list[str], samples: list[str], num_samples: int,
                      scores: list[float]) -> tuple[list[dict[str, Any]], int]:
    """Group `num_samples` samples per prompt into ranked records, dropping empty and repeated
    samples of a prompt (a repeated sample would count twice in the candidate distribution).
    Returns the records and how many samples were empty."""
    records, empty = [], 0
    for i, prompt in enumerate(prompts):
        unique: dict[str, float] = {}
        for j in range(i * num_samples, (i + 1) * num_samples):
            if not samples[j].strip():
                empty += 1
                continue
            unique.setdefault(samples[j], scores[j])
        records.append({"prompt": prompt, "responses": list(unique), "scores": list(unique.values())})
    return records, empty


class COPFModule(COPRModule):
    """Learn a task from prompts alone: sample, score, fit the optimal policy over the samples.

    Rewards default to per-prompt standardised scores (`reward: standardized`,
    clipped at `reward_clip`) because exp(r/beta) is unstable on raw reward-model
    scales; `reward: mrf` uses only the samples' ranks. Prompts whose samples are
    all identical or all scored equal carry no preference: they are dropped and
    counted in the task's data report.
    """

    data_kind: ClassVar[RecordKind] = "prompt"
    eval_data_kind: ClassVar[RecordKind | None] = "ranked"

    def __init__(
        self,
        *,
        scorer: Annotated[ComponentSpec, ComponentOf("lit_align.scorers.ResponseScorer")],
        num_samples: Annotated[int, Range(ge=2)] = 4,
        max_new_tokens: Annotated[int, Range(gt=0)] = 32,
        temperature: Annotated[float, Range(gt=0)] = 1.0,
        generation_batch_size: Annotated[int, Range(gt=0)] = 32,
        reward: Literal["mrf", "standardized"] = "standardized",
        regularization: Literal["lagrangian", "fixed"] = "fixed",
        **copr_args: Any,
    ) -> None:
        super().__init__(reward=reward, regularization=regularization, **copr_args)
        self.scorer: ResponseScorer = scorer.instantiate()
        self.num_samples = num_samples
        self.generation = Sampling(max_new_tokens=max_new_tokens, temperature=temperature,
                                   batch_size=generation_batch_size)

    def sample_candidates(self, datamodule: Any, task_name: str) -> Any:
        """The task's ranked training set: sampled responses to its prompts, scored."""
        import datasets

        tokenizer = self.policy.tokenizer
        prompt_ids = [list(ids) for ids in datamodule.train_set["prompt_ids"]]
        prompts = tokenizer.batch_decode(prompt_ids, skip_special_tokens=False)
        seed = int(torch.randint(2**31 - 1, (1,)))  # follows the runner's per-task seed
        repeated = [p for p in prompts for _ in range(self.num_samples)]
        samples = generate(self.model, tokenizer, repeated, self.generation, seed=seed)
        scores = [float(s) for s in self.scorer.score(task_name, repeated, samples)]
        if len(scores) != len(samples):
            raise DataError(f"{type(self.scorer).__name__}.score returned {len(scores)} scores for "
                            f"{len(samples)} responses; it must return one score per response")
        records, empty = candidate_records(prompts, samples, self.num_samples, scores)
        if empty:
            log.warning("%s: %d of %d samples were empty and left out", task_name, empty, len(samples))
        cfg = datamodule.config
        settings = TokenizeSettings(max_length=cfg.max_length, max_prompt_length=cfg.max_prompt_length,
                                    over_length="truncate", bad_rows="drop")
        where = f"{datamodule.where}.sampled"
        columns, report = tokenize_dataset(datasets.Dataset.from_list(records), "ranked", tokenizer, settings, where)
        datamodule.reports.append(report)
        if report.dropped:
            log.warning(report.summary())
        return datasets.Dataset.from_dict(columns)

    def on_task_start(self, task: TaskContext) -> None:
        dm = task.datamodule
        dm.replace_train_set(self.sample_candidates(dm, task.name), kind="ranked")
        super().on_task_start(task)
