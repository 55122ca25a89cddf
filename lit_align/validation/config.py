"""`lit-align validate`: bind every node to its signature without building anything,
then check that every task's data source opens and has the columns its method needs."""

from __future__ import annotations

from typing import Any

from lit_align.binding import build, check
from lit_align.config.schema import RunConfig
from lit_align.continual.paths import task_name_problem
from lit_align.errors import ConfigError


def _schema_problems(cfg: dict[str, Any], check_machine: bool = True) -> list[str]:
    problems = check(cfg, RunConfig, "")
    if problems:
        return problems
    if not cfg["sequence"]:
        return ["sequence: is empty; add at least one task"]
    names = [t["name"] for t in cfg["sequence"]]
    problems = [p for i, n in enumerate(names) if (p := task_name_problem(n, f"sequence[{i}].name")) is not None]
    if problems:
        return problems
    dupes = sorted({n for n in names if names.count(n) > 1})
    problems = [f"sequence: task name {n!r} is used twice; names must be unique" for n in dupes]
    problems += _strategy_problems(cfg)
    if not problems and check_machine:
        problems += _trainer_problems(cfg)
    problems += _output_dir_problems(cfg.get("output_dir"))
    reference = (cfg.get("evaluation") or {}).get("reference_task")
    if reference is not None and reference not in names:
        problems.append(f"evaluation.reference_task: {reference!r} is not a task of the sequence "
                        f"(tasks: {', '.join(map(str, names))})")
    problems += _generation_prompt_problems(cfg, names)
    return problems


def _generation_prompt_problems(cfg: dict[str, Any], tasks: list[str]) -> list[str]:
    """`evaluation.generation.prompts` keys must name matrix columns (the splits, or the tasks)."""
    evaluation = cfg.get("evaluation") or {}
    named = set((evaluation.get("generation") or {}).get("prompts") or {})
    columns = list(evaluation.get("splits") or {}) or tasks
    return [f"evaluation.generation.prompts.{n}: {n!r} is not an eval split (splits: {', '.join(columns)})"
            for n in sorted(named - set(columns))]


def _strategy_problems(cfg: dict[str, Any]) -> list[str]:
    """Every strategy must be buildable, and every task must run in the processes the run starts with."""
    from lit_align.scale.strategies import processes_per_node, shards_parameters, strategy_problem

    top = cfg.get("trainer") or {}
    found = [strategy_problem(top["strategy"], "trainer.strategy")] if "strategy" in top else []
    processes = {}
    for i, task in enumerate(cfg["sequence"]):
        own = task.get("trainer") or {}
        if "strategy" in own:
            found.append(strategy_problem(own["strategy"], f"sequence[{i}].trainer.strategy"))
        processes[task["name"]] = processes_per_node({**top, **own})
        strategy = own.get("strategy", top.get("strategy"))
        if shards_parameters(strategy) and not _method_supports_sharded_weights(task):
            found.append(f"sequence[{i}].method: {task['method']['class_path']} reads the weights in its loss, "
                         f"which {strategy} shards across ranks; use zero2 or ddp for this run")
    problems = [p for p in found if p is not None]
    if len(set(processes.values())) > 1:
        problems.append(f"sequence: tasks need different numbers of processes ({processes}); a run keeps the "
                        f"processes it starts with, so set trainer.strategy and trainer.devices at the top level")
    return problems


def _trainer_problems(cfg: dict[str, Any]) -> list[str]:
    from lit_align.validation.trainer import trainer_problems

    top = cfg.get("trainer") or {}
    found: list[str] = []
    for i, task in enumerate(cfg["sequence"]):
        own = task.get("trainer") or {}
        where = f"sequence[{i}].trainer" if own else "trainer"
        problem = trainer_problems({**top, **own}, where)
        if problem and problem[0] not in found:
            found += problem
    return found


def _output_dir_problems(output_dir: Any) -> list[str]:
    """The run writes only there: it must be a directory or creatable as one."""
    from pathlib import Path

    if not isinstance(output_dir, str):
        return []
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        return [f"output_dir: {output_dir} is a file, not a directory; give a directory path"]
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return [f"output_dir: {output_dir} cannot be created ({parent} is a file); give another directory"]
    import os

    if not os.access(parent, os.W_OK | os.X_OK):
        return [f"output_dir: {output_dir} cannot be created ({parent} is not writable); give another directory"]
    return []


def _method_supports_sharded_weights(task: dict[str, Any]) -> bool:
    from lit_align.binding import import_object

    return bool(getattr(import_object(task["method"]["class_path"]), "supports_sharded_weights", True))


def _build(cfg: dict[str, Any]) -> RunConfig:
    return build(cfg, RunConfig)


def _model_problems(run: RunConfig) -> list[str]:
    """The model spec's own checks (no weights loaded) and each task's max_length against its position limit."""
    try:
        spec = run.model.instantiate()
    except ConfigError as exc:
        return exc.problems
    problems = list(spec.problems())
    limit = None if problems else spec.position_limit()
    if limit is not None:
        for i, task in enumerate(run.sequence):
            if task.data.max_length > limit:
                problems.append(f"sequence[{i}].data.max_length: {task.data.max_length} exceeds the model's "
                                f"position limit ({limit} tokens); set it to at most {limit}")
    return problems


def _memory_problems(run: RunConfig) -> list[str]:
    """A policy that keeps rows by score needs every task's method to score its rows: said here,
    not after the first task has trained."""
    from lit_align.modules.base import AlignmentModule

    policy = run.memory.policy.resolve()
    if not run.memory.enabled or not getattr(policy, "needs_scores", False):
        return []
    problems = []
    for i, task in enumerate(run.sequence):
        method = task.method.resolve()
        if getattr(method, "select_for_memory", None) is AlignmentModule.select_for_memory:
            problems.append(f"memory.policy: {policy.__name__} keeps the rows a method scores, but "
                            f"sequence[{i}].method {method.__name__} scores none (it does not override "
                            f"select_for_memory); use policy balanced or reservoir, or a method that scores rows")
    return problems


def validate_config(cfg: dict[str, Any], *, check_data: bool = True, check_machine: bool = True) -> list[str]:
    """All problems of a resolved config, each naming its key path and the fix. `check_machine`
    builds a Trainer from each task's arguments by Lightning's rules, which include what this
    machine has (GPUs, device counts): off for a config meant for another machine."""
    problems = _schema_problems(cfg, check_machine)
    if problems:
        return problems
    try:
        run = _build(cfg)
    except ConfigError as exc:
        return exc.problems
    problems += _model_problems(run) + _memory_problems(run)
    if check_data:
        from lit_align.data.preflight import check_sequence_data

        problems += check_sequence_data(run)
    return problems


def load_typed_config(path: str, schema: type, where: str, overrides: list[str] | None = None
                      ) -> tuple[Any, dict[str, Any]]:
    """A config file of another command (`lit-align compat --data`, `lit-align feedback --config`):
    load with overrides, check against the dataclass `schema` (all problems at once), build.
    Returns the typed object and the resolved mapping."""
    from lit_align.config.load import load_config

    raw = load_config([path], overrides or [])
    problems = check(raw, schema, where)
    if problems:
        raise ConfigError(problems)
    return build(raw, schema, where), raw


def parse_run_config(cfg: dict[str, Any], *, check_data: bool = True) -> RunConfig:
    """Validate then build the typed `RunConfig`; raise every problem at once."""
    problems = validate_config(cfg, check_data=check_data)
    if problems:
        raise ConfigError(problems)
    return _build(cfg)
