"""cashsim.legal: the dated French late-payment rate table and the interest on known invoices, computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cashsim.legal import (
    FIXED_INDEMNITY_EUR,
    RATE_TABLE,
    TABLE_END,
    late_payment_interest,
    late_payment_rate,
    rate_table,
)


def test_table_is_mro_plus_ten_points_per_half_year_with_a_source_each():
    t = rate_table()
    assert t["half_year_start"].dt.month.isin([1, 7]).all() and t["half_year_start"].dt.day.eq(1).all()
    assert t["half_year_start"].is_monotonic_increasing
    # consecutive half-years, no gap
    assert (t["half_year_start"].iloc[1:].to_numpy() == (t["half_year_end"].iloc[:-1] + pd.Timedelta(days=1))
            .to_numpy()).all()
    np.testing.assert_allclose(t["legal_rate"], (t["mro_pct"] + 10) / 100)
    assert t["source"].str.len().gt(5).all()
    # the MRO rate must have taken effect before the half-year it serves
    assert (t["mro_since"] < t["half_year_start"]).all()


@pytest.mark.parametrize(("date", "rate"), [
    ("2024-03-15", 0.1450),     # MRO 4.50 % since 20 Sep 2023
    ("2024-07-01", 0.1425),     # 4.25 % since 12 Jun 2024
    ("2024-12-31", 0.1425),     # the 18 Dec 2024 cut only counts from 1 Jan 2025
    ("2025-01-01", 0.1315),
    ("2025-06-30", 0.1315),     # 2.15 % from 11 Jun 2025 is not yet in force for H1
    ("2025-07-01", 0.1215),
])
def test_rate_of_the_half_year(date, rate):
    r, beyond = late_payment_rate([date])
    assert r[0] == pytest.approx(rate)
    assert not beyond[0]


def test_a_date_beyond_the_table_uses_the_last_rate_and_says_so():
    assert TABLE_END == pd.Timestamp("2025-12-31")
    r, beyond = late_payment_rate(["2026-10-31", "2025-12-31"])
    assert r.tolist() == [RATE_TABLE[-1].rate] * 2
    assert beyond.tolist() == [True, False]


def test_interest_on_a_known_invoice_by_hand():
    # 12 000 EUR due 15 Feb 2025, paid 17 Mar 2025: 30 days at 13.15 % -> 12 000 x 0.1315 x 30 / 365
    got = late_payment_interest([12_000.0], ["2025-02-15"], ["2025-03-17"])
    assert got[0] == pytest.approx(12_000 * 0.1315 * 30 / 365)
    assert got[0] == pytest.approx(129.70, abs=0.01)


def test_interest_across_a_half_year_boundary_uses_each_half_years_rate():
    # due 20 Dec 2024, paid 10 Jan 2025: 11 days at 14.25 % (21-31 Dec) + 10 days at 13.15 % (1-10 Jan)
    got = late_payment_interest([5_000.0], ["2024-12-20"], ["2025-01-10"])[0]
    assert got == pytest.approx(5_000 * (0.1425 * 11 + 0.1315 * 10) / 365)


def test_paid_on_time_or_early_owes_nothing_and_the_indemnity_is_40_euros():
    got = late_payment_interest([1_000.0, 1_000.0], ["2025-03-31", "2025-03-31"], ["2025-03-31", "2025-03-01"])
    assert got.tolist() == [0.0, 0.0]
    assert FIXED_INDEMNITY_EUR == 40.0


def test_interest_is_linear_in_amount_and_additive_in_time():
    a = late_payment_interest([1_000.0], ["2024-05-01"], ["2025-09-01"])[0]
    b = late_payment_interest([1_000.0, 1_000.0], ["2024-05-01", "2024-11-30"], ["2024-11-30", "2025-09-01"]).sum()
    assert a == pytest.approx(b)
    assert late_payment_interest([3_000.0], ["2024-05-01"], ["2025-09-01"])[0] == pytest.approx(3 * a)
