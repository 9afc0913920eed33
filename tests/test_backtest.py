"""Backtest: scoring rules against closed forms, and a short rolling-origin run on a known world."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cashsim.backtest import (
    BASELINES,
    coverage_band,
    crps_sample,
    month_end_origins,
    randomised_pit,
    run_backtest,
)


def test_crps_matches_the_gaussian_closed_form():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20000)
    y = 0.7
    exact = y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / np.sqrt(np.pi)
    assert crps_sample(x, y) == pytest.approx(exact, abs=0.01)
    assert crps_sample(np.full(5, 2.0), 5.0) == pytest.approx(3.0)       # a point forecast: absolute error


def test_pit_is_uniform_for_calibrated_draws():
    rng = np.random.default_rng(1)
    pits = [randomised_pit(rng.poisson(3, 400), rng.poisson(3), rng) for _ in range(2000)]  # ties randomised
    assert stats.kstest(pits, "uniform").pvalue > 0.01


def test_coverage_band_contains_the_nominal_level():
    lo, hi = coverage_band(30, 0.8)
    assert lo < 0.8 < hi and hi - lo > 0.2


def _world(seed=4):
    """Two years of invoices from 60 customers (log-normal times with customer effects), all paid."""
    from cashsim.ledger import read_ledger

    rng = np.random.default_rng(seed)
    n_c = 60
    u = rng.normal(0, 0.25, n_c)
    n = 3000
    cust = rng.integers(0, n_c, n)
    issue = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    disputed = rng.uniform(size=n) < 0.1
    log_t = np.log(38) + u[cust] + 0.3 * rng.standard_normal(n) + 0.5 * disputed
    pay = issue + pd.to_timedelta(np.round(np.exp(log_t)).astype(int), unit="D")
    ids = [f"F{i:05d}" for i in range(n)]
    inv = pd.DataFrame({"invoice_id": ids, "customer_id": [f"C{c:02d}" for c in cust], "issue_date": issue,
                        "due_date": issue + pd.Timedelta(days=30), "amount": rng.uniform(1000, 3000, n).round(2),
                        "disputed": disputed, "dispute_opened": np.where(disputed, issue + pd.Timedelta(days=20),
                                                                         pd.NaT),
                        "dispute_resolved": np.where(disputed, pay - pd.Timedelta(days=5), pd.NaT),
                        "dispute_type": np.where(disputed, "price", None)})
    last = pd.Timestamp("2025-12-31")
    payments = pd.DataFrame({"invoice_id": ids, "payment_date": pay, "amount": inv["amount"]})
    keep = inv["issue_date"] <= last
    inv, payments = inv[keep], payments[keep & (payments["payment_date"] <= last)]
    return read_ledger(inv, payments)


@pytest.fixture(scope="module")
def result():
    return run_backtest(_world(), n_paths=200, max_origins=4, seed=3)


def test_origins_leave_three_observed_months():
    origins = month_end_origins(_world(), warmup_months=9)
    assert origins[0] == pd.Timestamp("2024-10-31") and origins[-1] == pd.Timestamp("2025-09-30")


def test_backtest_tables_and_goals(result):
    m = result.monthly
    assert set(m["method"]) == {"model", *BASELINES}
    model = m[m["method"] == "model"]
    assert len(model) == 4 * 3 and model["pit"].between(0, 1).all()
    assert (model["p10"] <= model["p50"]).all() and (model["p50"] <= model["p90"]).all()
    # all baselines and the model forecast the same open invoices: month-1 actuals agree
    a = m[m["horizon"] == 1].groupby("origin")["actual"].nunique()
    assert (a == 1).all()
    # on a world the model describes exactly, its median beats the due-date rule
    met = result.metrics.set_index(["method", "horizon"])
    assert met.loc[("model", "all"), "mape"] < met.loc[("due_date", "all"), "mape"]
    assert met.loc[("model", "all"), "invoice_mae"] < met.loc[("due_date", "all"), "invoice_mae"]
    assert list(result.goals["goal"].str[:3]) == ["80%", "mon", "inv"]
    assert result.pit_histogram.groupby("horizon")["count"].sum().eq(4).all()


def test_backtest_is_reproducible_and_json_ready(result, tmp_path):
    again = run_backtest(_world(), n_paths=200, max_origins=4, seed=3)
    pd.testing.assert_frame_equal(result.monthly, again.monthly)
    path = result.to_json(tmp_path / "bt.json")
    data = json.loads(path.read_text())
    assert {"settings", "metrics", "goals", "pit_histogram", "monthly"} <= set(data)


def test_command_writes_json_and_html(tmp_path):
    from cashsim.cli import main

    world = _world()
    inv_file, pay_file = tmp_path / "invoices.csv", tmp_path / "payments.csv"
    world.invoices.to_csv(inv_file, index=False)
    world.payments.to_csv(pay_file, index=False)
    out, page = tmp_path / "bt.json", tmp_path / "bt.html"
    code = main(["backtest", "--invoices", str(inv_file), "--payments", str(pay_file), "--paths", "100",
                 "--max-origins", "2", "--json", str(out), "--html", str(page)])
    assert code == 0 and json.loads(out.read_text())["settings"]["n_origins"] == 2
    assert "<table" in page.read_text()
