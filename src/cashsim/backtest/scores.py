"""Scoring rules for forecasts of cash totals (*scores de prévision*): one outcome ``y`` (euros collected) against
an ensemble ``x_1..x_m`` (the simulated paths of the same total) or a point forecast ``f``.

Per outcome (Gneiting & Raftery 2007; research/methods.md section 2):

* **CRPS** = ``E|X - y| - E|X - X'|/2``, from the sorted sample ``x_(1..m)``:
  ``mean|x - y| - (1/m^2) sum_i (2i - m - 1) x_(i)``. Euros; a point forecast's CRPS is its absolute error.
* **randomised PIT** ``u = P(X < y) + V P(X = y)``, ``V ~ U(0, 1)``: uniform on (0, 1) when ``y`` is drawn from the
  forecast law, ties (point masses, e.g. "nothing left to collect") included.
* **PIT coverage** of the central ``level`` interval: the outcome is covered iff ``(1 - level)/2 < u < (1 + level)/2``
  (80 %: ``0.1 < u < 0.9``). A forecast that is exactly 0 on every path with outcome 0 has ``u = V``, so it counts
  as covered at 80 % with probability 0.8 -- the closed interval ``[q10, q90] = [0, 0]`` would count it every time.
* **interval (Winkler) score** of the central ``1 - alpha`` interval ``[l, u]`` (80 %: ``alpha = 0.2``, ``l = q10``,
  ``u = q90``): ``(u - l) + (2/alpha)(l - y) 1{y < l} + (2/alpha)(y - u) 1{y > u}``. Euros, lower is better: width
  plus a penalty ten times the miss.

Over a set of outcomes (one horizon month over all origins, or pooled):

* **WAPE** = ``sum|f - y| / sum y`` and **bias** = ``sum(f - y) / sum y``: shares of the cash actually collected, so
  a big month weighs more (cash-weighted); bias > 0 = over-forecast. ``f`` is the median for an ensemble.
* **MAPE** = mean of ``|f - y| / y`` over the outcomes with ``y > 0`` only (undefined at ``y = 0``; how many were
  left out is reported beside it).
* **coverage band**: percentile bootstrap over origins (resample the origins with replacement, recompute the share
  covered; seeded, so the same inputs give the same band); :func:`coverage_band` gives instead the binomial range a
  calibrated forecast shows on ``n`` outcomes.

Example::

    >>> x = np.array([0.0, 100.0, 200.0, 300.0, 400.0])
    >>> round(crps_sample(x, 250.0), 1), interval_score(100.0, 300.0, 350.0, alpha=0.2)
    (50.0, 700.0)
    >>> wape([90.0, 120.0], [100.0, 100.0]), bias([90.0, 120.0], [100.0, 100.0])
    (0.15, 0.05)
"""

from __future__ import annotations

import numpy as np
from scipy import stats

#: quantiles kept for each ensemble (p10 .. p90)
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
#: bootstrap resamples of the origins for the coverage bands
N_BOOTSTRAP = 2000


def crps_sample(samples: np.ndarray, y: float) -> float:
    """CRPS of an ensemble for outcome ``y``: ``mean|x - y| - (1/m^2) sum_i (2i - m - 1) x_(i)``.

    >>> crps_sample(np.array([1.0, 1.0, 1.0]), 3.0)      # a point forecast: the absolute error
    2.0
    """
    x = np.sort(np.asarray(samples, float))
    m = len(x)
    i = np.arange(1, m + 1)
    return float(np.mean(np.abs(x - y)) - np.sum((2 * i - m - 1) * x) / m ** 2)


def pit_value(samples: np.ndarray, y: float, v: float) -> float:
    """``P(X < y) + v P(X = y)`` for a given uniform ``v`` (the randomised PIT with its draw made by the caller).

    >>> pit_value(np.zeros(4), 0.0, 0.3)                 # a point mass at the outcome: the PIT is the draw itself
    0.3
    """
    x = np.asarray(samples, float)
    return float(np.mean(x < y) + v * np.mean(x == y))


def randomised_pit(samples: np.ndarray, y: float, rng: np.random.Generator) -> float:
    """``P(X < y) + V P(X = y)``, ``V`` drawn from ``rng``: uniform on (0, 1) when ``y`` is drawn from the forecast
    law (ties randomised)."""
    return pit_value(samples, y, rng.uniform())


def pit_covered(pit, level: float) -> np.ndarray:
    """Whether each outcome lies in the central ``level`` interval, read on its PIT: ``(1-level)/2 < u < (1+level)/2``.

    >>> pit_covered([0.05, 0.5, 0.95, 0.1], 0.8).tolist()
    [False, True, False, False]
    """
    u = np.asarray(pit, float)
    tail = round((1 - level) / 2, 12)     # 0.1 for 80 %, not 0.09999999999999998
    return (u > tail) & (u < 1 - tail)


def interval_score(lower, upper, y, *, alpha: float = 0.2):
    """Interval (Winkler) score of the central ``1 - alpha`` interval ``[lower, upper]`` for outcome ``y`` (euros):
    ``(upper - lower) + (2/alpha)(lower - y) 1{y < lower} + (2/alpha)(y - upper) 1{y > upper}``.

    >>> interval_score(10.0, 20.0, 15.0), interval_score(10.0, 20.0, 8.0)    # inside: the width; below: + 10 x 2
    (10.0, 30.0)
    """
    lower, upper, y = (np.asarray(a, float) for a in (lower, upper, y))
    score = (upper - lower) + (2 / alpha) * np.clip(lower - y, 0, None) + (2 / alpha) * np.clip(y - upper, 0, None)
    return float(score) if score.ndim == 0 else score


def wape(forecast, actual) -> float:
    """Weighted absolute percentage error ``sum|f - y| / sum y`` (NaN when nothing was collected)."""
    f, y = np.asarray(forecast, float), np.asarray(actual, float)
    total = y.sum()
    return float(np.abs(f - y).sum() / total) if total > 0 else float("nan")


def bias(forecast, actual) -> float:
    """Cash-weighted bias ``sum(f - y) / sum y``: > 0 when the forecast promised more than came in."""
    f, y = np.asarray(forecast, float), np.asarray(actual, float)
    total = y.sum()
    return float((f - y).sum() / total) if total > 0 else float("nan")


def mape(forecast, actual) -> tuple[float, int, int]:
    """``(MAPE, n used, n left out)``: mean ``|f - y| / y`` over the outcomes with ``y > 0``; the others are left out
    of both the mean and its ``n``.

    >>> mape([110.0, 5.0, 50.0], [100.0, 0.0, 100.0])
    (0.3, 2, 1)
    """
    f, y = np.asarray(forecast, float), np.asarray(actual, float)
    ok = y > 0
    value = float(np.mean(np.abs(f[ok] - y[ok]) / y[ok])) if ok.any() else float("nan")
    return value, int(ok.sum()), int((~ok).sum())


def score_ensemble(samples: np.ndarray, y: float, v: float) -> dict:
    """Every per-outcome score of an ensemble for outcome ``y``, with ``v`` the uniform of the randomised PIT:
    forecast (median), mean, p10 .. p90, crps, pit, in50 / in80 (PIT coverage), winkler80 (euros).

    >>> row = score_ensemble(np.zeros(10), 0.0, 0.95)      # all paths 0, outcome 0: covered only if the PIT says so
    >>> row["pit"], row["in80"], row["winkler80"]
    (0.95, False, 0.0)
    """
    x = np.asarray(samples, float)
    q = np.quantile(x, QUANTILES)
    pit = pit_value(x, y, v)
    return {"forecast": q[2], "mean": x.mean(), "p10": q[0], "p25": q[1], "p50": q[2], "p75": q[3], "p90": q[4],
            "crps": crps_sample(x, y), "pit": pit, "in50": bool(pit_covered(pit, 0.5)),
            "in80": bool(pit_covered(pit, 0.8)), "winkler80": interval_score(q[0], q[4], y, alpha=0.2)}


def bootstrap_band(values, groups, *, n_boot: int = N_BOOTSTRAP, seed: int = 0, alpha: float = 0.05
                   ) -> tuple[float, float]:
    """Central ``1 - alpha`` percentile band of the mean of ``values`` when the ``groups`` (origins) are resampled
    with replacement: each resample draws as many groups as there are and averages all their values. Deterministic
    for a seed; ``(nan, nan)`` without values.

    >>> bootstrap_band([1, 1, 0, 1], ["a", "b", "c", "d"], seed=1)
    (0.25, 1.0)
    """
    v = np.asarray(values, float)
    if v.size == 0:
        return (float("nan"), float("nan"))
    _, group = np.unique(np.asarray(groups), return_inverse=True)
    sums = np.bincount(group, weights=v)
    counts = np.bincount(group).astype(float)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(sums), size=(n_boot, len(sums)))
    stat = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
    lo, hi = np.quantile(stat, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def coverage_band(n: int, level: float, alpha: float = 0.05) -> tuple[float, float]:
    """Central ``1 - alpha`` range of the coverage share a calibrated ``level`` interval shows on ``n`` outcomes.

    >>> coverage_band(24, 0.8)
    (0.625, 0.9583333333333334)
    """
    if n == 0:
        return (float("nan"), float("nan"))
    lo, hi = stats.binom.ppf([alpha / 2, 1 - alpha / 2], n, level)
    return float(lo / n), float(hi / n)
