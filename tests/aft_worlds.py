"""Simulated censored AFT worlds for the month-effect tests (shared by test_behaviour_month_loading.py and
test_behaviour_segment_months.py): 40,000 invoices of 600 customers in three segments (300 / 150 / 150, the first
the largest), customer intercepts sd 0.3, noise sd 0.3, segment intercepts 3.3 / 3.0 / 3.6, about 8% of the rows
right-censored at a log-uniform time in 15-400 days; what differs is the due-month effect each row gets."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

N_CUSTOMERS = 600


def segment_world(month_effect: Callable[[np.random.Generator, np.ndarray, np.ndarray], np.ndarray], seed: int,
                  n_months: int = 36):
    """``(y, observed, X, kw, seg, per)``: ``month_effect(rng, seg, per)`` draws the world's month effects and
    returns each row's (drawn after the customers and due months, before the intercepts, noise and censoring);
    ``kw`` holds ``fit_aft``'s scale and cluster arguments (``period`` is the caller's)."""
    rng = np.random.default_rng(seed)
    seg_of = np.repeat([0, 1, 2], [300, 150, 150])
    cust = rng.integers(0, N_CUSTOMERS, 40_000)
    seg = seg_of[cust]
    per = rng.integers(0, n_months, len(cust))
    effect = month_effect(rng, seg, per)
    u = rng.normal(0.0, 0.3, N_CUSTOMERS)
    log_t = np.array([3.3, 3.0, 3.6])[seg] + u[cust] + effect + 0.3 * rng.standard_normal(len(cust))
    cens = np.log(rng.uniform(15.0, 400.0, len(cust)))
    X = np.column_stack([seg == s for s in range(3)]).astype(float)
    kw = dict(scale=seg, cluster=cust, cluster_group=np.zeros(N_CUSTOMERS, int))
    return np.minimum(log_t, cens), log_t < cens, X, kw, seg, per
