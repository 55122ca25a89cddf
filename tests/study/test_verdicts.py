"""Each verdict rule on hand values, including outcomes that must come out "not met" and
"not shown"."""

from __future__ import annotations

import pytest

from lit_align.study.verdicts import all_of, paired_difference_rule, ratio, share_of_runs, threshold, within


def values(**arms):
    """arm=[v per seed] -> the engine's shape: arm -> (order, seed) -> {"m": v}."""
    return {arm: {("o0", s): {"m": v} for s, v in enumerate(vs)} for arm, vs in arms.items()}


def test_threshold_met_not_met_and_not_shown():
    # -0.10, -0.12, -0.08: mean -0.10, sd 0.02, half 4.3027 * 0.02 / sqrt(3) = 0.0497: [-0.1497, -0.0503]
    assert threshold(values(seq=[-0.10, -0.12, -0.08]), arm="seq", metric="m", below=-0.05).outcome == "met"
    assert threshold(values(seq=[0.01, 0.02, 0.0]), arm="seq", metric="m", below=-0.05).outcome == "not met"
    assert threshold(values(seq=[-0.2, 0.1, -0.05]), arm="seq", metric="m", below=-0.05).outcome == "not shown"
    assert threshold(values(seq=[-0.5]), arm="seq", metric="m", below=-0.05).outcome == "not shown"  # n=1
    # 0.4, 0.5, 0.6: half 4.3027 * 0.1 / sqrt(3) = 0.248: [0.252, 0.748], above 0.2 but not above 0.3
    assert threshold(values(seq=[0.4, 0.5, 0.6]), arm="seq", metric="m", above=0.2).outcome == "met"
    assert threshold(values(seq=[0.4, 0.5, 0.6]), arm="seq", metric="m", above=0.3).outcome == "not shown"


def test_paired_difference():
    # replay - seq per seed: 0.05, 0.07, 0.06: mean 0.06, sd 0.01, half 0.0248: [0.035, 0.085] > 0
    v = values(seq=[-0.10, -0.12, -0.08], replay=[-0.05, -0.05, -0.02])
    verdict = paired_difference_rule(v, arm="replay", baseline="seq", metric="m")
    assert verdict.outcome == "met"
    assert verdict.numbers["interval"]["mean"] == pytest.approx(0.06)
    assert verdict.numbers["interval"]["low"] == pytest.approx(0.06 - 4.302653 * 0.01 / 3 ** 0.5, abs=1e-6)
    worse = values(seq=[-0.10, -0.12, -0.08], replay=[-0.15, -0.16, -0.14])
    assert paired_difference_rule(worse, arm="replay", baseline="seq", metric="m").outcome == "not met"


def test_ratio_of_magnitudes():
    # |copr| - 0.7 |replay| per seed: 0.02 - 0.07, 0.03 - 0.084, 0.01 - 0.056: all < 0 with a tight interval
    v = values(replay=[-0.10, -0.12, -0.08], copr=[-0.02, -0.03, -0.01])
    verdict = ratio(v, arm="copr", baseline="replay", metric="m", at_most=0.7)
    assert verdict.outcome == "met" and verdict.numbers["ratio_of_means"] == pytest.approx(0.2)
    same = values(replay=[-0.10, -0.12, -0.08], copr=[-0.10, -0.12, -0.08])  # ratio 1 > 0.7 in every run
    assert ratio(same, arm="copr", baseline="replay", metric="m", at_most=0.7).outcome == "not met"
    assert ratio(values(replay=[0.0, 0.0], copr=[0.1, 0.1]), arm="copr", baseline="replay", metric="m",
                 at_most=0.7).outcome == "not shown"


def test_within_tolerance():
    v = values(a=[0.90, 0.92, 0.91], b=[0.91, 0.92, 0.90])  # differences -0.01, 0, 0.01: [-0.0248, 0.0248]
    assert within(v, arm="a", baseline="b", metric="m", tolerance=0.05).outcome == "met"
    far = values(a=[0.80, 0.82, 0.81], b=[0.91, 0.92, 0.90])  # about -0.10, well outside 0.05
    assert within(far, arm="a", baseline="b", metric="m", tolerance=0.05).outcome == "not met"


def test_all_of():
    met, no, unsure = (threshold(values(s=v), arm="s", metric="m", below=0.0) for v in
                       ([-1.0, -1.1, -0.9], [1.0, 1.1, 0.9], [-1.0, 1.0, 0.0]))
    assert all_of([met, met]) == "met" and all_of([met, no]) == "not met" and all_of([met, unsure]) == "not shown"


def test_share_of_runs_counts_runs_not_the_mean():
    # T1: no run's probe may fall more than 10%; one run at 0.5 fails it although the mean is 0.15
    v = values(seq=[0.0, 0.05, 0.05, 0.5])
    verdict = share_of_runs(v, arm="seq", metric="m", at_most=0.10, share=1.0)
    assert verdict.outcome == "not met" and verdict.numbers["holds"] == 3 and verdict.numbers["worst"] == 0.5
    assert "in 3 of 4 runs (claim: at least 4 of 4)" in verdict.text
    # learnable: a gain >= 0.3 in 3 of 4 runs
    assert share_of_runs(values(seq=[0.4, 0.3, 0.9, 0.1]), arm="seq", metric="m", at_least=0.3,
                         share=0.75).outcome == "met"
    assert share_of_runs(values(seq=[0.4, 0.2, 0.9, 0.1]), arm="seq", metric="m", at_least=0.3,
                         share=0.75).outcome == "not met"


def test_share_of_runs_waits_for_runs_that_could_change_it():
    # 2 of 4 planned runs in, both hold: 3 of 4 are needed, so the missing two decide
    partial = values(seq=[0.4, 0.5])
    assert share_of_runs(partial, arm="seq", metric="m", at_least=0.3, share=0.75, planned=4).outcome == "not shown"
    # both fail: even two more passing runs make 2 of 4, short of 3
    failing = values(seq=[0.1, 0.2])
    assert share_of_runs(failing, arm="seq", metric="m", at_least=0.3, share=0.75, planned=4).outcome == "not met"
    assert share_of_runs(values(seq=[0.4]), arm="seq", metric="m", at_least=0.3, share=0.5).outcome == "not shown"


def test_an_arm_with_no_runs_yet_says_so():
    verdict = paired_difference_rule(values(seq=[-0.1, -0.2], replay=[]), arm="replay", baseline="seq", metric="m")
    assert verdict.outcome == "not shown" and "no runs yet (n=0)" in verdict.text and "nan" not in verdict.text
