"""The point forecasts the backtest holds the model against (*méthodes de référence*), and the model's own median
payment date of each open invoice.

Each baseline predicts one payment date per invoice open at the origin ``o``, from what was known at ``o``; a date
already past is moved to ``o + 1``. Cash is then forecast in the month of that date, all or nothing:

* ``due_date``: the due date;
* ``customer_median``: due date + the customer's median days late over its paid invoices (the segment's, then the
  book's, when the customer has none);
* ``customer_disputed_median``: median days late by customer x disputed flag, falling back to the customer, then
  the book -- the best simple rule on the IBM sample (research/data-and-accuracy.md section 3).

Credit notes are never late: only paid invoices with a positive amount enter the medians.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BASELINES = ("due_date", "customer_median", "customer_disputed_median")


def _baseline_dates(hist: pd.DataFrame, open_book: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """Each baseline's predicted payment date for the open invoices (from what was known at ``origin``)."""
    paid = hist[(hist["status"] == "paid") & (hist["amount"] > 0)]  # credit notes are never late
    book_med = float(paid["days_late"].median()) if len(paid) else 0.0
    by_c = paid.groupby("customer_id")["days_late"].median()
    by_s = paid.groupby("segment")["days_late"].median()
    by_cd = paid.groupby(["customer_id", "disputed"])["days_late"].median()
    cust = open_book["customer_id"]
    med_c = cust.map(by_c).fillna(open_book["segment"].map(by_s)).fillna(book_med)
    key = pd.MultiIndex.from_arrays([cust, open_book["disputed"].astype(bool)])
    med_cd = pd.Series(by_cd.reindex(key).to_numpy(), index=open_book.index).fillna(med_c)
    floor = origin + pd.Timedelta(days=1)
    due = open_book["due_date"]
    out = pd.DataFrame(index=open_book.index)
    out["due_date"] = due.clip(lower=floor)
    out["customer_median"] = (due + pd.to_timedelta(med_c.round(), unit="D")).clip(lower=floor)
    out["customer_disputed_median"] = (due + pd.to_timedelta(med_cd.round(), unit="D")).clip(lower=floor)
    return out


def _model_median_dates(book, origin: pd.Timestamp) -> pd.Series:
    """Median payment date of each book invoice under its conditional law (NaT when P(never) >= 1/2), snapped
    through its calendar like the engine's draws."""
    inv = book.invoices
    cdf = np.cumsum(book.pmfs, axis=1)
    g0 = int(book.grid[0])
    prof = inv["profile"].to_numpy()
    start = np.clip(inv["min_day"].to_numpy() - g0, 0, len(book.grid))
    before = np.where(start > 0, cdf[prof, np.maximum(start - 1, 0)], 0.0)
    target = before + 0.5 * (1 - before)
    rows = cdf[prof]
    ok = rows[:, -1] >= target
    idx = np.argmax(rows >= target[:, None], axis=1)
    idx = np.maximum(idx, start)
    date = inv["due_date"] + pd.to_timedelta(idx + g0, unit="D")
    day = (date - (origin + pd.Timedelta(days=1))).dt.days.to_numpy()
    cal = book.calendars
    inside = ok & (day >= 0) & (day < cal.shape[1])
    snapped = day.copy()
    snapped[inside] = cal[inv["calendar"].to_numpy()[inside], day[inside]]
    result = origin + pd.Timedelta(days=1) + pd.to_timedelta(np.where(inside, snapped, day), unit="D")
    return pd.Series(np.where(ok, result, pd.NaT), index=inv["invoice_id"].to_numpy()).astype("datetime64[ns]")
