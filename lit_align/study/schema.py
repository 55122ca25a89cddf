"""What a study file holds: the dataclasses `lit-align validate` checks it against.

A study is a base run config, a grid (arms x orders x seeds), the metrics to aggregate and the
verdicts, written before the runs. Keys are checked by the same binding as run configs (unknown
keys with a did-you-mean, types, ranges); `problems` adds what a signature cannot say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from lit_align.binding import ComponentOf, ComponentSpec, Range


@dataclass
class CheckConfig:
    """One rule of a verdict: `rule` is a name of `verdicts.RULES` or a dotted path; `args` its
    keyword arguments (arm, baseline, metric, bounds)."""

    rule: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class VerdictConfig:
    """A claim in words and the checks that decide it (met when every check is met)."""

    name: str
    claim: str
    checks: list[CheckConfig]


@dataclass
class StudyTracking:
    """MLflow for the study itself: a parent run and a nested run per finished run
    (`tracking_uri` default: `sqlite:///<output_dir>/mlflow.db`)."""

    tracking_uri: str | None = None
    experiment: str = "lit-align-studies"


def _local_launcher() -> ComponentSpec:
    return ComponentSpec("local_launcher")


@dataclass
class StudyConfig:
    """`base`: a run config file (or several, merged in order) or an inline mapping. `arms`: arm
    name -> KEY=VALUE overrides of the base (`*` stands for every index of a list:
    `sequence.*.method.class_path=copr`), or a mapping merged onto the base. `orders`: order
    name -> the base's task names in training order (default: the base's own order, `o0`). Each run's `vars.study` holds
    `arm`, `order`, `seed` and `dir` (the study's `output_dir`), for interpolation in the base.
    `prepare`: a function `(directory, seed) -> None` run once per seed before any run of it,
    writing what the runs read (data, a base model) into `directory`
    (`<output_dir>/prepared/seed-<seed>`, also `${vars.study.prepared}`). `after_run`: a function
    `(run_dir, results) -> dict[str, float]` adding measurements to a finished run's metrics."""

    name: str
    base: str | list[str] | dict[str, Any]
    output_dir: str
    arms: dict[str, list[str] | dict[str, Any]]
    seeds: list[Annotated[int, Range(ge=0)]]
    orders: dict[str, list[str]] | None = None
    metrics: list[str] = field(default_factory=lambda: ["average_score", "bwt", "forgetting", "plasticity"])
    verdicts: list[VerdictConfig] = field(default_factory=list)
    prepare: str | None = None
    after_run: str | None = None
    launcher: Annotated[ComponentSpec, ComponentOf("lit_align.study.launcher.Launcher")] = field(
        default_factory=_local_launcher)
    tracking: StudyTracking | None = None

    @property
    def order_names(self) -> list[str]:
        return list(self.orders) if self.orders else ["o0"]


def looks_like_study(raw: dict[str, Any]) -> bool:
    """A config file is a study file when it declares arms (run configs never have that key)."""
    return "arms" in raw
