"""The F3r verdict of benchmarks/c3po_real.py: ratios of summed scores, against hand values."""

from __future__ import annotations

from benchmarks.c3po_real import f3r_verdict


def _run(c3po: tuple[float, float], dpo: tuple[float, float]) -> dict:
    return {"c3po_anchored": {"s_in": c3po[0], "s_out": c3po[1]}, "dpo": {"s_in": dpo[0], "s_out": dpo[1]}}


def test_verdict_is_the_ratio_of_summed_scores():
    # S_in (0.8 + 0.4) / (1.0 + 0.5) = 0.80, S_out (0.2 + 0.0) / (0.4 + 0.4) = 0.25: both targets met
    runs = [_run((0.8, 0.2), (1.0, 0.4)), _run((0.4, 0.0), (0.5, 0.4))]
    line = f3r_verdict(runs, "c3po_anchored", "dpo")[1]
    assert "(2 runs): S_in 0.80x" in line and "S_out 0.25x" in line and line.endswith(": met.")
    # S_out 0.9 / 0.8 = 1.12x: not met, whatever S_in is
    assert f3r_verdict([_run((1.0, 0.9), (0.5, 0.8))], "c3po_anchored", "dpo")[1].endswith("not met.")


def test_a_baseline_that_changed_nothing_leaves_the_verdict_undetermined():
    line = f3r_verdict([_run((0.6, 0.1), (0.0, 0.0))], "c3po_anchored", "dpo")[1]
    assert "undetermined" in line and f3r_verdict([], "c3po_anchored", "dpo") == []
