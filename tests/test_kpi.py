"""cashsim.kpi: every KPI against a hand-computed example on a tiny ledger, and the formulas against textbooks."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cashsim.kpi import (
    age_bucket,
    aged_balance,
    aged_balance_wide,
    alerts,
    by_levels,
    call_list,
    claims_by_customer,
    customer_cost,
    customer_groups,
    customer_shortfall,
    dispute_summary,
    dispute_table,
    dso_at,
    dso_countback,
    dso_history,
    dso_standard,
    late_payment_claims,
    payment_behaviour,
    shortfall_contribution,
    usual_delay,
)
from cashsim.params import Alerts, CashBurn, Finance

AS_OF = pd.Timestamp("2026-03-31")
SLA = {"price": 3, "technical": 7, "delivery": 5, "other": 10}


# ----------------------------------------------------------------------------------------------- formulas


def test_standard_dso_textbook():
    assert dso_standard(30_000, 60_000, 90) == 45.0


def test_countback_worked_example():
    got = dso_countback(212_000, [100_000, 80_000, 70_000], [30, 30, 30])
    assert got == pytest.approx(30 + 30 + 30 * 32_000 / 70_000)
    assert round(got, 1) == 73.7


def test_countback_edges_vectorised():
    ar = np.array([0.0, 50.0, 100.0, 150.0, 200.0, 1_000.0])
    sales = np.tile([100.0, 0.0, 100.0], (6, 1))                       # a month without sales adds its days
    days = np.array([31.0, 30.0, 31.0])
    # AR exactly equal to the first month's sales = that month's days; more than all the sales given = NaN
    np.testing.assert_allclose(dso_countback(ar, sales, days), [0.0, 15.5, 31, 31 + 30 + 15.5, 92, np.nan])


def test_age_buckets():
    assert age_bucket([-1, 0, 1, 30, 31, 60, 61, 90, 91]).tolist() == [
        "not_due", "not_due", "1-30", "1-30", "31-60", "31-60", "61-90", "61-90", ">90"]


# ----------------------------------------------------------------------------------------------- tiny ledger


def _tiny_tables():
    inv = pd.DataFrame([
        # id, customer, segment, issue, due, amount, disputed, opened, resolved, type
        ("A1", "A", "sme", "2026-01-05", "2026-02-04", 1200.0, False, None, None, None),
        ("A2", "A", "sme", "2026-02-10", "2026-03-12", 2400.0, False, None, None, None),
        ("A3", "A", "sme", "2026-03-20", "2026-04-19", 600.0, False, None, None, None),
        ("A4", "A", "sme", "2026-01-20", "2026-02-19", 800.0, True, "2026-02-25", None, "price"),
        ("B1", "B", "key_accounts", "2025-12-01", "2025-12-31", 5000.0, False, None, None, None),
        ("B2", "B", "key_accounts", "2025-11-15", "2025-12-15", 3000.0, False, None, None, None),
        ("B3", "B", "key_accounts", "2026-03-01", "2026-03-01", -500.0, False, None, None, None),
        ("B4", "B", "key_accounts", "2026-02-01", "2026-03-03", 1000.0, False, None, None, None),
        ("C1", "C", "sme", "2025-05-01", "2025-05-31", 10000.0, False, None, None, None),
        ("C2", "C", "sme", "2025-05-15", "2025-06-14", 2000.0, True, "2025-06-01", "2025-06-11", "technical"),
        ("D1", "D", "micro", "2025-01-10", "2025-02-09", 700.0, False, None, None, None),
    ], columns=["invoice_id", "customer_id", "segment", "issue_date", "due_date", "amount", "disputed",
                "dispute_opened", "dispute_resolved", "dispute_type"])
    inv["write_off_date"] = pd.to_datetime(np.where(inv["invoice_id"].eq("D1"), "2025-09-01", None))
    for c in ("issue_date", "due_date", "dispute_opened", "dispute_resolved", "write_off_date"):
        inv[c] = pd.to_datetime(inv[c]).astype("datetime64[ns]")
    inv["customer_name"] = "Client " + inv["customer_id"]
    pay = pd.DataFrame([
        ("A1", "2026-02-14", 1200.0),
        ("B1", "2026-01-10", 2000.0),
        ("B4", "2026-03-01", 1000.0),
        ("C1", "2025-06-30", 5000.0),
        ("C1", "2025-07-31", 5000.0),
        ("C2", "2025-06-20", 2000.0),
    ], columns=["invoice_id", "payment_date", "amount"])
    pay["payment_date"] = pd.to_datetime(pay["payment_date"]).astype("datetime64[ns]")
    customers = pd.DataFrame({"customer_id": ["A", "B", "C", "D"],
                              "customer_name": ["Client A", "Client B", "Client C", "Client D"],
                              "segment": ["sme", "key_accounts", "sme", "micro"],
                              "credit_limit": [np.nan, 5000.0, np.nan, np.nan]})
    dunning = pd.DataFrame({"invoice_id": ["B2", "B2", "B1"],
                            "action_date": pd.to_datetime(["2026-01-05", "2026-01-20", "2026-02-10"]).astype(
                                "datetime64[ns]"),
                            "level": [1, 2, 1], "channel": ["email", "letter", "phone"]})
    return inv, pay, customers, dunning


@pytest.fixture(scope="module")
def tiny():
    from cashsim.ledger import read_ledger

    inv, pay, customers, dunning = _tiny_tables()
    return read_ledger(inv, pay, customers=customers, dunning=dunning)


def test_aged_balance_by_hand(tiny):
    ab = aged_balance(tiny, AS_OF).set_index("bucket")
    assert ab["amount"].to_dict() == {"not_due": 600.0, "1-30": 2400.0, "31-60": 800.0, "61-90": 3000.0,
                                      ">90": 3000.0, "credit_notes": -500.0, "total": 9300.0}
    assert ab.loc["61-90", "share"] == pytest.approx(3000 / 9800)
    wide = aged_balance_wide(aged_balance(tiny, AS_OF)).iloc[0]
    assert wide[">90"] == 3000.0 and wide["total"] == 9300.0 and wide["group"] == "all"
    by_seg = aged_balance(tiny, AS_OF, by="segment")
    ka = by_seg.loc[by_seg["group"].eq("key_accounts")].set_index("bucket")["amount"]
    assert ka[">90"] == 3000.0 and ka["total"] == 5500.0 and ka["not_due"] == 0.0


def test_aged_balance_as_it_stood_at_a_past_date(tiny):
    ab = aged_balance(tiny, "2026-02-28").set_index("bucket")["amount"]
    assert ab.to_dict() == {"not_due": 3400.0, "1-30": 800.0, "31-60": 3000.0, "61-90": 3000.0, ">90": 0.0,
                            "credit_notes": 0.0, "total": 10_200.0}


def test_dso_on_the_tiny_ledger_by_hand(tiny):
    d = dso_at(tiny, AS_OF).iloc[0]
    assert d["ar"] == 9300.0 and d["ar_not_due"] == 600.0 - 500.0
    # sales latest first: Mar 100 (600 - 500), Feb 3400, Jan 2000, Dec 5000
    assert d["dso_standard"] == pytest.approx(9300 / (100 + 3400 + 2000) * (31 + 28 + 31))
    assert d["dso_countback"] == pytest.approx(31 + 28 + 31 + 31 * 3800 / 5000)
    assert d["bpdso_countback"] == pytest.approx(31 * 100 / 100)
    assert d["add_countback"] == pytest.approx(d["dso_countback"] - d["bpdso_countback"])


def test_dso_history_is_what_was_known_then(tiny):
    h = dso_history(tiny, start="2026-01-01", end=AS_OF)
    assert h["as_of"].dt.strftime("%Y-%m-%d").tolist() == ["2026-01-31", "2026-02-28", "2026-03-31"]
    assert h["month"].tolist() == ["2026-01", "2026-02", "2026-03"]
    feb = h.iloc[1]
    # at 28 Feb: open B1 3000 (59 days), B2 3000, A2 2400, A4 800, B4 1000 -> 10 200; C paid long ago
    assert feb["ar"] == 10_200.0
    assert feb["dso_countback"] == pytest.approx(28 + 31 + 31 * (10_200 - 3400 - 2000) / 5000)
    assert h["dso_change"].iloc[2] == pytest.approx(h["dso_countback"].iloc[2] - feb["dso_countback"])
    mid = dso_at(tiny, "2026-03-15").iloc[0]    # month to date: 15 days of March whose only sale is the -500 note
    assert mid["ar"] == 8700.0                  # B4 paid on 1 March; the credit note nets
    assert mid["dso_countback"] == pytest.approx(15 + 28 + 31 + 31 * (8700 + 500 - 3400 - 2000) / 5000)
    first = dso_at(tiny, "2025-02-28").iloc[0]       # history starts in January 2025: no full 3-month period yet
    assert np.isnan(first["dso_standard"])
    assert first["dso_countback"] == pytest.approx(28 + 31)      # D1's 700 is all of January's sales
    levels = by_levels(dso_at, tiny, AS_OF)
    assert set(levels["level"]) == {"all", "segment", "customer"}
    assert levels.loc[levels["group"].eq("B"), "customer_name"].item() == "Client B"


def test_late_rates_and_weighted_days_late_by_hand(tiny):
    pb = payment_behaviour(tiny, AS_OF).iloc[0]
    # due in the last year: A1 A2 A4 B1 B2 B4 C1 C2; on time: B4 only
    assert pb["n_due"] == 8 and pb["late_rate_count"] == pytest.approx(7 / 8)
    assert pb["late_rate_amount"] == pytest.approx(24_400 / 25_400)
    # paid: A1 +10 (1 200), B4 -2 (1 000), C1 +61 (10 000, fully paid 31 Jul), C2 +6 (2 000)
    assert pb["avg_days_late_weighted"] == pytest.approx((12_000 - 2_000 + 610_000 + 12_000) / 14_200)
    by_cust = payment_behaviour(tiny, AS_OF, by="customer_id").set_index("group")
    assert by_cust.loc["B", "late_rate_count"] == pytest.approx(2 / 3)


def test_usually_pays_around(tiny):
    u = usual_delay(tiny, AS_OF).set_index("customer_id")
    assert u.loc["A", "sentence"] == "usually pays around 10 days late"
    assert u.loc["B", "sentence"] == "usually pays on time"
    assert u.loc["C", "median_days_late"] == pytest.approx(33.5)


def test_disputes_against_service_levels(tiny):
    t = dispute_table(tiny, AS_OF, SLA).set_index("invoice_id")
    assert t.loc["A4", "is_open"] and t.loc["A4", "age_days"] == 34 and t.loc["A4", "past_sla"]
    assert not t.loc["C2", "is_open"] and t.loc["C2", "resolution_days"] == 10 and t.loc["C2", "past_sla"]
    s = dispute_summary(tiny, AS_OF, SLA).set_index("dispute_type")
    assert s.loc["price", "n_open"] == 1 and s.loc["price", "open_amount"] == 800.0
    assert s.loc["technical", "share_resolved_within_sla"] == 0.0
    # before the C2 dispute was resolved, it was open and not yet known as resolved
    early = dispute_table(tiny, "2025-06-05", SLA).set_index("invoice_id")
    assert early.loc["C2", "is_open"] and early.loc["C2", "age_days"] == 4 and not early.loc["C2", "past_sla"]


def test_late_payment_interest_and_indemnity_per_invoice_and_client(tiny):
    c = late_payment_claims(tiny, AS_OF).set_index("invoice_id")
    assert "B4" not in c.index and "B3" not in c.index            # paid early; a credit note is never late
    # C1: 5 000 late 30 days in H1 2025 (13.15 %), 5 000 late 30 days at 13.15 % + 31 days at 12.15 %
    c1 = (5000 * 0.1315 * 30 + 5000 * (0.1315 * 30 + 0.1215 * 31)) / 365
    assert c.loc["C1", "interest"] == pytest.approx(c1)
    assert c.loc["C1", "indemnity"] == 40.0 and not c.loc["C1", "rate_beyond_table"]
    # B2 open 106 days, beyond the table from 1 Jan 2026: the last rate, flagged
    assert c.loc["B2", "interest"] == pytest.approx(3000 * 0.1215 * 106 / 365)
    assert c.loc["B2", "rate_beyond_table"]
    per = claims_by_customer(c.reset_index()).set_index("customer_id")
    c2 = 2000 * 0.1315 * 6 / 365
    assert per.loc["C", "claimable"] == pytest.approx(c1 + c2 + 80.0)
    assert per.loc["C", "n_late_invoices"] == 2


def test_alerts_from_thresholds(tiny):
    rel = pd.DataFrame({"customer_id": ["A", "B", "C"], "reliability": [0.9, 0.5, 0.6],
                        "reliable": [True, False, False]})
    a = alerts(tiny, AS_OF, Alerts(dso_increase_days=1.0), reliability=rel)
    kinds = a.groupby("alert")["group"].apply(set).to_dict()
    assert kinds["over_credit_limit"] == {"B"}                       # 5 500 over 5 000
    assert kinds["overdue_balance"] == {"B"}                         # B1 (90 days) + B2 (106 days) = 6 000
    assert a.loc[a["alert"].eq("overdue_balance"), "value"].item() == 6000.0
    # amounts in the messages follow the report's locale (Babel's narrow no-break spaces for fr-FR)
    assert a.loc[a["alert"].eq("overdue_balance"), "message"].item() == "6\u202f000\xa0€ more than 60 days past due"
    en = alerts(tiny, AS_OF, Alerts(dso_increase_days=1.0), reliability=rel, locale="en_GB")
    assert en.loc[en["alert"].eq("over_credit_limit"), "message"].item() == "balance €5,500 over credit limit €5,000"
    assert kinds["dispute_past_sla"] == {"A"}
    assert kinds["reliable_turning_late"] == {"A"}                   # A1, A2, A4 due in the last 90 days: all late
    h = dso_history(tiny, start="2026-02-01", end=AS_OF)
    up = h["dso_countback"].iloc[-1] - h["dso_countback"].iloc[-2]
    assert ("all" in kinds.get("dso_increase", set())) == (up > 1.0)
    none = alerts(tiny, AS_OF, Alerts(overdue_days=200, dso_increase_days=1000,
                                      dispute_sla_days={"price": 100, "other": 100}, credit_limits={"B": 1e6}),
                  reliability=rel.assign(reliable=False))
    assert none.empty


def test_call_list_ranks_by_amount_at_stake_with_next_action(tiny):
    cl = call_list(tiny, AS_OF)
    assert cl["invoice_id"].tolist()[:4] == ["B2", "B1", "A2", "A4"]
    act = cl.set_index("invoice_id")["next_action"]
    assert "mise en demeure" in act["B2"]                             # after the level-2 letter
    assert act["B1"].startswith("phone call")                         # after the level-1 call
    assert "1re relance" in act["A2"]
    assert "litige" in act["A4"]
    assert cl.set_index("invoice_id").loc["B2", "claimable"] == pytest.approx(3000 * 0.1215 * 106 / 365 + 40)
    rel = pd.DataFrame({"reliability": [0.3, 0.9, 0.9], "reliable": [False, True, True]},
                       index=pd.Index(["A", "B", "C"], name="customer_id"))
    with_pre = call_list(tiny, AS_OF, reliability=rel, pre_due_days=30).set_index("invoice_id")
    assert with_pre.loc["A3", "risk"] == pytest.approx(0.7)
    assert "relance préventive" in with_pre.loc["A3", "next_action"]


def test_true_cost_of_a_customer(tiny):
    fin = Finance(borrowing_rate=0.055, gross_margin=0.20, hourly_cost=45)
    cost = customer_cost(tiny, AS_OF, fin).set_index("group")
    # C: 5 000 x 30 + 5 000 x 61 + 2 000 x 6 euro-days at 5.5 %
    assert cost.loc["C", "financing_cost"] == pytest.approx((150_000 + 305_000 + 12_000) * 0.055 / 365)
    assert cost.loc["B", "collection_effort"] == pytest.approx((5 + 15 + 15) * 45 / 60)
    assert cost.loc["B", "expected_bad_debt"] == pytest.approx(6000 * 0.013)
    assert cost.loc["B", "extra_sales_for_bad_debt"] == pytest.approx(6000 * 0.013 / 0.20)
    assert cost.loc["C", "surcharge"] == pytest.approx(cost.loc["C", "total_cost"] / 12_000)
    # D's 700 written off on 1 Sep 2025 takes 3 500 of extra sales to earn back at a 20 % margin
    assert cost.loc["D", "written_off"] == 700.0
    assert cost.loc["D", "extra_sales_for_bad_debt"] == pytest.approx(3500.0)
    assert np.isnan(cost.loc["D", "surcharge"])                      # no sales in the year: no price to raise


# ----------------------------------------------------------------------------------------------- shortfall


def test_shortfall_contribution_finds_the_volatile_customer_and_adds_up():
    rng = np.random.default_rng(5)
    n, months = 20_000, pd.period_range("2026-11", periods=2, freq="M")
    steady = rng.normal(100.0, 1.0, (n, 2))
    volatile = rng.normal(100.0, 30.0, (n, 2))
    g = np.stack([steady, volatile], axis=1)                          # (paths, groups, months)
    df = shortfall_contribution(g, np.full((n, 2), 200.0), months, ["steady", "volatile"])
    nov = df[df["month"] == "2026-11"].set_index("group")
    # E[mu - Y | X + Y < mu_X + mu_Y] = sd_Y^2 / sd_total x phi(0) / Phi(0)
    expected_volatile = 30.0**2 / np.hypot(1.0, 30.0) * stats.norm.pdf(0) / 0.5
    assert nov.loc["volatile", "contribution"] == pytest.approx(expected_volatile, rel=0.03)
    assert abs(nov.loc["steady", "contribution"]) < 0.1
    assert nov.loc["volatile", "p_shortfall"] == pytest.approx(0.5, abs=0.02)
    total = g.sum(axis=1)[:, 0]
    bad = total < 200
    assert nov["contribution"].sum() == pytest.approx((total.mean() - total[bad]).mean(), rel=1e-9)
    assert 0 < nov.loc["volatile", "contribution_se"] < 0.5
    assert nov.loc["volatile", "gap_p10"] < nov.loc["volatile", "contribution"] < nov.loc["volatile", "gap_p90"]


def test_customer_shortfall_on_a_simulation_like_object():
    from cashsim.targets import target_report_arrays

    rng = np.random.default_rng(8)
    days = pd.date_range("2027-01-01", "2027-03-31")
    per_day = rng.gamma(2.0, 500.0, size=(3000, 2, len(days)))       # two customers' daily cash
    months = days.to_period("M")
    group_monthly = np.stack([per_day[:, :, months == m].sum(axis=2) for m in months.unique()], axis=2)
    sim = SimpleNamespace(as_of=pd.Timestamp("2026-12-31"), days=days, daily=per_day.sum(axis=1),
                          group_monthly=group_monthly, groups=np.array(["A", "B"]))
    rep = target_report_arrays(sim.daily, days, CashBurn(external_charges=60_000), as_of=sim.as_of)
    df = customer_shortfall(sim, rep)
    assert set(df["group"]) == {"A", "B"} and len(df) == 6
    met = rep.months.set_index("month")["p_target_met"]
    assert (1 - df.groupby("month")["p_shortfall"].first()).to_dict() == pytest.approx(met.to_dict())
    codes, labels = customer_groups(SimpleNamespace(invoices=pd.DataFrame({"customer_id": ["B", "A", "B"]})))
    assert codes.tolist() == [0, 1, 0] and labels.tolist() == ["B", "A"]
    jan = df[df["month"] == "2027-01"]
    bad = rep.paths.collected[:, 0] < rep.paths.targets[:, 0]
    assert jan["contribution"].sum() == pytest.approx(
        (rep.paths.collected[:, 0].mean() - rep.paths.collected[bad, 0]).mean(), rel=1e-9)


# ----------------------------------------------------------------------------------------------- the demo book


def test_kpis_on_the_demo_see_no_future_and_conserve_money(demo):
    led, day = demo.ledger, pd.Timestamp("2025-06-30")
    past = led.known_at(day)
    aged = aged_balance(led, day, by="segment")
    pd.testing.assert_frame_equal(aged, aged_balance(past, day, by="segment"))
    pd.testing.assert_frame_equal(dso_at(led, day), dso_at(past, day))
    totals = aged.loc[aged["bucket"].eq("total")].set_index("group")["amount"]
    book = led.open_book(day)
    np.testing.assert_allclose(totals.sum(), book["outstanding"].sum(), rtol=1e-12)
    d = dso_at(led, day, by="segment")
    assert (d["add_standard"] >= 0).all() and (d["add_countback"] >= -1e-9).all()
    claims = late_payment_claims(led, day)
    assert (claims["interest"] >= 0).all() and claims["due_date"].lt(day).all()
    assert not claims["rate_beyond_table"].any()                     # mid-2025 is inside the dated table
