"""The general-ability probe: what aligning on preference domains costs the model elsewhere
(the alignment tax, targets.md T1).

A fixed set of general prompts is answered before the first task and after every task.
Two numbers per evaluation:

- `exact`: the share of rows with an `answer` whose greedy reply contains it (case-insensitive,
  on word boundaries; `answer` may list accepted forms). Meant for short factual questions
  the untuned model gets right, so a fall is ability lost.
- `answer_logprob`: the mean per-token log-probability of the *untuned* model's own greedy
  replies to every probe prompt, under the current model. It moves even when exact answers
  do not, so it shows drift that accuracy hides.

Drift is reported against the measurement before the first task; a relative fall of `exact`
beyond `warn_drop` is printed as a warning, so a method's gain never hides a wrecked probe.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import torch

from lit_align.config.continual import ProbeConfig
from lit_align.generation import Progress, Sampling, generate

log = logging.getLogger(__name__)


def contains_answer(text: str, accepted: list[str]) -> bool:
    """Whether any accepted answer occurs in `text` as whole words, ignoring case."""
    return any(re.search(rf"(?<!\w){re.escape(a.strip())}(?!\w)", text, flags=re.IGNORECASE)
               for a in accepted if a.strip())


@torch.no_grad()
def answer_logprobs(model: Any, tokenizer: Any, prompts: list[str], answers: list[str],
                    batch_size: int) -> list[float]:
    """Mean per-token log-probability of each answer after its (rendered) prompt."""
    from lit_align.data.collate import pad_sequences
    from lit_align.losses.logprobs import sequence_logprobs
    from lit_align.modules.reference import eval_mode

    device = next(model.parameters()).device
    out: list[float] = []
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with eval_mode(model):
        for start in range(0, len(prompts), batch_size):
            chunk = zip(prompts[start : start + batch_size], answers[start : start + batch_size], strict=True)
            pairs = [(tokenizer(p, add_special_tokens=False)["input_ids"],
                      tokenizer(a, add_special_tokens=False)["input_ids"] or [tokenizer.eos_token_id])
                     for p, a in chunk]
            batch = {k: v.to(device) for k, v in pad_sequences([p for p, _ in pairs], [a for _, a in pairs],
                                                               pad).items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
            out += sequence_logprobs(logits, batch["labels"], average=True).logps.tolist()
    return out


class GeneralProbe:
    """Measures the probe on a policy; the untuned model's replies are fixed at `set_reference`."""

    def __init__(self, cfg: ProbeConfig, tokenizer: Any, seed: int, where: str = "evaluation.probe") -> None:
        from lit_align.data.records import render_prompt
        from lit_align.data.sources import load_source
        from lit_align.errors import ConfigError

        self.cfg = cfg
        self.seed = seed
        rows = list(load_source(cfg.data, f"{where}.data"))
        if not rows:
            raise ConfigError(f"{where}.data: no rows; the probe needs general prompts")
        self.accepted: list[list[str] | None] = []
        self.prompts: list[str] = []
        for i, row in enumerate(rows):
            prompt, answer = row.get("prompt"), row.get("answer")
            if not isinstance(prompt, str) or not prompt.strip():
                raise ConfigError(f"{where}.data row {i}: 'prompt' must be a non-empty string")
            if answer is not None and not (isinstance(answer, str) or (isinstance(answer, list) and all(
                    isinstance(a, str) for a in answer))):
                raise ConfigError(f"{where}.data row {i}: 'answer' must be a string or a list of strings")
            message = [{"role": "user", "content": prompt}] if cfg.chat_template else prompt
            self.prompts.append(render_prompt({"prompt": message}, tokenizer).prompt)
            self.accepted.append([answer] if isinstance(answer, str) else answer)
        self.sampling = Sampling(max_new_tokens=cfg.max_new_tokens, temperature=0.0, batch_size=cfg.batch_size)
        self.reference_answers: list[str] = []
        self.baseline: dict[str, Any] = {}

    def _measure(self, policy: Any, replies: list[str] | None = None, progress: Progress | None = None
                 ) -> dict[str, Any]:
        if replies is None:
            replies = generate(policy.model, policy.tokenizer, self.prompts, self.sampling, self.seed, progress)
        hits = [contains_answer(r, a) for r, a in zip(replies, self.accepted, strict=True) if a is not None]
        logps = answer_logprobs(policy.model, policy.tokenizer, self.prompts, self.reference_answers,
                                self.cfg.batch_size)
        return {"exact": sum(hits) / len(hits) if hits else None, "answer_logprob": sum(logps) / len(logps),
                "replies": replies}

    def set_reference(self, policy: Any, progress: Progress | None = None) -> dict[str, Any]:
        self.reference_answers = generate(policy.model, policy.tokenizer, self.prompts, self.sampling, self.seed,
                                          progress)
        # the untuned model's greedy replies are its baseline replies too: generated once
        self.baseline = self._measure(policy, replies=self.reference_answers)
        return self.baseline

    def measure(self, policy: Any, task: str, progress: Progress | None = None) -> dict[str, Any]:
        result = self._measure(policy, progress=progress)
        drop = self.relative_drop(result)
        if drop is not None and drop > self.cfg.warn_drop:
            log.warning("general probe: exact answers fell %.0f%% after task %r (%.3f -> %.3f), beyond "
                        "evaluation.probe.warn_drop %.0f%%", 100 * drop, task, self.baseline["exact"],
                        result["exact"], 100 * self.cfg.warn_drop)
        return result

    def relative_drop(self, result: dict[str, Any]) -> float | None:
        base = self.baseline.get("exact")
        return None if not base or result["exact"] is None else (base - result["exact"]) / base

    def drift(self, result: dict[str, Any]) -> dict[str, float | None]:
        """Change from before the first task (exact in points, log-prob in nats per token)."""
        base_exact = self.baseline.get("exact")
        return {"exact_drift": None if base_exact is None or result["exact"] is None else result["exact"] - base_exact,
                "exact_relative_drop": self.relative_drop(result),
                "answer_logprob_drift": result["answer_logprob"] - self.baseline["answer_logprob"]}

    def stored(self) -> dict[str, Any]:
        return {"reference_answers": self.reference_answers, "baseline": self.baseline}

    def restore(self, stored: dict[str, Any]) -> None:
        self.reference_answers, self.baseline = stored["reference_answers"], stored["baseline"]
