"""Continual metrics on hand-made matrices with answers worked out by hand."""

import pytest

from lit_align.continual.metrics import (
    average_incremental_score,
    average_scores,
    backward_transfer,
    continuous_flips,
    flip_rates,
    forgetting,
    forward_transfer,
    inconsistency_flip_rate,
)

# rows: after task 0, 1, 2 ; columns: task 0, 1, 2
A = [
    [0.9, 0.5, 0.4],
    [0.7, 0.8, 0.5],
    [0.6, 0.9, 0.7],
]


def test_average_scores():
    # A_0 = 0.9 ; A_1 = (0.7 + 0.8) / 2 = 0.75 ; A_2 = (0.6 + 0.9 + 0.7) / 3 = 0.7333
    assert average_scores(A) == pytest.approx([0.9, 0.75, 2.2 / 3])
    assert average_incremental_score(A) == pytest.approx((0.9 + 0.75 + 2.2 / 3) / 3)


def test_backward_transfer():
    # ((0.6 - 0.9) + (0.9 - 0.8)) / 2 = (-0.3 + 0.1) / 2 = -0.1
    assert backward_transfer(A) == pytest.approx(-0.1)
    assert backward_transfer([[0.5]]) == 0.0


def test_forgetting_max_and_avalanche_forms_differ_when_a_task_improves():
    # max form: task 0: max(0.9, 0.7) - 0.6 = 0.3 ; task 1: max(0.8) - 0.9 = -0.1 ; mean 0.1
    assert forgetting(A) == pytest.approx(0.1)
    # avalanche form: (0.9 - 0.6) + (0.8 - 0.9) -> (0.3 - 0.1) / 2 = 0.1 here as well
    assert forgetting(A, form="avalanche") == pytest.approx(0.1)
    rising = [[0.5, 0.0, 0.0], [0.9, 0.5, 0.0], [0.6, 0.5, 0.5]]
    # max: task 0 max(0.5, 0.9) - 0.6 = 0.3, task 1: 0.5 - 0.5 = 0 -> 0.15 ; avalanche: (-0.1 + 0) / 2
    assert forgetting(rising) == pytest.approx(0.15)
    assert forgetting(rising, form="avalanche") == pytest.approx(-0.05)


def test_forward_transfer():
    # ((0.5 - 0.5) + (0.5 - 0.4)) / 2 = 0.05 with baseline [0.5, 0.5, 0.4]
    assert forward_transfer(A, [0.5, 0.5, 0.4]) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="baseline has 2 entries"):
        forward_transfer(A, [0.5, 0.5])


def test_matrix_must_be_square():
    with pytest.raises(ValueError, match="square"):
        backward_transfer([[0.1, 0.2]])


def test_flip_rates_over_all_examples():
    before = [True, True, False, False, True]
    after = [True, False, True, False, False]
    rates = flip_rates(before, after)
    assert (rates.nfr, rates.pfr, rates.n) == (pytest.approx(2 / 5), pytest.approx(1 / 5), 5)
    assert flip_rates([], []).n == 0
    with pytest.raises(ValueError):
        flip_rates([True], [True, False])


def test_inconsistency_flips_count_wrong_to_differently_wrong():
    # targets a b c d ; old a x y d ; new a b z e -> flips: c (y->z, wrong), d (right->wrong e) = 2/4
    assert inconsistency_flip_rate(list("axyd"), list("abze"), list("abcd")) == pytest.approx(0.5)


def test_continuous_flips_with_ties():
    # D = [+0.2, 0, -0.4, -0.2] -> PFR 1/4, NFR 2/4, gain 0.2, regression (0.4 + 0.2) / 2 = 0.3
    out = continuous_flips([0.5, 0.5, 0.9, 0.4], [0.7, 0.5, 0.5, 0.2])
    assert out.pfr == pytest.approx(0.25) and out.nfr == pytest.approx(0.5)
    assert out.mean_gain == pytest.approx(0.2) and out.mean_regression == pytest.approx(0.3)
    assert continuous_flips([1.0], [1.0]) == (0.0, 0.0, 0.0, 0.0)


def test_forgetting_forms_by_hand():
    from lit_align.continual.metrics import forgetting

    # task 0: 0.5 before... rows are models after tasks 0, 1, 2; column 1 peaks at row 0 (before it was trained)
    a = [[0.9, 0.8, 0.1],
         [0.7, 0.6, 0.2],
         [0.5, 0.4, 0.9]]
    # max (since learned): j=0: max(0.9, 0.7) - 0.5 = 0.4; j=1: max(0.6) - 0.4 = 0.2 -> 0.3
    assert forgetting(a, "max") == pytest.approx(0.3)
    # chaudhry (every earlier model): j=0: 0.4; j=1: max(0.8, 0.6) - 0.4 = 0.4 -> 0.4
    assert forgetting(a, "chaudhry") == pytest.approx(0.4)
    # avalanche: j=0: 0.9 - 0.5 = 0.4; j=1: 0.6 - 0.4 = 0.2 -> 0.3
    assert forgetting(a, "avalanche") == pytest.approx(0.3)


def test_report_records_the_forgetting_form():
    from lit_align.continual.results import sequence_report

    margins = [{"a": [1.0], "b": [-1.0]}, {"a": [-1.0], "b": [1.0]}]
    report = sequence_report(["a", "b"], ["a", "b"], margins, {"a": [0.0], "b": [0.0]}, "chaudhry")
    assert report["metrics"]["forgetting_form"] == "chaudhry"
