"""The demo company's sales: invoices drawn month by month, their due dates, and the month shocks by due month.

Expected invoicing of a segment in month ``m`` is ``monthly_sales x SALES_SEASON[m] x (1 + SALES_GROWTH) ** years``
(years from AS_OF, so the level at AS_OF is ``monthly_sales``): August low, December high, 4 % growth a year. The
invoice count of a (customer, month) is Poisson with mean the customer's share of that over its average invoice;
each invoice is issued on a business day of the month, due ``terms`` days later (or at the end of the month in which
issue + terms falls, *fin de mois*), for its customer's average invoice times a mean-one log-normal (to the cent).

Example::

    >>> expected_monthly_sales().loc["2026-10"].round(-3).tolist()
    [489000.0, 413000.0, 130000.0, 196000.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim.calendar import business_calendar
from cashsim.demo.laws import (
    AS_OF,
    AUGUST_EFFECT,
    FUTURE_MONTHS,
    HISTORY_START,
    SALES_GROWTH,
    SALES_SEASON,
    SEGMENT_LAWS,
    SEGMENTS,
    STRESS_EFFECT,
    STRESS_MONTHS,
)


def _months() -> pd.DatetimeIndex:
    """Invoicing months: three years of history up to AS_OF plus FUTURE_MONTHS after it."""
    return pd.date_range(HISTORY_START, AS_OF + pd.offsets.MonthBegin(FUTURE_MONTHS), freq="MS")


def expected_monthly_sales(months: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Expected invoicing (euros incl. VAT) by month and segment: ``monthly_sales x season x growth``.

    Growth is ``(1 + SALES_GROWTH) ** (years from AS_OF)``, so the level at AS_OF is the segment's monthly_sales.
    """
    months = _months() if months is None else months
    years = (months + pd.Timedelta(days=14) - AS_OF).days.to_numpy() / 365.25
    factor = SALES_SEASON[months.month.to_numpy() - 1] * (1 + SALES_GROWTH) ** years
    return pd.DataFrame({s: SEGMENT_LAWS[s].monthly_sales * factor for s in SEGMENTS},
                        index=months.strftime("%Y-%m"))


def _due_dates(issue: np.ndarray, terms: np.ndarray, eom: np.ndarray) -> np.ndarray:
    """Due day: issue + terms, or the end of the month in which issue + terms falls (*fin de mois*)."""
    plain = issue + terms
    month_end = ((plain.astype("datetime64[D]").astype("datetime64[M]") + 1).astype("datetime64[D]")
                 .astype(np.int64) - 1)
    return np.where(eom, month_end, plain)


def _invoices(rng: np.random.Generator, cust: pd.DataFrame) -> pd.DataFrame:
    """Invoice skeleton: customer, issue day (a business day), due day, amount; Poisson counts per month."""
    months = _months()
    expected = expected_monthly_sales(months)
    seg = cust["segment"].to_numpy()
    # expected invoices per (customer, month) = customer share of segment sales / its average invoice
    seg_factor = expected[list(seg)].to_numpy() / np.array([SEGMENT_LAWS[s].monthly_sales for s in seg])
    rate = seg_factor * (cust["monthly_sales"] / cust["average_invoice"]).to_numpy()
    counts = rng.poisson(rate)                                   # (months, customers)
    m_idx, c_idx = np.nonzero(counts)
    reps = counts[m_idx, c_idx]
    m_idx, c_idx = np.repeat(m_idx, reps), np.repeat(c_idx, reps)
    start = months.values.astype("datetime64[D]")[m_idx]
    end = (months + pd.offsets.MonthBegin(1)).values.astype("datetime64[D]")[m_idx]
    n_bd = np.busday_count(start, end, busdaycal=business_calendar())
    k = np.floor(rng.random(m_idx.size) * n_bd).astype(np.int64)
    issue = np.busday_offset(start, k, roll="forward", busdaycal=business_calendar()).astype(np.int64)
    terms = cust["terms_days"].to_numpy()[c_idx]
    due = _due_dates(issue, terms, cust["end_of_month"].to_numpy()[c_idx])
    # amount: customer's average invoice times a mean-one log-normal, to the cent
    amount = np.round(cust["average_invoice"].to_numpy()[c_idx] * rng.lognormal(-0.125, 0.5, c_idx.size), 2)
    order = np.lexsort((c_idx, issue))
    return pd.DataFrame({"cust": c_idx[order], "issue": issue[order], "due": due[order], "amount": amount[order]})


def month_effects(rng: np.random.Generator) -> pd.DataFrame:
    """The realised month shocks by month of due date: ``M`` ~ N(0, 1) and the fixed calendar ``effect``."""
    months = pd.date_range(HISTORY_START, AS_OF + pd.offsets.MonthBegin(FUTURE_MONTHS + 14), freq="MS")
    label = months.strftime("%Y-%m")
    effect = np.where(months.month == 8, AUGUST_EFFECT, 0.0) + np.where(label.isin(STRESS_MONTHS), STRESS_EFFECT, 0)
    return pd.DataFrame({"M": rng.standard_normal(months.size), "effect": effect}, index=pd.Index(label, name="month"))
