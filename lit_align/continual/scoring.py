"""Scores of the policy on every eval split after every task, against a fixed reference.

The reference is the initial model, or the policy right after
`evaluation.reference_task`; its log-probs are computed once and stored with
each checkpoint, so a resumed run scores against the same numbers.
"""

from __future__ import annotations

import math
import time
from typing import Any

from lit_align.config.schema import RunConfig
from lit_align.continual.eval_progress import EvalProgress
from lit_align.continual.evaluation import EvalSplit, cache_initial, margins, split_score
from lit_align.continual.results import sequence_report
from lit_align.data.collate import Collator
from lit_align.generation import generate_with_stops
from lit_align.scorers import score_tolerantly
from lit_align.soundness import SoundnessCheck, sound_rate


def _sound_only(scores: dict[str, list[float]], sound: dict[str, list[bool]]) -> dict[str, list[float]]:
    """Scores with every unsound answer's set to 0 (a NaN, unscored, stays NaN)."""
    return {name: [v if ok or math.isnan(v) else 0.0 for v, ok in zip(values, sound.get(name, [True] * len(values)),
                                                                       strict=True)]
            for name, values in scores.items()}


class SequenceScorer:
    """Per-example margins of the policy on every eval split against a fixed reference:
    the initial model, or the policy right after `evaluation.reference_task`."""

    def __init__(self, cfg: RunConfig, policy: Any, splits: list[EvalSplit], progress: EvalProgress | None = None
                 ) -> None:
        self.cfg = cfg
        self.progress = progress or EvalProgress(enabled=False)
        self.policy = policy
        self.splits = splits
        self.collator = Collator(kind="preference", pad_id=policy.tokenizer.pad_token_id)
        self.task_names: list[str] = []  # tasks with a row in the matrix
        self.margins_after: list[dict[str, list[float]]] = []
        self.baseline: dict[str, list[float]] = {}
        self.reference_set = False
        self.setup_seconds = 0.0
        gen = cfg.evaluation.generation
        self.generation = gen
        self.gold_scorer = gen.scorer.instantiate() if gen is not None else None
        self.generated_after: list[dict[str, list[float]]] = []
        self.generated_baseline: dict[str, list[float]] = {}
        self.generated_counts: list[dict[str, dict[str, int]]] = []  # baseline first, then one per task
        # whether each answer is language at all (lit_align/soundness.py), in the order of the scores
        self.soundness = SoundnessCheck()
        self.sound_after: list[dict[str, list[bool]]] = []
        self.sound_baseline: dict[str, list[bool]] = {}
        self.generations: list[dict[str, Any]] = []  # every answer of every evaluation, for generations.jsonl
        self.probe = None
        if cfg.evaluation.probe is not None:
            from lit_align.continual.probe import GeneralProbe

            self.probe = GeneralProbe(cfg.evaluation.probe, policy.tokenizer, cfg.seed)
        self.probe_after: list[dict[str, Any]] = []

    def _margins(self) -> dict[str, list[float]]:
        size = self.cfg.evaluation.batch_size
        device = next(self.policy.model.parameters()).device
        out = {}
        with self.progress.phase("pairwise log-probs", self._pairs, "pairs") as tick:
            for s in self.splits:
                out[s.name] = margins(self.policy.model, s, self.collator, size, device)
                tick(len(out[s.name]), 0)
        return out

    @property
    def _pairs(self) -> int:
        """Preference pairs over every eval split: what a pairwise pass scores."""
        return sum(len(s.columns["row"]) for s in self.splits)

    def _plan(self) -> str:
        """What one evaluation round scores, in words (the round's first line)."""
        parts = [f"{len(self.splits)} split(s), {self._pairs} pairs"] if self.splits else []
        if self.generation is not None:
            answers = sum(len(s.prompts[: self.generation.num_prompts]) for s in self.splits)
            parts.append(f"{answers} generated answers")
        if self.probe is not None:
            parts.append(f"probe of {len(self.probe.prompts)} prompts")
        return ", ".join(parts)

    def _generated_scores(self, label: str) -> tuple[dict[str, list[float]], dict[str, list[bool]]]:
        """Gold scores of the policy's answers to the first prompts of every split, and whether each
        answer is sound; answers the scorer fails on are NaN (left out of means) and counted, as are
        answers cut at the limit. Every answer is kept (`generations`) with its flags and score."""
        assert self.generation is not None and self.gold_scorer is not None
        scores, sound, counts = {}, {}, {}
        for split in self.splits:
            prompts = split.prompts[: self.generation.num_prompts]
            with self.progress.phase(f"answers on {split.name}", len(prompts), "answers") as tick:
                answers, cut = generate_with_stops(self.policy.model, self.policy.tokenizer, prompts,
                                                   self.generation, self.cfg.seed, tick)
            scores[split.name] = score_tolerantly(self.gold_scorer, split.name, prompts, answers)
            checks = [self.soundness.check(a) for a in answers]
            sound[split.name] = [c.sound for c in checks]
            counts[split.name] = {"unscored": sum(math.isnan(v) for v in scores[split.name]),
                                  "hit_token_limit": sum(cut), "unsound": sum(not c.sound for c in checks)}
            self.generations += [{"after": label, "split": split.name, "prompt": p, "answer": a, "cut": c,
                                  "sound": check.sound, "unsound_because": list(check.reasons),
                                  "score": None if math.isnan(v) else v}
                                 for p, a, c, check, v in zip(prompts, answers, cut, checks, scores[split.name],
                                                              strict=True)]
        self.generated_counts.append(counts)
        return scores, sound

    def set_reference(self) -> None:
        """The current policy becomes the fixed reference every later score is relative to."""
        start = time.perf_counter()
        device = next(self.policy.model.parameters()).device
        with self.progress.round("reference model", self._plan()):
            with self.progress.phase("reference log-probs", self._pairs, "pairs") as tick:
                cache_initial(self.policy.model, self.splits, self.collator, self.cfg.evaluation.batch_size, device)
                tick(self._pairs, 0)
            self.baseline = self._margins()
            if self.generation is not None:
                self.generated_baseline, self.sound_baseline = self._generated_scores("(reference)")
            if self.probe is not None:
                with self.progress.phase("probe answers", len(self.probe.prompts), "answers") as tick:
                    self.probe.set_reference(self.policy, tick)
        self.reference_set = True
        self.setup_seconds += time.perf_counter() - start

    def after_task(self, name: str) -> dict[str, float]:
        if not self.reference_set:
            if name == self.cfg.evaluation.reference_task:
                self.set_reference()
            return {}
        with self.progress.round(f"after {name}", self._plan()):
            return self._score_after(name)

    def _score_after(self, name: str) -> dict[str, float]:
        self.task_names.append(name)
        self.margins_after.append(self._margins())
        scores = {f"eval/{s}": split_score(m) for s, m in self.margins_after[-1].items()}
        if self.generation is not None:
            generated, sound = self._generated_scores(name)
            self.generated_after.append(generated)
            self.sound_after.append(sound)
            scores |= {f"eval_generated/{s}": sum(v) / len(v) for s, v in generated.items()}
            scores |= {f"eval_sound_rate/{s}": sound_rate(v) for s, v in sound.items()}
        if self.probe is not None:
            with self.progress.phase("probe answers", len(self.probe.prompts), "answers") as tick:
                measured = self.probe.measure(self.policy, name, tick)
            self.probe_after.append(measured)
            scores |= {f"probe/{k}": v for k, v in self._probe_numbers(measured).items() if v is not None}
        return scores

    def _probe_numbers(self, measured: dict[str, Any]) -> dict[str, float | None]:
        assert self.probe is not None
        return {"exact": measured["exact"], "answer_logprob": measured["answer_logprob"],
                **self.probe.drift(measured)}

    def report(self) -> dict[str, Any]:
        names = [s.name for s in self.splits]
        report = sequence_report(self.task_names, names, self.margins_after, self.baseline,
                                 self.cfg.evaluation.forgetting)
        if self.generation is not None:
            report["generation"] = sequence_report(self.task_names, names, self.generated_after,
                                                   self.generated_baseline, self.cfg.evaluation.forgetting,
                                                   generated=True)
            report["generation"]["counts"] = self.generated_counts
            # an unsound answer follows no rule: the same matrix with unsound answers scored 0
            report["generation_sound"] = sequence_report(
                self.task_names, names, [_sound_only(g, f) for g, f in zip(self.generated_after, self.sound_after,
                                                                            strict=True)],
                _sound_only(self.generated_baseline, self.sound_baseline), self.cfg.evaluation.forgetting,
                generated=True)
            report["generation"]["sound_rate"] = {
                "baseline": [sound_rate(self.sound_baseline.get(n, [])) for n in names],
                "matrix": [[sound_rate(after.get(n, [])) for n in names] for after in self.sound_after]}
        if self.probe is not None and self.probe.baseline:
            base = self.probe.baseline
            report["probe"] = {
                "baseline": {"exact": base["exact"], "answer_logprob": base["answer_logprob"]},
                "tasks": self.task_names,
                "after": [self._probe_numbers(m) for m in self.probe_after],
                "final": self._probe_numbers(self.probe_after[-1]) if self.probe_after else None,
                "worst": self._probe_worst(),
            }
        return report

    def _probe_worst(self) -> dict[str, Any] | None:
        """T1 reads the probe at its worst point over the sequence, named by task, not at the end."""
        numbers = [(self._probe_numbers(m), t) for m, t in zip(self.probe_after, self.task_names, strict=True)]
        numbers = [(n, t) for n, t in numbers if n["exact"] is not None]
        if not numbers:
            return None
        worst, task = min(numbers, key=lambda item: item[0]["exact"])
        return {"after": task, **worst}

    def stored(self) -> dict[str, Any]:
        reference = None
        if self.reference_set:
            reference = {s.name: [s.initial_chosen, s.initial_rejected] for s in self.splits}
        return {"tasks": self.task_names, "baseline": self.baseline, "after": self.margins_after,
                "reference": reference, "generated_baseline": self.generated_baseline,
                "generated_after": self.generated_after, "generated_counts": self.generated_counts,
                "sound_baseline": self.sound_baseline, "sound_after": self.sound_after, "generations": self.generations,
                "probe": self.probe.stored() | {"after": self.probe_after} if self.probe is not None else None}

    def restore(self, stored: dict[str, Any]) -> None:
        self.task_names, self.baseline, self.margins_after = stored["tasks"], stored["baseline"], stored["after"]
        self.generated_baseline = stored.get("generated_baseline", {})
        self.generated_after = stored.get("generated_after", [])
        self.generated_counts = stored.get("generated_counts", [])
        self.sound_baseline = stored.get("sound_baseline", {})
        self.sound_after = stored.get("sound_after", [])
        self.generations = stored.get("generations", [])
        # a checkpoint from before the sound check: those evaluations count every answer as sound
        self.sound_after += [{} for _ in range(len(self.generated_after) - len(self.sound_after))]
        if self.probe is not None and stored.get("probe"):
            self.probe.restore(stored["probe"])
            self.probe_after = stored["probe"]["after"]
        if stored["reference"] is not None:
            for split in self.splits:
                split.initial_chosen, split.initial_rejected = stored["reference"][split.name]
            self.reference_set = True
