"""The statistics every study report uses, in one place: a mean with its exact Student-t
interval, paired differences between two arms matched by (order, seed), and a percentile
bootstrap over examples (prompts) for generated-answer scores.

Exact t quantiles come from scipy (not a table rounded to the next tabulated degrees of
freedom, which made n = 12 intervals about 1% too narrow). Pure functions over floats.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Hashable, Mapping, Sequence
from typing import NamedTuple


class Interval(NamedTuple):
    """A mean and its two-sided interval at `level`; `low == high == mean` for a single value
    (no spread is known, so no claim that needs one can be shown)."""

    mean: float
    low: float
    high: float
    n: int
    level: float = 0.95

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def as_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n, "level": self.level}


def t_quantile(level: float, df: int) -> float:
    """The two-sided Student-t critical value: P(|T_df| <= t) = level."""
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, df))


def t_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Mean +- t_{df=n-1} * s / sqrt(n). NaN values are left out (a run that measured nothing)."""
    kept = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not kept:
        return Interval(math.nan, math.nan, math.nan, 0, level)
    mean = statistics.fmean(kept)
    if len(kept) < 2:
        return Interval(mean, mean, mean, 1, level)
    half = t_quantile(level, len(kept) - 1) * statistics.stdev(kept) / math.sqrt(len(kept))
    return Interval(mean, mean - half, mean + half, len(kept), level)


def mean_half_width(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """(mean, half-width of the t interval): the `mean +- h` of a table cell (0 for one value)."""
    interval = t_interval(values, level)
    return interval.mean, interval.half_width if interval.n > 1 else 0.0


class Paired(NamedTuple):
    """Differences `a - b` over the keys both have, their interval, and the keys one side lacks."""

    interval: Interval
    differences: dict[Hashable, float]
    unpaired: list[Hashable]


def paired_difference(a: Mapping[Hashable, float], b: Mapping[Hashable, float], level: float = 0.95) -> Paired:
    """Paired by key (a study's (order, seed)): the same data and task order in both arms, so the
    arm's effect is measured without the between-seed spread."""
    common = [k for k in a if k in b and not math.isnan(a[k]) and not math.isnan(b[k])]
    differences = {k: a[k] - b[k] for k in common}
    unpaired = sorted((set(a) ^ set(b)) | {k for k in set(a) & set(b) if k not in differences}, key=str)
    return Paired(t_interval(list(differences.values()), level), differences, unpaired)


def bootstrap_mean(values: Sequence[float], *, resamples: int = 2000, level: float = 0.95, seed: int = 0
                   ) -> Interval:
    """Percentile bootstrap of the mean over examples (e.g. per-prompt scores of one model):
    the uncertainty a fixed set of prompts carries, which a t interval over seeds does not."""
    kept = [float(v) for v in values if not math.isnan(v)]
    if not kept:
        return Interval(math.nan, math.nan, math.nan, 0, level)
    rng = random.Random(seed)
    n = len(kept)
    means = sorted(statistics.fmean(rng.choices(kept, k=n)) for _ in range(resamples))
    tail = (1 - level) / 2
    low = means[max(0, math.floor(tail * resamples))]
    high = means[min(resamples - 1, math.ceil((1 - tail) * resamples) - 1)]
    return Interval(statistics.fmean(kept), low, high, n, level)


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Cohen's kappa of two binary raters: (p_o - p_e) / (1 - p_e), p_e the agreement expected
    from each rater's own yes-rate. Agreement alone flatters a judge on a lopsided sample (a rule
    that always says no agrees 90% with labels that are 90% no; its kappa is 0). NaN when both
    raters say the same one thing throughout (p_e = 1: kappa is undefined)."""
    if len(a) != len(b) or not a:
        raise ValueError(f"cohen_kappa needs two equal, non-empty label lists (got {len(a)} and {len(b)})")
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    yes_a, yes_b = sum(a) / n, sum(b) / n
    expected = yes_a * yes_b + (1 - yes_a) * (1 - yes_b)
    return math.nan if expected == 1 else (observed - expected) / (1 - expected)
