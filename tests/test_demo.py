"""The demo company: deterministic, realistic in shape, and its truth agrees with what it generated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashsim import demo as gen  # the module; `demo` is conftest's fixture (the company)
from cashsim.demo import AS_OF, DISPUTE_TYPES, SEGMENTS

ROOT = Path(__file__).resolve().parents[1]
INVOICE_COLUMNS = ["invoice_id", "customer_id", "customer_name", "segment", "issue_date", "due_date", "amount",
                   "currency", "payment_method", "disputed", "dispute_opened", "dispute_resolved", "dispute_type",
                   "write_off_date"]


@pytest.fixture(scope="module")
def world():
    """Tables and truth of seed 7 without going through the ledger (kept independent of cashsim.ledger)."""
    w = gen._build_world(7)
    tables = gen._cut(w)
    return tables, gen._truth(w)


@pytest.fixture(scope="module")
def status(world):
    """Per invoice (not credit notes): paid to date, full-payment date (NaT if open), days late, from the tables."""
    tables, _ = world
    inv = tables["invoices"]
    inv = inv.loc[inv["amount"] > 0].set_index("invoice_id")
    pay = tables["payments"].sort_values("payment_date")
    pay = pay.assign(cum=pay.groupby("invoice_id")["amount"].cumsum())
    pay = pay.join(inv["amount"].rename("due_amount"), on="invoice_id")
    full = pay.loc[pay["cum"] >= pay["due_amount"] - 0.01].groupby("invoice_id")["payment_date"].first()
    out = inv.assign(paid_to_date=pay.groupby("invoice_id")["amount"].sum(), paid_date=full)
    out["paid_to_date"] = out["paid_to_date"].fillna(0.0)
    out["days_late"] = (out["paid_date"] - out["due_date"]).dt.days
    out["due_month"] = out["due_date"].dt.strftime("%Y-%m")
    return out


# ------------------------------------------------------------------------------------------------- determinism

def test_same_seed_same_tables_other_seed_differs():
    a, b, c = gen.demo_tables(7), gen.demo_tables(7), gen.demo_tables(8)
    assert sorted(a) == ["customers", "dunning", "invoices", "payments", "promises"]
    for key in a:
        pd.testing.assert_frame_equal(a[key], b[key])
    assert not a["invoices"]["amount"].equals(c["invoices"]["amount"])
    assert not a["payments"]["payment_date"].equals(c["payments"]["payment_date"])


def test_returned_tables_are_copies():
    a = gen.demo_tables(7)
    a["invoices"].loc[0, "amount"] = -1.0
    assert gen.demo_tables(7)["invoices"].loc[0, "amount"] != -1.0


# ------------------------------------------------------------------------------------------------------ shapes

def test_canonical_columns_and_dtypes(world):
    tables, _ = world
    inv = tables["invoices"]
    assert list(inv.columns) == INVOICE_COLUMNS
    assert list(tables["payments"].columns) == ["invoice_id", "payment_date", "amount"]
    assert list(tables["promises"].columns) == ["invoice_id", "made_date", "promised_date", "amount"]
    assert list(tables["dunning"].columns) == ["invoice_id", "action_date", "level", "channel"]
    assert list(tables["customers"].columns) == ["customer_id", "customer_name", "segment", "credit_limit"]
    for col in ("issue_date", "due_date", "dispute_opened", "dispute_resolved", "write_off_date"):
        assert inv[col].dtype == "datetime64[ns]", col
    assert inv["disputed"].dtype == bool and inv["amount"].dtype == np.float64
    assert inv["invoice_id"].is_unique and tables["customers"]["customer_id"].is_unique
    assert (inv["currency"] == "EUR").all()
    assert set(inv["payment_method"]) == {"transfer", "direct_debit", "cheque", "card"}


def test_size_dates_and_segments(world):
    tables, _ = world
    inv, pay, cust = tables["invoices"], tables["payments"], tables["customers"]
    assert 270 <= len(cust) <= 330
    assert 20_000 <= len(inv) <= 60_000
    assert inv["issue_date"].min() >= pd.Timestamp("2023-11-01")
    assert AS_OF - pd.Timedelta(days=5) <= inv["issue_date"].max() <= AS_OF
    assert pay["payment_date"].max() <= AS_OF
    assert tables["dunning"]["action_date"].max() <= AS_OF
    assert tables["promises"]["made_date"].max() <= AS_OF
    assert set(inv["segment"]) == set(SEGMENTS) == set(cust["segment"])
    # ledger as known at AS_OF: nothing dated after it
    for col in ("dispute_opened", "dispute_resolved", "write_off_date"):
        assert inv[col].max() <= AS_OF, col


def test_every_feature_is_present(world, status):
    tables, _ = world
    inv, pay = tables["invoices"], tables["payments"]
    disputed = inv.loc[inv["disputed"]]
    assert set(disputed["dispute_type"]) == set(DISPUTE_TYPES)
    assert inv.loc[~inv["disputed"], "dispute_type"].isna().all()
    assert disputed["dispute_resolved"].isna().any() and disputed["dispute_resolved"].notna().any()
    assert (pay.groupby("invoice_id").size() == 2).sum() > 100           # instalments
    assert (inv["payment_method"] == "direct_debit").sum() > 1000
    assert 20 <= (inv["amount"] < 0).sum() <= 500                        # credit notes (avoirs)
    assert 50 <= inv["write_off_date"].notna().sum() <= 1000              # a few defaults
    assert len(tables["promises"]) > 500 and len(tables["dunning"]) > 5000
    assert set(tables["dunning"]["level"]) == {1, 2, 3}
    cust = tables["customers"]
    assert gen.ESCAPE_NAME in set(cust["customer_name"]) and cust["customer_name"].is_unique
    assert cust["credit_limit"].notna().sum() > 50 and cust["credit_limit"].isna().sum() > 50
    # the open book at AS_OF: both not yet due and overdue invoices, some partly paid
    open_ = status.loc[status["paid_date"].isna() & status["write_off_date"].isna()]
    assert (open_["due_date"] > AS_OF).sum() > 200 and (open_["due_date"] <= AS_OF).sum() > 100
    assert (open_["paid_to_date"] > 0).sum() > 0


# -------------------------------------------------------------------------------------------------- invariants

def test_payments_are_consistent_with_invoices(world, status):
    tables, _ = world
    inv = tables["invoices"].set_index("invoice_id")
    pay = tables["payments"]
    assert pay["invoice_id"].isin(inv.index).all()
    assert tables["promises"]["invoice_id"].isin(inv.index).all()
    assert tables["dunning"]["invoice_id"].isin(inv.index).all()
    assert (pay["payment_date"].to_numpy() > inv.loc[pay["invoice_id"], "issue_date"].to_numpy()).all()
    assert (status["paid_to_date"] <= status["amount"] + 0.01).all()
    assert (pay["amount"] > 0).all()
    assert not pay["invoice_id"].isin(inv.index[inv["amount"] < 0]).any()     # credit notes are never paid
    written = status.loc[status["write_off_date"].notna()]
    assert written["paid_date"].isna().all()
    assert (inv["due_date"] >= inv["issue_date"]).all()


def test_payments_fall_on_french_business_days(world):
    tables, _ = world
    days = tables["payments"]["payment_date"].to_numpy().astype("datetime64[D]")
    assert np.is_busday(days, busdaycal=gen.business_calendar()).all()
    # 14 July, 15 August, 25 December are never payment days
    md = tables["payments"]["payment_date"].dt.strftime("%m-%d")
    assert not md.isin(["07-14", "08-15", "12-25", "01-01"]).any()


def test_key_accounts_pay_on_their_payment_runs(world):
    tables, truth = world
    inv = tables["invoices"].set_index("invoice_id")
    pay = tables["payments"].join(inv["customer_id"], on="invoice_id")
    pay = pay.join(truth.customers[["segment", "run_day_1", "run_day_2"]], on="customer_id")
    ka = pay.loc[pay["segment"] == "key_accounts"]
    day = ka["payment_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    snapped = gen.next_payment_run(day, ka["run_day_1"].to_numpy(), ka["run_day_2"].to_numpy())
    assert len(ka) > 1000 and (snapped == day).all()
    # a customer pays on at most two days of each month
    per_month = ka.groupby(["customer_id", ka["payment_date"].dt.strftime("%Y-%m")])["payment_date"].nunique()
    assert per_month.max() <= 2


def test_dunning_follows_the_plan_and_only_unpaid_invoices(world, status):
    tables, _ = world
    dun = tables["dunning"].join(status[["due_date", "paid_date", "disputed"]], on="invoice_id")
    offset = (dun["action_date"] - dun["due_date"]).dt.days
    plan = gen.DUNNING_PLAN["days_after_due"]
    lo, hi = dun["level"].map(plan), dun["level"].map(plan) + 4           # rolled to the next business day
    assert ((offset >= lo) & (offset <= hi)).all()
    assert (dun["channel"] == dun["level"].map(gen.DUNNING_PLAN["channel"])).all()
    assert not dun["disputed"].any()                                      # disputes suspend dunning
    paid_before = dun["paid_date"].notna() & (dun["paid_date"] <= dun["action_date"])
    assert not paid_before.any()


def test_direct_debit_pays_on_the_due_date(status):
    dd = status.loc[(status["payment_method"] == "direct_debit") & ~status["disputed"] & status["paid_date"].notna()]
    on_time = (dd["days_late"] >= 0) & (dd["days_late"] <= 3)           # due date rolled to a business day
    assert 0.9 <= on_time.mean() <= 0.99                                  # rejections are the rest


# ------------------------------------------------------------------------------------------------------- truth

def test_truth_tables_are_complete(world):
    _, truth = world
    seg = truth.segments
    assert list(seg.index) == list(SEGMENTS)
    assert {"median_days_late", "share_late", "p_never", "mu", "sd_customer", "sd_month"} <= set(seg.columns)
    assert seg["share_late"].between(0, 1).all()
    assert 0 < truth.rho_month < truth.rho_customer < 1
    assert len(truth.customers) == 300 and truth.customers["p_never"].between(0, 1).all()
    assert set(truth.dispute_resolution_days.index) == set(DISPUTE_TYPES)
    assert list(truth.dunning_effect.index) == [1, 2, 3]
    assert set(truth.promise_keep.index) == set(SEGMENTS)
    # the segments are told apart: public slowest, key accounts late but regular, sme earliest
    assert seg.loc["public", "median_days_late"] > seg.loc["key_accounts", "median_days_late"] > seg.loc[
        "sme", "median_days_late"]
    assert seg.loc["micro", "p_never"] > seg.loc["sme", "p_never"] > seg.loc["key_accounts", "p_never"]


def test_truth_monte_carlo_does_not_move_with_its_seed(world):
    """The segment truth is a stable functional of the law: other truth seeds give the same medians (no day
    flips) and shares late within 0.3 point, so the 2-day / 5-point recovery tolerances are not eaten by noise."""
    from dataclasses import replace

    _, truth = world
    w = gen._build_world(7)
    for extra in (101, 202):
        other = gen._truth(replace(w, truth_seed=np.random.SeedSequence([7, extra]))).segments
        assert (other["median_days_late"] == truth.segments["median_days_late"]).all(), extra
        assert (other["share_late"] - truth.segments["share_late"]).abs().max() < 0.003, extra


def test_truth_matches_closed_normal_month_invoices(world):
    """Empirical median / share late of old undisputed, non-direct-debit, normal-month invoices vs the truth."""
    _, truth = world
    out = truth.outcomes
    old = out.loc[(out["issue_date"] <= AS_OF - pd.Timedelta(days=365)) & (out["amount"] > 0) & ~out["disputed"]
                  & ~out["direct_debit"] & out["normal_month"]]
    late = np.where(old["never_paid"], np.inf, (old["paid_date"] - old["due_date"]).dt.days)
    emp = pd.DataFrame({"segment": old["segment"], "late": late}).groupby("segment")["late"]
    median, share = emp.median(), emp.apply(lambda v: (v > 0).mean())
    for s in SEGMENTS:
        assert abs(median[s] - truth.segments.loc[s, "median_days_late"]) <= 2, s
        assert abs(share[s] - truth.segments.loc[s, "share_late"]) <= 0.05, s


def test_customer_truth_is_consistent_with_segment_truth(world):
    _, truth = world
    c = truth.customers
    w = c.join(truth.segments["n_invoices"], on="segment")
    # defined for every customer not on direct debit (those pay on the due date)
    assert (c["median_days_late"].notna() == (c["payment_method"] != "direct_debit")).all()
    # customers with a higher true intercept pay later (key accounts less strictly: their payment runs, not mu,
    # decide much of the date)
    for s in SEGMENTS:
        cs = c.loc[c["segment"] == s].dropna(subset=["median_days_late"])
        assert cs["mu"].corr(cs["median_days_late"], method="spearman") > (0.5 if s == "key_accounts" else 0.8), s
    assert len(w) == 300


def test_promise_keep_rate_matches_truth(world, status):
    tables, truth = world
    prom = tables["promises"].join(status[["segment", "paid_date"]], on="invoice_id")
    prom = prom.loc[prom["promised_date"] <= AS_OF - pd.Timedelta(days=60)]
    kept = prom["paid_date"].notna() & (prom["paid_date"] <= prom["promised_date"])
    rate = kept.groupby(prom["segment"]).mean()
    n = prom.groupby("segment").size()
    for s in SEGMENTS:
        tol = 3 * np.sqrt(0.25 / n[s]) + 0.02
        assert abs(rate[s] - truth.promise_keep[s]) <= tol, (s, rate[s], n[s])


def test_dispute_resolution_matches_truth(world):
    tables, truth = world
    inv = tables["invoices"]
    d = inv.loc[inv["disputed"] & (inv["dispute_opened"] <= AS_OF - pd.Timedelta(days=365))]
    assert d["dispute_resolved"].notna().all()
    days = (d["dispute_resolved"] - d["dispute_opened"]).dt.days.groupby(d["dispute_type"]).median()
    law = truth.dispute_resolution_days["median_days"]
    for t in DISPUTE_TYPES:
        assert abs(days[t] - law[t]) <= 0.25 * law[t] + 1, t
    pmf = truth.dispute_resolution_pmf("technical")
    assert pmf.shape == (366,) and pmf[0] == 0 and 0.99 < pmf.sum() <= 1 + 1e-12
    assert np.searchsorted(np.cumsum(pmf), 0.5) == pytest.approx(law["technical"], abs=1)


def test_dunning_raises_the_payment_hazard(world, status):
    """Invoices pay more often in the days right after a formal notice than in the days just before it."""
    tables, _ = world
    d3 = tables["dunning"].loc[tables["dunning"]["level"] == 3].join(status["paid_date"], on="invoice_id")
    d3 = d3.loc[d3["action_date"] <= AS_OF - pd.Timedelta(days=60)]
    gap = (d3["paid_date"] - d3["action_date"]).dt.days
    assert ((gap >= 1) & (gap <= 12)).mean() > gen.DUNNING_PLAN.loc[3, "response_prob"] * 0.9


def test_truth_holds_what_happened_after_as_of(world, status):
    """Every invoice open at AS_OF is paid in truth.future_payments or never paid; nothing after AS_OF leaks in."""
    tables, truth = world
    open_ids = status.index[status["paid_date"].isna() & status["write_off_date"].isna()]
    out = truth.outcomes.set_index("invoice_id")
    later = set(truth.future_payments["invoice_id"])
    settled = np.array([i in later for i in open_ids]) | out.loc[open_ids, "never_paid"].to_numpy()
    assert settled.all()
    assert (truth.future_payments["payment_date"] > AS_OF).all()
    assert (truth.future_invoices["issue_date"] > AS_OF).all() and len(truth.future_invoices) > 2000
    assert not set(truth.future_invoices["invoice_id"]) & set(tables["invoices"]["invoice_id"])
    # outcomes agree with the ledger on what was paid by AS_OF
    paid = status["paid_date"].dropna()
    pd.testing.assert_series_equal(out.loc[paid.index, "paid_date"], paid, check_names=False)


def test_another_history_of_the_same_company():
    """history_seed redraws shocks, disputes and payments of the same customers and invoices."""
    a, b = gen._build_world(7), gen._build_world(7, history_seed=1)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    cols = ["invoice_id", "customer_id", "issue_date", "due_date", "amount"]
    pos_a, pos_b = a.invoices.loc[a.invoices["amount"] > 0, cols], b.invoices.loc[b.invoices["amount"] > 0, cols]
    pd.testing.assert_frame_equal(pos_a.reset_index(drop=True), pos_b.reset_index(drop=True))
    assert not a.months["M"].equals(b.months["M"])
    paid_a = a.invoices.set_index("invoice_id")["paid_date"]
    paid_b = b.invoices.set_index("invoice_id")["paid_date"].reindex(paid_a.index)
    assert (paid_a != paid_b).mean() > 0.5


# ------------------------------------------------------------------------------------------ calendar and season

def test_stressed_quarter_pays_visibly_later(status):
    und = status.loc[~status["disputed"] & (status["payment_method"] != "direct_debit")
                     & (status["issue_date"] <= AS_OF - pd.Timedelta(days=365))]
    stress = und["due_month"].isin(gen.STRESS_MONTHS)
    normal = ~stress & ~und["due_month"].str.endswith("-08")
    for s in SEGMENTS:
        seg = und["segment"] == s
        late_stress = und.loc[seg & stress, "days_late"].median()
        late_normal = und.loc[seg & normal, "days_late"].median()
        assert late_stress >= late_normal + 5, (s, late_stress, late_normal)


def test_august_sales_are_low_and_december_high(world):
    tables, _ = world
    inv = tables["invoices"]
    sales = inv.loc[inv["amount"] > 0].groupby(inv["issue_date"].dt.to_period("M"))["amount"].sum()
    for year in (2024, 2025, 2026):
        aug = sales[pd.Period(f"{year}-08", "M")]
        others = sales[(sales.index.year == year) & (sales.index.month != 8)].mean()
        assert aug < 0.7 * others, year
    assert sales[pd.Period("2025-12", "M")] > sales[pd.Period("2025-09", "M")]


def test_sales_plan_in_params_matches_the_generator():
    from cashsim.params import load_params, monthly_values

    params = load_params(ROOT / "params" / "demo.yml")
    expected = gen.expected_monthly_sales().loc["2026-11":"2027-02"]
    assert params.as_of == AS_OF.date()
    for line in params.sales_plan:
        plan = monthly_values(line.monthly_amount, 4)
        np.testing.assert_allclose(plan, expected[line.segment].to_numpy(), rtol=0.01)


# --------------------------------------------------------------------------------------------- calendar helpers

_DAY0 = int(np.datetime64("2024-01-01").astype(np.int64))


@settings(max_examples=200, deadline=None)
@given(day=st.integers(_DAY0, _DAY0 + 1500), runs=st.sampled_from([(10, 31), (15, 31), (31, 0), (10, 0), (0, 0)]))
def test_next_payment_run_is_the_first_run_on_or_after_the_day(day, runs):
    r1, r2 = np.array([runs[0]]), np.array([runs[1]])
    got = int(gen.next_payment_run(np.array([day]), r1, r2)[0])
    assert got >= day
    assert np.is_busday(np.datetime64(got, "D"), busdaycal=gen.business_calendar())
    # no run day strictly between day and got
    between = np.arange(day, got)
    if between.size:
        assert (gen.next_payment_run(between, np.repeat(r1, between.size), np.repeat(r2, between.size)) == got).all()


@given(issue=st.integers(_DAY0, _DAY0 + 1500), terms=st.sampled_from([30, 45, 60]), eom=st.booleans())
def test_due_dates_follow_the_terms(issue, terms, eom):
    due = int(gen._due_dates(np.array([issue]), np.array([terms]), np.array([eom]))[0])
    assert due >= issue + terms
    if eom:  # fin de mois: the last day of the month in which issue + terms falls
        d = pd.Timestamp(np.datetime64(due, "D"))
        assert d.is_month_end and d.month == pd.Timestamp(np.datetime64(issue + terms, "D")).month
    else:
        assert due == issue + terms


def test_french_holidays():
    hol = gen.FrenchHolidayCalendar().holidays("2026-01-01", "2026-12-31")
    assert len(hol) == 11
    assert pd.Timestamp("2026-05-14") in hol       # Ascension 2026
    assert pd.Timestamp("2026-05-25") in hol       # lundi de Pentecôte 2026


# --------------------------------------------------------------------------------------------------- end to end

def test_demo_company_reads_into_the_ledger_without_rejections(demo):
    company = demo                     # conftest: gen.demo_company(), built once per session
    ledger = company.ledger
    assert company.as_of == AS_OF
    assert len(ledger.rejections) == 0, ledger.rejections.head().to_string()
    assert len(ledger.invoices) == len(company.tables["invoices"])
    assert len(ledger.payments) == len(company.tables["payments"])
    book = ledger.open_book(AS_OF)
    assert {"open_not_due", "overdue"} <= set(book["status"])
    assert company.raw is company.tables
    assert len(gen.demo_ledger(7).invoices) == len(ledger.invoices)
