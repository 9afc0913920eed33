"""The comparison on common random numbers, its reproducibility, and the cheapest plan, on hand-made books."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cashsim import compare as cmp
from cashsim import levers as lv
from cashsim.book import Book
from cashsim.params import CashBurn

GRID = np.arange(-90, 366)
AS_OF = pd.Timestamp("2026-10-31")
HORIZON = pd.Timestamp("2027-03-31")
RUN = dict(n_paths=200, seed=11, horizon_end=HORIZON)


def pmf_at(days: dict[int, float]) -> np.ndarray:
    row = np.zeros(len(GRID))
    for d, p in days.items():
        row[d - GRID[0]] += p
    return row


class Model:
    rho_month, rho_customer = 0.1, 0.1
    promise_keep = pd.Series(dtype=float)


@pytest.fixture(scope="module")
def book() -> Book:
    """40 open invoices (half overdue) and 40 future ones; laws: on time-ish, late, very late."""
    rng = np.random.default_rng(0)
    pmfs = np.vstack([pmf_at({-3: 0.3, 0: 0.4, 8: 0.3}), pmf_at({10: 0.3, 30: 0.4, 60: 0.3}),
                      pmf_at({40: 0.2, 70: 0.5, 100: 0.3})])
    n = 80
    issue = AS_OF + pd.to_timedelta(np.r_[rng.integers(-60, 0, 40), rng.integers(1, 90, 40)], unit="D")
    due = issue + pd.Timedelta(days=30)
    min_day = np.maximum(GRID[0], (AS_OF + pd.Timedelta(days=1) - due).days.to_numpy())
    inv = pd.DataFrame({"invoice_id": [f"F{i:03d}" for i in range(n)],
                        "customer_id": [f"C{i % 12:02d}" for i in range(n)],
                        "segment": np.where(np.arange(n) % 2, "sme", "micro"), "is_future": np.arange(n) >= 40,
                        "issue_date": issue, "due_date": due, "amount": rng.uniform(2_000, 20_000, n).round(2),
                        "profile": np.arange(n) % 12 % 3, "min_day": min_day})
    return Book(as_of=AS_OF, grid=GRID, pmfs=pmfs, invoices=inv)


def burn(amount: float) -> CashBurn:
    return CashBurn(salaries_and_social=amount, window_months=1, required_probability=0.8)


BASE_PLAN = [lv.DunningStep(day=7, channel="email"), lv.DunningStep(day=15, channel="phone")]
SCENARIOS = {
    "baseline": [lv.DunningPlan(steps=BASE_PLAN)],
    "same_plan": [lv.DunningPlan(steps=BASE_PLAN)],
    "factoring": [lv.Financing(method="factoring", advance_rate=0.8, service_fee=0.01, margin=0.0,
                               reference_rate=0.0)],
    "discount": [lv.EarlyPaymentDiscount(rate=0.02, deadline_days=10)],
    "calls": [lv.PromiseCalls(n_calls=6, promise_rate=0.8, keep_rate=0.9)],
    "firmer": [lv.DunningPlan(steps=[lv.DunningStep(day=-5, channel="email")] + BASE_PLAN
                              + [lv.DunningStep(day=30, channel="formal_notice")])],
}


@pytest.fixture(scope="module")
def table(book) -> pd.DataFrame:
    return cmp.compare_levers(book, Model(), SCENARIOS, burn(150_000), **RUN)


def test_scenario_equal_to_the_baseline_is_exactly_zero(table):
    same = table[table["scenario"] == "same_plan"]
    effect = ["extra_cash_mean", "extra_cash_p10", "extra_cash_p90", "delta_p_target_met", "cost"]
    assert (same[effect] == 0).all().all()
    assert list(table["scenario"].unique()) == ["baseline", "same_plan", "factoring", "discount", "calls", "firmer"]
    assert set(table.columns) == set(cmp.COLUMNS) | {"changes_nothing", "changes_nothing_reason"}
    assert same["changes_nothing"].all() and not table.loc[table["scenario"] != "same_plan", "changes_nothing"].any()


def test_factoring_brings_the_advance_now_and_costs_its_fee_on_every_path(book, table):
    f = table[table["scenario"] == "factoring"].set_index("month")
    eligible = book.invoices.loc[book.invoices["due_date"] > AS_OF, "amount"].sum()
    advance_now = book.invoices.loc[(book.invoices["due_date"] > AS_OF) & ~book.invoices["is_future"], "amount"].sum()
    assert f.loc["2026-11", "financing_advance"] == pytest.approx(0.8 * advance_now + 0.8 * book.invoices.loc[
        book.invoices["is_future"] & (book.invoices["issue_date"] <= "2026-11-30"), "amount"].sum())
    assert f["cost"].sum() == pytest.approx(0.01 * eligible)
    assert f["financing"].all() and f["risk"].iloc[0] == "none"
    assert f.loc["2026-11", "extra_cash_p10"] > 0
    # a book paid in full within the horizon: on every path the scenario gets all but the 1 % fee, earlier
    quick = book.invoices[(book.invoices["profile"] == 0) & (book.invoices["due_date"] > AS_OF)
                          & (book.invoices["issue_date"] < "2027-02-01")]
    small = Book(as_of=AS_OF, grid=GRID, pmfs=book.pmfs, invoices=quick)
    base = cmp.run_scenario(small, Model(), "b", cmp.scenario_levers(SCENARIOS, "baseline"), burn(1), **RUN)
    run = cmp.run_scenario(small, Model(), "f", cmp.scenario_levers(SCENARIOS, "factoring"), burn(1), **RUN)
    gained = run.sim.daily.sum(axis=1) - base.sim.daily.sum(axis=1)
    assert base.sim.daily.sum(axis=1) == pytest.approx(np.full(200, quick["amount"].sum()))
    assert gained == pytest.approx(np.full(200, -0.01 * quick["amount"].sum()))
    first = run.sim.daily[:, 0] - base.sim.daily[:, 0]
    assert first.min() >= 0.8 * quick.loc[~quick["is_future"], "amount"].sum() - 1e-6


def test_discount_costs_come_from_the_engine_and_match_the_expected_cost(book, table):
    d = table[table["scenario"] == "discount"]
    expected = lv.EarlyPaymentDiscount(rate=0.02, deadline_days=10).costs(book)["amount"].sum()
    assert d["cost"].sum() == pytest.approx(expected, rel=0.15)
    assert d["annualised_cost_rate"].dropna().gt(0).all()
    # the firmer plan pulls cash forward in the first months and costs staff time
    firm = table[table["scenario"] == "firmer"]
    assert firm["extra_cash_mean"].iloc[0] > 0 and firm["cost"].sum() > 0
    assert firm["risk"].iloc[0] == "high"


def test_comparison_and_plan_fan_out_on_one_dask_cluster_with_the_same_numbers(book, table, monkeypatch):
    """engine={"backend": "dask"}: every scenario and every trial of the plan search runs on dask.distributed, on
    one LocalCluster started for the series (not one per run), and the table and the plan are the local ones."""
    pytest.importorskip("distributed")
    from cashsim.simulate import backends as engine

    started = []
    real = engine._local_cluster
    monkeypatch.setattr(engine, "_local_cluster", lambda: started.append(1) or real())
    remote = cmp.compare_levers(book, Model(), SCENARIOS, burn(150_000), engine={"backend": "dask"}, **RUN)
    pd.testing.assert_frame_equal(table, remote)
    plan_args = (book, Model(), SCENARIOS, burn(150_000))
    local_plan = cmp.cheapest_plan(*plan_args, max_levers=1, **RUN)
    remote_plan = cmp.cheapest_plan(*plan_args, max_levers=1, engine={"backend": "dask", "chunk_paths": 100}, **RUN)
    pd.testing.assert_frame_equal(local_plan.months, remote_plan.months)
    pd.testing.assert_frame_equal(local_plan.trace, remote_plan.trace)
    assert len(started) == 2                                     # one cluster per series: comparison, plan


def test_comparison_is_reproducible_for_a_seed(book, table):
    again = cmp.compare_levers(book, Model(), SCENARIOS, burn(150_000), **RUN)
    pd.testing.assert_frame_equal(table, again)
    other = cmp.compare_levers(book, Model(), SCENARIOS, burn(150_000), n_paths=200, seed=12, horizon_end=HORIZON)
    assert not np.allclose(other["p_target_met"], table["p_target_met"]) or \
        not np.allclose(other["extra_cash_p10"], table["extra_cash_p10"])


def test_unknown_scenario_named():
    with pytest.raises(Exception, match="no scenario named 'nope'"):
        cmp.scenario_levers(SCENARIOS, "nope")


def test_cheapest_plan_reaches_the_requirement_with_the_cheapest_levers(book):
    base = cmp.run_scenario(book, Model(), "b", cmp.scenario_levers(SCENARIOS, "baseline"), burn(1), **RUN)
    monthly = base.sim.monthly().to_numpy()
    # a burn the baseline meets about half the time in the first month, the rest easily
    level = float(np.quantile(monthly[:, 0], 0.5))
    b = CashBurn(salaries_and_social=[level] + [1.0] * 5, window_months=1, required_probability=0.8)
    cands = {k: v for k, v in SCENARIOS.items() if k in ("baseline", "discount", "calls", "firmer", "factoring")}
    plan = cmp.cheapest_plan(book, Model(), cands, b, **RUN)
    assert plan.months.loc[0, "p_target_met_baseline"] < 0.8
    assert plan.meets_target, plan.trace
    assert not any(isinstance(x, lv.Financing) for x in plan.levers)          # financing is the bridge, not a lever
    assert plan.levers and all(x in plan.scenario for x in plan.levers)
    assert not any(isinstance(x, lv.DunningPlan) and x.steps == x.current for x in plan.levers)
    chosen = plan.trace[plan.trace["chosen"]]
    first = plan.trace[plan.trace["round"] == 1]
    ok = first[first["gain"] > 0]
    assert chosen.iloc[0]["cost_per_gain"] == ok["cost_per_gain"].min()
    assert len(plan.actions) > 0
    again = cmp.cheapest_plan(book, Model(), cands, b, **RUN)
    pd.testing.assert_frame_equal(plan.months, again.months)
    assert plan.levers == again.levers


def test_unreachable_target_reports_the_gap_and_the_financing_to_bridge_it(book):
    import json

    b = CashBurn(salaries_and_social=[2_000_000] + [1.0] * 5, window_months=1, required_probability=0.8)
    plan = cmp.cheapest_plan(book, Model(), {k: SCENARIOS[k] for k in ("baseline", "calls")}, b, **RUN,
                             max_levers=2)
    assert not plan.meets_target
    first = plan.months.iloc[0]
    assert first["gap"] > 0 and first["financing_needed"] > 1_000_000
    assert plan.bridge is not None and plan.bridge.share == 1.0
    # the verdict covers every month: the first is short, by its expected shortfall and the amount needed
    assert list(plan.months.columns) == cmp.PLAN_MONTH_COLUMNS
    assert len(plan.months) == len(pd.period_range(AS_OF + pd.Timedelta(days=1), HORIZON, freq="M"))
    assert first["status"] == "short" and first["expected_shortfall"] > 0 and plan.short_months[0] == "2026-11"
    assert set(plan.months["status"]) <= {"met", "met with the plan", "short"}
    assert (plan.months.loc[plan.months["met"], "financing_needed"] == 0).all()
    t = plan.bridge.terms(book)
    in_horizon = t["funding_date"] <= HORIZON
    assert plan.months["bridge_advance"].sum() == pytest.approx(t.loc[in_horizon, "advance"].sum())
    payload = json.loads(cmp.to_json(cmp.compare_levers(book, Model(), {"baseline": SCENARIOS["baseline"]}, b,
                                                        **RUN), plan))
    assert payload["plan"]["months_short"] == plan.short_months
    assert payload["plan"]["financing_needed"] == pytest.approx(plan.months["financing_needed"].sum())
    assert {"status", "expected_shortfall", "bridge_advance", "recovered"} <= set(payload["plan"]["months"][0])


def test_recovered_cash_works_out_only_the_invoices_a_lever_changed(book):
    """recovered_cash reads the invoices a lever left alone from the baseline's cash by date: the same sums, bit for
    bit, as working every invoice of both books out (levers that change a few invoices, most, or none)."""
    from cashsim.levers.recovery import _cash_by_date, _changed_laws

    dates = pd.DatetimeIndex([AS_OF + pd.Timedelta(days=d) for d in (10, 40, 75, 130)])
    when = dates.to_numpy("datetime64[ns]")
    levers = [lv.PromiseCalls(n_calls=3, promise_rate=0.8, keep_rate=0.9), lv.DirectDebit(customers=["C01", "C05"]),
              lv.EarlyPaymentDiscount(rate=0.02, deadline_days=10), lv.CutOffThreat(overdue_days=20),
              lv.DunningPlan(steps=[lv.DunningStep(day=-5, channel="email")] + BASE_PLAN).relative_to(BASE_PLAN),
              lv.DunningPlan(steps=BASE_PLAN).relative_to(BASE_PLAN)]
    seen = set()
    for lever in levers:
        after = lever.apply(book, Model())
        changed = _changed_laws(book, after)
        seen.add("none" if not changed.any() else "all" if changed.all() else "some")
        by_b, ever_b = _cash_by_date(book, when)
        by_a, ever_a = _cash_by_date(after, when)
        gain, extra = ever_a - ever_b, by_a - by_b
        assert not (extra[~changed].any() or gain[~changed].any())       # left alone: the very same cash
        rec = np.where(np.sign(extra) == np.sign(gain)[:, None],
                       np.sign(gain)[:, None] * np.minimum(np.abs(extra), np.abs(gain)[:, None]), 0.0)
        got, ever = lv.recovered_cash(book, after, dates)
        assert np.array_equal(got, rec.sum(axis=0)) and ever == float(gain.sum())
    assert seen == {"none", "some"} or seen == {"none", "some", "all"}


def test_recovered_cash_is_told_apart_from_cash_brought_forward_and_rates_are_shown_only_where_meaningful():
    import json

    # overdue invoices often never paid, and future ones paid late
    pmfs = np.vstack([pmf_at({90: 0.4, 150: 0.27}), pmf_at({15: 0.5, 40: 0.5})])
    n = 40
    issue = AS_OF + pd.to_timedelta(np.r_[np.full(20, -120), np.arange(1, 21)], unit="D")
    due = issue + pd.Timedelta(days=30)
    inv = pd.DataFrame({"invoice_id": [f"F{i:03d}" for i in range(n)], "customer_id": [f"C{i % 8}" for i in range(n)],
                        "segment": "sme", "is_future": np.arange(n) >= 20, "issue_date": issue, "due_date": due,
                        "amount": 5_000.0, "profile": (np.arange(n) >= 20).astype(int),
                        "min_day": np.maximum(GRID[0], (AS_OF + pd.Timedelta(days=1) - due).days.to_numpy())})
    small = Book(as_of=AS_OF, grid=GRID, pmfs=pmfs, invoices=inv)
    scenarios = {"baseline": [],
                 "threat": [lv.CutOffThreat(overdue_days=60, effect=0.0, recovery=0.5, legal_cost=10.0)],
                 "discount": [lv.EarlyPaymentDiscount(rate=0.02, deadline_days=10, take_up_late=0.5)],
                 "dear_calls": [lv.PromiseCalls(n_calls=8, promise_rate=0.1, keep_rate=0.1, hourly_cost=1e6)]}
    table = cmp.compare_levers(small, Model(), scenarios, burn(100_000), **RUN).set_index(["scenario", "month"])
    threat = table.loc["threat"]
    # the overdue invoices are 91 days late (the day-90 payment did not come): P(paid) = 0.27 / 0.6; half of what
    # they would never pay comes within 21 days
    lost = 20 * 5_000.0 * (1 - 0.27 / 0.6) * 0.5
    assert threat["recovered"].iloc[0] == pytest.approx(lost)
    assert threat["recovered_ever"].iloc[0] == pytest.approx(lost)
    # simulated: each invoice is recovered or not on a path (binomial noise, about 2.5 % here) and snapped
    assert threat["extra_cash_cum"].iloc[0] == pytest.approx(lost, rel=0.1)
    assert abs(threat["brought_forward"].iloc[0]) < 0.1 * lost
    assert threat["annualised_cost_rate"].isna().all()                         # never a rate on recovered cash
    assert threat["cost_per_euro"].iloc[0] == pytest.approx(threat["cumulative_cost"].iloc[0] / lost, rel=0.1)
    disc = table.loc["discount"]
    assert (disc["recovered"] == 0).all() and (disc["recovered_ever"] == 0).all()
    assert np.allclose(disc["brought_forward"], disc["extra_cash_cum"])
    rates = disc["annualised_cost_rate"].dropna()
    assert len(rates) and (rates > 0).all() and (rates <= cmp.MAX_ANNUAL_RATE).all()
    assert table.loc["dear_calls", "annualised_cost_rate"].isna().all()         # no six-digit percentages
    s = cmp.summary(table.reset_index(), month="2026-11").set_index("lever")
    assert s.loc["threat", "recovered"] == pytest.approx(lost)
    assert {"extra_cash", "recovered", "brought_forward", "annualised_cost_rate"} <= set(s.columns)
    rows = json.loads(cmp.to_json(table.reset_index()))["scenarios"]
    assert all("recovered" in r and "brought_forward" in r for r in rows)


def test_summary_is_shaped_for_the_charts(table):
    from cashsim import plots

    s = cmp.summary(table)
    base = table[table["scenario"] == "baseline"]
    assert s["month"].iloc[0] == base.loc[base["p_target_met"].idxmin(), "month"]
    assert "baseline" not in set(s["lever"]) and len(s) == 5
    fac = s[s["lever"] == "factoring"].iloc[0]
    assert fac["cost"] > 0 and fac["financing"]
    assert len(plots.levers_waterfall(s).data) == 1 and len(plots.lever_cost_scatter(s, 0.8).data) == 5


def test_lever_summary_sets_the_discount_rate_against_borrowing(book):
    s = cmp.lever_summary(SCENARIOS, book, borrowing_rate=0.055)
    d = s[s["scenario"] == "discount"].iloc[0]
    assert d["nominal_annual_rate"] == pytest.approx(lv.annualised_discount_rate(0.02, 10, 30))
    assert d["dearer_than_borrowing"]
    assert "same_plan" not in set(s["scenario"])          # the current plan is not a lever


def test_levers_command_writes_the_comparison_and_the_plan(tmp_path):
    import json

    from cashsim.cli import main

    out = tmp_path / "levers.json"
    params = tmp_path / "p.yml"
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    text = (root / "params" / "demo.yml").read_text(encoding="utf-8")
    params.write_text(text.replace("horizon_months: 4", "horizon_months: 2"), encoding="utf-8")
    assert main(["levers", "--params", str(params), "--json", str(out), "--paths", "100", "--plan-paths", "50",
                 "--charts", str(tmp_path / "charts")]) == 0
    assert (tmp_path / "charts" / "levers_waterfall.html").stat().st_size > 1000
    data = json.loads(out.read_text(encoding="utf-8"))
    rows = pd.DataFrame(data["scenarios"])
    assert set(rows["scenario"]) >= {"baseline", "discount_2_10", "factoring_key_accounts"}
    assert (rows.loc[rows["scenario"] == "baseline", "extra_cash_mean"] == 0).all()
    fac = rows[rows["scenario"] == "factoring_key_accounts"]
    assert fac["financing"].all() and fac["extra_cash_mean"].iloc[0] > 0
    assert "months" in data["plan"] and data["required_probability"] == 0.8
    assert any(r["nominal_annual_rate"] for r in data["levers"] if r["lever"] == "early_payment_discount")


def test_levers_command_without_scenarios_is_an_error(tmp_path, capsys):
    from cashsim.cli import main

    params = tmp_path / "p.yml"
    params.write_text("company: x\n", encoding="utf-8")
    assert main(["levers", "--params", str(params)]) == 2
    assert "scenarios" in capsys.readouterr().err


# ------------------------------------------------------------------ the fast path: remembered levers, two threads

def test_unique_rows_is_numpys_unique_over_rows():
    """The byte-block sort gives numpy's unique rows in numpy's order and its inverse: ints of any sign, and
    probabilities; other floats (negative, -0.0) go to numpy itself."""
    from cashsim.levers._book import unique_rows

    rng = np.random.default_rng(5)
    for trial in range(60):
        n, width = int(rng.integers(1, 50)), int(rng.integers(1, 6))
        ints = rng.integers(-4, 4, (n, width)).astype(np.int64)
        ints[:, 0] = ints[:, 0] * (2 ** 61 if trial % 2 else 1)
        probs = rng.choice([0.0, 5e-324, 1e-300, 0.1, 0.25, 0.7, 1.0], (n, width))
        signed = probs * rng.choice([-1.0, 1.0], (n, width))
        for a in (ints, probs, signed):
            u, inv = unique_rows(a)
            u0, inv0 = np.unique(a, axis=0, return_inverse=True)
            assert u.dtype == u0.dtype and u.tobytes() == u0.tobytes(), trial
            assert np.array_equal(inv, inv0.ravel()), trial


def test_remap_reuses_the_last_equal_row_and_survives_colliding_hashes(monkeypatch):
    """_remap gives each new law the last pmf row equal to it byte for byte, else a row appended in order; the same
    when every row hash collides (the rows are then compared one by one); the next remap on the result finds the
    rows it added."""
    from cashsim.levers import _book as lb

    laws = {0: pmf_at({0: 1.0}), 1: pmf_at({20: 1.0}), 2: pmf_at({5: 1.0}), 3: pmf_at({30: 0.5})}

    def transform(rows, keys):                      # key -> law, whatever the input row
        return np.vstack([laws[int(k)] for k in keys[:, 0]])

    # the rows added come in numpy's order of unique rows (bytes, big-endian): {30: 0.5} before {20: 1.0}
    expected = np.vstack([pmf_at({0: 1.0}), pmf_at({5: 1.0}), pmf_at({0: 1.0}), pmf_at({9: 0.5}),
                          pmf_at({30: 0.5}), pmf_at({20: 1.0})])
    for collide in (False, True):
        if collide:
            monkeypatch.setattr(lb, "_row_hashes", lambda rows: np.zeros(len(rows), dtype=np.uint64))
        start = Book(as_of=AS_OF, grid=GRID, pmfs=expected[:4].copy(), invoices=pd.DataFrame({
            "invoice_id": list("abcde"), "customer_id": "C", "due_date": AS_OF + pd.Timedelta(days=10),
            "amount": 100.0, "profile": [0, 1, 2, 3, 3], "min_day": -90}))
        new = lb._remap(start, start.invoices.copy(), np.arange(5), np.array([[0], [1], [2], [3], [1]]), transform)
        assert new.invoices["profile"].tolist() == [2, 5, 1, 4, 5], collide
        assert new.pmfs.tobytes() == expected.tobytes(), collide
        again = lb._remap(new, new.invoices.copy(), np.array([0, 1]), np.array([[3], [2]]), transform)
        assert again.invoices["profile"].tolist()[:2] == [4, 1] and again.pmfs.shape == expected.shape, collide


def test_lever_memo_gives_the_books_and_costs_of_applying_again(book):
    """LeverMemo.apply = apply_levers_traced, whether the chain is new, shared in part, or seen; keep() forgets
    the chains that are not prefixes; a lever with a field set explicitly to its default is another link."""
    from cashsim.levers.memo import LeverMemo, lever_key

    model = Model()
    memo = LeverMemo(book, model)
    base = cmp.scenario_levers(SCENARIOS, "firmer")
    chains = [base, base + [SCENARIOS["calls"][0]], base + [SCENARIOS["discount"][0]], base]
    for chain in chains:
        got_book, got_costs, got_inputs = memo.apply(chain)
        ref_book, ref_costs, ref_inputs = lv.apply_levers_traced(book, chain, model)
        assert np.array_equal(got_book.pmfs, ref_book.pmfs)
        pd.testing.assert_frame_equal(got_book.invoices, ref_book.invoices)
        pd.testing.assert_frame_equal(got_costs, ref_costs)
        assert len(got_inputs) == len(ref_inputs) and got_inputs[0] is book
    assert memo.misses == 3 and memo.hits == 3          # the plan once, each addition once, the plan seen again
    memo.keep(chains[1])
    assert len(memo) == 2
    set_explicitly = lv.PromiseCalls(n_calls=6, keep_rate=0.6)
    assert set_explicitly == lv.PromiseCalls(n_calls=6)            # equal values ...
    assert lever_key(set_explicitly) != lever_key(lv.PromiseCalls(n_calls=6))   # ... but not the same lever
    assert lever_key(lv.PromiseCalls(n_calls=6)) == lever_key(lv.PromiseCalls(n_calls=6))


def test_fast_study_equals_the_straightforward_one(book, table, monkeypatch):
    """The study with remembered levers on two threads gives the table and the plan of the straightforward path:
    every scenario and every trial applying all its levers again, one after the other."""
    from cashsim.levers.memo import LeverMemo

    b = CashBurn(salaries_and_social=[240_000] + [1.0] * 5, window_months=1, required_probability=0.8)
    model = Model()
    memo = LeverMemo(book, model)                          # shared by the comparison and the plan, as the study does
    fast_table = cmp.compare_levers(book, model, SCENARIOS, b, workers=2, memo=memo, **RUN)
    fast = cmp.cheapest_plan(book, model, SCENARIOS, b, workers=2, memo=memo, **RUN)
    assert fast.trace["round"].max() > 1 and memo.hits > len(fast.trace)     # later rounds start from the memo
    monkeypatch.setattr(LeverMemo, "serves", lambda self, book, model: False)   # apply_levers_traced every time
    slow_table = cmp.compare_levers(book, Model(), SCENARIOS, b, workers=1, **RUN)
    slow = cmp.cheapest_plan(book, Model(), SCENARIOS, b, workers=1, **RUN)
    pd.testing.assert_frame_equal(fast_table, slow_table, check_exact=True)
    pd.testing.assert_frame_equal(fast.months, slow.months, check_exact=True)
    pd.testing.assert_frame_equal(fast.trace, slow.trace, check_exact=True)
    pd.testing.assert_frame_equal(fast.actions, slow.actions, check_exact=True)
    assert fast.levers == slow.levers and fast.cost == slow.cost


def test_changes_nothing_text_in_english_and_in_the_readers_words():
    """One function writes the line for the library (English, the scenario's repr) and for ``cashsim levers`` (the
    reader's language, the lever's name): the text and the reason both go through ``gettext``."""
    from cashsim import i18n
    from cashsim.report.words import lever_name

    reason = ("applied book equal to the baseline's and no cost: its levers select no invoice of this company "
              "(check their segments / customers, and which customer types they may be offered to)")
    table = cmp.flag_changes_nothing(pd.DataFrame({"scenario": ["baseline", "deposit", "deposit", "dunning_plan"],
                                                   "month": ["2026-11", "2026-11", "2026-12", "2026-11"]}),
                                     {"deposit": reason})
    assert cmp.changes_nothing_text(table) == f"Scenario 'deposit' changes nothing on this company: {reason}."
    french = cmp.changes_nothing_text(table, i18n.translator("fr_FR").gettext, lambda s: lever_name(s, "fr_FR"))
    assert french.startswith("Le scénario acompte ne change rien pour cette société\u00a0: portefeuille identique")
    assert "\n" not in french                                       # one line per scenario, not per month
    assert cmp.changes_nothing_text(table.drop(columns="changes_nothing")) == ""
    assert cmp.changes_nothing_text(cmp.flag_changes_nothing(table[["scenario", "month"]], {})) == ""


def test_a_study_reading_its_kept_draws_and_runs_equals_one_that_draws_everything(book, monkeypatch):
    """The comparison on 400 paths then the plan on 200 with one memo (as the study does): the plan's baseline and
    the trials equal to a compared scenario take the first 200 paths of its run, the other runs read the memo's
    normals; the same table and plan as runs that draw everything (no memo)."""
    from cashsim.levers.memo import LeverMemo

    b = CashBurn(salaries_and_social=[240_000] + [1.0] * 5, window_months=1, required_probability=0.8)
    model = Model()
    memo = LeverMemo(book, model)
    calls = []
    real = cmp.simulate
    monkeypatch.setattr(cmp, "simulate", lambda *a, **k: calls.append(k.get("draws")) or real(*a, **k))
    fast_table = cmp.compare_levers(book, model, SCENARIOS, b, memo=memo, **{**RUN, "n_paths": 400})
    fast = cmp.cheapest_plan(book, model, SCENARIOS, b, memo=memo, **RUN)
    assert memo.draws.reads > 0 and len(memo.draws) == 1
    assert len(calls) < len(SCENARIOS) + len(fast.trace) + 1            # some runs were not run again
    monkeypatch.setattr(LeverMemo, "serves", lambda self, book, model: False)
    calls.clear()
    slow_table = cmp.compare_levers(book, Model(), SCENARIOS, b, **{**RUN, "n_paths": 400})
    slow = cmp.cheapest_plan(book, Model(), SCENARIOS, b, **RUN)
    assert calls and all(d is None for d in calls)
    pd.testing.assert_frame_equal(fast_table, slow_table, check_exact=True)
    for attr in ("months", "trace", "actions"):
        pd.testing.assert_frame_equal(getattr(fast, attr), getattr(slow, attr), check_exact=True)
    assert fast.levers == slow.levers and fast.cost == slow.cost


def test_the_memo_keeps_simulations_within_its_budget(book, monkeypatch):
    """A chain's simulation is kept for smaller runs only while the memo's simulations fit SIMULATION_BYTES."""
    from cashsim.levers import memo as memo_mod

    chain = SCENARIOS["discount"]
    for budget, kept in ((10 ** 9, True), (1000, False)):
        monkeypatch.setattr(memo_mod, "SIMULATION_BYTES", budget)
        model = Model()
        memo = memo_mod.LeverMemo(book, model)
        first = cmp.run_scenario(book, model, "d", chain, burn(1.0), memo=memo, **RUN)
        again = cmp.run_scenario(book, model, "d", chain, burn(1.0), memo=memo, **{**RUN, "n_paths": 100})
        assert np.shares_memory(first.sim.daily, again.sim.daily) is kept
        assert np.array_equal(again.sim.daily, first.sim.daily[:100])


def test_a_run_is_judged_on_its_target_reports_paths_and_keeps_its_months(book):
    """run_scenario judges a scenario on its setup's paths: the very paths and months' chances of the whole target
    report on its simulation (a 3-month window with a past month), and its monthly cash and discounts are the
    simulation's months, bit for bit."""
    from cashsim.targets import target_report_arrays

    past = pd.Series([60_000.0], index=pd.PeriodIndex(["2026-10"], freq="M"))
    b = CashBurn(salaries_and_social=150_000, window_months=3, required_probability=0.8)
    run = cmp.run_scenario(book, Model(), "d", cmp.scenario_levers(SCENARIOS, "discount"), b, actual_past=past,
                           **RUN)
    ref = target_report_arrays(run.sim.daily, run.sim.days, b, actual_past=past)
    for name in ("collected", "targets", "shortfall", "is_past", "required"):
        assert np.array_equal(getattr(run.paths, name), getattr(ref.paths, name))
    assert run.paths.is_past.any()
    p_met = ref.forecast_months["p_target_met"].to_numpy()
    assert np.array_equal(run.month_rows["p_target_met"], p_met) and ((p_met > 0) & (p_met < 1)).any()
    cash, discounts = run.monthly_cash, run.monthly_cost
    assert np.array_equal(cash, run.sim.monthly().to_numpy())
    assert np.array_equal(discounts, run.sim.monthly_cost().to_numpy()) and discounts.sum() > 0
    # the table's means over paths add in the order they always did (numpy's sum depends on the memory layout)
    assert np.array_equal(cash.mean(axis=0), run.sim.monthly().to_numpy().mean(axis=0))
