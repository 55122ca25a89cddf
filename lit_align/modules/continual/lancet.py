"""LANCET's correction step (IBO) and the gradient-ascent unlearning baseline, as tasks.

Both train on the ranking `lit-align influence` writes (training rows with an `influence`
column, highest first) and need no labels:
- the `recall_k` most influential rows are the ones behind the undesirable behaviour;
- LANCET can also take the `counter_k` most negative rows (they counteract it) into the group
  IBO redistributes likelihood over (losses/ibo.py; off by default, see LANCETModule);
- `retain_rows` other rows keep their log-likelihoods where the model had them
  (the utility anchor), so only the recalled behaviour moves.
Reference log-probs come from the model as it enters the task (one cached pass).
The eval split, when given, is plain SFT rows: its loss is their NLL (utility kept?).
"""

from __future__ import annotations

import logging
import random
from typing import Annotated, Any, ClassVar

import torch

from lit_align.binding import Range
from lit_align.data.collate import iter_batches
from lit_align.data.records import RecordKind
from lit_align.errors import DataError
from lit_align.losses.ibo import (
    Divergence,
    Normalization,
    gradient_ascent_loss,
    ibo_loss,
    influence_targets,
    proximal_term,
    retain_anchor,
)
from lit_align.losses.sft import sft_nll
from lit_align.models import Policy
from lit_align.modules.base import AlignmentModule, LossOutput, TaskContext
from lit_align.modules.forward import LogprobMode, response_logprobs
from lit_align.modules.optim import OptimizerConfig
from lit_align.modules.reference import eval_mode

log = logging.getLogger(__name__)
REFERENCE, TARGET, RECALLED = "reference_logp", "ibo_target", "recalled"


class InfluenceCorrectionModule(AlignmentModule):
    """Base of corrections driven by an influence ranking: selects recalled / counter / retain rows."""

    data_kind: ClassVar[RecordKind] = "sft"
    uses_counter_rows: ClassVar[bool] = False

    def __init__(self, *, policy: Policy, recall_k: Annotated[int, Range(gt=0)],
                 counter_k: Annotated[int, Range(ge=0)] | None = None,
                 retain_rows: Annotated[int, Range(ge=0)] | None = None,
                 retain_weight: Annotated[float, Range(ge=0)] = 1.0, influence_column: str = "influence",
                 proximal: Annotated[float, Range(ge=0)] = 0.0,
                 seed: int = 0, logprobs: LogprobMode = "auto", optimizer: OptimizerConfig | None = None) -> None:
        super().__init__(policy=policy, optimizer=optimizer)
        self.proximal = proximal  # weight of the parameter-space proximity to the pre-correction model
        self._anchors: dict[str, torch.Tensor] = {}
        self.recall_k, self.counter_k = recall_k, recall_k if counter_k is None else counter_k
        self.retain_rows, self.retain_weight = retain_rows, retain_weight
        self.influence_column, self.seed, self.logprob_mode = influence_column, seed, logprobs

    def _influence(self, dm: Any) -> list[float]:
        source = dm.source_rows["train"]
        if self.influence_column not in source.column_names:
            raise DataError(
                f"{dm.where}.train: no {self.influence_column!r} column; a {type(self).__name__} task trains on "
                "the ranking `lit-align influence` writes (point data.train at it)")
        values = source[self.influence_column]
        return [float(values[r]) for r in dm.own_train_set["row"]]

    def select_rows(self, influence: list[float]) -> tuple[list[int], list[int], list[int]]:
        """Positions of the recalled (most influential), counter (most negative) and retain rows."""
        order = sorted(range(len(influence)), key=lambda i: -influence[i])
        recalled = order[: self.recall_k]
        counter = [i for i in order[::-1][: self.counter_k] if influence[i] < 0 and i not in recalled] \
            if self.uses_counter_rows else []
        taken = set(recalled) | set(counter)
        rest = [i for i in order if i not in taken]
        n_retain = len(rest) if self.retain_rows is None else min(self.retain_rows, len(rest))
        retain = sorted(random.Random(self.seed).sample(rest, n_retain))
        return recalled, counter, retain

    def target_logits(self, influence: list[float], recalled: list[int], counter: list[int]) -> dict[int, float]:
        return {i: 0.0 for i in recalled + counter}

    def on_task_start(self, task: TaskContext) -> None:
        dm = task.datamodule
        if dm.train_set is not dm.own_train_set:
            log.warning("%s trains on its ranking rows only; replayed rows are left out", type(self).__name__)
        if self.proximal > 0:
            self._anchors = {n: p.detach().clone() for n, p in self.model.named_parameters() if p.requires_grad}
        influence = self._influence(dm)
        recalled, counter, retain = self.select_rows(influence)
        targets = self.target_logits(influence, recalled, counter)
        picked = sorted(set(recalled) | set(counter) | set(retain))
        subset = dm.own_train_set.select(picked)
        dm.replace_train_set(subset, "sft")
        dm.add_columns("train", {
            RECALLED: [float(i in targets) for i in picked],
            TARGET: [targets.get(i, 0.0) for i in picked],
            REFERENCE: self._reference_logps(subset, dm),
        })
        log.info("%s: %d recalled, %d counter, %d retain rows", type(self).__name__, len(recalled), len(counter),
                 len(retain))

    def regularization(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.proximal <= 0 or not self._anchors:
            return {}
        params = dict(self.model.named_parameters())
        return {"proximal": self.proximal * proximal_term(params, self._anchors)}

    @torch.no_grad()
    def _reference_logps(self, dataset: Any, dm: Any) -> list[float]:
        out: list[float] = []
        with eval_mode(self.model):
            for batch in iter_batches(dataset, dm.collator, dm.eval_batch_size, self.device):
                out += response_logprobs(self.model, batch, mode=self.logprob_mode).logps.float().tolist()
        return out

    def correction(self, logps: torch.Tensor, num_tokens: torch.Tensor,
                   batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        seq = response_logprobs(self.model, batch, mode=self.logprob_mode)
        if REFERENCE not in batch:  # eval split: plain rows, their NLL says whether utility held
            nll = sft_nll(seq.logps, seq.num_tokens).loss
            return LossOutput(nll, {"nll": nll}, {})
        recalled = batch[RECALLED] > 0.5
        terms = self.correction(seq.logps, seq.num_tokens, batch)
        terms["retain"] = self.retain_weight * retain_anchor(seq.logps, batch[REFERENCE], seq.num_tokens, ~recalled)
        ratio = (seq.logps.detach() - batch[REFERENCE]) / seq.num_tokens.clamp(min=1)
        harmful = recalled & (batch[TARGET] < 0)
        metrics = {"harmful_logratio": ratio[harmful].mean() if harmful.any() else ratio.new_zeros(())}
        return LossOutput(sum(terms.values()), terms, metrics)


class LANCETModule(InfluenceCorrectionModule):
    """IBO over every row of a batch: recalled and counter rows tilted by -influence/temperature,
    retain rows untilted (target 0). The retain rows pin the common shift the divergence leaves
    free, so rows behind the behaviour lose likelihood in absolute terms, not only relative to
    the counter rows (without them, a test saw a recalled row's log-likelihood rise by 2.8).

    Defaults (`counter_k` 0, `divergence` log_squared, `temperature` 0.1) were chosen on seed 0 of
    the real-model study and held out on seeds 1-2 (docs/methods/lancet.md): counter rows raised
    refusals worded another way, the KL over summed log-likelihoods saturated, gentler temperatures
    moved nothing."""

    uses_counter_rows: ClassVar[bool] = True

    def __init__(self, *, policy: Policy, recall_k: Annotated[int, Range(gt=0)],
                 counter_k: Annotated[int, Range(ge=0)] = 0,
                 temperature: Annotated[float, Range(gt=0)] = 0.1, normalize: Normalization = "rank",
                 divergence: Divergence = "log_squared", per_token: bool = False, **kwargs: Any) -> None:
        super().__init__(policy=policy, recall_k=recall_k, counter_k=counter_k, **kwargs)
        self.temperature, self.normalize, self.divergence = temperature, normalize, divergence
        self.per_token = per_token  # IBO over per-token log-likelihoods (losses/ibo.py says why)

    def target_logits(self, influence: list[float], recalled: list[int], counter: list[int]) -> dict[int, float]:
        group = recalled + counter
        logits = influence_targets(torch.tensor([influence[i] for i in group]), temperature=self.temperature,
                                   normalize=self.normalize)
        return dict(zip(group, logits.tolist(), strict=True))

    def correction(self, logps: torch.Tensor, num_tokens: torch.Tensor,
                   batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        everyone = torch.ones_like(batch[RECALLED], dtype=torch.bool)
        return {"ibo": ibo_loss(logps, batch[REFERENCE], batch[TARGET], everyone, self.divergence,
                                num_tokens if self.per_token else None)}


class GradientAscentModule(InfluenceCorrectionModule):
    """Unlearning baseline: gradient ascent on the recalled rows' NLL, the same retain anchor."""

    def target_logits(self, influence: list[float], recalled: list[int], counter: list[int]) -> dict[int, float]:
        return {i: -1.0 for i in recalled}

    def correction(self, logps: torch.Tensor, num_tokens: torch.Tensor,
                   batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"ascent": gradient_ascent_loss(logps, num_tokens, batch[RECALLED] > 0.5)}
