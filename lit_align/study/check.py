"""`lit-align validate` of a study file: its own keys, its verdicts and hooks, and every run
config of its grid checked as `validate` checks a run config, each problem naming the arm.
Builds nothing and runs nothing (a `prepare` hook included)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from lit_align.binding import build, check, check_kwargs, import_object, registered_or_dotted
from lit_align.continual.paths import task_name_problem
from lit_align.errors import ConfigError
from lit_align.study.expand import PlannedRun, plan_runs, prepared_dir
from lit_align.study.schema import StudyConfig
from lit_align.study.verdicts import ONE_BOUND_OF, RULES, Rule

VERDICT_SUPPLIED = frozenset({"values"})  # what the engine passes every rule: the per-run values


def resolve_rule(name: str, where: str) -> Rule:
    found = registered_or_dotted(name, RULES, where, "rule")
    if not callable(found):
        raise ConfigError(f"{where}: {name!r} is a {type(found).__name__}, not a rule function")
    return found


def resolve_hook(path: str, where: str) -> Any:
    try:
        found = import_object(path)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc.problems[0]}") from None
    if not callable(found) or inspect.isclass(found):
        raise ConfigError(f"{where}: {path!r} is a {type(found).__name__}, not a function")
    return found


def _grid_problems(study: StudyConfig) -> list[str]:
    problems = []
    if not study.arms:
        problems.append("arms: is empty; add at least one arm (an empty list of overrides is the base itself)")
    if not study.seeds:
        problems.append("seeds: is empty; add at least one seed")
    if len(set(study.seeds)) != len(study.seeds):
        problems.append(f"seeds: {study.seeds} repeats a seed; list each once")
    for kind, names in (("arms", list(study.arms)), ("orders", list(study.orders or {}))):
        problems += [p for n in names if (p := task_name_problem(n, f"{kind}.{n}")) is not None]
    return problems


def _verdict_problems(study: StudyConfig) -> list[str]:
    problems = []
    names = [v.name for v in study.verdicts]
    problems += [f"verdicts: {n!r} is named twice; names must be unique" for n in sorted(set(names))
                 if names.count(n) > 1]
    for i, verdict in enumerate(study.verdicts):
        if not verdict.checks:
            problems.append(f"verdicts[{i}].checks: is empty; a verdict needs at least one check")
        for j, item in enumerate(verdict.checks):
            where = f"verdicts[{i}].checks[{j}]"
            try:
                rule = resolve_rule(item.rule, f"{where}.rule")
            except ConfigError as exc:
                problems += exc.problems
                continue
            problems += check_kwargs(rule, item.args, f"{where}.args", f"rule {item.rule!r}",
                                     supplied=VERDICT_SUPPLIED)
            pair = ONE_BOUND_OF.get(item.rule)
            if pair is not None and sum(item.args.get(k) is not None for k in pair) != 1:
                problems.append(f"{where}.args: rule {item.rule!r} takes exactly one of {pair[0]} and {pair[1]}")
            for key in ("arm", "baseline"):
                arm = item.args.get(key)
                if arm is not None and arm not in study.arms:
                    problems.append(f"{where}.args.{key}: {arm!r} is not an arm of this study "
                                    f"(arms: {', '.join(study.arms)})")
            metric = item.args.get("metric")
            if metric is not None and metric not in study.metrics:
                problems.append(f"{where}.args.metric: {metric!r} is not in metrics "
                                f"({', '.join(study.metrics)}); add it there")
    return problems


def _hook_problems(study: StudyConfig) -> list[str]:
    problems = []
    for key in ("prepare", "after_run"):
        path = getattr(study, key)
        if path is not None:
            try:
                resolve_hook(path, key)
            except ConfigError as exc:
                problems += exc.problems
    try:
        study.launcher.instantiate()
    except ConfigError as exc:
        problems += exc.problems
    return problems


def run_problems(runs: list[PlannedRun], root: Path, *, check_data: bool, check_machine: bool,
                 waits_for_prepare: bool = False) -> list[str]:
    """Each run config as `validate` checks it; a problem shared by an arm's runs is said once.
    Before a seed's `prepare` hook has run, what it will write (data, a base model under
    `<output_dir>/prepared/`) cannot be checked: problems naming those paths wait for it."""
    from lit_align.validation.config import validate_config

    problems: list[str] = []
    for run in runs:
        unprepared = waits_for_prepare and not (prepared_dir(root, run.seed) / ".done").exists()
        for problem in validate_config(run.config, check_data=check_data and not unprepared,
                                       check_machine=check_machine):
            if unprepared and str(root / "prepared") in problem:
                continue
            line = f"arms.{run.arm} ({run.order}, seed {run.seed}): {problem}"
            if not any(p.startswith(f"arms.{run.arm} (") and p.endswith(problem) for p in problems):
                problems.append(line)
    return problems


def study_problems(raw: dict[str, Any], *, check_data: bool = True, check_machine: bool = True) -> list[str]:
    problems = check(raw, StudyConfig, "")
    if problems:
        return problems
    study: StudyConfig = build(raw, StudyConfig)
    grid = _grid_problems(study)
    problems = grid + _verdict_problems(study) + _hook_problems(study)
    if grid:
        return problems
    try:
        runs = plan_runs(study, Path(study.output_dir))
    except ConfigError as exc:
        return problems + exc.problems
    return problems + run_problems(runs, Path(study.output_dir), check_data=check_data, check_machine=check_machine,
                                   waits_for_prepare=study.prepare is not None)


def parse_study(raw: dict[str, Any], *, check_data: bool = True) -> StudyConfig:
    problems = study_problems(raw, check_data=check_data)
    if problems:
        raise ConfigError(problems)
    return build(raw, StudyConfig)
