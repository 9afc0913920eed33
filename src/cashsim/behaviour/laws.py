"""Discrete laws on the daily grid: the fitted AFT as a pmf of the payment day, Kaplan-Meier laws, conditioning.

:data:`GRID` holds the days relative to the due date on which a payment can fall (-90 ... +365, units: calendar
days). A law is a pmf row on it whose sum may be below 1: the rest is the never-paid mass, and mass beyond +365
counts as never paid within the grid. Durations after an event (resolution time, delay after resolution) are pmfs
on :data:`DAYS` (0 ... 365).

* AFT law (:func:`grid_pmf`): day ``d`` is ``k = d + terms`` days after issue,
  ``P(d) = F((log(k + 1.5) - eta)/s) - F((log(k + 0.5) - eta)/s)``.
* Kaplan-Meier (:func:`km_pmf`): ``S(d) = prod_{k <= d} (1 - deaths_k / at_risk_k)``, weighted.
* Open at ``as_of`` (:func:`hold_unpaid_window`): the natural days between the customer's last payment day and
  ``as_of`` are paid on the first payment day after ``as_of``.

>>> row = grid_pmf(np.array([np.log(31)]), np.array([0.2]), np.array([30]))
>>> int(GRID[np.argmax(row[0].cumsum() >= 0.5)])       # median t = 31: paid on the due date
0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cashsim.behaviour.aft import standard_cdf

#: Days relative to the due date on which a payment can fall (day -90 ... +365).
GRID = np.arange(-90, 366)
#: Days 0..365 for resolution-time and post-resolution-delay laws.
DAYS = np.arange(0, 366)


def grid_pmf(eta: np.ndarray, sigma: np.ndarray, terms: np.ndarray, grid: np.ndarray = GRID,
             family: Any = "lognormal", group: np.ndarray | None = None) -> np.ndarray:
    """P(pay on day d relative to due), ``d`` in ``grid``, for ``log t = eta + sigma W``, ``t = days since issue
    + 1`` (``W`` normal for ``lognormal``, minimum extreme value for ``weibull``, or an estimated law with
    ``group`` each row's scale group: :func:`cashsim.behaviour.aft.standard_cdf`).

    Day ``d`` is ``k = d + terms`` days after issue; ``P = F((log(k + 1.5) - eta)/s) - F((log(k + 0.5) - eta)/s)``
    (day 0 takes everything below ``t = 1.5``). Mass before ``grid[0]`` goes to the first grid day; mass after the last
    grid day is left out (row sum < 1: not paid within the grid).

    >>> row = grid_pmf(np.array([np.log(31)]), np.array([0.2]), np.array([30]))
    >>> int(GRID[np.argmax(row[0].cumsum() >= 0.5)])       # median t = 31: paid on the due date
    0
    """
    eta = np.asarray(eta, float)[:, None]
    sigma = np.asarray(sigma, float)[:, None]
    # lower edge of day k (t = k + 0.5, none for k <= 0), for the G grid days plus the upper edge of the last one;
    # logs computed once per distinct terms value
    uniq, pos = np.unique(np.asarray(terms, float), return_inverse=True)
    k = grid[0] + uniq[:, None] + np.arange(len(grid) + 1)[None, :]
    log_edge = np.where(k > 0, np.log(np.maximum(k + 0.5, 0.5)), -np.inf)
    cdf = standard_cdf((log_edge[pos.ravel()] - eta) / sigma, family, group)
    pmf = np.diff(cdf, axis=1)
    pmf[:, 0] = cdf[:, 1]  # fold everything before the grid into its first day
    return np.maximum(pmf, 0.0)


def km_pmf(duration: np.ndarray, event: np.ndarray, weights: np.ndarray | None = None,
           days: np.ndarray = DAYS) -> np.ndarray:
    """Weighted discrete Kaplan-Meier law on ``days`` (0..365): ``S(d) = prod_{k <= d} (1 - deaths_k / at_risk_k)``.

    Right-censored durations count as at risk up to and including their last day. Survival left beyond the last
    observed event decays geometrically with the mean observed hazard; what is left after day 365 is not in the pmf.

    >>> km_pmf(np.array([2, 2, 4]), np.array([True, True, False]))[:3].round(3).tolist()
    [0.0, 0.0, 0.667]
    """
    duration = np.clip(np.asarray(duration, int), 0, days[-1])
    event = np.asarray(event, bool)
    w = np.ones(len(duration)) if weights is None else np.asarray(weights, float)
    n = len(days)
    deaths = np.bincount(duration[event], weights=w[event], minlength=n)[:n]
    leaving = np.bincount(duration, weights=w, minlength=n)[:n]
    at_risk = np.cumsum(leaving[::-1])[::-1]
    hazard = np.divide(deaths, at_risk, out=np.zeros(n), where=at_risk > 0)
    last = int(duration[event].max()) if event.any() else -1
    if last < n - 1:
        mean_h = deaths.sum() / max(np.sum(at_risk[: last + 1]), 1e-12) if last >= 0 else 0.0
        hazard[last + 1:] = mean_h
    surv = np.cumprod(1 - hazard)
    return np.maximum(-np.diff(np.concatenate([[1.0], surv])), 0.0)


def hold_unpaid_window(pmf: np.ndarray, first: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Rows of natural-day laws for invoices still open at ``as_of``: the mass of grid indices
    ``first .. start - 1`` moves onto index ``start`` (per row; ``first`` = one past the customer's last payment day
    on or before ``as_of``, ``start`` = the index of ``as_of + 1``).

    The engine conditions on "not paid before ``start``" (``U ~ Uniform(F(start - 1), 1)``), but what is known is
    weaker: the natural day is after the last payment day ``p`` (a natural day in ``(p, as_of]`` is held to the
    next payment day, after ``as_of``). So the conditional law is ``P(T = g | T > p)``, with every natural day
    of ``(p, as_of]`` paid on the first payment day after ``as_of``: put that mass on ``start`` and the engine's
    calendar moves it there. Without it, a run payer whose last run was 20 days before ``as_of`` lost the 20 days
    of natural payments due at its next run (a slow first month, too fast later).

    >>> hold_unpaid_window(np.array([[0.1, 0.2, 0.3, 0.4]]), np.array([1]), np.array([3])).tolist()
    [[0.1, 0.0, 0.0, 0.9]]
    """
    pmf = np.array(pmf, float, copy=True)
    G = pmf.shape[1]
    j = np.arange(G)[None, :]
    first = np.clip(np.asarray(first, int), 0, G)[:, None]
    start = np.clip(np.asarray(start, int), 0, G)[:, None]
    window = (j >= first) & (j < start) & (start < G)
    moved = np.where(window, pmf, 0.0).sum(axis=1)
    pmf[window] = 0.0
    rows = np.flatnonzero(start.ravel() < G)
    pmf[rows, start.ravel()[rows]] += moved[rows]
    return pmf


def _condition_after(pmf: np.ndarray, start: int, total: float) -> np.ndarray:
    """The law conditioned on ``index >= start``: zero before, rescaled after to sum ``total`` (zero everywhere
    when nothing is left from ``start`` on)."""
    out = np.zeros_like(pmf)
    start = max(int(start), 0)
    if start >= len(pmf):
        return out
    tail = pmf[start:]
    s = tail.sum()
    if s <= 0:
        return out
    scale = total / s
    out[start:] = tail * scale
    return out


def _place_on_grid(pmf: np.ndarray, shift: int, grid: np.ndarray) -> np.ndarray:
    """A law on days 0.. after an event that happened ``shift`` days after the due date, as a grid row; days
    before the grid start pile on the first grid day, days after its end are dropped (not paid within the grid)."""
    row = np.zeros(len(grid))
    pos = np.arange(len(pmf)) + shift - grid[0]
    inside = (pos >= 0) & (pos < len(grid))
    np.add.at(row, pos[inside], pmf[inside])
    row[0] += pmf[pos < 0].sum()
    return row
