"""Date cells: ``dd/mm/yyyy`` (French), ``mm/dd/yyyy``, ISO ``yyyy-mm-dd``, ``yyyymmdd``, and datetime cells from
Excel; all normalised to midnight ``datetime64[ns]``.

Separators ``/ . -``, an optional time of day is dropped, two-digit years are 19xx from 70 on, else 20xx. Years
outside [FIRST_YEAR, END_YEAR) are typos and unreadable. ISO and ``yyyymmdd`` dates are never ambiguous.

Day/month order of the other dates (``a/b/yyyy``), decided per column, never per cell:

* set explicitly (``order="dmy"`` or ``"mdy"``, from ``mapping: {payments: {date_order: mdy}}``), or else
* by the column's evidence, one vote per row: a date valid read day-first (``05/03/2025``, ``25/03/2025``) votes
  day-first, even when it would also be valid month-first: it gives no evidence against the French default; a date
  valid only month-first (``03/25/2025``) votes month-first. Month-first needs more votes than day-first: a tie, or
  no such date, leaves day-first.

A date valid only under the other order *contradicts* the column: it is not read (NaT) and its row is rejected on its
own (``Reason.DATE_ORDER``), so one typo never moves the rest of the column. A US export whose days are mostly <= 12
is therefore read day-first with its unambiguous month-first dates rejected: set ``date_order: mdy`` for it.

>>> read = _read_dates(pd.Series(["05/03/2025", "12/03/2025", "03/13/2025"]))
>>> read.order, read.dates.dt.strftime("%d %b").tolist()[:2], read.contradicts.tolist()
('dmy', ['05 Mar', '12 Mar'], [False, False, True])
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from cashsim.errors import LedgerError
from cashsim.ledger.cells import _distinct, _is_scalar_type

#: Day/month orders of ``a/b/yyyy`` dates: day first (French, the default) or month first (US).
DATE_ORDERS = ("dmy", "mdy")
#: How each order is written, for messages.
DATE_PATTERNS = {"dmy": "dd/mm/yyyy", "mdy": "mm/dd/yyyy"}

_DATE_RE = (r"^(?P<a>\d{1,4})[/.\-](?P<b>\d{1,2})[/.\-](?P<c>\d{1,4})"
            r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_COMPACT_RE = r"^(?P<a>\d{4})(?P<b>\d{2})(?P<c>\d{2})$"


@dataclass(frozen=True)
class _DateRead:
    """A date column as read: ``dates`` (NaT where unreadable or contradicting), ``bad`` (non-empty cells that are
    no date under either order), ``contradicts`` (dates valid only under the order not chosen), the ``order``
    chosen, whether it was ``given`` (else decided by the votes), and the votes (rows) for each order."""

    dates: pd.Series
    bad: np.ndarray
    contradicts: np.ndarray
    order: str
    given: bool
    votes: dict[str, int]


def _calendar(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """``datetime64[ns]`` of (year, month, day) floats; NaT where that is no calendar date."""
    ymd = pd.DataFrame({"year": year, "month": month, "day": day})
    return pd.to_datetime(ymd, errors="coerce").to_numpy(dtype="datetime64[ns]")


def _date_strings(texts: np.ndarray, weights: np.ndarray | None = None,
                  order: str | None = None) -> tuple[np.ndarray, np.ndarray, str, dict[str, int]]:
    """Parse distinct date strings: ISO ``yyyy-mm-dd``, ``yyyymmdd``, ``dd/mm/yyyy`` or ``mm/dd/yyyy``.

    ``weights`` counts the rows of each distinct string (votes, see the module docstring); ``order`` forces the
    day/month order. Returns ``(dates, contradicts, order, votes)``: dates under the chosen order (unreadable or
    contradicting -> NaT), the strings valid only under the other order, the order and the votes.
    """
    texts = pd.Series(texts.astype(object), dtype="str")
    parts = texts.str.extract(_DATE_RE).fillna(texts.str.extract(_COMPACT_RE))
    iso = (parts["a"].str.len() == 4).to_numpy()
    a, b, c = (pd.to_numeric(parts[k]).to_numpy(dtype=float) for k in "abc")
    slash = ~iso & ~np.isnan(a)
    year = np.where(iso, a, np.where(c < 100, np.where(c < 70, 2000 + c, 1900 + c), c))
    year = np.where((year >= FIRST_YEAR) & (year < END_YEAR), year, np.nan)
    day_first = _calendar(year, b, np.where(iso, c, a))
    month_first = _calendar(year, np.where(iso, b, a), np.where(iso, c, b))
    fits = {"dmy": slash & ~np.isnat(day_first), "mdy": slash & ~np.isnat(month_first)}
    weights = np.ones(len(texts), dtype=np.int64) if weights is None else weights
    votes = {"dmy": int(weights[fits["dmy"]].sum()), "mdy": int(weights[fits["mdy"] & ~fits["dmy"]].sum())}
    if order is None:
        order = "mdy" if votes["mdy"] > votes["dmy"] else "dmy"
    other = "dmy" if order == "mdy" else "mdy"
    contradicts = fits[other] & ~fits[order]
    dates = month_first if order == "mdy" else day_first
    return dates, contradicts, order, votes


def _read_dates(values: pd.Series, order: str | None = None) -> _DateRead:
    """Read a date column (text, datetime or mixed cells) under ``order``, or the order its values vote for."""
    values = values.reset_index(drop=True)
    n = len(values)
    if ptypes.is_datetime64_any_dtype(values.dtype):
        dates, bad = _plausible_days(values)
        return _DateRead(dates, bad, np.zeros(n, dtype=bool), order or "dmy", order is not None, {})
    is_date = _is_scalar_type(values, (np.datetime64, dt.date))
    codes, texts = _distinct(values.where(~is_date, None) if is_date.any() else values)
    weights = np.bincount(codes, minlength=len(texts))
    parsed, contradicts, chosen, votes = _date_strings(texts, weights, order)
    out, contradicts = parsed[codes], contradicts[codes]
    bad = (texts != "")[codes] & np.isnat(out) & ~contradicts
    if is_date.any():
        typed, typed_bad = _plausible_days(pd.to_datetime(values[is_date]))
        out[is_date], bad[is_date] = typed.to_numpy(), typed_bad
    return _DateRead(pd.Series(out, dtype="datetime64[ns]"), bad, contradicts, chosen, order is not None, votes)


def parse_dates(values: pd.Series, order: str | None = None) -> tuple[pd.Series, np.ndarray]:
    """Dates (normalised to midnight, ``datetime64[ns]``) and the mask of non-empty cells that are not dates.

    ``order`` ("dmy" or "mdy") forces the day/month order of ``a/b/yyyy`` dates; by default the column's values
    decide (see the module docstring). A date valid only under the other order is flagged like an unreadable one.
    Text is parsed once per distinct value, so a million rows of a few thousand dates cost little.

    >>> d, bad = parse_dates(pd.Series(["31/01/2026", "2026-02-01", "", "32/01/2026"]))
    >>> [str(x.date()) if pd.notna(x) else None for x in d], bad.tolist()
    (['2026-01-31', '2026-02-01', None, None], [False, False, False, True])
    >>> parse_dates(pd.Series(["02/01/2026"]), order="mdy")[0].dt.strftime("%Y-%m-%d").tolist()
    ['2026-02-01']
    """
    if order is not None and order not in DATE_ORDERS:
        raise LedgerError(f"date order {order!r}: use one of {', '.join(DATE_ORDERS)}")
    read = _read_dates(values, order)
    return read.dates, read.bad | read.contradicts


#: Dates outside these years are typos (``01/01/2999``), and would overflow ``datetime64[ns]``.
FIRST_YEAR, END_YEAR = 1900, 2200


def _plausible_days(dates: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Datetime cells at midnight (timezone dropped) as ``datetime64[ns]``; years outside
    [FIRST_YEAR, END_YEAR) become NaT and are flagged bad."""
    dates = dates.reset_index(drop=True)
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    year = dates.dt.year
    bad = (dates.notna() & ((year < FIRST_YEAR) | (year >= END_YEAR))).to_numpy()
    return dates.where(~bad).dt.normalize().astype("datetime64[ns]"), bad
