"""Cash recovered (otherwise lost) vs cash brought forward (the same cash, earlier), between two books.

A lever's extra cash by a date splits in two: cash the baseline would **never** collect (a threat, a court order or
a deposit recovers what would have been lost) and cash it collects **earlier** (reminders, discounts, direct
debit). Per invoice i, with E_i(d) its expected cash by date d (upfront + amount x P(paid by d), from its law given
``min_day``; discounts aside) and E_i(inf) what it ever brings within the grid:

    recovered_i(d) = sign(D_i) x min(|E'_i(d) - E_i(d)|, |D_i|)  when E'_i(d) - E_i(d) has the sign of D_i, else 0,
    D_i = E'_i(inf) - E_i(inf),

i.e. an invoice's extra cash counts as recovered up to what it gains for good, the rest as brought forward
(negative ``recovered``: cash lost for good, e.g. orders lost to a deposit; by the horizon's end an invoice paid
in full in both books has recovered nothing). Euros incl. VAT, exact expectations from the laws (no simulation;
payment-day snapping aside). The two books must hold the same invoices in the same order (levers never add or
remove a row).

Example::

    >>> recovered, ever = recovered_cash(book, after, pd.DatetimeIndex(["2026-11-30"]))   # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cashsim.errors import InputError
from cashsim.levers._book import _book_min_day, _ensure_columns, conditional_laws, per_book

if TYPE_CHECKING:
    from cashsim.simulate import Book


def cash_by_date(book: Book, dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Per invoice, expected cash collected by the end of each date (after as_of), (n_invoices, n_dates), and ever
    (within the grid), (n_invoices,): upfronts + amount x P(paid by d | min_day). Computed once per book and dates
    (:func:`~cashsim.levers._book.per_book`: a study compares every scenario with one baseline); read-only."""
    return _cash_by_when(book, _when(dates))


def _when(dates: pd.DatetimeIndex) -> np.ndarray:
    """``dates`` normalised, as datetime64[ns] values (what :func:`_cash_by_date` reads)."""
    return pd.DatetimeIndex(dates).normalize().to_numpy("datetime64[ns]")


def _cash_by_when(book: Book, when: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cash_by_date` of dates already made :func:`_when` values (kept per book)."""
    return per_book(book, ("cash_by_date", when.tobytes()), lambda: _cash_by_date(book, when))


def _cash_by_date(book: Book, when: np.ndarray, sel: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cash_by_date` of the invoices at positions ``sel`` (all: None); each invoice's figures are its own
    (its law row, dates and amounts), the same whichever others are computed with it."""
    inv = _ensure_columns(book)
    laws, inverse = conditional_laws(book, sel)
    if sel is not None:
        inv = inv.iloc[sel]
    cum = np.zeros((laws.shape[0], laws.shape[1] + 1))
    np.cumsum(laws, axis=1, out=cum[:, 1:])
    due = inv["due_date"].astype("datetime64[ns]").to_numpy()
    days = ((when[None, :] - due[:, None]) // np.timedelta64(1, "D")).astype(np.int64)
    pos = np.clip(days - int(book.grid[0]) + 1, 0, laws.shape[1])        # cum[:, p] = mass on grid positions < p
    amount = inv["amount"].to_numpy(float)
    paid = cum[inverse[:, None], pos] * amount[:, None]
    up = inv["upfront_amount"].to_numpy(float)
    up_when = inv["upfront_date"].astype("datetime64[ns]").to_numpy()
    got_up = ~np.isnat(up_when)[:, None] & (up_when[:, None] <= when[None, :])   # an upfront before as_of: by day 1
    return paid + np.where(got_up, up[:, None], 0.0), cum[inverse, -1] * amount + up


def recovered_cash(before: Book, after: Book, dates: pd.DatetimeIndex) -> tuple[np.ndarray, float]:
    """Cash ``after`` recovers over ``before`` by the end of each date (summed over invoices), and in the end.

    See the module docstring for the rule; negative values are cash lost for good. ``after`` must be ``before``
    transformed by levers (same invoices, same order)."""
    ids_b = before.invoices["invoice_id"].to_numpy()
    ids_a = after.invoices["invoice_id"].to_numpy()
    if len(ids_b) != len(ids_a) or not np.array_equal(ids_b, ids_a):
        raise InputError("recovered_cash: the two books must hold the same invoices in the same order")
    when = _when(dates)
    by_b, ever_b = _cash_by_when(before, when)
    changed = _changed_laws(before, after)
    if changed.all():
        by_a, ever_a = _cash_by_when(after, when)
    else:        # the invoices a lever left alone bring ``before``'s cash: only the others are worked out
        sel = np.flatnonzero(changed)
        by_a, ever_a = by_b.copy(), ever_b.copy()
        if len(sel):
            by_a[sel], ever_a[sel] = _cash_by_date(after, when, sel)
    gain = ever_a - ever_b
    extra = by_a - by_b
    same_sign = np.sign(extra) == np.sign(gain)[:, None]
    rec = np.where(same_sign, np.sign(gain)[:, None] * np.minimum(np.abs(extra), np.abs(gain)[:, None]), 0.0)
    return rec.sum(axis=0), float(gain.sum())


def _changed_laws(before: Book, after: Book) -> np.ndarray:
    """Per invoice, whether ``after`` may bring other cash than ``before`` by some date: a different pmf row (another
    row number, or a number past the rows both books share), first possible pay day, due date, amount or upfront.
    (Where none differs, :func:`cash_by_date` reads the same numbers in both.)"""
    a, b = _ensure_columns(after), _ensure_columns(before)
    n_shared = before.rows.shared_rows(after.rows)
    prof_a, prof_b = a["profile"].to_numpy(np.int64), b["profile"].to_numpy(np.int64)
    changed = (prof_a != prof_b) | (prof_a >= n_shared)
    changed |= _book_min_day(after) != _book_min_day(before)
    for col in ("due_date", "upfront_date"):
        changed |= (a[col].astype("datetime64[ns]").to_numpy().view(np.int64)
                    != b[col].astype("datetime64[ns]").to_numpy().view(np.int64))
    for col in ("amount", "upfront_amount"):
        x, y = (np.ascontiguousarray(t[col].to_numpy(float)) for t in (a, b))
        changed |= x.view(np.int64) != y.view(np.int64)          # bit for bit (NaN, -0.0)
    return changed
