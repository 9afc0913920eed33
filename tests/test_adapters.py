"""cashsim.adapters: the public IBM late-payment sample loads onto the ledger with its known facts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cashsim.adapters import read_ibm_late_payments
from cashsim.adapters.ibm import signed_days_late
from cashsim.ledger import INVOICE_COLUMNS


@pytest.fixture(scope="module")
def ibm(ibm_file):
    return read_ibm_late_payments(ibm_file)


def test_ibm_counts_and_nothing_rejected(ibm, ibm_file):
    assert len(ibm.invoices) == 2466 and len(ibm.payments) == 2466
    assert ibm.invoices["customer_id"].nunique() == 100 and len(ibm.customers) == 100
    assert ibm.rejections.empty and ibm.accounting()["balanced"].all()
    assert ibm.source_rows == {"invoices": 2466, "payments": 2466}
    assert list(ibm.invoices.columns) == [*INVOICE_COLUMNS, "channel"]
    assert "DaysLate" not in ibm.invoices and "DaysToSettle" not in ibm.payments


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


def test_ibm_known_facts(ibm):
    assert ibm.invoices["disputed"].mean() == pytest.approx(0.227, abs=5e-4)
    late = signed_days_late(ibm)
    assert late.notna().all()  # every invoice settled in full
    assert (late < 0).mean() == pytest.approx(0.610, abs=5e-4)  # paid before the due date
    assert late.mean() == pytest.approx(-3.6, abs=0.05) and late.median() == -4
    assert (late.clip(lower=0) > 0).mean() == pytest.approx(1 - 0.644, abs=1e-3)  # what DaysLate > 0 says


def test_ibm_lateness_is_computed_from_dates_not_the_clipped_column(ibm, ibm_file):
    raw = pd.read_csv(ibm_file, dtype={"invoiceNumber": str}).set_index("invoiceNumber")
    late = signed_days_late(ibm).reindex(raw.index)
    assert np.array_equal(late.clip(lower=0).to_numpy(), raw["DaysLate"].to_numpy(dtype=float))
    assert (late < 0).sum() > 1400  # the clipped column hides these


def test_ibm_backtest_cut_creates_open_items(ibm):
    book = ibm.open_book("2013-06-30")
    assert 0 < len(book) < 400 and (book["outstanding"] == book["amount"]).all()
    assert book["issue_date"].max() <= pd.Timestamp("2013-06-30")
