"""Days sales outstanding (*DSO*) as it stood at any date: the standard and the countback methods, and their history.

Rules (euros incl. VAT on both sides, calendar days): standard DSO = AR / credit sales of the period x days of the
period (the month to date then full months, ``period_months`` of them); countback DSO (*méthode par épuisement*) =
the days of the latest months whose sales the receivables exhaust, the last month pro rata. AR = outstanding of
open invoices, credit notes netted, write-offs excluded. The same formulas on the amount not yet due give the best
possible DSO (BPDSO); DSO - BPDSO is the average days delinquent (ADD).

Example::

    >>> dso_standard(30_000, 60_000, 90)        # AR 30 000, sales 60 000 over 90 days
    45.0
    >>> round(float(dso_countback(212_000, [100_000, 80_000, 70_000], [30, 30, 30])), 1)
    73.7
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cashsim.errors import LedgerError
from cashsim.kpi._common import _group, _tidy, _ts, status_as_of
from cashsim.ledger import OPEN_STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from cashsim.ledger import Ledger


def dso_standard(ar, credit_sales, days):
    """Standard (accounting) DSO: ``AR / credit sales x days`` of the period, both incl. VAT (*DSO TTC*).

    >>> dso_standard(30_000, 60_000, 90)
    45.0
    """
    ar, sales, days = (np.asarray(x, dtype=float) for x in (ar, credit_sales, days))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sales > 0, ar / sales * days, np.nan)
    return float(out) if out.ndim == 0 else out


def dso_countback(ar, sales_latest_first, days_latest_first):
    """Countback DSO (*méthode par épuisement*): days of the latest months whose sales the receivables exhaust.

    Walk back from the latest month: while the remaining AR covers the month's sales ``S_k``, subtract them and add
    the month's days ``D_k``; in the first month where it does not, add ``D_k x AR_rem / S_k`` and stop. Vectorised
    over rows: ``ar`` shape (N,), sales and days (N, K). A month with no sales adds its days. AR <= 0 gives 0;
    receivables larger than all the sales given give NaN (the history is too short to exhaust them).

    >>> round(float(dso_countback(212_000, [100_000, 80_000, 70_000], [30, 30, 30])), 1)
    73.7
    """
    scalar = np.ndim(ar) == 0
    ar = np.atleast_1d(np.asarray(ar, dtype=float))
    sales = np.atleast_2d(np.asarray(sales_latest_first, dtype=float))
    days = np.broadcast_to(np.atleast_2d(np.asarray(days_latest_first, dtype=float)), sales.shape)
    cum = np.cumsum(sales, axis=1)
    # ">=" with a cent of slack: receivables that exactly exhaust k months (sums of the same invoices, float noise)
    over = cum >= ar[:, None] - 0.005
    k = over.argmax(axis=1)
    found = over.any(axis=1)
    rows = np.arange(len(ar))
    before = np.cumsum(days, axis=1) - days
    prev = cum[rows, k] - sales[rows, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = before[rows, k] + days[rows, k] * (ar - prev) / sales[rows, k]
    out = np.where(found, out, np.nan)
    out = np.where(ar <= 0, 0.0, out)
    return float(out[0]) if scalar else out


def _days_back(as_of: pd.Timestamp, n_months: int) -> np.ndarray:
    """Days of the latest-first periods ending at ``as_of``: the month to date, then full calendar months."""
    months = pd.period_range(end=as_of.to_period("M"), periods=n_months, freq="M")[::-1]
    days = months.days_in_month.to_numpy().astype(float)
    days[0] = as_of.day
    return days


def _sales_by_period(inv: pd.DataFrame, groups: pd.Series, as_of: pd.Timestamp, n_periods: int) -> pd.DataFrame:
    """Credit sales per group (rows) and period (columns 0 = month to date, 1 = previous month, ...)."""
    issue = inv["issue_date"]
    back = (as_of.year * 12 + as_of.month) - (issue.dt.year * 12 + issue.dt.month)     # months back from as_of
    keep = (inv["issue_date"] <= as_of).to_numpy() & (back.to_numpy() < n_periods)
    table = inv.loc[keep, "amount"].groupby([groups[keep], back[keep]]).sum().unstack(fill_value=0.0)
    return table.reindex(columns=range(n_periods), fill_value=0.0)


def dso_at(ledger: Ledger, as_of, *, by: str | None = None, period_months: int = 3,
           max_months: int = 36) -> pd.DataFrame:
    """DSO as it stood at the end of ``as_of``, by the standard and the countback methods, with BPDSO and ADD.

    Columns: ar (open receivables incl. VAT, credit notes netted, write-offs excluded), ar_not_due, sales_period
    (credit sales of the last ``period_months`` periods: the month to date then full months), days_period,
    dso_standard = ar / sales_period x days_period, dso_countback (actual days per month, latest first),
    bpdso_* = the same formulas on ar_not_due (best possible DSO), add_* = DSO - BPDSO (average days delinquent).
    The standard DSO is NaN while its period reaches back before the ledger's first invoice.
    """
    as_of = _ts(as_of)
    st = status_as_of(ledger, as_of)
    inv = st.loc[st["issue_date"] <= as_of]
    open_ = inv["status"].isin(OPEN_STATUSES)
    g = _group(inv, by)
    ar = inv["outstanding"].where(open_, 0.0).groupby(g).sum()
    ar_nd = inv["outstanding"].where(inv["status"].eq("open_not_due"), 0.0).groupby(g).sum()
    days = _days_back(as_of, max_months)
    sales = _sales_by_period(inv, g, as_of, max_months).reindex(ar.index, fill_value=0.0)
    s = sales.to_numpy()
    k = period_months
    out = pd.DataFrame({"as_of": as_of, "ar": ar, "ar_not_due": ar_nd.reindex(ar.index, fill_value=0.0)})
    out["sales_period"] = s[:, :k].sum(axis=1)
    out["days_period"] = days[:k].sum()
    out["dso_standard"] = dso_standard(out["ar"], out["sales_period"], out["days_period"])
    out["dso_countback"] = dso_countback(out["ar"].to_numpy(), s, days)
    out["bpdso_standard"] = dso_standard(out["ar_not_due"], out["sales_period"], out["days_period"])
    out["bpdso_countback"] = dso_countback(out["ar_not_due"].to_numpy(), s, days)
    if len(inv) and (as_of.to_period("M") - (k - 1)) < inv["issue_date"].min().to_period("M"):
        # the period reaches back before the first invoice: its sales are incomplete, the ratio would mislead
        out[["dso_standard", "bpdso_standard"]] = np.nan
    out["add_standard"] = out["dso_standard"] - out["bpdso_standard"]
    out["add_countback"] = out["dso_countback"] - out["bpdso_countback"]
    out.index.name = "group"
    return _tidy(out, by, ledger)


def month_ends(ledger: Ledger, start=None, end=None) -> pd.DatetimeIndex:
    """Month-end dates from the first invoice's month (or ``start``) to ``end`` (default: the last issue date)."""
    issue = pd.to_datetime(ledger.invoices["issue_date"])
    if issue.empty:
        raise LedgerError("the ledger has no invoices: no KPI history can be computed")
    lo = _ts(start) if start is not None else issue.min()
    hi = _ts(end) if end is not None else issue.max()
    ends = pd.period_range(lo.to_period("M"), hi.to_period("M"), freq="M").end_time.normalize()
    return pd.DatetimeIndex(ends[ends <= hi].append(pd.DatetimeIndex([hi]) if hi not in ends else
                                                     pd.DatetimeIndex([])))


def dso_history(ledger: Ledger, start=None, end=None, *, by: str | None = None,
                period_months: int = 3) -> pd.DataFrame:
    """:func:`dso_at` at each month end of the history (and at ``end`` itself): the DSO curve as it stood then.

    Adds ``month`` ("YYYY-MM") and ``dso_change`` (countback DSO minus the previous row's, per group).
    """
    frames = [dso_at(ledger, d, by=by, period_months=period_months) for d in month_ends(ledger, start, end)]
    out = pd.concat(frames, ignore_index=True)
    out.insert(out.columns.get_loc("as_of") + 1, "month", out["as_of"].dt.strftime("%Y-%m"))
    out["dso_change"] = out.groupby("group")["dso_countback"].diff()
    return out
