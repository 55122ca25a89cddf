"""DPO and its variants (sigmoid, robust, IPO, hinge, SimPO) as one module.

The variant is a short name of `PREFERENCE_LOSSES` or the dotted path of the user's
own loss; its extra hyperparameters go in `loss_args`, checked against the loss
function's signature by `lit-align validate` (`config_problems`) and at build. The
reference is chosen by `reference` (see `modules/reference.py`).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

import torch

from lit_align.binding import Range, check_kwargs
from lit_align.contracts import ExtensionError, expect_instance, qualified_name
from lit_align.data.records import RecordKind
from lit_align.errors import ConfigError
from lit_align.losses.dpo import PreferenceLoss, PreferenceLossOutput, resolve_preference_loss
from lit_align.losses.logprobs import SequenceLogProbs
from lit_align.losses.sft import sft_nll
from lit_align.models import Policy
from lit_align.modules.base import AlignmentModule, LossOutput, TaskContext
from lit_align.modules.forward import LogprobMode, response_logprobs
from lit_align.modules.optim import OptimizerConfig
from lit_align.modules.reference import (
    REF_COLUMNS,
    ReferenceMode,
    adapter_disabled,
    check_mode,
    compute_reference_columns,
    eval_mode,
    frozen_copy,
    pair_logprobs,
)
from lit_align.modules.reference_cache import ReferenceCache, weights_fingerprint

_CALL_ARGS = frozenset(
    {"policy_chosen_logps", "policy_rejected_logps", "ref_chosen_logps", "ref_rejected_logps", "beta"}
)


def loss_args_problems(variant: PreferenceLoss, name: str, loss_args: dict[str, Any], path: str) -> list[str]:
    return check_kwargs(variant.fn, loss_args, path, f"loss {name!r}", supplied=_CALL_ARGS)


log = logging.getLogger(__name__)


class PairTerms(NamedTuple):
    """A step's per-pair loss output and the reference log-probs `(B,)` it was computed from
    (None for a reference-free variant), so the drift metric is derived from what the loss saw."""

    loss: PreferenceLossOutput
    reference: tuple[torch.Tensor, torch.Tensor] | None


class DPOModule(AlignmentModule):
    """Direct preference optimisation over `prompt/chosen/rejected` pairs.

    `reference_from` picks which policy is the reference in a sequence: the one
    at the start of this task (sequential DPO), the initial model, or their geometric
    `mixture` (weight `reference_mixture` on the initial model; cached reference only).
    `reference_cache` (a directory) keeps cached reference log-probs on disk, keyed by the pairs'
    token ids, the reference's weights and the settings, so a repeated or resumed task or a study
    arm sharing a task prefix skips the reference pass (modules/reference_cache.py). With
    `reference: adapter` the frozen base is the reference, i.e. the initial model.
    `sft_weight` > 0 adds the RPO term (Pang et al. 2024): the token-mean NLL of
    the chosen response, weighted. `logprobs` picks how log-probs are computed
    (`modules/forward.py`): `fused` never builds full-vocabulary logits, `plain`
    always does, `auto` fuses when they would be large. `replay_margin_cap` stops replayed pairs
    whose implicit-reward margin already exceeds it from contributing (`capped_replay`).
    """

    data_kind: ClassVar[RecordKind] = "preference"

    def __init__(
        self,
        *,
        policy: Policy,
        beta: Annotated[float, Range(gt=0)] = 0.1,
        loss: str = "sigmoid",
        loss_args: dict[str, float] | None = None,
        reference: ReferenceMode = "cached",
        reference_from: Literal["task_start", "initial", "mixture"] = "task_start",
        reference_mixture: Annotated[float, Range(ge=0, le=1)] = 0.5,
        sft_weight: Annotated[float, Range(ge=0)] = 0.0,
        logprobs: LogprobMode = "auto",
        displacement_warn_nats: Annotated[float, Range(gt=0)] | None = 5.0,
        replay_margin_cap: Annotated[float, Range(gt=0)] | None = None,
        reference_cache: str | None = None,
        optimizer: OptimizerConfig | None = None,
    ) -> None:
        super().__init__(policy=policy, optimizer=optimizer)
        # reference log-probs kept on disk by data, weights and settings (modules/reference_cache.py)
        self.reference_cache = ReferenceCache(reference_cache) if reference_cache is not None else None
        self.replay_margin_cap = replay_margin_cap
        self.displacement_warn_nats = displacement_warn_nats
        self._epoch_logratios = torch.zeros(3, dtype=torch.float64)  # chosen sum, rejected sum, pairs
        self.variant = resolve_preference_loss(loss)
        self.loss_args = dict(loss_args or {})
        problems = loss_args_problems(self.variant, loss, self.loss_args, "method.init_args.loss_args")
        if problems:
            raise ConfigError(problems)
        check_mode(reference, policy.is_peft)
        self.beta = beta
        self.reference_mode: ReferenceMode = reference if self.variant.needs_reference else "cached"
        self.sft_weight = sft_weight
        self.logprob_mode: LogprobMode = logprobs
        self.reference_from = reference_from
        self.reference_mixture = reference_mixture
        if reference_from == "mixture" and self.reference_mode != "cached":
            raise ConfigError("method.init_args.reference_from: mixture needs reference: cached (the two references' "
                              f"log-probs are mixed once per task; got reference: {self.reference_mode})")
        self.reference_model = frozen_copy(policy.model) if self.reference_mode == "frozen_copy" else None

    @classmethod
    def config_problems(cls, init_args: dict[str, Any], path: str) -> list[str]:
        """What `lit-align validate` checks beyond the signature: the loss exists and takes `loss_args`."""
        name = init_args.get("loss", "sigmoid")
        if not isinstance(name, str):
            return []  # the signature check has named the type problem
        try:
            variant = resolve_preference_loss(name, f"{path}.loss")
        except ConfigError as exc:
            return exc.problems
        problems = loss_args_problems(variant, name, dict(init_args.get("loss_args") or {}), f"{path}.loss_args")
        if init_args.get("reference_from") == "mixture" and init_args.get("reference", "cached") != "cached":
            problems.append(f"{path}.reference_from: mixture needs reference: cached (the two references' "
                            f"log-probs are mixed once per task; got reference: {init_args['reference']})")
        return problems

    # -- reference -----------------------------------------------------------------------
    def reference_columns(self, datamodule: Any, reference_model: Any | None = None
                          ) -> dict[str, tuple[list[float], list[float]]]:
        """Reference log-probs of every pair of the train/eval sets: split -> (chosen, rejected)."""
        model = reference_model if reference_model is not None else self.model
        context = None
        if reference_model is None and self.reference_mode == "adapter":
            context = adapter_disabled
        columns = {}
        weights = weights_fingerprint(model) if self.reference_cache is not None else ""
        for split, dataset, collator in (("train", datamodule.train_set, datamodule.collator),
                                         ("eval", datamodule.eval_set, datamodule.eval_collator)):
            if dataset is None:
                continue

            def compute(dataset: Any = dataset, collator: Any = collator) -> tuple[list[float], list[float]]:
                return compute_reference_columns(
                    model, dataset, collator, batch_size=datamodule.eval_batch_size,
                    average=self.variant.length_normalized, device=self.device, mode=self.logprob_mode,
                    context=context,
                )

            if self.reference_cache is None:
                columns[split] = compute()
            else:
                settings = {"average": self.variant.length_normalized, "mode": self.logprob_mode,
                            "adapter_disabled": context is not None, "batch_size": datamodule.eval_batch_size}
                columns[split] = self.reference_cache.columns(weights, dataset, settings, compute)
        return columns

    def cache_reference(self, datamodule: Any, reference_model: Any | None = None, *,
                        mix_with: Any | None = None) -> None:
        """Write reference log-probs into the train/eval sets (default: the current policy). With
        `mix_with` (the initial model), the reference is the geometric mixture
        log pi_ref = w log pi_0 + (1 - w) log pi_{t-1}, w = `reference_mixture`: the weighted
        combination of several references' log-probs of multi-reference preference optimisation
        (Le et al. 2024, arXiv 2405.16388), here the initial model and the policy at the task's start."""
        if not self.variant.needs_reference:
            return
        columns = self.reference_columns(datamodule, reference_model)
        if mix_with is not None:
            w = self.reference_mixture
            initial = self.reference_columns(datamodule, mix_with)
            columns = {split: tuple([w * a + (1 - w) * b for a, b in zip(ini, cur, strict=True)]
                                    for ini, cur in zip(initial[split], columns[split], strict=True))
                       for split in columns}
        for split, (chosen, rejected) in columns.items():
            datamodule.add_columns(split, dict(zip(REF_COLUMNS, (chosen, rejected), strict=True)))

    def on_task_start(self, task: TaskContext) -> None:
        initial = None
        if self.reference_from in ("initial", "mixture") and self.reference_mode != "adapter":
            if task.build_initial_model is None:
                raise ConfigError(f"reference_from: {self.reference_from} needs the runner's initial model; run it "
                                  f"in a sequence")
            initial = task.build_initial_model()
        if self.reference_mode == "cached" and self.reference_from == "mixture":
            self.cache_reference(task.datamodule, mix_with=initial)
        elif self.reference_mode == "cached":
            self.cache_reference(task.datamodule, reference_model=initial)
        elif self.reference_mode == "frozen_copy" and initial is not None:
            self.reference_model = frozen_copy(initial)

    def prepare_evaluation(self, datamodule: Any, reference_model: Any) -> None:
        self.cache_reference(datamodule, reference_model=reference_model)

    def reference_logps(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        average = self.variant.length_normalized
        if not self.variant.needs_reference:
            zeros = torch.zeros(len(batch["row"]), device=self.device)
            return zeros, zeros
        if self.reference_mode == "cached":
            if REF_COLUMNS[0] not in batch:
                raise ConfigError(
                    "cached reference log-probs are missing from the batch; the runner calls "
                    "on_task_start to compute them (call module.cache_reference(datamodule) yourself "
                    "when training outside the runner)"
                )
            return batch[REF_COLUMNS[0]], batch[REF_COLUMNS[1]]
        if self.reference_mode == "adapter":
            with torch.no_grad(), adapter_disabled(self.model):
                return pair_logprobs(self.model, batch, average=average, mode=self.logprob_mode)
        with eval_mode(self.reference_model):
            return pair_logprobs(self.reference_model, batch, average=average, mode=self.logprob_mode)

    # -- loss ----------------------------------------------------------------------------
    def compute_loss(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        seq = response_logprobs(self.model, batch, average=self.variant.length_normalized,
                                mode=self.logprob_mode)
        return self.preference_loss(batch, seq)

    def pair_terms(self, batch: dict[str, torch.Tensor], seq: SequenceLogProbs) -> PairTerms:
        """Per-pair losses and implicit rewards `(B,)` of the configured variant, with the reference
        log-probs they came from: what a subclass reads (per-row margins, weights) before reducing,
        without calling the loss or the reference forward twice."""
        policy_chosen, policy_rejected = seq.logps.chunk(2)
        ref_chosen, ref_rejected = self.reference_logps(batch)
        loss = self.variant.fn(
            policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=self.beta, **self.loss_args
        )
        expect_instance(loss, PreferenceLossOutput, f"loss {qualified_name(self.variant.fn)}",
                        "PreferenceLossOutput(losses, chosen_rewards, rejected_rewards) from lit_align.losses.dpo, "
                        "each of shape (B,)")
        if loss.losses.shape != policy_chosen.shape:
            raise ExtensionError(f"loss {qualified_name(self.variant.fn)} returned losses of shape "
                                 f"{tuple(loss.losses.shape)} for {len(policy_chosen)} pairs; it must return one "
                                 f"loss per pair, shape (B,), unreduced")
        reference = (ref_chosen.detach(), ref_rejected.detach()) if self.variant.needs_reference else None
        return PairTerms(loss, reference)

    def preference_loss(self, batch: dict[str, torch.Tensor], seq: SequenceLogProbs,
                        terms: PairTerms | None = None) -> LossOutput:
        """The DPO-family loss, RPO term and metrics from the policy's log-probs of the batch
        (`terms`: what a subclass already computed with `pair_terms`)."""
        policy_chosen, policy_rejected = seq.logps.chunk(2)
        terms = terms if terms is not None else self.pair_terms(batch, seq)
        out = terms.loss
        capped = self.capped_replay(batch, out)
        preference = (out.losses * (~capped)).sum() / len(out.losses) if capped is not None else out.losses.mean()
        parts = {"preference": preference}
        loss = preference
        if self.sft_weight > 0:
            chosen_sums = seq.token_logps.sum(-1).chunk(2)[0]  # summed even when the loss averages
            parts["sft"] = self.sft_weight * sft_nll(chosen_sums, seq.num_tokens.chunk(2)[0]).loss
            loss = loss + parts["sft"]
        margin = out.chosen_rewards - out.rejected_rewards
        metrics = {
            "accuracy": (margin > 0).float().mean(),
            "reward_margin": margin.mean(),
            "chosen_reward": out.chosen_rewards.mean(),
            "rejected_reward": out.rejected_rewards.mean(),
            "chosen_logps": policy_chosen.detach().mean(),
            "rejected_logps": policy_rejected.detach().mean(),
        }
        if terms.reference is not None:  # any reference mode: the drift of both likelihoods since the task start
            metrics |= self.track_drift(policy_chosen, policy_rejected, *terms.reference)
        if capped is not None:
            replayed = batch["replay"] > 0.5
            metrics["replay_capped_share"] = capped.sum().float() / replayed.sum().clamp(min=1)
        return LossOutput(loss, parts, metrics)

    def capped_replay(self, batch: dict[str, torch.Tensor], out: PreferenceLossOutput) -> torch.Tensor | None:
        """Margin-capped replay: replayed pairs whose implicit-reward margin
        beta (h) = r(y+) - r(y-) already exceeds `replay_margin_cap` stop contributing, so replay
        keeps old preferences without driving their margins (and the chosen/rejected gap COPR's
        authors saw replay widen) further up. `(B,)` bool, None when off or nothing is replayed.
        The loss stays a mean over the whole batch: a capped pair's term is 0, the others keep
        their weight 1/B."""
        if self.replay_margin_cap is None or "replay" not in batch:
            return None
        margin = out.chosen_rewards - out.rejected_rewards  # detached
        return (batch["replay"] > 0.5) & (margin > self.replay_margin_cap)

    def track_drift(self, policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
                    ref_rejected: torch.Tensor) -> dict[str, torch.Tensor]:
        """The step's chosen and rejected log-ratios (policy minus reference), also summed over the
        epoch for the displacement warning; subclasses with their own loss call it too."""
        chosen_ratio = (policy_chosen.detach() - ref_chosen.detach()).float()
        rejected_ratio = (policy_rejected.detach() - ref_rejected.detach()).float()
        if self.training:
            count = chosen_ratio.new_tensor(len(chosen_ratio))
            step = torch.stack([chosen_ratio.sum(), rejected_ratio.sum(), count])
            # accumulated where the batch lives: no device sync per step
            self._epoch_logratios = self._epoch_logratios.to(step.device) + step.double()
        return {"chosen_logratio": chosen_ratio.mean(), "rejected_logratio": rejected_ratio.mean()}

    # -- likelihood displacement -----------------------------------------------------------
    def on_train_epoch_start(self) -> None:
        self._epoch_logratios.zero_()

    def on_train_epoch_end(self) -> None:
        """Warn when chosen and rejected log-likelihoods both fell by more than
        `displacement_warn_nats` on average this epoch (likelihood displacement: the margin grows
        while the preferred answers themselves become less likely, Razin et al. 2024)."""
        chosen_sum, rejected_sum, pairs = self._epoch_logratios.tolist()
        if not pairs or self.displacement_warn_nats is None:
            return
        chosen, rejected = chosen_sum / pairs, rejected_sum / pairs
        if chosen < -self.displacement_warn_nats and rejected < -self.displacement_warn_nats:
            log.warning("task %r: likelihood displacement in epoch %d: chosen log-likelihood fell %.1f nats and "
                        "rejected %.1f nats on average since the task start (method.init_args."
                        "displacement_warn_nats %.1f); the margin grows while the preferred answers get less "
                        "likely: lower the learning rate or beta, or add sft_weight (RPO)", self.task_name or "?",
                        self.current_epoch, -chosen, -rejected, self.displacement_warn_nats)
