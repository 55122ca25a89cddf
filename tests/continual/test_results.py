import pytest

from lit_align.continual.results import scalar_metrics, sequence_report, square_rows


def test_square_rows():
    assert square_rows(["sft", "a", "b"], ["a", "b"]) == [1, 2]
    assert square_rows(["joint"], ["a", "b"]) is None


def test_report_from_margins():
    # 2 tasks, 2 splits, 2 examples each; scores: >0 -> 1, 0 -> 0.5, <0 -> 0
    after = [
        {"a": [1.0, 1.0], "b": [0.0, -1.0]},  # after a: a=1.0, b=0.25
        {"a": [1.0, -1.0], "b": [1.0, 1.0]},  # after b: a=0.5, b=1.0
    ]
    baseline = {"a": [0.0, 0.0], "b": [0.0, 0.0]}
    report = sequence_report(["a", "b"], ["a", "b"], after, baseline)
    assert report["matrix"] == [[1.0, 0.25], [0.5, 1.0]]
    m = report["metrics"]
    assert m["average_score"] == pytest.approx(0.75)
    assert m["bwt"] == pytest.approx(-0.5)
    assert m["fwt"] == pytest.approx(0.25 - 0.5)
    # flips pooled over 4 examples: a[1] right->wrong (1 NF); b[0], b[1] wrong->right (2 PF)
    assert m["flips_consecutive"][0]["overall"]["nfr"] == pytest.approx(0.25)
    assert m["flips_consecutive"][0]["overall"]["pfr"] == pytest.approx(0.5)
    assert scalar_metrics(report)["seq/bwt"] == pytest.approx(-0.5)


def test_partial_and_non_square_reports():
    after = [{"a": [1.0], "b": [-1.0]}]
    partial = sequence_report(["a", "b"], ["a", "b"], after, {"a": [0.0], "b": [0.0]})
    assert partial["tasks"] == ["a"] and "bwt" not in partial["metrics"]
    joint = sequence_report(["joint"], ["a", "b"], after, {"a": [0.0], "b": [0.0]})
    assert joint["metrics"]["average_score"] == pytest.approx(0.5)
