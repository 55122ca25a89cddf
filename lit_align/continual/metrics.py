"""Continual-learning metrics: pure functions over the result matrix and per-example results.

Convention: `a[k][j]` is the score on task j's eval split after training task k
(0-based, square, T x T, rows in training order); `baseline[j]` is the score of
the model before the sequence. Definitions follow shared/methods.md §0.4-0.5:

- average score A_k = mean_{j<=k} a[k][j]; final A = A_{T-1}
- average incremental score = mean_k A_k (Rebuffi et al., iCaRL)
- BWT = mean_{j<T-1} (a[T-1][j] - a[j][j])  (Lopez-Paz & Ranzato, GEM); < 0 is forgetting
- forgetting, averaged over j < T-1, in one of three forms (results record which):
  `max` (default): f_j = max_{l in [j, T-2]} a[l][j] - a[T-1][j], the drop from the best
  score task j reached once it had been trained;
  `chaudhry`: f_j = max_{l in [0, T-2]} a[l][j] - a[T-1][j], Chaudhry et al. 2018 (RWalk,
  eq. 7), whose max runs over every earlier model, those before task j was trained too;
  `avalanche`: f_j = a[j][j] - a[T-1][j] (Avalanche's Forgetting metric)
- FWT = mean_{j>=1} (a[j-1][j] - baseline[j])  (GEM)
- flip rates: NFR = share of examples right before and wrong after, PFR the
  reverse, both over all N examples (Yan et al. 2021; MUSCLE §3.1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np

Matrix = Sequence[Sequence[float]]


def _square(a: Matrix) -> np.ndarray:
    m = np.asarray(a, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"the result matrix must be square and non-empty (got shape {m.shape})")
    return m


def average_scores(a: Matrix) -> list[float]:
    """A_k for every k: mean over the tasks trained so far."""
    m = _square(a)
    return [float(m[k, : k + 1].mean()) for k in range(len(m))]


def average_incremental_score(a: Matrix) -> float:
    return float(np.mean(average_scores(a)))


def backward_transfer(a: Matrix) -> float:
    """BWT; 0.0 for a single task (nothing to forget)."""
    m = _square(a)
    t = len(m)
    if t < 2:
        return 0.0
    return float(np.mean([m[t - 1, j] - m[j, j] for j in range(t - 1)]))


ForgettingForm = Literal["max", "chaudhry", "avalanche"]
FORGETTING_LABELS: dict[str, str] = {
    "max": "forgetting (drop from best since learned)",
    "chaudhry": "forgetting (Chaudhry 2018: drop from best earlier model)",
    "avalanche": "forgetting (Avalanche: drop since learned)",
}


def forgetting(a: Matrix, form: ForgettingForm = "max") -> float:
    """Average forgetting of the tasks before the last; see module docstring for the forms."""
    m = _square(a)
    t = len(m)
    if t < 2:
        return 0.0
    first = {"max": lambda j: j, "chaudhry": lambda j: 0}.get(form)
    if first is not None:
        per_task = [m[first(j) : t - 1, j].max() - m[t - 1, j] for j in range(t - 1)]
    else:
        per_task = [m[j, j] - m[t - 1, j] for j in range(t - 1)]
    return float(np.mean(per_task))


def forward_transfer(a: Matrix, baseline: Sequence[float]) -> float:
    """FWT against the score of the model before the sequence; 0.0 for a single task."""
    m = _square(a)
    t = len(m)
    if len(baseline) != t:
        raise ValueError(f"baseline has {len(baseline)} entries for {t} tasks")
    if t < 2:
        return 0.0
    return float(np.mean([m[j - 1, j] - baseline[j] for j in range(1, t)]))


class FlipRates(NamedTuple):
    nfr: float  # negative flip rate: right before, wrong after, over all N
    pfr: float  # positive flip rate: wrong before, right after, over all N
    n: int


def flip_rates(before: Sequence[bool], after: Sequence[bool]) -> FlipRates:
    """Discrete flips between two models' per-example correctness on the same examples."""
    b = np.asarray(before, dtype=bool)
    c = np.asarray(after, dtype=bool)
    if b.shape != c.shape:
        raise ValueError(f"per-example results differ in length ({b.size} vs {c.size})")
    if b.size == 0:
        return FlipRates(0.0, 0.0, 0)
    return FlipRates(float((b & ~c).mean()), float((~b & c).mean()), int(b.size))


def inconsistency_flip_rate(
    old_predictions: Sequence[object], new_predictions: Sequence[object], targets: Sequence[object]
) -> float:
    """MUSCLE's NFR_mc: new prediction wrong and different from the old one, over all N."""
    if not len(old_predictions) == len(new_predictions) == len(targets):
        raise ValueError("old, new and target predictions must have the same length")
    if not targets:
        return 0.0
    flips = [n != y and o != n for o, n, y in zip(old_predictions, new_predictions, targets, strict=True)]
    return float(np.mean(flips))


class ContinuousFlips(NamedTuple):
    nfr: float  # share with D < 0
    pfr: float  # share with D > 0
    mean_gain: float  # mean D over the D > 0 examples (0 if none)
    mean_regression: float  # mean |D| over the D < 0 examples (0 if none)


def continuous_flips(old_scores: Sequence[float], new_scores: Sequence[float]) -> ContinuousFlips:
    """MUSCLE's generative form: D_i = S(new_i, y_i) - S(old_i, y_i); ties are neither, and an
    example unscored (NaN) on either side is left out."""
    d = np.asarray(new_scores, dtype=float) - np.asarray(old_scores, dtype=float)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return ContinuousFlips(0.0, 0.0, 0.0, 0.0)
    gain, loss = d > 0, d < 0
    return ContinuousFlips(
        nfr=float(loss.mean()),
        pfr=float(gain.mean()),
        mean_gain=float(d[gain].mean()) if gain.any() else 0.0,
        mean_regression=float(-d[loss].mean()) if loss.any() else 0.0,
    )
