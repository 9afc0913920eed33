"""cashsim.adapters: the IBM late-payment schema loads onto the ledger with its known facts.

The invented fixture ``tests/data/ibm_schema_sample.csv`` (same schema and quirks, made by
``tests/data/make_ibm_schema_sample.py``) always runs; the real public sample in ../shared/data is an extra check
(marked ``shared_data``: required on CI, left out of a clone that does not have it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cashsim.adapters import read_ibm_late_payments
from cashsim.adapters.ibm import signed_days_late
from cashsim.ledger import INVOICE_COLUMNS

IBM_SCHEMA_SAMPLE = Path(__file__).parent / "data" / "ibm_schema_sample.csv"


@pytest.fixture(scope="module")
def sample():
    return read_ibm_late_payments(IBM_SCHEMA_SAMPLE)


def _raw(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"invoiceNumber": str, "countryCode": str}).set_index("invoiceNumber")


def test_schema_sample_counts_and_nothing_rejected(sample):
    assert len(sample.invoices) == 60 and len(sample.payments) == 60
    assert sample.invoices["customer_id"].nunique() == 6 and len(sample.customers) == 6
    assert sample.rejections.empty and sample.accounting()["balanced"].all()
    assert sample.source_rows == {"invoices": 60, "payments": 60}
    assert list(sample.invoices.columns) == [*INVOICE_COLUMNS, "channel"]


def test_schema_sample_mapping(sample):
    inv = sample.invoices.set_index("invoice_id")
    # first data line: 391,0101-AAAAA,1/5/2011,700000,1/5/2012,2/4/2012,46.18,Yes,2/11/2012,Paper,37,7
    first = inv.loc["700000"]
    assert first["customer_id"] == "0101-AAAAA" and first["customer_name"] == "0101-AAAAA"
    assert first["segment"] == "391" and first["currency"] == "USD" and first["channel"] == "Paper"
    assert first["issue_date"] == pd.Timestamp("2012-01-05") and first["due_date"] == pd.Timestamp("2012-02-04")
    assert first["amount"] == 46.18 and bool(first["disputed"]) and first["payment_method"] == "transfer"
    assert sorted(inv["segment"].unique()) == ["391", "406", "770"]
    assert set(inv["channel"]) == {"Paper", "Electronic"}
    assert inv["disputed"].mean() == pytest.approx(0.2)
    assert (inv["due_date"] - inv["issue_date"]).dt.days.eq(30).all()
    pay = sample.payments.set_index("invoice_id")
    assert pay.loc["700000", "payment_date"] == pd.Timestamp("2012-02-11") and pay.loc["700000", "amount"] == 46.18


def test_schema_sample_lateness_is_signed_from_the_dates_not_the_clipped_column(sample):
    raw = _raw(IBM_SCHEMA_SAMPLE)
    late = signed_days_late(sample).reindex(raw.index)
    assert late.notna().all()  # every invoice settled in full
    assert np.array_equal(late.clip(lower=0).to_numpy(), raw["DaysLate"].to_numpy(dtype=float))
    assert (late < 0).sum() == 30  # early payments the clipped column hides
    assert late.mean() == pytest.approx(-0.05) and late.median() == -0.5


def test_schema_sample_cut_creates_open_items(sample):
    book = sample.open_book("2012-06-30")
    assert 0 < len(book) < 60 and (book["outstanding"] == book["amount"]).all()
    assert book["issue_date"].max() <= pd.Timestamp("2012-06-30")


# The real public sample: an extra check on data nobody here wrote.

@pytest.fixture(scope="module")
def ibm(ibm_file):
    return read_ibm_late_payments(ibm_file)


@pytest.mark.shared_data
def test_ibm_counts_and_nothing_rejected(ibm):
    assert len(ibm.invoices) == 2466 and len(ibm.payments) == 2466
    assert ibm.invoices["customer_id"].nunique() == 100 and len(ibm.customers) == 100
    assert ibm.rejections.empty and ibm.accounting()["balanced"].all()
    assert ibm.source_rows == {"invoices": 2466, "payments": 2466}
    assert list(ibm.invoices.columns) == [*INVOICE_COLUMNS, "channel"]
    assert "DaysLate" not in ibm.invoices and "DaysToSettle" not in ibm.payments


@pytest.mark.shared_data
def test_ibm_mapping(ibm):
    inv = ibm.invoices.set_index("invoice_id")
    # first data line: 391,0379-NEVHP,4/6/2013,611365,1/2/2013,2/1/2013,55.94,No,1/15/2013,Paper,13,0
    first = inv.loc["611365"]
    assert first["customer_id"] == "0379-NEVHP" and first["segment"] == "391"
    assert first["issue_date"] == pd.Timestamp("2013-01-02") and first["due_date"] == pd.Timestamp("2013-02-01")
    assert first["amount"] == 55.94 and first["currency"] == "USD" and first["channel"] == "Paper"
    assert not first["disputed"]
    assert sorted(inv["segment"].unique()) == ["391", "406", "770", "818", "897"]
    assert set(inv["channel"]) == {"Paper", "Electronic"}
    assert (inv["due_date"] - inv["issue_date"]).dt.days.eq(30).all()
    assert ibm.invoices["issue_date"].min() == pd.Timestamp("2012-01-03")
    assert ibm.payments["payment_date"].max() == pd.Timestamp("2014-01-09")


@pytest.mark.shared_data
def test_ibm_known_facts(ibm):
    assert ibm.invoices["disputed"].mean() == pytest.approx(0.227, abs=5e-4)
    late = signed_days_late(ibm)
    assert late.notna().all()  # every invoice settled in full
    assert (late < 0).mean() == pytest.approx(0.610, abs=5e-4)  # paid before the due date
    assert late.mean() == pytest.approx(-3.6, abs=0.05) and late.median() == -4
    assert (late.clip(lower=0) > 0).mean() == pytest.approx(1 - 0.644, abs=1e-3)  # what DaysLate > 0 says


@pytest.mark.shared_data
def test_ibm_lateness_is_computed_from_dates_not_the_clipped_column(ibm, ibm_file):
    late = signed_days_late(ibm).reindex(_raw(ibm_file).index)
    assert np.array_equal(late.clip(lower=0).to_numpy(), _raw(ibm_file)["DaysLate"].to_numpy(dtype=float))
    assert (late < 0).sum() > 1400  # the clipped column hides these


@pytest.mark.shared_data
def test_ibm_backtest_cut_creates_open_items(ibm):
    book = ibm.open_book("2013-06-30")
    assert 0 < len(book) < 400 and (book["outstanding"] == book["amount"]).all()
    assert book["issue_date"].max() <= pd.Timestamp("2013-06-30")
