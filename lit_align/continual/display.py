"""Human-readable run summaries (narrow enough for an 80-column terminal)."""

from __future__ import annotations

from typing import Any

# the headline validation metric of each kind of stage, in order of preference
_HEADLINE = {"val/accuracy": "acc", "val/perplexity": "ppl"}


def _fmt(metrics: dict[str, float], key: str) -> str:
    return f"{metrics[key]:.4f}" if key in metrics else "-"


def print_summary(results: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="lit-align: sequence summary")
    for column in ("task", "method", "steps", "sec", "train/loss", "val/loss", "val metric"):
        table.add_column(column, justify="left" if column in ("task", "method") else "right")
    for r in results:
        headline = next((k for k in _HEADLINE if k in r.metrics), None)
        shown = f"{_HEADLINE[headline]} {r.metrics[headline]:.4f}" if headline else "-"
        table.add_row(r.name, r.method.removesuffix("Module"), str(r.steps), f"{r.seconds:.1f}",
                      _fmt(r.metrics, "train/loss"), _fmt(r.metrics, "val/loss"), shown)
    Console().print(table)
