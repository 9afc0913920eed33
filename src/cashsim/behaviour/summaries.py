"""Summary tables of a fitted model: segments and customers, reliability score and class with reasons.

The summaries describe the law of an undisputed invoice of a customer not on direct debit, in a typical month,
snapped to its payment days like the engine's draws, averaged over the segment's (the customer's) actual invoices
-- the definition of the demo's ``truth.segments``. ``share_late = P(days_late > 0)`` with never-paid counted late;
reliability = ``P(paid by due + grace_days)``, class ``reliable`` at ``reliable_threshold``, reasons in words
(invoices seen, share paid within the grace days, median delay, trend of the last 6 months).

>>> _summaries(np.array([[0.2, 0.5, 0.3]]), np.array([-1, 0, 1]))   # (median days late, share late)
(array([0.]), array([0.3]))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse

from cashsim.behaviour.laws import GRID

if TYPE_CHECKING:
    from cashsim.behaviour.model import PayerModel


def _summaries(pmf: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median days late and share paid late (``days_late > 0``) of each pmf row, a never-paid invoice counting as
    late with ``days_late = +inf`` (the demo truth's definition)."""
    cdf = np.cumsum(pmf, axis=1)
    median = grid[np.argmax(cdf >= 0.5, axis=1)].astype(float)
    share_late = 1.0 - cdf[:, np.flatnonzero(grid == 0)[0]]
    return median, share_late


def _summary_sample(hist: pd.DataFrame, per_segment: int = 5000, per_customer: int = 3) -> pd.DataFrame:
    """The invoices that define the summaries: undisputed, not written off, of customers not on direct debit;
    per segment at most ``per_segment`` (systematic sample by issue date) plus each customer's last
    ``per_customer`` ones (so every customer has its own summary)."""
    h = hist[~hist["disputed"] & (hist["payment_method"] != "direct_debit")].sort_values("issue_date")
    if h.empty:
        h = hist.sort_values("issue_date")
    parts = []
    for _, g in h.groupby("segment"):
        step = max(1, int(np.ceil(len(g) / per_segment)))
        parts.append(g.iloc[::step].assign(for_segment=True))
    seg = pd.concat(parts)
    own = h.groupby("customer_id").tail(per_customer)
    own = own[~own.index.isin(seg.index)].assign(for_segment=False)
    return pd.concat([seg, own])


def _population_summaries(model: PayerModel, sample: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Laws of an undisputed invoice of a customer not on direct debit (in a month drawn from the month law),
    snapped to payment days, averaged over the segment's actual invoices (same customers, terms and dates in the
    same proportions) -- the definition of the demo's ``truth.segments`` -- and over each customer's recent ones.
    Returns (per segment, per customer) mean pmf rows as DataFrames indexed by segment / customer."""
    laws = model.snapped_laws(sample)
    is_seg = sample["for_segment"].to_numpy(bool)
    recent = sample.groupby("customer_id").cumcount(ascending=False).to_numpy() < 3
    seg, seg_names = _group_mean(laws, sample["segment"].to_numpy(str), is_seg)
    cust, c_names = _group_mean(laws, sample["customer_id"].to_numpy(str), recent)
    return (pd.DataFrame(seg, index=pd.Index(seg_names, name="segment")),
            pd.DataFrame(cust, index=pd.Index(c_names, name="customer_id")))


def _group_mean(rows: np.ndarray, keys: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the selected ``rows`` by key (a sparse indicator-matrix product: no Python loop)."""
    codes, names = pd.factorize(keys[mask])
    indicator = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))),
                                  shape=(len(names), len(codes)))
    return np.asarray(indicator @ rows[mask]) / np.bincount(codes)[:, None], np.asarray(names)


def _customer_table(hist, cust_df, cust_pmf, fit, cust_index, seg_index, cust_pi, seg_pi, grace_days, threshold,
                    as_of):
    """Per customer: shrinkage weight, median delay, share late, reliability P(paid by due + grace), class, reasons."""
    g = hist[hist["paid"]].groupby("customer_id")
    n_inv = hist.groupby("customer_id").size()
    n_paid = g.size()
    on_time = (hist.loc[hist["paid"], "days_late"] <= grace_days).groupby(hist.loc[hist["paid"], "customer_id"]).mean()
    med_obs = g["days_late"].median()
    recent_cut = as_of - pd.DateOffset(months=6)
    late = hist["paid"] & (hist["days_late"] > grace_days)
    recent = hist["paid_date"] > recent_cut
    share_recent = late[recent].groupby(hist.loc[recent, "customer_id"]).mean()
    share_before = late[hist["paid"] & ~recent].groupby(hist.loc[hist["paid"] & ~recent, "customer_id"]).mean()
    ids = cust_df["customer_id"].to_numpy(str)
    grid_ok = GRID <= grace_days
    reliability = cust_pmf[:, grid_ok].sum(axis=1)
    med, share_late = _summaries(cust_pmf, GRID)
    idx = np.array([cust_index[c] for c in ids])
    tau2 = fit.tau2[cust_df["segment"].map(seg_index).fillna(0).to_numpy(int)]
    shrink = 1.0 - fit.u_var[idx] / np.maximum(tau2, 1e-12)
    out = pd.DataFrame({
        "segment": cust_df["segment"].to_numpy(), "n_invoices": n_inv.reindex(ids).fillna(0).astype(int).to_numpy(),
        "n_paid": n_paid.reindex(ids).fillna(0).astype(int).to_numpy(),
        "shrinkage_weight": np.clip(shrink, 0, 1), "customer_effect": fit.u[idx],
        "median_days_late": med, "share_late": share_late, "reliability": reliability,
        "reliable": reliability >= threshold,
        "observed_on_time": on_time.reindex(ids).to_numpy(),
        "observed_median_days_late": med_obs.reindex(ids).to_numpy(),
        "late_share_6m": share_recent.reindex(ids).to_numpy(),
        "late_share_before": share_before.reindex(ids).to_numpy(),
        "p_never": cust_pi.reindex(ids).fillna(pd.Series(cust_df["segment"].map(seg_pi).to_numpy(), index=ids))
        .to_numpy(),
        "payment_method": cust_df["payment_method"].to_numpy(), "terms": cust_df["terms"].to_numpy(),
    }, index=pd.Index(ids, name="customer_id"))
    out["reasons"] = _reasons(out, grace_days)
    return out


def _reasons(c: pd.DataFrame, grace: int) -> list[str]:
    """A short sentence per customer: invoices seen, share on time, median delay, trend (last 6 months vs before)."""
    def pct(x):
        return "n/a" if pd.isna(x) else f"{x:.0%}"

    out = []
    for r in c.itertuples():
        trend = "no trend yet"
        if not pd.isna(r.late_share_6m) and not pd.isna(r.late_share_before):
            diff = r.late_share_6m - r.late_share_before
            word = "worsening" if diff > 0.1 else "improving" if diff < -0.1 else "stable"
            trend = (f"{word} ({pct(r.late_share_6m)} late > {grace} d in the last 6 months vs "
                     f"{pct(r.late_share_before)} before)")
        med = "n/a" if pd.isna(r.observed_median_days_late) else f"{r.observed_median_days_late:+.0f} d"
        out.append(f"{r.n_invoices} invoices seen ({r.n_paid} paid); {pct(r.observed_on_time)} paid within "
                   f"{grace} d of due; median delay {med}; {trend}; model P(paid by due + {grace} d) "
                   f"{r.reliability:.0%}")
    return out
