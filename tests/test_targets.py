"""cashsim.targets: the smoothed target (hand examples), its path-by-path version, the burn and the weekly plan."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cashsim.errors import ParamsError
from cashsim.params import CashBurn, OutflowDays
from cashsim.targets import (
    burn_table,
    daily_outflows,
    month_table,
    path_targets,
    smoothed_targets,
    target_report,
    target_report_arrays,
    weekly_plan,
    window_shortfall,
    window_start,
    window_table,
)


def _monthly(sim) -> np.ndarray:
    """A simulation's (paths, months) cash, its days summed into calendar months (the engine's own sum)."""
    starts = np.flatnonzero(np.r_[True, sim.days.month[1:] != sim.days.month[:-1]])
    return np.add.reduceat(np.asarray(sim.daily, dtype=float), starts, axis=1)


# ----------------------------------------------------------------------------------------------- smoothed rule


def test_issue_example_exactly():
    assert smoothed_targets(burn=[100_000] * 4, collected=[80_000, 110_000, 110_000]) == [
        100_000, 120_000, 110_000, 100_000]


def test_surplus_lowers_later_targets_but_never_below_zero_and_is_not_carried():
    # month 1 collects 250k against a 100k target: months 2-3 of the window need nothing more
    got = [250_000, 60_000, 0, 90_000, 100_000, 100_000]
    assert smoothed_targets([100_000] * 6, got) == [100_000, 0, 0, 100_000, 110_000, 110_000]
    # the 10k surplus of window 1 does not lower window 2, which ends 10k short
    assert window_shortfall([100_000] * 6, got) == [0.0, 10_000]


def test_shortfall_rolls_within_window_and_what_is_left_is_reported_not_carried():
    burn, got = [100_000] * 6, [50_000, 50_000, 50_000, 100_000, 100_000, 100_000]
    assert smoothed_targets(burn, got) == [100_000, 150_000, 200_000, 100_000, 100_000, 100_000]
    assert window_shortfall(burn, got) == [150_000, 0.0]


def test_unknown_months_are_planned_as_meeting_their_target():
    # after month 1's shortfall, month 2 must catch up; month 3 then needs only its burn
    assert smoothed_targets([100_000] * 3, [70_000]) == [100_000, 130_000, 100_000]


def test_more_collections_than_burn_is_an_error():
    with pytest.raises(ParamsError, match="burn for every month"):
        smoothed_targets([1.0], [1.0, 2.0])


def test_window_start_is_calendar_anchored():
    months = pd.period_range("2026-11", "2027-07", freq="M")
    assert window_start(months).astype(str).tolist()[:3] == ["2026-10", "2026-10", "2027-01"]
    assert window_start(months, 3, anchor_month=2).astype(str).tolist()[:4] == ["2026-11"] * 3 + ["2027-02"]
    assert window_start(months, 1).equals(months)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=6, max_size=6), st.lists(st.floats(0, 1e6), min_size=6, max_size=6),
       st.lists(st.floats(0, 1e6), min_size=6, max_size=6))
def test_path_rule_equals_list_rule_on_every_path(burn, a, b):
    months = pd.period_range("2026-01", periods=6, freq="M")       # starts a quarter: same blocks as the list rule
    pt = path_targets(np.array(burn), np.array([a, b]), months)
    for row, got in zip(pt.targets, (a, b), strict=True):
        np.testing.assert_allclose(row, smoothed_targets(burn, got), rtol=1e-12, atol=1e-6)
    assert (pt.targets >= 0).all()


def test_past_months_of_the_window_use_actual_collections():
    months = pd.period_range("2026-12", "2027-01", freq="M")       # the quarter began in October
    burn = pd.Series(100.0, index=pd.period_range("2026-10", "2027-01", freq="M"))
    actual = pd.Series([80.0, 90.0, 5.0], index=pd.PeriodIndex(["2026-10", "2026-11", "2026-12"], freq="M"))
    pt = path_targets(burn, np.array([[100.0, 50.0], [200.0, 50.0]]), months, actual)
    assert pt.is_past.tolist() == [True, True, False, False]
    # December needs 300 - 170 = 130 on every path; it collected 5 (to date) + the path's simulated cash
    assert pt.targets[:, 2].tolist() == [130.0, 130.0]
    assert pt.collected[:, 2].tolist() == [105.0, 205.0]
    assert pt.met[:, 2].tolist() == [False, True]
    assert pt.targets[:, 3].tolist() == [100.0, 100.0]              # January opens a new window


def test_missing_burn_month_names_it():
    months = pd.period_range("2026-12", periods=1, freq="M")
    with pytest.raises(ParamsError, match="2026-10"):
        path_targets(pd.Series(1.0, index=months), np.ones((1, 1)), months)


def test_probability_and_expected_shortfall_match_the_normal_law():
    rng = np.random.default_rng(1)
    mu, sd, burn = 100_000.0, 20_000.0, 110_000.0
    paths = rng.normal(mu, sd, size=(40_000, 1))
    pt = path_targets(np.array([burn]), paths, pd.period_range("2026-01", periods=1, freq="M"))
    row = month_table(pt, required_probability=0.8).iloc[0]
    z = (burn - mu) / sd
    assert row["p_target_met"] == pytest.approx(stats.norm.sf(z), abs=0.01)
    assert row["expected_shortfall"] == pytest.approx(sd * (stats.norm.pdf(z) + z * stats.norm.cdf(z)), rel=0.02)
    # 10 % of paths fall short by at least burn - q10(collections)
    assert row["shortfall_p10_worst"] == pytest.approx(burn - stats.norm.ppf(0.1, mu, sd), rel=0.02)
    assert bool(row["at_risk"]) is True


def test_window_shortfall_equals_last_month_shortfall_and_flags_incomplete_windows():
    rng = np.random.default_rng(2)
    months = pd.period_range("2026-01", periods=4, freq="M")
    pt = path_targets(np.full(4, 100.0), rng.uniform(50, 150, (500, 4)), months)
    w = window_table(pt, window=3)
    assert w["complete"].tolist() == [True, False]
    assert w["window_end"].tolist() == ["2026-03", "2026-04"]
    np.testing.assert_allclose(w.loc[0, "expected_shortfall"], pt.shortfall[:, 2].mean())
    assert w.loc[0, "p_target_met"] == pytest.approx((pt.collected[:, :3].sum(1) >= 300).mean())


# ----------------------------------------------------------------------------------------------- burn and outflows


def test_burn_table_sums_categories_lists_and_percentage_margin():
    b = CashBurn(salaries_and_social=[500, 600], external_charges=200, taxes_and_vat=[100, 0, 50],
                 loan_repayments=40, safety_margin="5%")
    t = burn_table(b, pd.period_range("2026-10", periods=4, freq="M"))
    assert t["burn"].tolist() == [840, 840, 890, 890]
    np.testing.assert_allclose(t["required"], np.array([840, 840, 890, 890]) * 1.05)
    fixed = burn_table(CashBurn(external_charges=100, safety_margin=7), pd.period_range("2026-10", periods=1,
                                                                                          freq="M"))
    assert fixed["required"].tolist() == [107.0]


def test_outflows_fall_on_their_days_and_sum_to_the_burn():
    b = CashBurn(salaries_and_social=1000, external_charges=2100, taxes_and_vat=300, loan_repayments=50,
                 social_share=0.3, payment_days=OutflowDays(salaries_and_social=31, social_charges_day=15,
                                                            taxes_and_vat=20, loan_repayments=5))
    days = pd.date_range("2026-11-01", "2027-01-31")
    o = daily_outflows(b, days)
    monthly = o.groupby(o.index.to_period("M")).sum()
    np.testing.assert_allclose(monthly.sum(axis=1), 3450.0)
    # 2026-11-15 is a Sunday: social charges move back to Friday 13th; 2027-01-31 is a Sunday -> Friday 29th
    assert o.loc["2026-11-13", "social_charges"] == pytest.approx(300)
    assert o.loc["2027-01-29", "salaries"] == pytest.approx(700)
    assert (o.loc[o.index.day_of_week >= 5, "external_charges"] == 0).all()
    assert o.loc["2026-11-02", "external_charges"] == pytest.approx(2100 / 21)   # 21 business days in Nov 2026


def test_outflows_before_the_first_day_are_already_paid():
    b = CashBurn(loan_repayments=50, taxes_and_vat=300)
    o = daily_outflows(b, pd.date_range("2026-11-10", "2026-11-30"))
    assert o["loan_repayments"].sum() == 0 and o["taxes_and_vat"].sum() == 300


def test_weekly_plan_probability_under_minimum_matches_the_law():
    rng = np.random.default_rng(3)
    days = pd.date_range("2026-11-02", periods=7)                    # one Monday-Sunday week
    daily = np.zeros((20_000, 7))
    daily[:, 6] = rng.normal(1000, 300, 20_000)                      # all cash comes on Sunday
    out = pd.DataFrame({"x": np.r_[0, 0, 0, 0, 900.0, 0, 0]}, index=days)
    w = weekly_plan(daily, days, out, opening_cash=500, minimum_balance=0)
    assert w.loc[0, "p_under_minimum"] == 1.0                         # Friday at -400 on every path
    w2 = weekly_plan(daily, days, out, opening_cash=1000, minimum_balance=200)
    # Friday at 100 < 200 on every path as well; end of week 100 + N(1000, 300)
    assert w2.loc[0, "p_under_minimum"] == 1.0
    assert w2.loc[0, "position_p50"] == pytest.approx(1100, abs=10)
    # a minimum only the Sunday balance can miss: P(200 + X < 900) = P(X < 700)
    out5 = pd.DataFrame({"x": np.zeros(7)}, index=days)
    w5 = weekly_plan(daily, days, out5, opening_cash=200 + 1000, minimum_balance=900)
    assert w5.loc[0, "p_under_minimum"] == 0.0
    w6 = weekly_plan(daily, days, out5, opening_cash=200, minimum_balance=900)
    assert w6.loc[0, "p_under_minimum"] == 1.0                        # under on Monday already
    w7 = weekly_plan(daily[:, ::-1].copy(), days, out5, opening_cash=200, minimum_balance=900)
    assert w7.loc[0, "p_under_minimum"] == pytest.approx(stats.norm.cdf(700, 1000, 300), abs=0.01)


# ----------------------------------------------------------------------------------------------- the report


def _fake_sim(n_paths=400, seed=0):
    days = pd.date_range("2026-11-01", "2027-02-28")
    rng = np.random.default_rng(seed)
    daily = rng.gamma(2.0, 0.5 * 33_000 / 1.0, size=(n_paths, len(days)))
    return SimpleNamespace(as_of=pd.Timestamp("2026-10-31"), days=days, daily=daily, n_paths=n_paths)


def test_target_report_from_arrays_and_from_a_simulation_like_object():
    sim = _fake_sim()
    burn = CashBurn(salaries_and_social=520_000, external_charges=260_000, taxes_and_vat=190_000,
                    loan_repayments=45_000, safety_margin="3%", opening_cash=350_000, minimum_balance=150_000)
    ledger = SimpleNamespace(payments=pd.DataFrame({
        "invoice_id": ["a", "b", "c"], "amount": [400_000.0, 300_000.0, 7.0],
        "payment_date": pd.to_datetime(["2026-10-03", "2026-10-31", "2026-11-01"]).astype("datetime64[ns]")}))
    rep = target_report(sim, burn, ledger)
    m = rep.months
    assert m["month"].tolist() == ["2026-10", "2026-11", "2026-12", "2027-01", "2027-02"]
    assert m["is_past"].tolist() == [True, False, False, False, False]
    assert m.loc[0, "collections_p50"] == 700_000                     # October's actual cash, not the 7 of November
    assert m.loc[0, "target_p50"] == pytest.approx(1_045_450)        # 1 015 000 x 1.03
    assert m.loc[1, "target_p50"] == pytest.approx(2 * 1_045_450 - 700_000)
    monthly = _monthly(sim)
    np.testing.assert_allclose(m.loc[1:, "collections_mean"], monthly.mean(axis=0))
    assert set(rep.windows["window_start"]) == {"2026-10", "2027-01"}
    assert rep.weekly["week_start"].iloc[0] == pd.Timestamp("2026-10-26")   # the Monday of as_of + 1's week
    assert (rep.weekly["p_under_minimum"].between(0, 1)).all()
    text = json.dumps(rep.to_dict())
    assert "p_target_met" in text and "p_under_minimum" in text
    same = target_report_arrays(sim.daily, sim.days, burn, actual_past=pd.Series(
        [700_000.0], index=pd.PeriodIndex(["2026-10"], freq="M")))
    pd.testing.assert_frame_equal(same.months, rep.months)


def test_weekly_balance_is_opening_plus_cash_minus_outflows():
    sim = _fake_sim(n_paths=50)
    burn = CashBurn(salaries_and_social=500_000, external_charges=100_000, opening_cash=1e6)
    rep = target_report_arrays(sim.daily, sim.days, burn)
    out = daily_outflows(burn, sim.days)
    last = rep.weekly.iloc[-1]
    expected = 1e6 + sim.daily.sum(axis=1) - out.to_numpy().sum()
    assert last["position_mean"] == pytest.approx(expected.mean())
    assert last["week_end"] == pd.Timestamp("2027-02-28")
    assert rep.weekly["outflows"].sum() == pytest.approx(4 * 600_000)


# ----------------------------------------------------------------------------------------------- the command


def _fake_pipeline(monkeypatch, sim, burn):
    """Stand the pipeline in for the engine: the command's own job is printing and writing the report."""
    import sys

    calls = {}

    def run_from_params(params, *, n_paths=None, seed=None, cache=True):
        calls.update(n_paths=n_paths, seed=seed, company=params.company, cache=cache)
        ledger = SimpleNamespace(summary=lambda as_of: {"open_invoices": 3, "open_amount": 12_345.0})
        return SimpleNamespace(targets=target_report_arrays(sim.daily, sim.days, burn), ledger=ledger,
                               as_of=pd.Timestamp("2026-10-31"), params=params)

    monkeypatch.setitem(sys.modules, "cashsim.pipeline", SimpleNamespace(run_from_params=run_from_params))
    return calls


def test_targets_command_prints_and_writes_json(tmp_path, monkeypatch, capsys):
    from cashsim.cli import main

    params = tmp_path / "p.yml"
    params.write_text("company: Test SA\nburn: {salaries_and_social: 900000, minimum_balance: 100000}\n")
    sim = _fake_sim(n_paths=200)
    calls = _fake_pipeline(monkeypatch, sim, CashBurn(salaries_and_social=900_000, minimum_balance=100_000))
    out = tmp_path / "out" / "targets.json"
    assert main(["targets", "--params", str(params), "--json", str(out), "--paths", "200", "--seed", "3",
                 "--locale", "en_GB"]) == 0
    assert calls == {"n_paths": 200, "seed": 3, "company": "Test SA", "cache": True}
    printed = capsys.readouterr().out
    assert "November 2026" in printed and "P(under the minimum balance" in printed
    # no sales_plan in this params file: the later months hold no future sales, and the command says so
    assert ("No sales plan in the parameters (key sales_plan): the forecast counts only the invoices already issued "
            "(3 open on 31 Oct 2026, €12,345)") in printed
    data = json.loads(out.read_text())
    assert data["company"] == "Test SA"
    assert [m["month"] for m in data["months"]] == ["2026-10", "2026-11", "2026-12", "2027-01", "2027-02"]
    assert {"required", "target_p50", "collections_p90", "p_target_met", "expected_shortfall"} <= set(
        data["months"][1])
    assert {"week_start", "position_p50", "p_under_minimum"} <= set(data["weeks"][0])


def test_targets_command_rejects_a_bad_path_count(tmp_path, monkeypatch, capsys):
    from cashsim.cli import main

    params = tmp_path / "p.yml"
    params.write_text("company: Test SA\n")
    _fake_pipeline(monkeypatch, _fake_sim(n_paths=10), CashBurn())
    assert main(["targets", "--params", str(params), "--paths", "0"]) == 2
    assert "--paths doit valoir au moins 1" in capsys.readouterr().err    # French: the params' default locale


def test_targets_command_end_to_end_on_the_demo(tmp_path):
    from cashsim.cli import main

    out = tmp_path / "t.json"
    demo_yml = Path(__file__).resolve().parents[1] / "params" / "demo.yml"
    assert main(["targets", "--params", str(demo_yml), "--json", str(out), "--paths", "200"]) == 0
    data = json.loads(out.read_text())
    months = [m for m in data["months"] if not m["is_past"]]
    assert [m["month"] for m in months] == ["2026-11", "2026-12", "2027-01", "2027-02"]
    for m in months:
        assert 0 <= m["p_target_met"] <= 1 and m["expected_shortfall"] >= 0
        assert m["collections_p10"] <= m["collections_p50"] <= m["collections_p90"]
    assert all(0 <= w["p_under_minimum"] <= 1 for w in data["weeks"])


def test_reports_worked_out_once_follow_the_burn_and_actuals_by_value_and_hand_out_copies():
    """target_report_arrays remembers the burn table, the months' calendar and the window's actuals of a study's
    runs: by value (another burn or other actuals give their own report) and never shared (changing a report's
    tables changes no later report)."""
    sim = _fake_sim()
    kw = dict(salaries_and_social=520_000, external_charges=260_000, taxes_and_vat=190_000, loan_repayments=45_000,
              opening_cash=350_000, minimum_balance=150_000)
    burn_a, burn_b = CashBurn(safety_margin="3%", **kw), CashBurn(safety_margin="10%", **kw)
    past = pd.Series([700_000.0], index=pd.PeriodIndex(["2026-10"], freq="M"))

    def report(burn, actual):
        return target_report_arrays(sim.daily, sim.days, burn, actual_past=actual)

    first = report(burn_a, past)
    kept = first.months.copy(deep=True)
    first.burn.loc[:, "required"] = 0.0                               # the caller's copies, free to change
    first.paths.collected[:] = 0.0
    first.paths.targets[:] = 0.0
    again = report(burn_a, past)
    pd.testing.assert_frame_equal(again.months, kept, check_exact=True)
    other = report(burn_b, past)
    assert other.months["required"].iloc[0] == pytest.approx(1_015_000 * 1.10)
    assert kept["required"].iloc[0] == pytest.approx(1_015_000 * 1.03)
    more = report(burn_a, past * 2)
    assert more.months["collections_mean"].iloc[0] == 1_400_000 and kept["collections_mean"].iloc[0] == 700_000
    fresh = path_targets(burn_table(burn_b, pd.period_range("2026-10", "2027-02", freq="M"))["required"],
                         _monthly(sim), pd.period_range("2026-11", "2027-02", freq="M"),
                         past)
    assert np.array_equal(other.paths.targets, fresh.targets)


def _month_ends(days: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Reference for TargetSetup.month_ends: the last of consecutive ``days`` in each of their months, from
    month_codes."""
    from cashsim.targets import month_codes

    codes = month_codes(days)
    return pd.DatetimeIndex(np.asarray(pd.DatetimeIndex(days).to_numpy())[np.r_[codes[1:] != codes[:-1], True]])


def _served_report(setup, sim, burn, past):
    """What a lever study reads of a run from a setup worked out once (serving_setup, as run_scenario calls it):
    its paths and the months' table made from them, on the setup's burn table."""
    from cashsim.targets import serving_setup

    s = serving_setup(burn, sim.days, past, setup=setup)
    pt = s.path_targets(s.monthly(sim.daily))
    return s, pt, month_table(pt, burn.required_probability, burn=s.table)


def test_a_setup_worked_out_once_gives_the_reports_made_without_it():
    """target_setup (burn table, months' windows, the window's actuals) worked out once for a series of runs gives
    the very paths and months of the reports made without it; one made for another burn is not used, and a
    report's burn table is its own."""
    from cashsim.targets import month_codes, target_setup

    sim = _fake_sim()
    kw = dict(salaries_and_social=520_000, external_charges=260_000, taxes_and_vat=190_000, loan_repayments=45_000,
              opening_cash=350_000, minimum_balance=150_000)
    burn_a, burn_b = CashBurn(safety_margin="3%", **kw), CashBurn(safety_margin="10%", **kw)
    past = pd.Series([700_000.0], index=pd.PeriodIndex(["2026-10"], freq="M"))
    setup = target_setup(burn_a, sim.days, past)
    assert setup.serves(burn_a, pd.DatetimeIndex(sim.days), burn_a.window_anchor_month, past)
    # its split of the days into months is month_codes' / the reference month ends', and its required collections
    # the table's
    assert np.array_equal(setup.day_months, month_codes(sim.days)) and len(setup.month_ends) > 1
    pd.testing.assert_index_equal(setup.month_ends, _month_ends(sim.days), exact=True)
    assert np.array_equal(setup.required, setup.table["required"].to_numpy(dtype=float))
    served, pt, months = _served_report(setup, sim, burn_a, past)
    assert served is setup
    ref = target_report_arrays(sim.daily, sim.days, burn_a, actual_past=past)
    pd.testing.assert_frame_equal(months, ref.months, check_exact=True)
    pd.testing.assert_frame_equal(setup.table, ref.burn, check_exact=True)
    assert np.array_equal(pt.targets, ref.paths.targets)
    assert np.array_equal(pt.collected, ref.paths.collected)
    assert not setup.serves(burn_b, pd.DatetimeIndex(sim.days), burn_b.window_anchor_month, past)
    served_b, _, other = _served_report(setup, sim, burn_b, past)
    assert served_b is not setup
    assert other["required"].iloc[0] == pytest.approx(1_015_000 * 1.10)
    ref.burn.loc[:, "required"] = 0.0
    assert setup.table["required"].iloc[0] == pytest.approx(1_015_000 * 1.03)


def test_a_setup_made_for_other_past_actuals_is_not_used():
    """A setup holds the window's actual collections it was made with: given other past actuals (or none), a run
    works its own out, the very report made without a setup."""
    from cashsim.targets import target_setup

    sim = _fake_sim()
    burn = CashBurn(salaries_and_social=520_000, external_charges=260_000, taxes_and_vat=190_000,
                    loan_repayments=45_000, opening_cash=350_000, minimum_balance=150_000)
    past = pd.Series([700_000.0], index=pd.PeriodIndex(["2026-10"], freq="M"))
    setup = target_setup(burn, sim.days, past)
    days, anchor = pd.DatetimeIndex(sim.days), burn.window_anchor_month
    assert setup.serves(burn, days, anchor, past)
    for other in (past * 2, None):
        assert not setup.serves(burn, days, anchor, other)
        served, pt, months = _served_report(setup, sim, burn, other)
        assert served is not setup
        ref = target_report_arrays(sim.daily, sim.days, burn, actual_past=other)
        pd.testing.assert_frame_equal(months, ref.months, check_exact=True)
        assert np.array_equal(pt.targets, ref.paths.targets)
    doubled = _served_report(setup, sim, burn, past * 2)[2]
    assert doubled["collections_mean"].iloc[0] == 1_400_000


def test_a_setups_paths_and_month_chances_are_the_reports_numbers():
    """A setup's path_targets of its monthly sums (a lever study's runs: no tables) gives the report's very paths,
    and month_chances its months' P(target met) and expected shortfall, bit for bit."""
    from cashsim.targets import month_chances, serving_setup, target_setup

    sim = _fake_sim()
    burn = CashBurn(salaries_and_social=520_000, external_charges=260_000, taxes_and_vat=190_000,
                    loan_repayments=45_000, opening_cash=350_000, minimum_balance=150_000)
    past = pd.Series([700_000.0], index=pd.PeriodIndex(["2026-10"], freq="M"))
    ref = target_report_arrays(sim.daily, sim.days, burn, actual_past=past)
    for setup in (None, target_setup(burn, sim.days, past)):
        s = serving_setup(burn, sim.days, past, setup=setup)
        pt = s.path_targets(s.monthly(sim.daily))
        for name in ("collected", "targets", "shortfall", "is_past", "required"):
            assert np.array_equal(getattr(pt, name), getattr(ref.paths, name))
        p_met, shortfall = month_chances(pt)
        assert np.array_equal(p_met, ref.months["p_target_met"].to_numpy())
        assert np.array_equal(shortfall, ref.months["expected_shortfall"].to_numpy())
    assert ref.months["is_past"].any() and ref.months["p_target_met"].nunique() > 2   # not a trivial case
