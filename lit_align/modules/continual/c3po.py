"""C3POModule: apply one piece of verbal feedback where it is relevant, and nowhere else.

DPO on the in-scope pairs (revised vs baseline answer) against pi_0, plus the
NLL of pi_0's own answers on near-scope and out-of-scope prompts (Stephan et al.
2024, eq. 5). With LoRA the reference is the base with the adapter disabled
(`reference: adapter`, the paper's setup); `cached` works for full fine-tuning.
One feedback is one task; see docs/methods/c3po.md.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import torch

from lit_align.binding import Range
from lit_align.data.collate import IGNORE_INDEX
from lit_align.data.records import RecordKind
from lit_align.errors import ConfigError
from lit_align.losses.c3po import c3po_loss, distillation_term
from lit_align.losses.muscle import shift_for_next_token
from lit_align.losses.sft import sft_nll
from lit_align.modules.base import LossOutput
from lit_align.modules.dpo import DPOModule
from lit_align.modules.forward import response_logprobs
from lit_align.modules.reference import adapter_disabled, eval_mode


class C3POModule(DPOModule):
    """`lambda_out` weighs the out-of-scope term, `lambda_near` the near-scope one (paper: 0.2, 0.1).
    `kd_weight` > 0 mixes distillation from pi_0 into both terms (needs `reference: adapter` or
    `frozen_copy`, since it needs pi_0's logits)."""

    data_kind: ClassVar[RecordKind] = "feedback"

    def __init__(
        self,
        *,
        lambda_out: Annotated[float, Range(ge=0)] = 0.2,
        lambda_near: Annotated[float, Range(ge=0)] = 0.1,
        kd_weight: Annotated[float, Range(ge=0, le=1)] = 0.0,
        kd_temperature: Annotated[float, Range(gt=0)] = 1.0,
        kd_reduction: Literal["token_mean", "sequence_sum"] = "token_mean",
        **dpo_args: Any,
    ) -> None:
        dpo_args.setdefault("beta", 0.1)
        if dpo_args.get("loss", "sigmoid") != "sigmoid":
            raise ConfigError("method.init_args.loss: C3PO uses the sigmoid DPO loss; remove `loss`")
        super().__init__(**dpo_args)
        if kd_weight > 0 and self.reference_mode == "cached":
            raise ConfigError("method.init_args.kd_weight > 0 needs pi_0's logits: set reference: adapter "
                              "(with LoRA) or frozen_copy")
        self.lambda_out, self.lambda_near = lambda_out, lambda_near
        self.kd_weight, self.kd_temperature, self.kd_reduction = kd_weight, kd_temperature, kd_reduction

    @classmethod
    def config_problems(cls, init_args: dict[str, Any], path: str) -> list[str]:
        """What `__init__` narrows of DPO's arguments, said to `validate` too (it used to pass a `loss`
        that `fit` then refused)."""
        problems = super().config_problems(init_args, path)
        if init_args.get("loss", "sigmoid") != "sigmoid":
            problems.append(f"{path}.loss: C3PO uses the sigmoid DPO loss (got {init_args['loss']!r}); remove `loss`")
        if init_args.get("kd_weight", 0.0) > 0 and init_args.get("reference", "cached") == "cached":
            problems.append(f"{path}.kd_weight > 0 needs pi_0's logits: set reference: adapter (with LoRA) or "
                            f"frozen_copy")
        return problems

    def _constraint_terms(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token-mean NLL (optionally mixed with distillation) of pi_0's near- and out-of-scope answers."""
        c = {k[len("constraint_"):]: v for k, v in batch.items() if k.startswith("constraint_")}
        half = c["input_ids"].shape[0] // 2
        if self.kd_weight == 0:
            seq = response_logprobs(self.model, c, mode=self.logprob_mode)
            sums = seq.token_logps.sum(-1)
            return tuple(sft_nll(sums[s], seq.num_tokens[s]).loss for s in (slice(0, half), slice(half, None)))
        student = self.model(input_ids=c["input_ids"], attention_mask=c["attention_mask"], use_cache=False).logits
        teacher = self._teacher_logits(c)
        terms = []
        for part in (slice(0, half), slice(half, None)):
            labels = c["labels"][part]
            s_logits, targets = shift_for_next_token(student[part], labels)
            t_logits, _ = shift_for_next_token(teacher[part], labels)
            nll = torch.nn.functional.cross_entropy(s_logits.float(), targets)
            sequence_ids = None
            if self.kd_reduction == "sequence_sum":  # the answer each predicting position belongs to
                rows = torch.arange(labels.shape[0], device=labels.device)[:, None].expand_as(labels[:, 1:])
                sequence_ids = rows[labels[:, 1:] != IGNORE_INDEX]
            terms.append(distillation_term(nll, s_logits, t_logits, kd_weight=self.kd_weight,
                                           temperature=self.kd_temperature, sequence_ids=sequence_ids))
        return terms[0], terms[1]

    def _teacher_logits(self, c: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.reference_mode == "adapter":
            with torch.no_grad(), adapter_disabled(self.model):
                return self.model(input_ids=c["input_ids"], attention_mask=c["attention_mask"], use_cache=False).logits
        with eval_mode(self.reference_model):
            return self.reference_model(input_ids=c["input_ids"], attention_mask=c["attention_mask"],
                                        use_cache=False).logits

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        seq = response_logprobs(self.model, batch, mode=self.logprob_mode)
        chosen, rejected = seq.logps.chunk(2)
        ref_chosen, ref_rejected = self.reference_logps(batch)
        near, out = self._constraint_terms(batch)
        result = c3po_loss(chosen, rejected, ref_chosen, ref_rejected, out, near, beta=self.beta,
                           lambda_out=self.lambda_out, lambda_near=self.lambda_near)
        terms = {"dpo": result.dpo, "out_of_scope": self.lambda_out * out, "near_scope": self.lambda_near * near}
        margin = result.chosen_rewards - result.rejected_rewards
        metrics = {"accuracy": (margin > 0).float().mean(), "reward_margin": margin.mean(),
                   "out_of_scope_nll": out.detach(), "near_scope_nll": near.detach(),
                   **self.track_drift(chosen, rejected, ref_chosen, ref_rejected)}
        return LossOutput(result.loss, terms, metrics)
