"""Study metrics read from a run's results.json, on hand-made results."""

from __future__ import annotations

import math

import pytest

from lit_align.study.metrics import read_metric

RESULTS = {
    "tasks": ["a", "b"], "splits": ["a", "b"], "matrix": [[0.6, 0.2], [0.5, 0.9]], "baseline": [0.1, 0.3],
    "metrics": {"bwt": -0.1},
    "generation_sound": {"tasks": ["a", "b"], "splits": ["a", "b"], "matrix": [[1.0, 0.0], [0.25, 0.5]],
                         "baseline": [0.0, 0.5], "metrics": {"bwt": -0.75}},
}


def test_matrix_metrics_read_any_section():
    assert read_metric(RESULTS, "plasticity") == pytest.approx((0.6 + 0.9) / 2)
    assert read_metric(RESULTS, "generation_sound.plasticity") == pytest.approx((1.0 + 0.5) / 2)
    assert read_metric(RESULTS, "generation_sound.metrics.bwt") == -0.75


def test_learned_gain_is_the_score_after_its_own_task_over_the_untuned_model():
    assert read_metric(RESULTS, "generation_sound.learned_gain.a") == pytest.approx(1.0 - 0.0)
    assert read_metric(RESULTS, "generation_sound.learned_gain.b") == pytest.approx(0.5 - 0.5)
    assert read_metric(RESULTS, "learned_gain.b") == pytest.approx(0.9 - 0.3)
    assert math.isnan(read_metric(RESULTS, "generation_sound.learned_gain.c"))
    joint = {**RESULTS, "tasks": ["joint"], "matrix": [[0.6, 0.9]]}  # multi-task: no task per domain
    assert math.isnan(read_metric(joint, "learned_gain.a"))
