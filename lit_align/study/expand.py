"""A study's grid as ordinary run configs: arms x orders x seeds, each a resolved config that
`lit-align fit` runs and `lit-align validate` checks like any other.

The run of arm `a`, order `o`, seed `s` lives in `<output_dir>/runs/<a>/<o>-<s>/`; its
`config.yaml` is the config below, so `lit-align fit --config <that file>` reruns (or resumes)
exactly that run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lit_align.config.load import load_tree, merge_nodes, resolve_tree
from lit_align.errors import ConfigError
from lit_align.study.schema import StudyConfig


@dataclass(frozen=True)
class PlannedRun:
    arm: str
    order: str
    seed: int
    run_dir: Path
    config: dict[str, Any]  # resolved run config

    @property
    def key(self) -> tuple[str, int]:
        """What pairs runs across arms: the same data seed and task order."""
        return (self.order, self.seed)

    @property
    def label(self) -> str:
        return f"{self.arm}/{self.order}-{self.seed}"


def run_dir(root: Path, arm: str, order: str, seed: int) -> Path:
    return root / "runs" / arm / f"{order}-{seed}"


def prepared_dir(root: Path, seed: int) -> Path:
    return root / "prepared" / f"seed-{seed}"


def base_tree(study: StudyConfig) -> dict[str, Any]:
    """The base run config, merged but not resolved (`vars.study` is added per run first)."""
    if isinstance(study.base, dict):
        return copy.deepcopy(study.base)
    return load_tree([study.base] if isinstance(study.base, str) else list(study.base))


def expand_wildcards(tree: dict[str, Any], override: str) -> list[str]:
    """`sequence.*.method.class_path=copr` -> one override per index of `sequence`."""
    key, sep, value = override.partition("=")
    if "*" not in key.split("."):
        return [override]
    head, _, rest = key.partition(".*")
    node: Any = tree
    for part in head.split("."):
        node = node[int(part)] if isinstance(node, list) and part.isdigit() else (node or {}).get(part) \
            if isinstance(node, dict) else None
    if not isinstance(node, list):
        raise ConfigError(f"override {override!r}: {head} is not a list, so '*' has nothing to stand for")
    return [o for i in range(len(node)) for o in expand_wildcards(tree, f"{head}.{i}{rest}{sep}{value}")]


def _reordered(sequence: list[dict[str, Any]], names: list[str], where: str) -> list[dict[str, Any]]:
    by_name = {task["name"]: task for task in sequence}
    if sorted(names) != sorted(by_name):
        raise ConfigError(f"{where}: {names} is not an order of the base's tasks ({', '.join(by_name)}); "
                          f"name each task once")
    return [by_name[n] for n in names]


def _arm_tree(tree: dict[str, Any], arm: list[str] | dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An arm as a mapping is merged onto the base (a component of another class replaces the
    node whole, lists are replaced); as a list it is KEY=VALUE overrides, `*` expanded."""
    if isinstance(arm, dict):
        return merge_nodes(tree, copy.deepcopy(arm)), []
    return tree, [o for item in arm for o in expand_wildcards(tree, item)]


def plan_runs(study: StudyConfig, root: Path) -> list[PlannedRun]:
    """Every run of the grid, resolved; all problems at once, each naming its arm. An order
    permutes the base's tasks before the arm applies (an arm may replace the sequence whole,
    as multi-task training does)."""
    base = base_tree(study)
    problems: list[str] = []
    runs: list[PlannedRun] = []
    ordered_bases: dict[str, dict[str, Any]] = {}
    for order in study.order_names:
        ordered = copy.deepcopy(base)
        if study.orders:
            try:
                ordered["sequence"] = _reordered(ordered.get("sequence") or [], study.orders[order], f"orders.{order}")
            except ConfigError as exc:
                problems += exc.problems
                continue
        ordered_bases[order] = ordered
    # seed outermost: runs start replicate by replicate, so a study stopped early holds whole
    # (order, seed) pairs across its arms, which is what its paired verdicts read
    for seed in study.seeds:
        for order, ordered in ordered_bases.items():
            for arm, changes in study.arms.items():
                directory = run_dir(root, arm, order, seed)
                tree = copy.deepcopy(ordered)
                tree["vars"] = {**(tree.get("vars") or {}),
                                "study": {"arm": arm, "order": order, "seed": seed, "dir": str(root),
                                          "prepared": str(prepared_dir(root, seed))}}
                try:
                    tree, overrides = _arm_tree(tree, changes)
                    config = resolve_tree(tree, overrides)
                except ConfigError as exc:
                    problems += [f"arms.{arm}: {p}" for p in exc.problems if f"arms.{arm}: {p}" not in problems]
                    continue
                config["seed"], config["output_dir"] = seed, str(directory)
                runs.append(PlannedRun(arm, order, seed, directory, config))
    if problems:
        raise ConfigError(problems)
    return runs
