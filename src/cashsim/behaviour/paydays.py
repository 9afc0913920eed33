"""Payment days (*jours ouvrés*, *jours de paiement fixes*): each customer's calendar, and undoing it in the fit.

Rules (units: calendar days):

* A customer whose distinct payment dates fall mostly on 1-3 fixed days of the month (held the business day before
  when needed; binomial test against chance) gets its own calendar row of run days; everybody else pays on French
  business days (:mod:`cashsim.calendar`). Run days are found by a binomial test corrected for the choice of the
  days (:func:`detect_payment_runs`), from 6 payment dates on.
* The engine moves a drawn day to the **next** allowed day of the row (:func:`calendar_rows`, docs/design.md). So
  the fit undoes the calendar (:func:`_snap_windows`): a payment on allowed day ``d`` only says that the natural
  day lies in ``(p, d]``, ``p`` the previous allowed day -- an interval-censored observation (a Monday payment:
  Saturday to Monday; a run payer: the days since its previous run); an open invoice is censored at the last
  allowed day on or before ``as_of``. Fitting the observed dates as exact *and* snapping the fitted law forward
  counted the calendar twice (docs/validation.md, section "behaviour").
* Likewise an invoice open at ``as_of`` has its natural day after the customer's last payment day ``p`` on or
  before ``as_of`` (:func:`last_payment_days`), not after ``as_of``.

>>> d = pd.date_range("2026-11-06", periods=4)                  # Fri, Sat, Sun, Mon
>>> calendar_rows([], d)[0].tolist()
[0, 3, 3, 3]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from cashsim.calendar import is_business_day, next_allowed, run_dates


def business_days(dates: pd.DatetimeIndex) -> np.ndarray:
    """Boolean mask: weekday (Mon-Fri) and not a French public holiday (:func:`cashsim.calendar.is_business_day`)."""
    return is_business_day(pd.DatetimeIndex(dates))


def _calendar_index(runs: pd.Series, customers: np.ndarray) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """The distinct payment-run sets of ``customers`` (in order of first appearance in ``runs``) and each
    customer's calendar row: 0 = business days, ``k`` = the run days of ``run_sets[k - 1]``.

    ``runs``: customer -> tuple of run days of the month (:func:`detect_payment_runs`); customers not in it pay on
    business days.
    """
    customers = np.asarray(customers, str)
    runs = runs.reindex(pd.unique(customers)).dropna() if len(runs) else pd.Series(dtype=object)
    sets = list(dict.fromkeys(runs.tolist()))
    row_of = {r: i + 1 for i, r in enumerate(sets)}
    idx = pd.Series(customers).map(runs.map(row_of)).fillna(0).to_numpy(int) if len(runs) \
        else np.zeros(len(customers), int)
    return sets, idx


def _allowed_days(run_sets: list[tuple[int, ...]], days: pd.DatetimeIndex) -> np.ndarray:
    """Boolean matrix of the payment days over ``days``, one row per calendar of :func:`_calendar_index`: row 0
    business days, row ``k`` the run days of ``run_sets[k - 1]``."""
    return np.vstack([business_days(days)] + [run_dates(r, days) for r in run_sets])


def calendar_rows(run_sets: list[tuple[int, ...]], days: pd.DatetimeIndex) -> np.ndarray:
    """Payment-day calendars over ``days`` (engine convention: value = index of the day a payment drawn on that day
    is made; ``len(days)`` = beyond the span). Row 0: next business day; row ``k``: next run day of
    ``run_sets[k - 1]`` (the fitted law is the *natural* one, before the calendar: :func:`_snap_windows`).

    >>> d = pd.date_range("2026-11-06", periods=4)                  # Fri, Sat, Sun, Mon
    >>> calendar_rows([], d)[0].tolist()
    [0, 3, 3, 3]
    """
    return np.vstack([next_allowed(row) for row in _allowed_days(run_sets, days)]).astype(np.int64)


def detect_payment_runs(payments: pd.DataFrame, *, max_days: int = 3, min_dates: int = 6,
                        min_share: float = 0.7, alpha: float = 1e-6) -> pd.Series:
    """Each customer's habitual payment days of the month (*jours de règlement*), or no entry.

    ``payments`` has ``customer_id`` and ``payment_date`` (leave direct debits out: the creditor sets their dates).
    For every day of the month ``d`` (1..31), the run date in each month is ``d`` (clipped to month end) held the
    business day before when needed (:func:`run_dates`); greedily pick up to ``max_days`` days
    covering most distinct payment dates. A customer is a run payer when it has ``min_dates`` distinct dates, the days
    cover at least ``min_share`` of them, and chance would cover that many with probability below ``alpha``:
    binomial tail with ``p = k / 21.7`` business days a month, times ``C(31, k)`` (Bonferroni: the ``k`` days were
    chosen as the best of the ``C(31, k)`` sets of days of the month). The evidence is in the test, not in a count:
    6 dates all on one day already give ``31 (1/21.7)^6 = 3e-7``; the former floor of 12 dates left a run payer
    with one run a month undetected for its first year (on the demo, 4 of 35 run payers found after 10 months of
    history, 21 now, no false one), and an undetected run payer was fitted as a business-day payer whose
    run-held dates are natural days: its law was late by about half the gap between runs (+0.15 in log time, 10
    days, on the key accounts at the first back-test origins).

    >>> days = pd.date_range("2025-01-01", "2026-02-28")
    >>> pay = pd.DataFrame({"customer_id": "c1", "payment_date": days[run_dates((10,), days)]})
    >>> detect_payment_runs(pay).loc["c1"]
    (10,)
    """
    if payments.empty:
        return pd.Series(dtype=object)
    pay = payments[["customer_id", "payment_date"]].drop_duplicates()
    cust, cidx = np.unique(pay["customer_id"].astype(str).to_numpy(), return_inverse=True)
    n_dates = np.bincount(cidx, minlength=len(cust))
    eligible = n_dates >= min_dates
    if not eligible.any():
        return pd.Series(dtype=object)
    dates = pd.DatetimeIndex(pay["payment_date"].astype("datetime64[ns]"))
    span = pd.date_range(dates.min() - pd.Timedelta(days=1), dates.max() + pd.Timedelta(days=1), freq="D")
    pos = (dates - span[0]).days.to_numpy()
    is_run = np.column_stack([run_dates((dom,), span)[pos] for dom in range(1, 32)])  # (payments, 31)
    covered = np.zeros(len(pos), bool)
    chosen = np.zeros((len(cust), max_days), int)
    cov = np.zeros((len(cust), max_days))
    rows = np.arange(len(cust))
    for k in range(max_days):  # greedy set cover: each step takes the day covering most still-uncovered dates
        gain = np.column_stack([np.bincount(cidx, weights=is_run[:, d] & ~covered, minlength=len(cust))
                                for d in range(31)])
        best = gain.argmax(axis=1)
        chosen[:, k] = best + 1
        cov[:, k] = gain[rows, best] + (cov[:, k - 1] if k else 0.0)
        covered |= is_run[np.arange(len(pos)), best[cidx]]
    out = {}
    for k in range(1, max_days + 1):
        p_chance = stats.binom.sf(cov[:, k - 1] - 1, n_dates, min(1.0, k / 21.7)) * special.comb(31, k)
        ok = eligible & (cov[:, k - 1] >= min_share * n_dates) & (p_chance < alpha)
        for j in np.flatnonzero(ok):
            if cust[j] not in out:
                out[cust[j]] = tuple(sorted(int(d) for d in chosen[j, :k]))
    return pd.Series(out, dtype=object)


def last_payment_days(runs: pd.Series, as_of: pd.Timestamp, customers: np.ndarray, due_date: pd.Series
                      ) -> np.ndarray:
    """Per invoice, the last day of its customer's payment calendar on or before ``as_of`` (business day, or run
    day for a run payer; ``runs`` as :func:`detect_payment_runs` gives them), in days relative to ``due_date``.

    An invoice still open at ``as_of`` only says that its *natural* day (the fitted law's) is after that day,
    not after ``as_of``: a natural day in between is held to the next payment day after ``as_of``
    (:func:`cashsim.behaviour.laws.hold_unpaid_window`). Looks back 62 days (every calendar has a payment day each
    month).

    >>> last_payment_days(pd.Series(dtype=object), pd.Timestamp("2026-10-31"), np.array(["C1"]),
    ...                   pd.Series([pd.Timestamp("2026-10-29")])).tolist()   # as_of a Saturday: Friday is day +1
    [1]
    """
    span = pd.date_range(as_of - pd.Timedelta(days=62), as_of, freq="D")
    sets, idx = _calendar_index(runs, customers)
    allowed = _allowed_days(sets, span)
    last = np.where(allowed.any(axis=1), len(span) - 1 - np.argmax(allowed[:, ::-1], axis=1), len(span) - 1)
    last_date = span[0].to_datetime64() + last[idx].astype("timedelta64[D]")
    return ((last_date - pd.Series(due_date).to_numpy("datetime64[ns]")) // np.timedelta64(1, "D")).astype(int)


def _snap_windows(h: pd.DataFrame, runs: pd.Series, as_of: pd.Timestamp) -> pd.DataFrame:
    """The AFT response of each invoice once the payment calendar is undone (columns ``log_t``, ``log_lo``).

    A payment is held to the customer's next payment day (next business day, or next run day for a run payer), so
    a payment on day ``d`` says only that the natural day lies in ``(p, d]``, ``p`` the previous payment day of the
    customer's calendar: paid rows whose window is longer than one day become interval-censored,
    ``t in [k_lo + 0.5, k + 1.5)`` (``k`` days from issue to ``d``, ``k_lo`` to ``p + 1``); one-day windows keep the
    exact ``t = k + 1``. An open invoice says the natural day is after the last payment day on or before ``as_of``:
    censored at ``t = k_c + 1.5``. Fitting the observed dates as if exact and snapping the fitted law forward again
    (engine, summaries) counted the snapping twice -- about a day late and 2 points more late payers on the demo
    SME segment (docs/validation.md, "behaviour"). A payment on a day outside its calendar stays exact.

    >>> h = pd.DataFrame({"customer_id": ["c"], "issue_date": [pd.Timestamp("2026-10-01")],
    ...                   "paid_date": [pd.Timestamp("2026-11-02")], "paid": [True]})   # a Monday
    >>> r = _snap_windows(h, pd.Series(dtype=object), pd.Timestamp("2026-11-30"))
    >>> np.exp(r[["log_lo", "log_t"]].to_numpy()).round(1).tolist()   # natural day Sat 31 Oct .. Mon 2 Nov
    [[30.5, 33.5]]
    """
    issue = h["issue_date"].to_numpy("datetime64[D]")
    paid_day = h["paid_date"].to_numpy("datetime64[D]")
    paid = h["paid"].to_numpy(bool)
    start = issue.min() - np.timedelta64(40, "D")
    end = max(np.datetime64(as_of.date(), "D"), paid_day[paid].max() if paid.any() else start)
    span = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")
    sets, row = _calendar_index(runs, h["customer_id"].to_numpy(str))
    allowed = _allowed_days(sets, span)
    prev_incl = np.maximum.accumulate(np.where(allowed, np.arange(len(span)), -1), axis=1)
    i_issue = (issue - start).astype(np.int64)
    i_pay = np.where(paid, (np.where(paid, paid_day, start) - start).astype(np.int64), 0)
    off_run = paid & ~allowed[row, i_pay]
    row = np.where(off_run & allowed[0, i_pay], 0, row)
    exact = ~paid | ~allowed[row, i_pay]
    first = prev_incl[row, np.maximum(i_pay - 1, 0)] + 1          # first natural day held to the payment day
    k = i_pay - i_issue
    k_lo = np.clip(first - i_issue, 0, None)
    window = paid & ~exact & (k_lo < k) & (first > 0)
    i_asof = int((np.datetime64(as_of.date(), "D") - start).astype(np.int64))
    k_c = np.clip(prev_incl[row, i_asof] - i_issue, 0, None)
    log_t = np.where(window, np.log(np.maximum(k, 0) + 1.5),
                     np.where(paid, np.log(np.maximum(k, 0) + 1.0), np.log(k_c + 1.5)))
    log_lo = np.where(window, np.log(k_lo + 0.5), np.nan)
    return h.assign(log_t=log_t, log_lo=log_lo)


def _payments_with_customer(known) -> pd.DataFrame:
    """Payments of the ledger ``known`` (already cut at ``as_of``) with their customer, for run detection:
    positive invoices not on direct debit."""
    pay = known.payments[["invoice_id", "payment_date"]].merge(
        known.invoices[["invoice_id", "customer_id", "amount", "payment_method"]], on="invoice_id", how="inner")
    pay = pay[(pay["amount"] > 0) & (pay["payment_method"] != "direct_debit")]
    pay["payment_date"] = pay["payment_date"].astype("datetime64[ns]")
    return pay
