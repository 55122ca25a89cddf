"""C3PO's scores of an adapted model, as the feedback studies keep them (toy and real)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def typed(raw: dict[str, Any]) -> Any:
    from lit_align.binding import build
    from lit_align.feedback.build import FeedbackDataConfig

    return build(raw, FeedbackDataConfig, "c3po suite")


def score(cfg_raw: dict[str, Any], model_dir: Path) -> dict[str, Any]:
    from lit_align.feedback.build import evaluate_model

    return report_scores(evaluate_model(typed(cfg_raw), str(model_dir)))


def report_scores(report: dict[str, Any]) -> dict[str, Any]:
    """The scores a study keeps from `evaluate_model`'s report: S_in, S_out (and its near- and
    out-of-scope parts), S_overall and the judge-free changed rates."""
    return {k: report[k] for k in ("s_in", "s_out", "s_overall")} | {
        "s_near": report["scopes"]["near"]["mean_abs_score"], "s_outside": report["scopes"]["out"]["mean_abs_score"],
        "changed_in": report["scopes"]["in"]["changed"],
        "changed_out": (report["scopes"]["near"]["changed"] * report["scopes"]["near"]["n"]
                        + report["scopes"]["out"]["changed"] * report["scopes"]["out"]["n"])
        / (report["scopes"]["near"]["n"] + report["scopes"]["out"]["n"])}
