"""`lit-align compare`: sequence metrics of several runs side by side.

Runs come from an MLflow experiment (the parent runs lit-align tags as
sequences) or from output directories (their results.json). Writes a Markdown
table, a CSV and a bar chart of the headline metrics.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from lit_align.continual.results import SCALAR_METRICS
from lit_align.errors import UserError
from lit_align.tracking.mlflow import SEQUENCE_TAG


def rows_from_mlflow(tracking_uri: str, experiment: str) -> list[dict[str, Any]]:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise UserError(f"no MLflow experiment named {experiment!r} at {tracking_uri}; check --experiment")
    runs = client.search_runs([found.experiment_id], filter_string=f"tags.`{SEQUENCE_TAG}` = 'sequence'")
    return [{"run": r.info.run_name or r.info.run_id,
             "forgetting_form": r.data.params.get("evaluation.forgetting", "max"),
             **{k: r.data.metrics.get(f"seq/{k}") for k in SCALAR_METRICS}} for r in runs]


def _expand_studies(dirs: list[str]) -> list[tuple[str, Path]]:
    """A study's output directory stands for its finished runs, named `arm/order-seed`."""
    named = []
    for d in dirs:
        study = Path(d) / "study.json"
        if study.is_file():
            runs = [r for r in json.loads(study.read_text())["runs"] if r["status"] == "done"]
            named += [(f"{r['arm']}/{r['order']}-{r['seed']}", Path(d) / r["run_dir"]) for r in runs]
        else:
            named.append((Path(d).name, Path(d)))
    return named


def rows_from_dirs(dirs: list[str]) -> list[dict[str, Any]]:
    rows = []
    for name, directory in _expand_studies(dirs):
        path = directory / "results.json"
        if not path.is_file():
            raise UserError(f"{path} not found; pass output directories of lit-align runs or studies")
        metrics = json.loads(path.read_text())["metrics"]
        rows.append({"run": name, "forgetting_form": metrics.get("forgetting_form", "max"),
                     **{k: metrics.get(k) for k in SCALAR_METRICS}})
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    columns = [k for k in SCALAR_METRICS if any(r.get(k) is not None for r in rows)]
    lines = ["| run | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for r in rows:
        cells = [f"{r[k]:+.4f}" if r.get(k) is not None else "-" for k in columns]
        lines.append(f"| {r['run']} | " + " | ".join(cells) + " |")
    forms = sorted({str(r.get("forgetting_form", "max")) for r in rows})
    note = f"\nforgetting form: {', '.join(forms)}" + (" (runs differ: not comparable)" if len(forms) > 1 else "")
    return "\n".join(lines) + "\n" + note + " (see lit_align/continual/metrics.py)\n"


def write_comparison(rows: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    if not rows:
        raise UserError("no lit-align sequence runs found to compare")
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "comparison.md"
    md.write_text(markdown_table(rows))
    table = out_dir / "comparison.csv"
    with table.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["run", "forgetting_form", *SCALAR_METRICS])
        writer.writeheader()
        writer.writerows(rows)
    return [md, table, plot_comparison(rows, out_dir / "comparison.png")]


def plot_comparison(rows: list[dict[str, Any]], path: Path) -> Path:
    from lit_align.tracking.plots import _pyplot

    plt = _pyplot()
    keys = [k for k in SCALAR_METRICS if any(r.get(k) is not None for r in rows)]
    fig, ax = plt.subplots(figsize=(2.0 + 1.1 * len(keys), 4.0))
    width = 0.8 / len(rows)
    for i, r in enumerate(rows):
        ax.bar([k + i * width for k in range(len(keys))], [r.get(k) or 0.0 for k in keys], width, label=r["run"])
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(keys))], keys, rotation=30, ha="right")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_ylabel("value")
    ax.set_title("sequence metrics by run")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
