"""Verdict rules: a claim written as data before the runs, judged by one tested function per rule.

Every rule reads the per-run values of a study (`Values`: arm -> (order, seed) -> metric ->
value) and returns a `Verdict` with three outcomes, because an interval can say more than
yes or no:

- `met`: the claim holds for the whole 95% interval;
- `not met`: the interval lies on the wrong side;
- `not shown`: the interval straddles the bound, or there are too few runs to have one.

Rules are the entries of `RULES` (`threshold`, `paired_difference`, `ratio`, `within`,
`share_of_runs`); a dotted path names a rule of one's own with the same signature. Each
docstring is the claim's grammar in the study file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any, Literal, NamedTuple

from lit_align.study.stats import Interval, paired_difference, t_interval

Outcome = Literal["met", "not met", "not shown"]
Values = dict[str, dict[Hashable, dict[str, float]]]  # arm -> (order, seed) -> metric -> value


class Verdict(NamedTuple):
    outcome: Outcome
    numbers: dict[str, Any]  # what the outcome rests on (means, intervals, n), for the report
    text: str  # one line a reader checks against the numbers


def _series(values: Values, arm: str, metric: str) -> dict[Hashable, float]:
    return {key: run[metric] for key, run in values[arm].items() if metric in run and not math.isnan(run[metric])}


def _side(interval: Interval, *, above: float | None = None, below: float | None = None) -> Outcome:
    """Where an interval lies against a bound: wholly on the claimed side, wholly on the other, or across."""
    if interval.n < 2:
        return "not shown"
    if above is not None:
        return "met" if interval.low > above else "not met" if interval.high <= above else "not shown"
    assert below is not None
    return "met" if interval.high < below else "not met" if interval.low >= below else "not shown"


def _fmt(interval: Interval) -> str:
    if interval.n == 0:
        return "no runs yet (n=0)"
    return f"{interval.mean:+.3f} [{interval.low:+.3f}, {interval.high:+.3f}] (n={interval.n})"


def threshold(values: Values, *, arm: str, metric: str, above: float | None = None, below: float | None = None
              ) -> Verdict:
    """`arm`'s mean `metric` is above (or below) a bound, with its 95% t interval over runs.
    e.g. F1: `{arm: sequential, metric: bwt, below: -0.05}`."""
    interval = t_interval(list(_series(values, arm, metric).values()))
    outcome = _side(interval, above=above, below=below)
    bound = f"> {above}" if above is not None else f"< {below}"
    return Verdict(outcome, {"interval": interval.as_dict()}, f"{arm} {metric} {_fmt(interval)}; claim {bound}")


def paired_difference_rule(values: Values, *, arm: str, baseline: str, metric: str, above: float = 0.0) -> Verdict:
    """`arm` minus `baseline` on `metric`, paired by (order, seed): its 95% interval lies above
    `above`. e.g. "replay forgets less": `{arm: replay, baseline: sequential, metric: bwt}`."""
    paired = paired_difference(_series(values, arm, metric), _series(values, baseline, metric))
    outcome = _side(paired.interval, above=above)
    missing = f"; unpaired runs left out: {len(paired.unpaired)}" if paired.unpaired else ""
    return Verdict(outcome, {"interval": paired.interval.as_dict(), "unpaired": [list(k) if isinstance(k, tuple)
                                                                                   else k for k in paired.unpaired]},
                   f"{arm} - {baseline} on {metric}, paired: {_fmt(paired.interval)}; claim > {above}{missing}")


def ratio(values: Values, *, arm: str, baseline: str, metric: str, at_most: float) -> Verdict:
    """|mean of `arm`| <= `at_most` x |mean of `baseline`| on `metric` (F2: COPR's |BWT| at most
    0.7 x replay's). Judged on the paired ratio's bounds: met when even the interval's worst
    case holds, not met when even its best case fails."""
    a, b = _series(values, arm, metric), _series(values, baseline, metric)
    ia, ib = t_interval(list(a.values())), t_interval(list(b.values()))
    if ia.n < 2 or ib.n < 2 or ib.mean == 0:
        return Verdict("not shown", {"arm": ia.as_dict(), "baseline": ib.as_dict()},
                       f"{arm} and {baseline} on {metric}: too few runs or a zero baseline")
    # |a| - at_most |b| per (order, seed): the claim is that it lies below 0
    paired = paired_difference({k: abs(v) for k, v in a.items()}, {k: at_most * abs(v) for k, v in b.items()})
    outcome = _side(paired.interval, below=0.0)
    observed = abs(ia.mean) / abs(ib.mean)
    return Verdict(outcome, {"arm": ia.as_dict(), "baseline": ib.as_dict(), "ratio_of_means": observed,
                             "paired": paired.interval.as_dict()},
                   f"|{arm} {metric}| / |{baseline} {metric}| = {observed:.2f} (claim <= {at_most}); "
                   f"paired |a| - {at_most}|b| {_fmt(paired.interval)}")


def within(values: Values, *, arm: str, baseline: str, metric: str, tolerance: float) -> Verdict:
    """`arm` and `baseline` agree on `metric` within `tolerance`, paired: the interval of the
    difference lies inside [-tolerance, tolerance] (F2's "plasticity within 5 points")."""
    paired = paired_difference(_series(values, arm, metric), _series(values, baseline, metric))
    interval = paired.interval
    if interval.n < 2:
        outcome: Outcome = "not shown"
    elif -tolerance < interval.low and interval.high < tolerance:
        outcome = "met"
    elif interval.low >= tolerance or interval.high <= -tolerance:
        outcome = "not met"
    else:
        outcome = "not shown"
    return Verdict(outcome, {"interval": interval.as_dict()},
                   f"{arm} - {baseline} on {metric}, paired: {_fmt(interval)}; claim within +-{tolerance}")


def share_of_runs(values: Values, *, arm: str, metric: str, share: float, at_least: float | None = None,
                  at_most: float | None = None, planned: int | None = None) -> Verdict:
    """At least `share` of `arm`'s runs have `metric` >= `at_least` (or <= `at_most`): a claim
    about every run or most runs, not the mean (T1: "no run's probe falls more than 10% at any
    point"; a domain is learnable: "its gain is >= 0.3 in 3 of 4 runs"). With `planned` runs, a
    count that the missing runs could still change is "not shown"; without, fewer than 2 runs is."""
    series = list(_series(values, arm, metric).values())
    n, total = len(series), max(planned or 0, len(series))
    holds = sum(v >= at_least if at_least is not None else v <= at_most for v in series)  # type: ignore[operator]
    needed = math.ceil(share * total - 1e-9)
    if n < 2:
        outcome: Outcome = "not shown"
    elif holds >= needed:
        outcome = "met"
    elif holds + (total - n) < needed:
        outcome = "not met"
    else:
        outcome = "not shown"
    bound = f">= {at_least}" if at_least is not None else f"<= {at_most}"
    worst = (min(series) if at_least is not None else max(series)) if series else math.nan
    return Verdict(outcome, {"holds": holds, "runs": n, "needed": needed, "planned": total, "worst": worst},
                   f"{arm} {metric} {bound} in {holds} of {n} runs (claim: at least {needed} of {total}); "
                   f"worst {worst:+.3f}")


Rule = Callable[..., Verdict]
RULES: dict[str, Rule] = {
    "threshold": threshold,
    "paired_difference": paired_difference_rule,
    "ratio": ratio,
    "within": within,
    "share_of_runs": share_of_runs,
}


# rules that take exactly one bound of a pair (the study check says so before any run)
ONE_BOUND_OF: dict[str, tuple[str, str]] = {"threshold": ("above", "below"), "share_of_runs": ("at_least", "at_most")}


def all_of(verdicts: list[Verdict]) -> Outcome:
    """A claim made of parts: met when every part is, not met when any part is not, else not shown."""
    outcomes = {v.outcome for v in verdicts}
    return "not met" if "not met" in outcomes else "met" if outcomes == {"met"} else "not shown"
