"""Plots of a sequence: the result-matrix heatmap and per-split score curves (PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def plot_matrix(report: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    rows, cols = report["tasks"], report["splits"]
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(cols), 1.0 + 0.6 * len(rows)))
    image = ax.imshow(report["matrix"], vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("evaluated on")
    ax.set_ylabel("after training on")
    for i, row in enumerate(report["matrix"]):
        for j, value in enumerate(row):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="white" if value < 0.6 else "black")
    fig.colorbar(image, ax=ax, label="preference accuracy\nvs reference")
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")  # keeps the colour-bar label inside the picture
    plt.close(fig)
    return path


def plot_scores(report: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs = range(len(report["tasks"]) + 1)
    markers, styles = "osD^vP*X", ("-", "--", "-.", ":")
    n = len(report["splits"])
    for j, split in enumerate(report["splits"]):
        offset = (j - (n - 1) / 2) * 0.06  # side by side, so lines on the same values stay visible
        ax.plot([x + offset for x in xs], [report["baseline"][j], *[row[j] for row in report["matrix"]]],
                marker=markers[j % len(markers)], linestyle=styles[j % len(styles)], label=split)
    ax.set_xticks(list(xs), ["(reference)", *report["tasks"]])
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("score")
    ax.set_xlabel("after task")
    ax.legend(fontsize="small")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
