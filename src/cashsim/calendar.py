"""The French business calendar (*calendrier des jours ouvrés*): public holidays and business-day rolling.

One definition for the whole package (the demo generator, the payer-behaviour fit and its payment calendars):

* **Public holidays** (*jours fériés*, metropolitan France; Alsace-Moselle's Good Friday and 26 December are not
  included), 11 a year: 1 January, Easter Monday, 1 May, 8 May, Ascension (Easter + 39 days), Whit Monday (*lundi
  de Pentecôte*, Easter + 50 days), 14 July, 15 August, 1 November, 11 November, 25 December. Whit Monday is
  listed although many employers work it (*journée de solidarité*): banks do not settle on it.
* **Business day** (*jour ouvré*): Monday to Friday and not a public holiday. Payments, bank settlements and
  payment runs fall on business days; a day that is not one rolls to the next (``next_business_day``) or, for a
  payment run held early, to the previous one (``previous_business_day``, *la veille ouvrée*).
* **Payment-day calendar rows** (the engine's ``Book.calendars``): ``row[d]`` = the day index on which a payment
  drawn on day index ``d`` (day 0 = the row's ``start``) is made, the next allowed day at or after ``d``;
  ``len(row)`` = none left within the row. ``business_day_calendar`` allows Monday to Friday minus the
  ``holidays`` given (none by default); ``payment_run_calendar`` allows given days of the month, rolled *forward*
  to such a business day.

The rules are pandas' :class:`~pandas.tseries.holiday.AbstractHolidayCalendar` (Easter by pandas' algorithm);
numpy's ``busday_*`` functions get a :class:`numpy.busdaycalendar` of the same days (``holiday_days``, computed
directly, much faster over centuries) for any span of years asked for (1990-2060 by default, widened on demand,
cached).

Dates: anything ``pandas.to_datetime`` reads (strings, ``Timestamp``, ``DatetimeIndex``, ``datetime64`` arrays),
or integer day numbers since 1970-01-01 (the demo generator's representation). The rolling functions return what
they were given: ``int64`` day numbers for integers, else ``datetime64[D]``. ``NaT`` stays ``NaT`` (not a business
day).

Example::

    >>> [str(d.date()) for d in french_holidays("2026-05-01", "2026-05-31")]
    ['2026-05-01', '2026-05-08', '2026-05-14', '2026-05-25']
    >>> next_business_day(np.array(["2026-11-01"], dtype="datetime64[D]"))   # Sunday, All Saints
    array(['2026-11-02'], dtype='datetime64[D]')
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.holiday import AbstractHolidayCalendar, Easter, EasterMonday, Holiday
from pandas.tseries.offsets import Day

from cashsim.errors import ParamsError

#: Years covered by the default business calendar (wider spans are built when dates fall outside).
DEFAULT_YEARS = (1990, 2060)
#: numpy week mask of business days: Monday to Friday.
WEEKMASK = "1111100"


class FrenchHolidayCalendar(AbstractHolidayCalendar):
    """French public holidays (*jours fériés*), Alsace-Moselle excluded: 11 days a year."""

    rules = [
        Holiday("Jour de l'an", month=1, day=1), EasterMonday, Holiday("Fête du travail", month=5, day=1),
        Holiday("Victoire 1945", month=5, day=8), Holiday("Ascension", month=1, day=1, offset=[Easter(), Day(39)]),
        Holiday("Lundi de Pentecôte", month=1, day=1, offset=[Easter(), Day(50)]),
        Holiday("Fête nationale", month=7, day=14), Holiday("Assomption", month=8, day=15),
        Holiday("Toussaint", month=11, day=1), Holiday("Armistice", month=11, day=11),
        Holiday("Noël", month=12, day=25),
    ]


def french_holidays(start: Any, end: Any) -> pd.DatetimeIndex:
    """French public holidays from ``start`` to ``end`` inclusive.

    >>> len(french_holidays("2026-01-01", "2026-12-31"))
    11
    """
    return pd.DatetimeIndex(FrenchHolidayCalendar().holidays(pd.Timestamp(start), pd.Timestamp(end)))


#: The fixed-date holidays of :class:`FrenchHolidayCalendar` (month, day), and its Easter-based ones (days after
#: Easter Sunday: Easter Monday, Ascension, Whit Monday).
_FIXED = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))
_AFTER_EASTER = (1, 39, 50)


def holiday_days(first_year: int, last_year: int) -> np.ndarray:
    """The holidays of :class:`FrenchHolidayCalendar` from ``first_year`` to ``last_year`` (inclusive) as sorted
    ``datetime64[D]``, computed directly: the same days as :func:`french_holidays` (Easter by ``dateutil.easter``,
    the algorithm of pandas' ``Easter`` offset), without pandas' holiday machinery, which takes a third of a second
    for the centuries the demo generator's far sentinel dates ask for (tests/test_calendar.py compares the two).

    >>> [str(d) for d in holiday_days(2026, 2026)[:3]]
    ['2026-01-01', '2026-04-06', '2026-05-01']
    """
    from dateutil.easter import easter

    years = np.arange(int(first_year), int(last_year) + 1)
    months = (years - 1970).astype("datetime64[Y]").astype("datetime64[M]")
    fixed = [(months + (m - 1)).astype("datetime64[D]") + (d - 1) for m, d in _FIXED]
    sundays = np.array([easter(int(y)) for y in years], dtype="datetime64[D]")
    return np.sort(np.concatenate([*fixed, *(sundays + k for k in _AFTER_EASTER)]))


def business_calendar(first_year: int = DEFAULT_YEARS[0], last_year: int = DEFAULT_YEARS[1]) -> np.busdaycalendar:
    """Monday-to-Friday French business days of ``first_year`` to ``last_year``, for ``numpy.busday_offset`` and
    friends. Outside those years numpy would know no holiday: the functions below widen the span when needed.
    Cached by span, however the years are given (defaults, positional or keyword, numpy integers).

    >>> bool(np.is_busday(np.datetime64("2026-07-14"), busdaycal=business_calendar()))
    False
    """
    return _business_calendar(int(first_year), int(last_year))


@functools.lru_cache(maxsize=16)
def _business_calendar(first_year: int, last_year: int) -> np.busdaycalendar:
    return np.busdaycalendar(weekmask=WEEKMASK, holidays=holiday_days(first_year, last_year))


def _as_days(dates: Any) -> tuple[np.ndarray, bool]:
    """``(datetime64[D] array, given as integer day numbers?)``."""
    arr = np.asarray(dates)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64).astype("datetime64[D]"), True
    if arr.dtype.kind != "M":
        arr = pd.to_datetime(arr.ravel()).values.reshape(arr.shape)
    return arr.astype("datetime64[D]"), False


def _calendar_for(days: np.ndarray) -> np.busdaycalendar:
    """The cached default calendar, or one widened to the years of ``days``."""
    valid = days[~np.isnat(days)]
    if valid.size == 0:
        return business_calendar()
    years = valid.astype("datetime64[Y]").astype(np.int64) + 1970
    first, last = min(DEFAULT_YEARS[0], int(years.min())), max(DEFAULT_YEARS[1], int(years.max()) + 1)
    if last > DEFAULT_YEARS[1]:   # far dates (e.g. "never"): one calendar per century, not one per year seen
        last = -(-last // 100) * 100
    if first < DEFAULT_YEARS[0]:
        first = first // 100 * 100
    return business_calendar(first, last)


def is_business_day(dates: Any) -> np.ndarray:
    """Boolean array: a weekday (Mon-Fri) that is not a French public holiday (``NaT``: False).

    >>> is_business_day(pd.to_datetime(["2026-05-08", "2026-05-11", "2026-05-16"])).tolist()
    [False, True, False]
    """
    days, _ = _as_days(dates)
    out = np.zeros(days.shape, bool)
    ok = ~np.isnat(days)
    out[ok] = np.is_busday(days[ok], busdaycal=_calendar_for(days))
    return out


def _roll(dates: Any, roll: str) -> np.ndarray:
    days, as_int = _as_days(dates)
    out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    ok = ~np.isnat(days)
    out[ok] = np.busday_offset(days[ok], 0, roll=roll, busdaycal=_calendar_for(days))
    return out.astype(np.int64) if as_int else out


def next_business_day(dates: Any) -> np.ndarray:
    """The day itself when it is a business day, else the next one (weekends and holidays roll forward).

    >>> next_business_day(np.array([np.datetime64("2026-11-01").astype(np.int64)])).astype("datetime64[D]")
    array(['2026-11-02'], dtype='datetime64[D]')
    """
    return _roll(dates, "forward")


def previous_business_day(dates: Any) -> np.ndarray:
    """The day itself when it is a business day, else the previous one (*la veille ouvrée*: a payment run due
    on a Sunday or a holiday is held the business day before).

    >>> previous_business_day(np.array(["2026-05-10"], dtype="datetime64[D]"))   # Sunday; Friday 8 May is a holiday
    array(['2026-05-07'], dtype='datetime64[D]')
    """
    return _roll(dates, "backward")


# ---------------------------------------------------------------------------------------------------------------
# Payment-day calendar rows (the engine's Book.calendars)
# ---------------------------------------------------------------------------------------------------------------

def next_allowed(allowed: np.ndarray) -> np.ndarray:
    """For each day index, the first allowed index at or after it (``len(allowed)`` when none is left).

    >>> next_allowed(np.array([False, True, False, False])).tolist()
    [1, 1, 4, 4]
    """
    allowed = np.asarray(allowed, bool)
    n = len(allowed)
    idx = np.where(allowed, np.arange(n), n)
    return np.minimum.accumulate(idx[::-1])[::-1].astype(np.int64)


def _days(start: Any, n_days: int) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start).normalize(), periods=int(n_days), freq="D")


def run_dates(days_of_month: tuple[int, ...], dates: pd.DatetimeIndex) -> np.ndarray:
    """Mask of the dates that are payment-run dates (*jours de règlement*): each run day of the month (31 = month end,
    clipped to the month's length), held the business day before when it is a weekend or a French holiday
    (*la veille ouvrée*). The one convention of the fit, the book, the engine and the demo.

    >>> d = pd.date_range("2026-05-01", "2026-05-31")
    >>> [str(x.date()) for x in d[run_dates((10,), d)]]      # Sunday 10 May; Friday 8 May is a holiday
    ['2026-05-07']
    """
    dates = pd.DatetimeIndex(dates)
    bd = is_business_day(dates)
    n = len(dates)
    prev_bd = np.maximum.accumulate(np.where(bd, np.arange(n), -1))
    mask = np.zeros(n, bool)
    month_len = dates.days_in_month.to_numpy()
    for dom in days_of_month:
        nominal = dates.day.to_numpy() == np.minimum(dom, month_len)
        hit = prev_bd[nominal]
        mask[hit[hit >= 0]] = True
    return mask


def business_day_calendar(start: Any, n_days: int, holidays: Any = None) -> np.ndarray:
    """Calendar row: next business day for each of ``n_days`` days from ``start``.

    Business days are Monday-Friday except French public holidays (:func:`is_business_day`), the convention of
    the fit and the demo; ``holidays``, when given, replaces the French list. Day index 0 is ``start``
    (``as_of + 1`` in a Book); a day whose next business day lies after the last one maps to ``n_days``.

    >>> business_day_calendar("2026-11-06", 4).tolist()     # Fri, Sat, Sun, Mon
    [0, 3, 3, 3]
    >>> business_day_calendar("2026-11-10", 3).tolist()     # Tue, Wed 11 Nov (Armistice), Thu
    [0, 2, 2]
    """
    days = _days(start, n_days)
    if holidays is None:
        return next_allowed(is_business_day(days))
    hol = pd.DatetimeIndex(pd.to_datetime(list(holidays))).normalize() if len(holidays) else pd.DatetimeIndex([])
    return next_allowed((days.day_of_week < 5) & ~days.isin(hol))


def payment_run_calendar(start: Any, n_days: int, days_of_month: Any) -> np.ndarray:
    """Calendar row: next payment-run day (*jour de règlement*) for each of ``n_days`` days from ``start``.

    Run days are those of :func:`run_dates` (held the business day before a weekend or holiday), so the engine
    snaps a drawn day to the same runs the fit found; runs after the last day are outside (index ``n_days``).

    >>> payment_run_calendar("2026-11-01", 16, [10])[:3].tolist()    # 10 Nov 2026 is a Tuesday
    [9, 9, 9]
    """
    dom = tuple(sorted({int(d) for d in days_of_month}))
    if not dom or dom[0] < 1 or dom[-1] > 31:
        raise ParamsError(f"days_of_month must be days 1..31 of the month, got {list(days_of_month)}",
                          key="days_of_month")
    # a run nominally just after the span may be held back into it: look a few days further, then cut
    span = _days(start, n_days + 7)
    allowed = run_dates(dom, span)
    return np.minimum(next_allowed(allowed)[:n_days], n_days)
