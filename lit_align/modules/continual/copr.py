"""COPR: continual optimal policy regularisation (Zhang et al., arXiv 2402.14228).

Per task: at task start, the frozen previous policy (the current weights, before
any step) and the candidates' rewards give each prompt's target distribution
log P*_t over its candidates, cached as the `target_log_dist` column so that
replayed rows carry their own task's target. Training fits P_theta to P*_t with a
squared log-probability error plus the best candidate's NLL, and keeps the fit
error on every earlier task's memory below the threshold d_i it had at the start
of this task, through Lagrange multipliers updated by dual ascent after each step
(`regularization: lagrangian`). `regularization: fixed` is COPF's fixed-weight
function regularisation instead. Maths, sources and deviations: docs/methods/copr.md.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

import torch

from lit_align.binding import Range
from lit_align.data.collate import Collator, iter_batches
from lit_align.data.records import RecordKind
from lit_align.errors import ConfigError
from lit_align.losses.copr import (
    MRFScale,
    fixed_weight_loss,
    lagrangian_loss,
    moderate_rewards,
    mrf_scale,
    multiplier_step,
    optimal_policy_targets,
    policy_fit_loss,
    standardized_rewards,
)
from lit_align.losses.sft import sft_nll
from lit_align.models import Policy
from lit_align.modules.base import AlignmentModule, LossOutput, TaskContext
from lit_align.modules.forward import CandidateLogProbs, LogprobMode
from lit_align.modules.optim import OptimizerConfig
from lit_align.modules.reference import dropout_off, eval_mode

TARGET_COLUMN = "target_log_dist"
MEMORY_COLUMNS = frozenset({"prompt_ids", "response_ids", "scores", TARGET_COLUMN})
LOG_LAMBDA, THRESHOLD = "copr.log_lambda.", "copr.threshold."


class COPRModule(AlignmentModule):
    """Fit each task's optimal policy over ranked candidates; old tasks' fits become constraints.

    Data: ranked rows (`prompt`, `responses`, `scores`) or preference pairs (J = 2).
    The replay memory (`memory.per_task`, ~5% in the paper) supplies the constraint
    rows; `memory_batch_size` rows of each earlier task are drawn every step.
    """

    data_kind: ClassVar[RecordKind] = "ranked"

    def __init__(
        self,
        *,
        policy: Policy,
        beta: Annotated[float, Range(gt=0)] = 1.0,
        length_normalized: bool = True,
        reward: Literal["mrf", "standardized"] = "mrf",
        mrf_scale: MRFScale = "mean",
        reward_clip: Annotated[float, Range(gt=0)] = 3.0,
        fit_weight: Annotated[float, Range(ge=0)] = 1.0,
        sft_weight: Annotated[float, Range(ge=0)] = 1.0,
        regularization: Literal["lagrangian", "fixed"] = "lagrangian",
        regularization_weight: Annotated[float, Range(ge=0)] = 1.0,
        multiplier_init: Annotated[float, Range(gt=0)] = 1.0,
        multiplier_lr: Annotated[float, Range(ge=0)] = 1.0,
        multiplier_bound: Annotated[float, Range(gt=0)] = 10.0,
        memory_batch_size: Annotated[int, Range(gt=0)] = 4,
        logprobs: LogprobMode = "auto",
        optimizer: OptimizerConfig | None = None,
    ) -> None:
        super().__init__(policy=policy, optimizer=optimizer)
        self.beta = beta
        self.length_normalized = length_normalized
        self.reward = reward
        self.mrf_scale_mode: MRFScale = mrf_scale
        self.reward_clip = reward_clip
        self.fit_weight = fit_weight
        self.sft_weight = sft_weight
        self.regularization_kind = regularization
        self.regularization_weight = regularization_weight
        self.multiplier_init = multiplier_init
        self.multiplier_lr = multiplier_lr
        self.multiplier_bound = multiplier_bound
        self.memory_batch_size = memory_batch_size
        self.logprob_mode: LogprobMode = logprobs
        self.memory_tasks: list[str] = []
        self._memory_rows: list[list[dict[str, Any]]] = []
        self.thresholds = torch.zeros(0)
        self.log_multipliers = torch.zeros(0)
        self._last_constraints: torch.Tensor | None = None
        self._rng = torch.Generator()
        self._memory_collator = Collator(kind="ranked", pad_id=policy.tokenizer.pad_token_id)

    # -- targets -------------------------------------------------------------------------
    def candidate_logps(self, model: Any, batch: dict[str, torch.Tensor]) -> CandidateLogProbs:
        return CandidateLogProbs(model, batch, average=self.length_normalized, mode=self.logprob_mode)

    def rewards(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-candidate rewards `(B, J)`: rank-based MRF, or standardised scores (COPF)."""
        scores, mask = batch["scores"], batch["candidate_mask"]
        if self.reward == "standardized":
            return standardized_rewards(scores, mask, clip=self.reward_clip)
        scale = mrf_scale(mask.sum(-1), self.mrf_scale_mode, generator=self._rng).to(scores.device)
        return moderate_rewards(scores, mask, scale)

    def compute_targets(self, model: Any, dataset: Any, collator: Collator, batch_size: int) -> list[list[float]]:
        """log P*(y|Y_x) of every row's candidates under `model` as the previous policy (no grad)."""
        targets: list[list[float]] = []
        with eval_mode(model):
            for batch in iter_batches(dataset, collator, batch_size, self.device):
                prev = self.candidate_logps(model, batch).logps.float()
                target = optimal_policy_targets(prev, self.rewards(batch), batch["candidate_mask"], self.beta)
                targets += [t[m].tolist() for t, m in zip(target.cpu(), batch["candidate_mask"].cpu(), strict=True)]
        return targets

    def cache_targets(self, datamodule: Any, model: Any | None = None) -> None:
        model = model if model is not None else self.model
        datamodule.add_columns("train", {TARGET_COLUMN: self.compute_targets(model, datamodule.train_set,
                                                                          datamodule.collator,
                                                                          datamodule.eval_batch_size)})
        if datamodule.eval_set is not None:
            self._cache_eval_targets(datamodule, model)

    def _cache_eval_targets(self, datamodule: Any, model: Any) -> None:
        values = self.compute_targets(model, datamodule.eval_set, datamodule.eval_collator,
                                      datamodule.eval_batch_size)
        datamodule.add_columns("eval", {TARGET_COLUMN: values})

    # -- constraints on earlier tasks ------------------------------------------------------
    def _load_memory(self, memory: Any) -> None:
        self.memory_tasks, self._memory_rows = [], []
        if memory is None:
            return
        for name in memory.tasks:
            rows = memory.rows(name)
            if rows and MEMORY_COLUMNS <= rows[0].keys():
                self.memory_tasks.append(name)
                self._memory_rows.append(rows)

    def _memory_fit(self, rows_per_task: list[list[dict[str, Any]]], collator: Collator) -> torch.Tensor:
        """Mean fit error against the cached old targets, one value per memory task `(K,)`."""
        rows = [r for rows in rows_per_task for r in rows]
        task_of_row = torch.tensor([k for k, rows in enumerate(rows_per_task) for _ in rows], device=self.device)
        batch = {k: v.to(self.device) for k, v in collator(rows).items()}
        cand = self.candidate_logps(self.model, batch)
        per_row = policy_fit_loss(cand.logps, batch[TARGET_COLUMN], cand.mask)
        sums = per_row.new_zeros(len(rows_per_task)).index_add(0, task_of_row, per_row)
        return sums / torch.bincount(task_of_row, minlength=len(rows_per_task)).clamp(min=1)

    def _thresholds(self, collator: Collator, batch_size: int) -> torch.Tensor:
        """d_i: each memory task's fit error at this task's initial parameters (whole memory)."""
        values = []
        with eval_mode(self.model):
            for rows in self._memory_rows:
                chunks = [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
                errors = [self._memory_fit([chunk], collator)[0] * len(chunk) for chunk in chunks]
                values.append(float(sum(errors)) / len(rows))
        return torch.tensor(values)

    def _sample_memory(self) -> list[list[dict[str, Any]]]:
        picks = []
        for rows in self._memory_rows:
            index = torch.randint(len(rows), (min(self.memory_batch_size, len(rows)),), generator=self._rng)
            picks.append([rows[i] for i in index.tolist()])
        return picks

    # -- runner hooks ----------------------------------------------------------------------
    def on_task_start(self, task: TaskContext) -> None:
        self._rng.manual_seed(int(torch.randint(2**31 - 1, (1,))))  # from the runner's per-task seed
        dm = task.datamodule
        self.cache_targets(dm)
        self._load_memory(task.memory)
        # a task entering the memory starts at multiplier_init; earlier ones keep their last multiplier
        initial = math.log(self.multiplier_init)
        self.log_multipliers = torch.tensor(
            [float(task.method_state.get(LOG_LAMBDA + name, initial)) for name in self.memory_tasks]
        )
        self.thresholds = self._thresholds(self._memory_collator, dm.eval_batch_size)

    def on_task_end(self, task: TaskContext) -> dict[str, torch.Tensor]:
        state = dict(task.method_state)
        for k, name in enumerate(self.memory_tasks):
            state[LOG_LAMBDA + name] = self.log_multipliers[k].clone()
            state[THRESHOLD + name] = self.thresholds[k].clone()
        return state

    def prepare_evaluation(self, datamodule: Any, reference_model: Any) -> None:
        """`lit-align evaluate`: the fit error against targets from `reference_model` as previous policy."""
        self._cache_eval_targets(datamodule, reference_model)

    # -- loss ------------------------------------------------------------------------------
    def compute_loss(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        if TARGET_COLUMN not in batch:
            raise ConfigError(
                f"{TARGET_COLUMN} is missing from the batch: the runner caches it in on_task_start "
                "(call module.cache_targets(datamodule) yourself when training outside the runner)"
            )
        cand = self.candidate_logps(self.model, batch)
        fit = policy_fit_loss(cand.logps, batch[TARGET_COLUMN], cand.mask).mean()
        terms = {"fit": self.fit_weight * fit}
        if self.sft_weight > 0:
            terms["sft"] = self.sft_weight * sft_nll(cand.best_sums, cand.best_tokens).loss
        objective = sum(terms.values())
        top = cand.logps.detach().masked_fill(~cand.mask, float("-inf"))
        metrics = {"top1_accuracy": (cand.predicted() == cand.best).float().mean(),  # best-scored put on top
                   "best_logp": top.gather(-1, cand.best.unsqueeze(-1)).mean()}
        if not self.training or not self.memory_tasks:
            return LossOutput(objective, terms, metrics)
        # dropout off, as when the thresholds were measured: with dropout on (LoRA dropout, real
        # models) the fit error reads higher and every constraint looks violated from the start
        with dropout_off(self.model):
            memory_fit = self._memory_fit(self._sample_memory(), self._memory_collator)
        if self.regularization_kind == "fixed":
            terms["regularization"] = self.regularization_weight * memory_fit.sum()
            for k, name in enumerate(self.memory_tasks):
                metrics[f"memory_fit_{name}"] = memory_fit[k].detach()
            return LossOutput(fixed_weight_loss(objective, memory_fit, self.regularization_weight), terms, metrics)
        constraints = memory_fit - self.thresholds.to(memory_fit)
        self._last_constraints = constraints.detach()
        loss = lagrangian_loss(objective, constraints, self.log_multipliers.to(constraints))
        lam = self.log_multipliers.exp().to(constraints)
        scale = 1 / (1 + lam.sum())  # the logged terms are the Lagrangian's parts: they sum to the loss
        terms = {name: value * scale for name, value in terms.items()}
        terms["constraints"] = (lam * constraints).sum() * scale
        for k, name in enumerate(self.memory_tasks):
            metrics[f"lambda_{name}"] = lam[k]
            metrics[f"constraint_{name}"] = constraints[k].detach()
        return LossOutput(loss, terms, metrics)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Dual ascent on the multipliers after every optimisation step, on the constraint
        values averaged over processes (every rank then holds the same multipliers)."""
        if self.regularization_kind != "lagrangian" or self._last_constraints is None:
            return
        constraints = self._last_constraints
        if self.trainer.world_size > 1:
            constraints = self.trainer.strategy.reduce(constraints, reduce_op="mean")
        self.log_multipliers = multiplier_step(self.log_multipliers, constraints.cpu(), self.multiplier_lr,
                                               self.multiplier_bound)
        self._last_constraints = None
