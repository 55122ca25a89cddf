"""`lit-align validate`: bind every node to its signature without building anything."""

from __future__ import annotations

from typing import Any

from lit_align.config.binding import build, check
from lit_align.config.schema import RunConfig
from lit_align.errors import ConfigError


def validate_config(cfg: dict[str, Any]) -> list[str]:
    """All problems of a resolved config, each naming its key path and the fix."""
    problems = check(cfg, RunConfig, "")
    if not problems:
        names = [t.get("name") for t in cfg.get("sequence", [])]
        dupes = sorted({n for n in names if names.count(n) > 1})
        problems += [f"sequence: task name {n!r} is used twice; names must be unique" for n in dupes]
        if not cfg["sequence"]:
            problems.append("sequence: is empty; add at least one task")
    return problems


def parse_run_config(cfg: dict[str, Any]) -> RunConfig:
    """Validate then build the typed `RunConfig`; raise every problem at once."""
    problems = validate_config(cfg)
    if problems:
        raise ConfigError(problems)
    return build(cfg, RunConfig)
