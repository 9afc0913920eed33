"""Synthetic books of realistic shape for the benchmarks (no file, no network): log-normal payment-day laws."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cashsim.book import Book
from cashsim.calendar import business_day_calendar, payment_run_calendar

GRID = np.arange(-90, 366)
AS_OF = pd.Timestamp("2026-10-31")


def lognormal_pmfs(n_profiles: int, seed: int = 0) -> np.ndarray:
    """``n_profiles`` pmf rows: days since issue log-normal (median 25-70 days), terms 30, never-paid 1-5 %."""
    rng = np.random.default_rng(seed)
    median = rng.uniform(25, 70, n_profiles)
    sigma = rng.uniform(0.2, 0.6, n_profiles)
    never = rng.uniform(0.01, 0.05, n_profiles)
    t = GRID + 30.0  # days since issue at the end of each grid day
    cdf = stats.lognorm.cdf(np.clip(t[None, :] + 1, 1e-9, None), sigma[:, None], scale=median[:, None])
    pmf = np.diff(cdf, axis=1, prepend=0.0)
    return pmf * (1 - never)[:, None]


def synthetic_book(n_invoices: int, *, n_customers: int | None = None, n_profiles: int = 200, seed: int = 0,
                   horizon_days: int = 123) -> Book:
    """Open book of ``n_invoices`` invoices (due from 120 days ago to 60 days ahead), amounts log-normal ~2 500 €."""
    rng = np.random.default_rng(seed)
    n_customers = n_customers or max(1, n_invoices // 30)
    cust = rng.integers(0, n_customers, n_invoices)
    due = AS_OF + pd.to_timedelta(rng.integers(-120, 61, n_invoices), unit="D")
    min_day = np.maximum((AS_OF + pd.Timedelta(days=1) - due).days.to_numpy(), GRID[0])
    inv = pd.DataFrame({
        "invoice_id": [f"F{i}" for i in range(n_invoices)], "customer_id": [f"C{c}" for c in cust],
        "due_date": due, "issue_date": due - pd.Timedelta(days=30),
        "amount": np.round(rng.lognormal(np.log(2500), 0.8, n_invoices), 2),
        "profile": cust % n_profiles, "min_day": min_day, "calendar": (cust % 7 == 0).astype(int),
    })
    start = AS_OF + pd.Timedelta(days=1)
    calendars = np.vstack([business_day_calendar(start, horizon_days),
                           payment_run_calendar(start, horizon_days, [10, 25])])
    return Book(as_of=AS_OF, grid=GRID, pmfs=lognormal_pmfs(n_profiles, seed), invoices=inv, calendars=calendars)


def fresh_twin(book: Book) -> Book:
    """A new Book of ``book``'s very arrays: what the engine has never prepared (its tables built again, as a
    forecast's new book pays), the same numbers."""
    return Book(as_of=book.as_of, grid=book.grid, pmfs=book.pmfs, invoices=book.invoices, calendars=book.calendars)
