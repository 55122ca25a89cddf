"""Typed settings of the continual pieces: replay memory, evaluation, generation and the
general probe. Import-light: the settings layer sits under every package that reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from lit_align.binding import ComponentOf, ComponentSpec, Range
from lit_align.config.data import OnPolicyConfig, SourceConfig
from lit_align.errors import ConfigError


@dataclass
class GenerationConfig:
    """Generate for the first `num_prompts` prompts of every eval split after every task.

    A split's prompts are its eval pairs' prompts, unless `prompts` names a prompt-only source
    for it (rows with `prompt`, rendered like the split's data): held-out prompts cost nothing to
    label, so a generated-answer score can rest on many more of them than the pairs have."""

    scorer: Annotated[ComponentSpec, ComponentOf("lit_align.scorers.ResponseScorer")]
    num_prompts: Annotated[int, Range(gt=0)] = 32
    prompts: dict[str, SourceConfig] = field(default_factory=dict)  # split name -> prompt-only source
    max_new_tokens: Annotated[int, Range(gt=0)] = 24
    temperature: Annotated[float, Range(ge=0)] = 0.0  # 0: greedy
    batch_size: Annotated[int, Range(gt=0)] = 16


@dataclass
class ProbeConfig:
    """`data`: rows with a `prompt` (string) and optionally `answer`: a string, or a list of
    accepted strings (one type per file: a file is one Arrow table)."""

    data: SourceConfig
    max_new_tokens: Annotated[int, Range(gt=0)] = 24
    batch_size: Annotated[int, Range(gt=0)] = 16
    chat_template: bool = True  # render prompts with the tokenizer's chat template
    warn_drop: Annotated[float, Range(gt=0, le=1)] = 0.10


@dataclass
class MemoryConfig:
    """Replay memory.

    `per_task` rows of each finished task enter memory (a count, or a fraction
    of its training rows when < 1). `policy` (a component: a registered name or
    `{class_path, init_args}`) decides which rows stay:
    `balanced` keeps an equal random share per task within `capacity`;
    `reservoir` keeps a uniform sample of every row seen (needs `capacity`);
    `score_ranked` keeps each task's highest-scored rows (the method scores them).
    `replay_ratio` is the share of each training batch drawn from memory. With `onpolicy`, the
    replayed rows' prompts are answered afresh by the policy when each task starts and judged by
    `onpolicy.scorer` with the row's task as the split (continual/onpolicy_replay.py).
    """

    per_task: Annotated[float, Range(ge=0)] = 0
    capacity: Annotated[int, Range(gt=0)] | None = None
    policy: Annotated[ComponentSpec, ComponentOf("lit_align.continual.memory_policies.MemoryPolicy")] = field(
        default_factory=lambda: ComponentSpec("balanced"))
    replay_ratio: Annotated[float, Range(ge=0, lt=1)] = 0.0
    onpolicy: OnPolicyConfig | None = None  # replayed pairs regenerated from the current policy

    def __post_init__(self) -> None:
        if self.onpolicy is not None and self.replay_ratio == 0:
            raise ConfigError("memory.onpolicy regenerates replayed pairs, but memory.replay_ratio is 0 (nothing is "
                              "replayed); set replay_ratio > 0 or remove memory.onpolicy")
        if isinstance(self.policy, str):  # MemoryConfig(policy="reservoir") from Python
            self.policy = ComponentSpec(self.policy)
        if getattr(self.policy.resolve(), "needs_capacity", False) and self.capacity is None:
            raise ConfigError(f"memory.policy {self.policy.class_path!r} needs capacity (the total rows kept); "
                              f"set memory.capacity")
        if self.per_task >= 1 and self.per_task != int(self.per_task):
            raise ConfigError(f"per_task must be a fraction < 1 or a whole count (got {self.per_task})")

    @property
    def enabled(self) -> bool:
        return self.per_task > 0 or (self.capacity is not None and getattr(self.policy.resolve(), "needs_capacity",
                                                                           False))


@dataclass
class EvaluationConfig:
    """Evaluation after every task on every task's eval split (the result matrix).

    Without `splits`, the columns are the tasks whose data has `eval` preference
    pairs; `splits` names them explicitly (e.g. per-domain splits for a
    multi-task run). The score is preference accuracy against a fixed reference
    model: a pair counts 1 when the evaluated model's log-ratio margin over the
    reference is > 0, 0.5 when it is 0, else 0. The reference is the initial
    model, or the policy right after `reference_task` (e.g. a leading SFT task:
    measured against a random or pre-SFT model, margins mostly reflect what SFT
    did to response lengths and format, not preferences); the matrix then has a
    row for each task after it. With `generation`, the policy also answers the
    first prompts of every split and a scorer rates the answers: a second matrix
    (mean score) with the same metrics and MUSCLE's continuous flip rates. With `probe`, a
    fixed general-ability set is answered before the first task and after every task, and
    its drift is reported (the alignment tax; see continual/probe.py).
    """

    splits: dict[str, SourceConfig] = field(default_factory=dict)
    reference_task: str | None = None
    batch_size: Annotated[int, Range(gt=0)] = 16
    max_length: Annotated[int, Range(gt=1)] = 512
    max_prompt_length: Annotated[int, Range(gt=0)] = 256
    chat_template: bool = False  # as data.chat_template, for `splits`
    forgetting: Literal["max", "chaudhry", "avalanche"] = "max"  # see continual/metrics.py
    plots: bool = True
    generation: GenerationConfig | None = None
    probe: ProbeConfig | None = None
