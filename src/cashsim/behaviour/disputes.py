"""Disputes (*litiges*): resolution time and payment after resolution, Kaplan-Meier on the history.

Disputes with an opening date are kept out of the AFT (their delay is resolution + payment, not a scaled normal
time). Rules (units: calendar days):

* Resolution time per dispute type: weighted Kaplan-Meier (recency weights), unresolved disputes censored at their
  age; types with fewer than 10 disputes use the pooled law; a prior log-normal when the history has none.
* Delay from resolution to payment: weighted Kaplan-Meier, resolved disputes still unpaid censored.
* An open dispute is paid after the rest of its resolution time (conditioned on the dispute's age) plus that
  delay, a resolved one after the rest of the delay (:mod:`cashsim.behaviour.booking`). Their lateness is the
  dispute's: the never-paid share of an open dispute stays ``pi`` (nobody pays before the end of the dispute) and
  that of a resolved one is updated by the post-resolution survival only.
* Plan invoices may become disputed: per segment, the Kaplan-Meier law of days late of disputed invoices on the
  grid, mixed in at the segment's recent dispute rate.
* A dispute flag without dates (:data:`UNDATED`, the IBM sample) is no covariate: it is known only on invoices
  closed by ``as_of`` (:meth:`cashsim.ledger.Ledger.known_at`), so the laws fitted are the marginal ones over
  dispute status (:mod:`cashsim.behaviour.history`); an open invoice flagged at the extraction date keeps the
  type :data:`UNDATED` in its book row, which no coefficient moves.

>>> int(np.argmax(_lognormal_days_pmf(*DISPUTE_PRIOR).cumsum() >= 0.5))   # prior median resolution time
30
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cashsim.behaviour.laws import DAYS, GRID, km_pmf

#: Dispute type given to disputed invoices without an opening date (e.g. the IBM sample: a flag only).
UNDATED = "undated"
#: Prior laws (median days, log-sd) used only when the history has no dated dispute: resolution time (the
#: demo's and clearreceivables' order of magnitude, 2-5 weeks) and payment after resolution (about a week).
DISPUTE_PRIOR, POST_RESOLUTION_PRIOR = (30.0, 0.6), (7.0, 0.5)


def _disputes(hist: pd.DataFrame, as_of: pd.Timestamp, weights: np.ndarray) -> tuple[dict[str, np.ndarray],
                                                                                    np.ndarray, dict]:
    """Resolution-time law per dispute type (weighted Kaplan-Meier, unresolved disputes censored at their age;
    types with fewer than 10 disputes use the pooled law) and the delay from resolution to payment."""
    d = hist[hist["disputed"] & hist["dispute_opened"].notna()]
    w = weights[d.index.to_numpy()]
    resolved = d["dispute_resolved"].notna().to_numpy()
    end = d["dispute_resolved"].where(d["dispute_resolved"].notna(), as_of)
    dur = (end - d["dispute_opened"]).dt.days.clip(0, None).to_numpy()
    laws: dict[str, np.ndarray] = {}
    info: dict[str, Any] = {"n_disputes": int(len(d))}
    if len(d) == 0:
        laws["all"] = _lognormal_days_pmf(*DISPUTE_PRIOR)
        info["dispute_note"] = (f"no dated dispute in the history: open disputes use a prior resolution law "
                                f"(log-normal, median {DISPUTE_PRIOR[0]:.0f} days, log-sd {DISPUTE_PRIOR[1]})")
    else:
        laws["all"] = km_pmf(dur, resolved, w)
        types = d["dispute_type"].to_numpy(str)
        for t in np.unique(types):
            m = types == t
            laws[str(t)] = km_pmf(dur[m], resolved[m], w[m]) if m.sum() >= 10 else laws["all"]
    r = d[resolved]
    if len(r):
        paid = r["paid_date"].notna().to_numpy()
        end_p = r["paid_date"].where(r["paid_date"].notna(), as_of)
        delay = (end_p - r["dispute_resolved"]).dt.days.clip(0, None).to_numpy()
        post = km_pmf(delay, paid, weights[r.index.to_numpy()])
    else:
        post = _lognormal_days_pmf(*POST_RESOLUTION_PRIOR)
        info["post_note"] = (f"no resolved dispute in the history: payment after resolution follows a prior "
                             f"(log-normal, median {POST_RESOLUTION_PRIOR[0]:.0f} days, log-sd "
                             f"{POST_RESOLUTION_PRIOR[1]})")
    return laws, post, info


def _lognormal_days_pmf(median: float, sigma: float, days: np.ndarray = DAYS) -> np.ndarray:
    """P(duration = d days), d = 0..365, of a log-normal rounded to whole days (a prior law)."""
    edges = stats.lognorm(s=sigma, scale=median).cdf(np.concatenate([[0.0], days + 0.5]))
    return np.diff(edges)


def _disputed_laws(hist: pd.DataFrame, as_of: pd.Timestamp, weights: np.ndarray, min_rows: int = 20) -> dict:
    """Per segment, the law of ``days_late`` of a disputed invoice on :data:`GRID` (weighted Kaplan-Meier, open
    disputed invoices censored at their days overdue; segments with fewer than ``min_rows`` use the pooled law),
    for plan invoices that may become disputed. Key ``"__all__"`` is the pooled law."""
    d = hist[hist["disputed"] & ~hist["written_off"]]
    days = np.arange(len(GRID))
    if d.empty:
        return {}
    late = np.where(d["paid"], d["days_late"].fillna(0), (as_of - d["due_date"]).dt.days)
    dur = np.clip(late - GRID[0], 0, len(GRID) - 1).astype(int)
    w = weights[d.index.to_numpy()]
    paid = d["paid"].to_numpy()
    out = {"__all__": km_pmf(dur, paid, w, days)}
    seg = d["segment"].to_numpy(str)
    for s in np.unique(seg):
        m = seg == s
        out[s] = km_pmf(dur[m], paid[m], w[m], days) if m.sum() >= min_rows else out["__all__"]
    return out
