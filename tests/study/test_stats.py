"""The study statistics against hand-computed values (working shown) and scipy."""

from __future__ import annotations

import math

import pytest
from scipy import stats as scipy_stats

from lit_align.study.stats import bootstrap_mean, paired_difference, t_interval, t_quantile


def test_t_interval_by_hand():
    # values 1, 2, 3: mean 2, sample sd 1, t_{0.975, df=2} = 4.302653; half-width 4.302653 / sqrt(3) = 2.484138
    interval = t_interval([1.0, 2.0, 3.0])
    assert interval.mean == 2.0 and interval.n == 3
    assert interval.half_width == pytest.approx(2.484138, abs=1e-6)
    assert (interval.low, interval.high) == pytest.approx((2 - 2.484138, 2 + 2.484138), abs=1e-6)


@pytest.mark.parametrize("n", [2, 5, 12, 13, 40])
def test_t_quantile_is_exact_not_tabulated(n):
    # the old table rounded df 11 up to 12 (2.179 for 2.201): intervals at n = 12 were ~1% too narrow
    assert t_quantile(0.95, n - 1) == pytest.approx(scipy_stats.t.ppf(0.975, n - 1), rel=1e-12)
    values = [math.sin(i) for i in range(n)]
    low, high = scipy_stats.t.interval(0.95, n - 1, loc=sum(values) / n, scale=scipy_stats.sem(values))
    assert (t_interval(values).low, t_interval(values).high) == pytest.approx((low, high), rel=1e-9)


def test_one_value_has_no_interval_and_nan_is_left_out():
    assert t_interval([0.3]) == (0.3, 0.3, 0.3, 1, 0.95)
    assert t_interval([1.0, math.nan, 3.0]).n == 2
    assert t_interval([]).n == 0 and math.isnan(t_interval([]).mean)


def test_paired_difference_by_key():
    # differences by (order, seed): 0.1, 0.3 (o1-0 has no partner): mean 0.2, sd 0.141421, t_{df=1} 12.706205
    a = {("o0", 0): 0.5, ("o0", 1): 0.7, ("o1", 0): 0.9}
    b = {("o0", 0): 0.4, ("o0", 1): 0.4}
    paired = paired_difference(a, b)
    assert paired.differences == pytest.approx({("o0", 0): 0.1, ("o0", 1): 0.3})
    assert paired.unpaired == [("o1", 0)]
    assert paired.interval.mean == pytest.approx(0.2)
    assert paired.interval.half_width == pytest.approx(12.706205 * 0.141421 / math.sqrt(2), rel=1e-5)


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = [0.0, 1.0] * 24  # 48 prompts, half right: mean 0.5, se 0.0722
    one, two = bootstrap_mean(values, seed=3), bootstrap_mean(values, seed=3)
    assert one == two and one.mean == 0.5 and one.n == 48
    assert one.low < 0.5 < one.high
    assert one.half_width == pytest.approx(1.96 * 0.5 / math.sqrt(48), rel=0.15)  # the normal approximation
    assert bootstrap_mean([1.0] * 10) == (1.0, 1.0, 1.0, 10, 0.95)


def test_cohen_kappa_against_hand_values():
    from lit_align.study.stats import cohen_kappa

    # 10 items: both yes 4, both no 3, a-yes b-no 2, a-no b-yes 1: p_o 0.7; yes rates 0.6 and 0.5:
    # p_e = 0.6 * 0.5 + 0.4 * 0.5 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4
    a = [True] * 4 + [False] * 3 + [True] * 2 + [False]
    b = [True] * 4 + [False] * 3 + [False] * 2 + [True]
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    # a judge that always says no agrees 90% with 90%-no labels and has kappa 0
    labels = [True] + [False] * 9
    assert cohen_kappa(labels, [False] * 10) == pytest.approx(0.0)
    assert cohen_kappa(labels, labels) == pytest.approx(1.0)
    assert math.isnan(cohen_kappa([True, True], [True, True]))
    with pytest.raises(ValueError):
        cohen_kappa([True], [True, False])
