"""Date cells: ``dd/mm/yyyy`` (French), ``m/d/yyyy`` when the column clearly is, ISO ``yyyy-mm-dd``, ``yyyymmdd``,
and datetime cells from Excel; all normalised to midnight ``datetime64[ns]``.

Separators ``/ . -``, an optional time of day is dropped, two-digit years are 19xx from 70 on, else 20xx. Years
outside [FIRST_YEAR, END_YEAR) are typos and unreadable.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from cashsim.ledger.cells import _distinct, _is_scalar_type

_DATE_RE = (r"^(?P<a>\d{1,4})[/.\-](?P<b>\d{1,2})[/.\-](?P<c>\d{1,4})"
            r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_COMPACT_RE = r"^(?P<a>\d{4})(?P<b>\d{2})(?P<c>\d{2})$"


def _date_strings(texts: np.ndarray) -> np.ndarray:
    """Parse distinct date strings: ISO ``yyyy-mm-dd``, ``yyyymmdd``, ``dd/mm/yyyy`` (or ``m/d/yyyy`` when clear).

    Separators ``/ . -``, optional time of day (dropped); two-digit years are 19xx from 70 on, else 20xx. A column
    is month-first only if some value has its second field > 12 and none has its first field > 12.
    Unreadable -> NaT.
    """
    texts = pd.Series(texts.astype(object), dtype="str")
    parts = texts.str.extract(_DATE_RE).fillna(texts.str.extract(_COMPACT_RE))
    iso = (parts["a"].str.len() == 4).to_numpy()
    a, b, c = (pd.to_numeric(parts[k]).to_numpy(dtype=float) for k in "abc")
    dmy = ~iso & ~np.isnan(a)
    day_first_evidence = bool(np.any(dmy & (a > 12) & (b <= 12)))
    month_first = bool(np.any(dmy & (b > 12) & (a <= 12))) and not day_first_evidence
    year = np.where(iso, a, np.where(c < 100, np.where(c < 70, 2000 + c, 1900 + c), c))
    year = np.where((year >= FIRST_YEAR) & (year < END_YEAR), year, np.nan)
    month = np.where(iso, b, a if month_first else b)
    day = np.where(iso, c, b if month_first else a)
    ymd = pd.DataFrame({"year": year, "month": month, "day": day})
    return pd.to_datetime(ymd, errors="coerce").to_numpy(dtype="datetime64[ns]")


def parse_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates (normalised to midnight, ``datetime64[ns]``) and the mask of non-empty cells that are not dates.

    Text is parsed once per distinct value, so a million rows of a few thousand dates cost little.

    >>> d, bad = parse_dates(pd.Series(["31/01/2026", "2026-02-01", "", "32/01/2026"]))
    >>> [str(x.date()) if pd.notna(x) else None for x in d], bad.tolist()
    (['2026-01-31', '2026-02-01', None, None], [False, False, False, True])
    """
    values = values.reset_index(drop=True)
    if ptypes.is_datetime64_any_dtype(values.dtype):
        return _plausible_days(values)
    is_date = _is_scalar_type(values, (np.datetime64, dt.date))
    codes, texts = _distinct(values.where(~is_date, None) if is_date.any() else values)
    out = _date_strings(texts)[codes]
    bad = (texts != "")[codes] & np.isnat(out)
    if is_date.any():
        typed, typed_bad = _plausible_days(pd.to_datetime(values[is_date]))
        out[is_date], bad[is_date] = typed.to_numpy(), typed_bad
    return pd.Series(out, dtype="datetime64[ns]"), bad


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
