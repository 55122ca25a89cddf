"""What a person sees during and after a sequence (narrow enough for 80 columns)."""

from __future__ import annotations

from typing import Any

_HEADLINE = {"val/accuracy": "acc", "val/perplexity": "ppl"}
_SEQ_METRICS = (
    ("average_score", "average score A_T"),
    ("average_incremental_score", "average incremental score"),
    ("bwt", "backward transfer (BWT)"),
    ("forgetting", "forgetting"),
    ("fwt", "forward transfer (FWT)"),
    ("nfr_mean_consecutive", "negative flip rate, task to task"),
    ("pfr_mean_consecutive", "positive flip rate, task to task"),
    ("nfr_vs_first", "negative flip rate, last vs first"),
)


class SequenceDisplay:
    def __init__(self, task_names: list[str], enabled: bool = True) -> None:
        from rich.console import Console

        self.console = Console(quiet=not enabled)  # silent on ranks > 0 of a multi-process run
        self.names = task_names

    def trainable(self, summary: dict[str, Any]) -> None:
        share = summary["trainable_parameters"] / max(1, summary["total_parameters"])
        lora = summary["lora_target_modules"]
        where = f"LoRA on {', '.join(lora)}" if lora else "all weights"
        self.console.print(f"trainable: {summary['trainable_parameters']:,} of {summary['total_parameters']:,} "
                           f"parameters ({share:.2%}) in {len(summary['tensors'])} tensors, {where} "
                           f"(names in trainable.json)")

    def resumed(self, completed: int) -> None:
        self.console.print(f"[bold yellow]resuming after task {completed}/{len(self.names)} "
                           f"({self.names[completed - 1]})[/bold yellow]")

    def task_start(self, index: int) -> None:
        self.console.rule(f"[bold]task {index + 1}/{len(self.names)}: {self.names[index]}")

    def task_end(self, index: int, result: dict[str, Any], report: dict[str, Any]) -> None:
        scores = ", ".join(f"{k.removeprefix('eval/')} {v:.3f}" for k, v in result["scores"].items())
        seconds = result["seconds"]
        self.console.print(f"[green]done[/green] {self.names[index]}: {result['steps']} steps in "
                           f"{seconds['total']:.1f}s (train {seconds.get('train', 0):.1f}s); scores: {scores or '-'}")

    def finish(self, report: dict[str, Any], tasks: list[dict[str, Any]]) -> None:
        from rich.table import Table

        stages = Table(title="tasks")
        for column in ("task", "method", "steps", "sec", "train/loss", "val metric"):
            stages.add_column(column, justify="left" if column in ("task", "method") else "right")
        for r in tasks:
            m = r["metrics"]
            headline = next((k for k in _HEADLINE if k in m), None)
            shown = f"{_HEADLINE[headline]} {m[headline]:.4f}" if headline else "-"
            loss = f"{m['train/loss']:.4f}" if "train/loss" in m else "-"
            stages.add_row(r["name"], r["method"].removesuffix("Module"), str(r["steps"]),
                           f"{r['seconds']['total']:.1f}", loss, shown)
        self.console.print(stages)
        if not report["splits"]:
            return
        matrix = Table(title="result matrix: preference accuracy vs the reference")
        matrix.add_column("after \\ on")
        for split in report["splits"]:
            matrix.add_column(split, justify="right")
        matrix.add_row("(reference)", *(f"{v:.3f}" for v in report["baseline"]))
        for name, row in zip(report["tasks"], report["matrix"], strict=True):
            matrix.add_row(name, *(f"{v:.3f}" for v in row))
        self.console.print(matrix)
        if "generation" in report:
            generated = Table(title="generated answers: mean score")
            generated.add_column("after \\ on")
            for split in report["splits"]:
                generated.add_column(split, justify="right")
            gen = report["generation"]
            generated.add_row("(reference)", *(f"{v:.3f}" for v in gen["baseline"]))
            for name, row in zip(gen["tasks"], gen["matrix"], strict=True):
                generated.add_row(name, *(f"{v:.3f}" for v in row))
            self.console.print(generated)
            if "sound_rate" in gen:
                self.console.print(_sound_table(report["splits"], gen["tasks"], gen["sound_rate"],
                                                report.get("generation_sound")))
        if report.get("probe"):
            self.console.print(_probe_table(report["probe"]))
        metrics = Table(title="sequence metrics")
        metrics.add_column("metric")
        metrics.add_column("value", justify="right")
        form = report.get("metrics", {}).get("forgetting_form", "max")
        for key, label in _SEQ_METRICS:
            if key == "forgetting":
                from lit_align.continual.metrics import FORGETTING_LABELS

                label = FORGETTING_LABELS.get(form, label)
            if key in report["metrics"]:
                metrics.add_row(label, f"{report['metrics'][key]:+.4f}")
        self.console.print(metrics)


def _sound_table(splits: list[str], tasks: list[str], rates: dict[str, Any], sound: dict[str, Any] | None) -> Any:
    """Each generated-answer cell as `sound rate / score on sound answers` (unsound answers score 0):
    a collapsed model's rule-following shows here as a low sound rate, not as a high score."""
    from rich.table import Table

    table = Table(title="generated answers: sound rate / score with unsound answers as 0")
    table.add_column("after \\ on")
    for split in splits:
        table.add_column(split, justify="right")

    def cells(rate_row: list[float], score_row: list[float]) -> list[str]:
        return [f"{r:.2f} / {v:.3f}" for r, v in zip(rate_row, score_row, strict=True)]

    table.add_row("(reference)", *cells(rates["baseline"], sound["baseline"] if sound else rates["baseline"]))
    for name, rate_row, score_row in zip(tasks, rates["matrix"], sound["matrix"] if sound else rates["matrix"],
                                         strict=True):
        table.add_row(name, *cells(rate_row, score_row))
    return table


def _probe_table(probe: dict[str, Any]) -> Any:
    """The general probe after every task, with its drift from before the first task; the caption
    names the worst point (T1 reads the probe there, not at the end)."""
    from rich.table import Table

    worst = probe.get("worst")
    caption = None
    if worst is not None and worst.get("exact_relative_drop") is not None:
        caption = (f"worst point: after {worst['after']}, exact {worst['exact']:.3f} "
                   f"({-100 * worst['exact_relative_drop']:+.0f}% from before)")
    table = Table(title="general probe (alignment tax): drift from before the first task", caption=caption)
    for column in ("after", "exact", "exact drift", "answer log-prob drift (nats/token)"):
        table.add_column(column, justify="left" if column == "after" else "right")
    base = probe["baseline"]

    def cell(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    table.add_row("(before)", cell(base["exact"], ".3f"), "", "")
    for name, row in zip(probe["tasks"], probe["after"], strict=True):
        table.add_row(name, cell(row["exact"], ".3f"), cell(row["exact_drift"], "+.3f"),
                      cell(row["answer_logprob_drift"], "+.3f"))
    return table
