"""C3PO metrics on hand-made scores."""

import pytest

from lit_align.feedback.metrics import FeedbackScores, feedback_scores, heuristic_score, mean_over_feedbacks


def test_heuristic_score_table():
    assert [heuristic_score(a, b) for a, b in [(True, False), (False, True), (True, True), (False, False)]] == [
        1, -1, 0, 0]


def test_feedback_scores_hand_made():
    # S_in = (1 + 1 + 0 - 1) / 4 = 0.25; S_out = mean |.| of [0, -1, 0.5, 0] = 1.5 / 4 = 0.375
    out = feedback_scores([1, 1, 0, -1], near_scope=[0, -1], out_of_scope=[0.5, 0])
    assert out == pytest.approx(FeedbackScores(0.25, 0.375, (0.25 + 1 - 0.375) / 2))


def test_mean_over_feedbacks_averages_per_feedback_first():
    a, b = FeedbackScores(1.0, 0.0, 1.0), FeedbackScores(0.0, 0.5, 0.25)
    assert mean_over_feedbacks([a, b]) == pytest.approx(FeedbackScores(0.5, 0.25, (0.5 + 0.75) / 2))


def test_empty_inputs_are_refused():
    with pytest.raises(ValueError, match="in-scope"):
        feedback_scores([], [1], [1])
    with pytest.raises(ValueError, match="near- or out-of-scope"):
        feedback_scores([1], [], [])
