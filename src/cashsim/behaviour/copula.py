"""Co-movement of payment days: the copula strengths ``rho_customer`` and ``rho_month`` estimated from history.

PIT of every invoice under its fitted marginal (randomised within the day for paid ones, on ``(F(c), 1)`` for
censored ones), ``z = Phi^-1(u)``; ``rho_customer`` = one-way random-effects intra-class correlation by customer x
quarter of due date (the forecast horizon's time scale; the customer's long-run level is already in ``u_j``) of
``z`` after removing due-month means (a month shared by a customer's invoices of a quarter is the month factor's,
not the customer's), ``rho_month`` = intra-class correlation by due month of ``z`` after removing customer means.
The engine's loadings are per invoice (:meth:`~cashsim.behaviour.model.PayerModel.loadings`): ``rho_month`` is the
scalar for a Book without them. With fewer
than 12 due months the month loading is floored at 0.05 (methods.md 1.5) and ``diagnostics["rho_month_floor"]``
says so; the two together are capped at 0.95. The engine's copula: docs/design.md, ``simulate``.

>>> icc_oneway(np.array([0.0, 0.1, 1.0, 1.1]), np.array([0, 0, 1, 1])) > 0.9
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from cashsim.behaviour.aft import standard_cdf

#: Month loading used when fewer than MIN_MONTHS_FOR_RHO due months are available (methods.md 1.5).
RHO_MONTH_FLOOR, MIN_MONTHS_FOR_RHO = 0.05, 12


def icc_oneway(z: np.ndarray, group: np.ndarray) -> float:
    """Intra-class correlation of ``z`` by ``group`` (one-way random-effects ANOVA, unbalanced groups):
    ``(MSB - MSW) / (MSB + (n0 - 1) MSW)``, ``n0 = (N - sum n_g^2 / N) / (G - 1)``; floored at 0.

    >>> rng = np.random.default_rng(1); g = np.repeat(np.arange(400), 10)
    >>> z = 0.5 * rng.standard_normal(400)[g] + rng.standard_normal(4000) * np.sqrt(0.75)
    >>> bool(abs(icc_oneway(z, g) - 0.25) < 0.05)
    True
    """
    _, g = np.unique(group, return_inverse=True)
    n_g = np.bincount(g)
    G, N = len(n_g), len(z)
    if G < 2 or N <= G:
        return 0.0
    means = np.bincount(g, weights=z) / n_g
    ssb = np.sum(n_g * (means - z.mean()) ** 2)
    ssw = np.sum((z - means[g]) ** 2)
    msb, msw = ssb / (G - 1), ssw / (N - G)
    n0 = (N - np.sum(n_g ** 2) / N) / (G - 1)
    return float(max(0.0, (msb - msw) / (msb + (n0 - 1) * msw)))


def _copula_strengths(hist: pd.DataFrame, eta: np.ndarray, sig: np.ndarray, rng: np.random.Generator,
                      family: Any = "lognormal", group: np.ndarray | None = None) -> tuple[float, float, dict]:
    """rho_customer and rho_month from the PIT of every invoice under its fitted marginal (module docstring)."""
    y = hist["log_t"].to_numpy()
    paid = hist["paid"].to_numpy()
    log_lo = hist["log_lo"].to_numpy(float) if "log_lo" in hist else np.full(len(y), np.nan)
    exact = np.isnan(log_lo)                               # interval rows: y is already the window's upper edge
    lo_edge = np.where(exact, np.log(np.maximum(np.exp(y) - 0.5, 1e-9)), log_lo)
    hi_edge = np.where(exact, np.log(np.exp(y) + 0.5), y)
    lo = standard_cdf((np.where(paid, lo_edge, y) - eta) / sig, family, group)
    hi = np.where(paid, standard_cdf((hi_edge - eta) / sig, family, group), 1.0)
    u = lo + (hi - lo) * rng.uniform(size=len(y))
    z = special.ndtri(np.clip(u, 1e-9, 1 - 1e-9))
    due = hist["due_date"]
    ci, _ = pd.factorize(hist["customer_id"])
    quarter = (due.dt.year * 4 + due.dt.quarter).to_numpy()
    month = (due.dt.year * 12 + due.dt.month).to_numpy()
    mi, _ = pd.factorize(month)
    z_months_out = z - (np.bincount(mi, weights=z) / np.bincount(mi))[mi]   # the month effect is its own factor
    rho_c = icc_oneway(z_months_out, ci.astype(np.int64) * 100_000 + quarter)
    z_within = z - (np.bincount(ci, weights=z) / np.bincount(ci))[ci]
    n_months = len(np.unique(month))
    rho_m = icc_oneway(z_within, month)
    info = {"n_due_months": n_months, "rho_month_estimate": rho_m, "rho_customer_estimate": rho_c,
            "pit_mean": float(u.mean()), "pit_sd": float(u.std())}
    if n_months < MIN_MONTHS_FOR_RHO:
        info["rho_month_floor"] = (f"only {n_months} due months (< {MIN_MONTHS_FOR_RHO}): rho_month floored at "
                                   f"{RHO_MONTH_FLOOR} (methods.md 1.5)")
        rho_m = max(rho_m, RHO_MONTH_FLOOR)
    total = rho_m + rho_c
    if total > 0.95:
        rho_m, rho_c = rho_m * 0.95 / total, rho_c * 0.95 / total
    return float(rho_m), float(rho_c), info
