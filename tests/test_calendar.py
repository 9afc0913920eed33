"""The French business calendar: the 11 public holidays, business days, rolling forward and backward."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashsim.calendar import (
    business_calendar,
    french_holidays,
    holiday_days,
    is_business_day,
    next_business_day,
    previous_business_day,
)

HOLIDAYS_2026 = ["2026-01-01", "2026-04-06", "2026-05-01", "2026-05-08", "2026-05-14", "2026-05-25", "2026-07-14",
                 "2026-08-15", "2026-11-01", "2026-11-11", "2026-12-25"]


def test_the_eleven_holidays_of_2026():
    hol = french_holidays("2026-01-01", "2026-12-31")
    assert [str(d.date()) for d in hol] == HOLIDAYS_2026   # Easter Monday 6 Apr, Ascension 14 May, Whit Monday 25 May


@pytest.mark.parametrize("year, easter_monday", [(2024, "2024-04-01"), (2025, "2025-04-21"), (2027, "2027-03-29"),
                                                 (2038, "2038-04-26")])
def test_moving_feasts_follow_easter(year, easter_monday):
    hol = set(french_holidays(f"{year}-01-01", f"{year}-12-31"))
    em = pd.Timestamp(easter_monday)
    assert {em, em + pd.Timedelta(days=38), em + pd.Timedelta(days=49)} <= hol
    assert len(hol) == 11


@pytest.mark.parametrize("first, last", [(1990, 2060), (1583, 1700), (1969, 2060), (2261, 2300), (2026, 2026)])
def test_the_direct_holiday_list_is_the_pandas_rules(first, last):
    """business_calendar builds its holidays directly (holiday_days): the very days of the pandas rules, duplicates
    included (Ascension on 1 or 8 May), past pandas' nanosecond range too."""
    rules = np.sort(french_holidays(f"{first}-01-01", f"{last}-12-31").values.astype("datetime64[D]"))
    direct = holiday_days(first, last)
    assert direct.dtype == np.dtype("datetime64[D]") and np.array_equal(direct, rules)
    assert len(direct) == 11 * (last - first + 1)


def test_business_days_skip_weekends_and_holidays():
    days = pd.to_datetime(["2026-05-07", "2026-05-08", "2026-05-09", "2026-05-10", "2026-05-11", "2026-07-14",
                           "2026-07-15"])
    assert is_business_day(days).tolist() == [True, False, False, False, True, False, True]
    assert is_business_day(pd.to_datetime(["2026-01-01", pd.NaT])).tolist() == [False, False]
    n_2026 = int(np.busday_count(np.datetime64("2026-01-01"), np.datetime64("2027-01-01"),
                                 busdaycal=business_calendar()))
    assert n_2026 == 261 - 9                       # 261 weekdays; 9 of the 11 holidays fall on one in 2026


def test_rolling_forward_and_backward():
    days = np.array(["2026-05-08", "2026-05-09", "2026-05-13", "2026-10-31", "2026-12-25"], dtype="datetime64[D]")
    assert next_business_day(days).astype(str).tolist() == ["2026-05-11", "2026-05-11", "2026-05-13", "2026-11-02",
                                                            "2026-12-28"]
    assert previous_business_day(days).astype(str).tolist() == ["2026-05-07", "2026-05-07", "2026-05-13",
                                                                "2026-10-30", "2026-12-24"]
    as_int = days.astype(np.int64)                 # day numbers in, day numbers out (the demo generator's form)
    out = next_business_day(as_int)
    assert out.dtype == np.int64 and (out == next_business_day(days).astype(np.int64)).all()
    nat = next_business_day(np.array(["NaT", "2026-11-01"], dtype="datetime64[D]"))
    assert np.isnat(nat[0]) and str(nat[1]) == "2026-11-02"


def test_years_beyond_the_default_span_still_know_their_holidays():
    far = np.array(["2075-07-14", "1985-12-25"], dtype="datetime64[D]")
    assert not is_business_day(far).any()
    assert next_business_day(far).astype(str).tolist() == ["2075-07-15", "1985-12-26"]


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2049-12-31").date()))
def test_next_business_day_is_the_first_business_day_on_or_after(day):
    d = np.array([np.datetime64(day, "D")])
    nxt = next_business_day(d)[0]
    prv = previous_business_day(d)[0]
    assert is_business_day(np.array([nxt]))[0] and is_business_day(np.array([prv]))[0]
    assert prv <= d[0] <= nxt and nxt - prv <= np.timedelta64(8, "D")
    between = np.arange(prv + 1, nxt, dtype="datetime64[D]")      # nothing in between is a business day
    assert not is_business_day(between).any()
