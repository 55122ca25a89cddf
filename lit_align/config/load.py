"""Load YAML configs with OmegaConf: several files merged in order, `${...}`
interpolation, then dotlist overrides (`sequence.0.method.init_args.beta=0.2`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from lit_align import secrets
from lit_align.errors import ConfigError
from lit_align.io import atomic_write_text


def _load_file(path: str) -> DictConfig:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {path} (check the --config path)")
    try:
        node = OmegaConf.load(p)
    except Exception as exc:  # yaml.YAMLError and friends
        raise ConfigError(f"cannot parse {path} as YAML: {_yaml_problem(exc, p.read_text(errors='replace'))}"
                          ) from exc
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{path} must hold a mapping of keys at the top level, not a list")
    return node


def _yaml_problem(exc: BaseException, text: str) -> str:
    """Where and why, in one line: `line 3, column 1: found character '\\t' ... (tabs cannot indent YAML)`."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or problem is None:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    hint = ""
    lines = text.splitlines()
    if "\t" in problem or (mark.line < len(lines) and "\t" in lines[mark.line]):
        hint = " (tabs cannot indent YAML; use spaces)"
    elif "duplicate key" in problem:
        hint = " (each key may appear once per mapping)"
    context = getattr(exc, "context", None)
    where = f" {context}" if context and "duplicate" not in problem else ""
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}{where}{hint}"


def merge_nodes(base: Any, update: Any) -> Any:
    """Merge `update` over `base`: mappings key by key, anything else replaced.

    A component whose `class_path` changes is replaced whole: the old class's
    `init_args` mean nothing to the new class (LightningCLI behaves the same way).
    """
    if not (isinstance(base, dict) and isinstance(update, dict)):
        return update
    if "class_path" in update and base.get("class_path") != update["class_path"]:
        return update
    merged = dict(base)
    for key, value in update.items():
        merged[key] = merge_nodes(base[key], value) if key in base else value
    return merged


def _drop_stale_init_args(cfg: DictConfig, key: str, value: Any) -> None:
    """Overriding `x.class_path`, or all of `x` with a node of another class, drops the old
    `x.init_args`, as a merge of files would: the old class's arguments mean nothing to the new one."""
    if key == "class_path" or key.endswith(".class_path"):
        parent, new_class = key.rpartition(".")[0], value
    elif isinstance(value, DictConfig) and "class_path" in value:
        parent, new_class = key, value.get("class_path")
    else:
        return
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if isinstance(node, DictConfig) and node.get("class_path") != new_class and "init_args" in node:
        del node["init_args"]


def apply_overrides(cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """Apply `a.b.0.c=value` items; values parse as YAML, list indices are positions."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"override {item!r} is not KEY=VALUE (e.g. sequence.0.method.init_args.beta=0.2)"
            )
        _check_list_indices(cfg, key, item)
        try:
            value = OmegaConf.from_dotlist([f"value={raw}"])["value"]
            _drop_stale_init_args(cfg, key, value)
            OmegaConf.update(cfg, key, value, merge=True, force_add=True)
        except (OmegaConfBaseException, TypeError, IndexError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot apply override {item!r}: {reason}") from exc  # OmegaConf's context lines off
    return cfg


def _check_list_indices(cfg: DictConfig, key: str, item: str) -> None:
    """`sequence.9.name=x` on a one-task config: name the list and its length, not "list index out
    of range" with OmegaConf's context lines."""
    node: Any = cfg
    walked: list[str] = []
    for part in key.split("."):
        if isinstance(node, ListConfig):
            if not part.lstrip("-").isdigit():
                raise ConfigError(f"cannot apply override {item!r}: {'.'.join(walked)} is a list; index it with a "
                                  f"number (0-{len(node) - 1})")
            if not 0 <= int(part) < len(node):
                raise ConfigError(f"cannot apply override {item!r}: {'.'.join(walked)} has {len(node)} item(s) "
                                  f"(indices 0-{len(node) - 1}); an override changes an item, it cannot add one")
            node = node[int(part)]
        elif isinstance(node, DictConfig) and part in node:
            node = node._get_node(part)
            node = node._value() if not isinstance(node, (DictConfig, ListConfig)) else node
        else:
            return  # a new key: OmegaConf adds it
        walked.append(part)


def load_tree(paths: list[str]) -> dict[str, Any]:
    """Merge `paths` in order, interpolations left as written (a study adds `vars.study` first)."""
    if not paths:
        raise ConfigError("no config given: pass --config path/to/config.yaml")
    tree: dict[str, Any] = {}
    for path in paths:
        tree = merge_nodes(tree, OmegaConf.to_container(_load_file(path), resolve=False))
    return tree


def load_config(paths: list[str], overrides: list[str] | None = None) -> dict[str, Any]:
    """Merge `paths` in order, apply dotlist `overrides`, resolve interpolations.

    Returns a plain dict: everything downstream works on Python containers.
    """
    return resolve_tree(load_tree(paths), overrides)


def resolve_tree(tree: dict[str, Any], overrides: list[str] | None = None) -> dict[str, Any]:
    """Apply dotlist `overrides` to a merged tree and resolve its interpolations."""
    merged = apply_overrides(OmegaConf.create(tree), overrides or [])
    # values read from the environment are secrets until shown otherwise: never saved or printed
    secrets.register_env(secrets.env_references(OmegaConf.to_yaml(merged)), os.environ)
    try:
        resolved = OmegaConf.to_container(merged, resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "?"
        reason = exc.msg.strip().splitlines()[0] if exc.msg.strip() else type(exc).__name__
        raise ConfigError(f"cannot resolve interpolation at {key}: {reason}") from exc  # context lines off
    assert isinstance(resolved, dict)
    return resolved  # type: ignore[return-value]


def to_yaml(cfg: dict[str, Any]) -> str:
    return OmegaConf.to_yaml(OmegaConf.create(cfg))


def save_config(cfg: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write the resolved config atomically, so a crash never leaves half a file; values that
    came from the environment are written back as their `${oc.env:...}` interpolation."""
    atomic_write_text(path, to_yaml(secrets.redact(cfg)))


__all__ = ["ListConfig", "load_config", "save_config", "to_yaml"]
