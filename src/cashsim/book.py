"""The engine's input (*portefeuille de créances à encaisser*): a :class:`Book` of invoices still to collect, the law
of each one's payment day and the calendars payments are held to.

What behaviour builds (``PayerModel.book``), levers transform (``Book -> Book``) and the engine simulates
(:func:`cashsim.simulate.simulate`). The rule (docs/design.md, ``simulate``):

* ``grid``: consecutive integer days relative to the due date (e.g. ``numpy.arange(-90, 366)``).
* ``pmfs[p, g]`` = P(paid on grid day ``g``) for profile ``p``; a row sums to at most 1, the remainder = never paid.
* ``invoices``: one row per invoice (amounts in euros incl. VAT); ``profile`` is its pmf row, ``min_day`` the
  earliest pay day relative to the due date (an invoice already ``a`` days overdue starts at ``a + 1``: the engine
  conditions its law on "not paid before"), ``calendar`` its row of ``calendars``.
* ``calendars[k, d]``: day index on which a payment drawn on day index ``d`` (day 0 = ``as_of + 1``) is made,
  ``>= n_days`` = after the horizon; rows are built with :func:`cashsim.calendar.business_day_calendar` and
  :func:`cashsim.calendar.payment_run_calendar`.

Validated on construction: a bad book raises :class:`~cashsim.errors.ModelError` naming the row and column. Plain
numpy and pandas, no numba: importing it is cheap for every stage that builds or transforms a book.

Example::

    >>> grid = np.arange(-90, 366)
    >>> inv = pd.DataFrame({"invoice_id": ["F1"], "customer_id": ["C1"], "due_date": [pd.Timestamp("2026-11-20")],
    ...                     "amount": [1200.0], "profile": [0], "min_day": [-90]})
    >>> book = Book(as_of=pd.Timestamp("2026-10-31"), grid=grid, pmfs=np.where(grid == 10, 0.9, 0.0)[None, :],
    ...             invoices=inv)
    >>> book.n_invoices, book.total_to_collect(), book.calendars.shape
    (1, 1200.0, (1, 731))
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cashsim.calendar import business_day_calendar
from cashsim.errors import ModelError

BOOK_REQUIRED = ("invoice_id", "customer_id", "due_date", "amount", "profile", "min_day")
BOOK_DEFAULTS: dict[str, Any] = {"segment": "all", "is_future": False, "issue_date": pd.NaT, "calendar": 0,
                                 "upfront_amount": 0.0, "upfront_date": pd.NaT, "discount_rate": 0.0,
                                 "discount_day": np.nan}


@dataclass(frozen=True, eq=False)
class Book:
    """What the engine collects: invoices, their payment-day laws (pmf rows on ``grid``) and payment calendars.

    ``grid``: consecutive days relative to the due date; ``pmfs[p, g]`` = P(paid on grid day g), row sum <= 1,
    the remainder never paid. ``invoices`` (one row per invoice still to collect, amounts in euros incl. VAT):
    ``invoice_id, customer_id, due_date, amount, profile, min_day`` are required; ``segment, is_future,
    issue_date, calendar, upfront_amount, upfront_date, discount_rate, discount_day`` default to
    ``"all", False, NaT, 0, 0.0, NaT, 0.0, NaN``; other columns are kept. ``calendars[k, d]`` = day index on which
    a payment drawn on day index ``d`` (day 0 = ``as_of + 1``) is made, ``>= n_days`` = after the horizon;
    ``None`` = business days (weekends only) over 731 days. Validated on construction (:class:`ModelError`).
    """

    as_of: pd.Timestamp
    grid: np.ndarray
    pmfs: np.ndarray
    invoices: pd.DataFrame
    calendars: np.ndarray | None = None

    def __post_init__(self) -> None:
        as_of = pd.Timestamp(self.as_of).normalize()
        grid = np.asarray(self.grid, dtype=np.int64)
        pmfs = np.asarray(self.pmfs, dtype=np.float64)
        if grid.ndim != 1 or len(grid) == 0 or np.any(np.diff(grid) != 1):
            raise ModelError("Book.grid must be consecutive integer days (e.g. numpy.arange(-90, 366))")
        if pmfs.ndim != 2 or pmfs.shape[1] != len(grid):
            raise ModelError(f"Book.pmfs must have shape (n_profiles, {len(grid)}) to match the grid, got "
                             f"{pmfs.shape}")
        _check_pmf_rows(pmfs)
        inv = _normalise_invoices(self.invoices, pmfs.shape[0], grid)
        n_days_default = 731
        cal = (business_day_calendar(as_of + pd.Timedelta(days=1), n_days_default)[None, :]
               if self.calendars is None else np.asarray(self.calendars))
        if cal.ndim != 2 or cal.shape[1] == 0 or not np.issubdtype(cal.dtype, np.integer):
            raise ModelError("Book.calendars must be a 2-D integer array (n_calendars, n_days); build rows with "
                             "cashsim.calendar.business_day_calendar / payment_run_calendar")
        cal = cal.astype(np.int64)
        if (cal < 0).any():
            raise ModelError("Book.calendars has a negative day index; indices count days from as_of + 1")
        _check_calendar_rows(inv, cal)
        object.__setattr__(self, "as_of", as_of)
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "pmfs", pmfs)
        object.__setattr__(self, "invoices", inv)
        object.__setattr__(self, "calendars", cal)

    def derive(self, invoices: pd.DataFrame, added_pmfs: np.ndarray | None = None) -> Book:
        """This book with another invoice table and, optionally, pmf rows appended (``numpy.vstack([pmfs, added])``):
        the book ``dataclasses.replace(self, invoices=..., pmfs=...)`` builds, with the same checks and errors, but
        what this book's construction checked (its grid, calendars and pmf rows, all unchanged) is not checked
        again: only the added rows and the invoice table are. What levers build their result with.

        The rows are not copied: the new book keeps this book's rows and the added ones as they are
        (:class:`PmfRows`), and ``pmfs`` gathers them into one array the first time it is read (a lever study's
        books are many, each a few rows more than the one it came from: most are never read whole, see
        :meth:`pmf_rows` and :func:`cashsim.simulate.simulate`)."""
        if type(self) is not Book:
            pmfs = self.pmfs if added_pmfs is None or not len(added_pmfs) else np.vstack([self.pmfs, added_pmfs])
            return dataclasses.replace(self, invoices=invoices, pmfs=pmfs)
        rows = self.rows
        if added_pmfs is not None and len(added_pmfs):
            added = np.asarray(added_pmfs, dtype=np.float64)
            if added.ndim != 2 or added.shape[1] != len(self.grid):
                raise ModelError(f"Book.pmfs must have shape (n_profiles, {len(self.grid)}) to match the grid, got "
                                 f"{added.shape} added rows")
            _check_pmf_rows(added, first_row=rows.n)
            rows = PmfRows((*rows.parts, added))
        inv = _normalise_invoices(invoices, rows.n, self.grid, checked=self.invoices)
        _check_calendar_rows(inv, self.calendars)
        book = object.__new__(Book)
        for name, value in (("as_of", self.as_of), ("grid", self.grid), ("invoices", inv),
                            ("calendars", self.calendars), ("rows", rows)):
            object.__setattr__(book, name, value)
        if rows.whole is not None:
            object.__setattr__(book, "pmfs", rows.whole)
        return book

    def __getattr__(self, name: str) -> Any:
        # only reached when ``name`` is not set: ``pmfs`` of a derived book, gathered on first use; ``rows`` of a
        # book built by its constructor
        if name == "pmfs" and "rows" in self.__dict__:
            pmfs = self.__dict__["rows"].gather()
            object.__setattr__(self, "pmfs", pmfs)
            return pmfs
        if name == "rows" and "pmfs" in self.__dict__:
            rows = PmfRows((self.__dict__["pmfs"],), whole=self.__dict__["pmfs"])
            with _ROWS_LOCK:
                return self.__dict__.setdefault("rows", rows)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def n_profiles(self) -> int:
        """Number of pmf rows (``len(pmfs)``, without gathering them)."""
        return self.rows.n

    def pmf_rows(self, index: np.ndarray) -> np.ndarray:
        """``pmfs[index]`` (a new array) for an array of row numbers, without gathering every row first."""
        return self.rows.take(index)

    @property
    def n_invoices(self) -> int:
        return len(self.invoices)

    def total_to_collect(self) -> float:
        """Euros still to collect: ``amount + upfront_amount`` summed over invoices."""
        return float(self.invoices["amount"].sum() + self.invoices["upfront_amount"].sum())


class PmfRows:
    """A book's pmf rows as the blocks they were built in (``parts``: the constructor's array, then the rows each
    :meth:`Book.derive` added), shared by the books derived from one another and never modified. ``whole``: the
    rows as one array, once gathered (the constructor's own array for a book built from it)."""

    __slots__ = ("__weakref__", "ends", "parts", "whole")

    def __init__(self, parts: tuple[np.ndarray, ...], whole: np.ndarray | None = None) -> None:
        self.parts = parts
        self.ends = np.cumsum([len(p) for p in parts], dtype=np.int64)
        self.whole = whole if whole is not None else parts[0] if len(parts) == 1 else None

    @property
    def n(self) -> int:
        return int(self.ends[-1])

    def gather(self) -> np.ndarray:
        """The rows as one array (``numpy.vstack(parts)``), gathered once."""
        if self.whole is None:
            whole = np.vstack(self.parts)
            with _ROWS_LOCK:
                if self.whole is None:
                    self.whole = whole
        return self.whole

    def take(self, index: np.ndarray) -> np.ndarray:
        """``gather()[index]`` (a new array) for an array of row numbers (the same values), read from the blocks."""
        index = np.asarray(index, dtype=np.int64)
        if self.whole is not None:
            return self.whole[index]
        if index.size and (index.min() < 0 or index.max() >= self.n):
            raise IndexError(f"pmf row out of range 0..{self.n - 1}")
        out = np.empty((*index.shape, self.parts[0].shape[1]), dtype=np.float64)
        block = np.searchsorted(self.ends, index, side="right")
        for b in np.unique(block).tolist():
            here = block == b
            out[here] = self.parts[b][index[here] - (self.ends[b] - len(self.parts[b]))]
        return out

    def shared_rows(self, other: PmfRows) -> int:
        """How many first rows this and ``other`` share as the very same blocks (the leading ``parts`` both hold:
        a book and the books derived from it), so the same rows whatever the books."""
        n = 0
        for x, y in zip(self.parts, other.parts, strict=False):
            if x is not y:
                break
            n += len(x)
        return n

    def __getstate__(self) -> tuple:
        return self.parts, self.whole

    def __setstate__(self, state: tuple) -> None:
        self.__init__(*state)


_ROWS_LOCK = threading.Lock()
_NS = np.dtype("datetime64[ns]")
_STR = pd.Series(["a"]).astype(str).dtype      # what ``astype(str)`` gives (pandas' string dtype)


def _check_pmf_rows(pmfs: np.ndarray, first_row: int = 0) -> None:
    """Every row non-negative, finite and summing to at most 1 (errors name the row, counted from ``first_row``)."""
    if not np.all(np.isfinite(pmfs)) or (pmfs < 0).any():
        row = first_row + int(np.flatnonzero(~(np.isfinite(pmfs) & (pmfs >= 0)).all(axis=1))[0])
        raise ModelError(f"Book.pmfs row {row} has a negative or non-finite probability; pmf rows are "
                         "probabilities of paying on each grid day")
    sums = pmfs.sum(axis=1)
    if (sums > 1 + 1e-9).any():
        i = int(np.argmax(sums))
        raise ModelError(f"Book.pmfs row {first_row + i} sums to {sums[i]:.6f} > 1; the never-paid mass is "
                         "1 - row sum, so a row may not exceed 1")


def _check_calendar_rows(inv: pd.DataFrame, cal: np.ndarray) -> None:
    bad = inv["calendar"].to_numpy() >= cal.shape[0]
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ModelError(f"Book.invoices row {i} (invoice {inv['invoice_id'].iat[i]!r}): calendar "
                         f"{inv['calendar'].iat[i]} but Book.calendars has {cal.shape[0]} rows")


def _same_data(a: pd.Series, b: pd.Series) -> bool:
    """Whether two columns hold the very same array (the same memory, layout and dtype: the same values), as a
    shallow copy of a table shares its columns with it (copy-on-write: a shared array is never changed in place)."""
    x, y = getattr(a.array, "_ndarray", None), getattr(b.array, "_ndarray", None)
    if x is None or y is None or x.dtype != y.dtype or x.shape != y.shape or x.strides != y.strides:
        return False
    return x.__array_interface__["data"][0] == y.__array_interface__["data"][0]


def _kept_columns(inv: pd.DataFrame, checked: pd.DataFrame | None) -> frozenset[str]:
    """The columns of ``inv`` that are ``checked``'s own arrays (an already normalised and checked table of as many
    rows): what :meth:`Book.derive` need not convert or check again (a lever changes a few columns of the
    table it was given, and shares the others)."""
    if checked is None or len(checked) != len(inv) or not isinstance(checked.index, pd.RangeIndex):
        return frozenset()
    return frozenset(c for c in _CHECKED_COLUMNS if c in inv.columns and c in checked.columns
                     and _same_data(inv[c], checked[c]))


#: The columns :func:`_normalise_invoices` converts or checks.
_CHECKED_COLUMNS = ("invoice_id", "customer_id", "due_date", "issue_date", "upfront_date", "is_future", "amount",
                    "upfront_amount", "discount_rate", "discount_day", "profile", "min_day", "calendar")


def _normalise_invoices(invoices: pd.DataFrame, n_profiles: int, grid: np.ndarray,
                        checked: pd.DataFrame | None = None) -> pd.DataFrame:
    """Book.invoices with defaults filled, dtypes fixed and every row checked (errors name the row and column).

    ``checked``: a table this function already returned for at most ``n_profiles`` pmf rows and the same grid
    (the book a lever derives from): the columns ``invoices`` shares with it (:func:`_kept_columns`) are neither
    converted nor checked again -- they passed -- and the result is the same."""
    if not isinstance(invoices, pd.DataFrame):
        raise ModelError("Book.invoices must be a pandas DataFrame, one row per invoice")
    missing = [c for c in BOOK_REQUIRED if c not in invoices.columns]
    if missing:
        raise ModelError(f"Book.invoices lacks column(s) {missing}; see docs/design.md, Book")
    # a new frame (copy-on-write: later changes to either never reach the other); a column already of its type
    # (and without the missing values a conversion would fill) is kept as it is: the same values as converting it
    inv = invoices.reset_index(drop=True).copy(deep=False)
    kept = _kept_columns(inv, checked)

    def todo(*cols: str) -> bool:      # a conversion or check some of these columns still need
        return not kept.issuperset(cols)

    for col, default in BOOK_DEFAULTS.items():
        if col not in inv.columns:
            inv[col] = default
    for col in ("due_date", "issue_date", "upfront_date"):
        if todo(col) and inv[col].dtype != _NS:
            inv[col] = pd.to_datetime(inv[col]).astype("datetime64[ns]")
    for col in ("invoice_id", "customer_id"):
        if todo(col) and (inv[col].dtype != _STR or inv[col].isna().any()):
            inv[col] = inv[col].astype(str)
    if todo("is_future") and inv["is_future"].dtype != np.bool_:
        inv["is_future"] = inv["is_future"].fillna(False).astype(bool)
    for col in ("amount", "upfront_amount", "discount_rate", "discount_day"):
        if todo(col) and inv[col].dtype != np.float64:
            inv[col] = pd.to_numeric(inv[col], errors="coerce").astype(np.float64)
    for col in ("upfront_amount", "discount_rate"):
        if todo(col) and inv[col].isna().any():
            inv[col] = inv[col].fillna(0.0)

    def fail(mask: np.ndarray, col: str, what: str) -> None:
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            raise ModelError(f"Book.invoices row {i} (invoice {inv['invoice_id'].iat[i]!r}), column {col}: "
                             f"{what} (got {inv[col].iat[i]!r}); {int(mask.sum())} row(s) affected")

    if todo("due_date"):
        fail(inv["due_date"].isna().to_numpy(), "due_date", "every invoice needs a due date")
    if todo("amount"):
        fail(~np.isfinite(inv["amount"].to_numpy()), "amount", "amounts must be finite euros")
    if todo("upfront_amount"):
        fail(~np.isfinite(inv["upfront_amount"].to_numpy()), "upfront_amount", "amounts must be finite euros")
    if todo("upfront_amount", "upfront_date"):
        fail(((inv["upfront_amount"] != 0) & inv["upfront_date"].isna()).to_numpy(), "upfront_date",
             "an upfront amount needs the date it is received")
    if todo("discount_rate", "discount_day"):
        rate = inv["discount_rate"].to_numpy()
        fail(~((rate >= 0) & (rate <= 1)), "discount_rate", "a discount rate lies in [0, 1]")
        fail((rate > 0) & inv["discount_day"].isna().to_numpy(), "discount_day",
             "a discount needs its last day (relative to the due date)")
    for col in ("profile", "min_day", "calendar"):
        if not todo(col) or inv[col].dtype == np.int64 and (np.abs(inv[col].to_numpy()) < 2**53).all():
            continue     # integers that convert to floats and back unchanged: nothing to check or convert
        values = pd.to_numeric(inv[col], errors="coerce").to_numpy(np.float64)
        fail(~np.isfinite(values) | (values != np.round(values)), col, "must be an integer")
        inv[col] = values.astype(np.int64)
    if todo("profile"):      # a kept column indexed fewer rows: every row still there
        prof = inv["profile"].to_numpy()
        fail((prof < 0) | (prof >= n_profiles), "profile", f"must index a pmf row 0..{n_profiles - 1}")
    if todo("min_day"):
        fail(inv["min_day"].to_numpy() < grid[0], "min_day",
             f"must be >= the grid's first day {grid[0]} (days past {grid[-1]} mean: not paid within the grid)")
    if todo("calendar"):
        fail(inv["calendar"].to_numpy() < 0, "calendar", "must index a row of Book.calendars")
    return inv
