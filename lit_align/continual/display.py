"""Human-readable run summaries."""

from __future__ import annotations

from typing import Any

_SHOWN = ("train/loss", "val/loss", "val/accuracy", "val/reward_margin", "val/perplexity")


def print_summary(results: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="lit-align: sequence summary")
    for column in ("task", "method", "steps", "seconds", *_SHOWN):
        table.add_column(column, justify="right" if column not in ("task", "method") else "left")
    for r in results:
        values = [f"{r.metrics[k]:.4f}" if k in r.metrics else "-" for k in _SHOWN]
        table.add_row(r.name, r.method, str(r.steps), f"{r.seconds:.1f}", *values)
    Console().print(table)
