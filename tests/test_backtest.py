"""Backtest: scoring rules against closed forms and hand-computed values, the goals per month, and a short
rolling-origin run on a known world."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cashsim.backtest import (
    BASELINES,
    backtest_html,
    bias,
    bootstrap_band,
    coverage_band,
    crps_sample,
    evaluate_goals,
    interval_score,
    mape,
    metrics_table,
    month_end_origins,
    pit_covered,
    randomised_pit,
    run_backtest,
    score_ensemble,
    wape,
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


def test_crps_wape_bias_winkler_match_hand_computed_values():
    x = np.array([0.0, 100.0, 200.0, 300.0, 400.0])
    # E|X - y| = (250 + 150 + 50 + 50 + 150) / 5 = 130; E|X - X'| / 2 = (sum over pairs |xi - xj|) / (2 m^2) = 80
    assert crps_sample(x, 250.0) == pytest.approx(50.0)
    brute = np.mean(np.abs(x - 250.0)) - 0.5 * np.mean(np.abs(x[:, None] - x[None, :]))
    assert crps_sample(x, 250.0) == pytest.approx(brute)
    f, y = np.array([90.0, 130.0, 0.0]), np.array([100.0, 100.0, 50.0])
    assert wape(f, y) == pytest.approx((10 + 30 + 50) / 250)
    assert bias(f, y) == pytest.approx((-10 + 30 - 50) / 250)
    assert np.isnan(wape([1.0], [0.0]))
    # 80 % interval [100, 300]: inside = width; below / above = width + (2 / 0.2) x the miss
    assert interval_score(100.0, 300.0, 150.0) == pytest.approx(200.0)
    assert interval_score(100.0, 300.0, 60.0) == pytest.approx(200.0 + 10 * 40)
    np.testing.assert_allclose(interval_score([100.0, 100.0], [300.0, 300.0], [350.0, 300.0]), [700.0, 200.0])
    row = score_ensemble(x, 450.0, 0.5)
    assert row["forecast"] == 200.0 and row["p10"] == pytest.approx(40.0) and row["p90"] == pytest.approx(360.0)
    assert row["winkler80"] == pytest.approx(320.0 + 10 * 90) and row["pit"] == 1.0 and not row["in80"]


def test_pit_coverage_does_not_count_a_point_mass_as_covered():
    """All paths exactly 0, outcome 0: the closed interval [q10, q90] = [0, 0] would cover it every time; the
    randomised PIT is the uniform draw itself, so it is covered at 80 % only when 0.1 < draw < 0.9."""
    zeros = np.zeros(50)
    assert not score_ensemble(zeros, 0.0, 0.05)["in80"] and score_ensemble(zeros, 0.0, 0.5)["in80"]
    assert not score_ensemble(zeros, 0.0, 0.95)["in80"] and not score_ensemble(zeros, 0.0, 0.8)["in50"]
    rng = np.random.default_rng(11)
    rows = pd.DataFrame([{"origin": o, "horizon": 1, "method": "model", "actual": 0.0,
                          **score_ensemble(zeros, 0.0, rng.uniform())} for o in range(300)])
    closed = ((rows["p10"] <= rows["actual"]) & (rows["actual"] <= rows["p90"])).mean()
    cover = metrics_table(rows, pooled=False, baselines=()).set_index("method").loc["model", "cover80"]
    assert closed == 1.0 and cover == pytest.approx(rows["pit"].between(0.1, 0.9, inclusive="neither").mean())
    assert 0.72 < cover < 0.88
    # a point mass of 95 % at the outcome: u = 0.95 V, covered at 80 % with probability 0.8 / 0.95
    lumpy = np.r_[np.zeros(95), np.full(5, 100.0)]
    pits = np.array([score_ensemble(lumpy, 0.0, v)["pit"] for v in rng.uniform(size=2000)])
    assert pits.max() < 0.95 and pit_covered(pits, 0.8).mean() == pytest.approx(0.8 / 0.95, abs=0.03)


def test_mape_leaves_zero_actuals_out_of_its_n():
    assert mape([110.0, 5.0, 50.0, 0.0], [100.0, 0.0, 100.0, 0.0]) == (pytest.approx(0.3), 2, 2)
    rows = pd.DataFrame({"origin": [1, 2, 3], "horizon": [3, 3, 3], "method": "due_date",
                         "actual": [0.0, 200.0, 0.0], "forecast": [10.0, 150.0, 0.0], "crps": [10.0, 50.0, 0.0]})
    m = metrics_table(rows, pooled=False, baselines=("due_date",)).iloc[0]
    assert (m["n"], m["mape_n"], m["mape_excluded"]) == (3, 1, 2)
    assert m["mape"] == pytest.approx(0.25) and m["mae"] == pytest.approx(20.0) and m["wape"] == pytest.approx(0.3)


def test_bootstrap_band_is_deterministic_and_contains_the_estimate():
    rng = np.random.default_rng(5)
    origins = np.repeat(np.arange(23), 3)
    covered = rng.uniform(size=origins.size) < 0.7
    band = bootstrap_band(covered, origins, seed=7)
    assert band == bootstrap_band(covered, origins, seed=7)
    assert band[0] <= covered.mean() <= band[1] and band[1] - band[0] > 0.1
    # resampling whole origins: an origin fully covered or not at all moves the share more than loose outcomes
    assert bootstrap_band([1.0, 1.0, 0.0, 0.0], ["a", "a", "b", "b"], seed=1) == (0.0, 1.0)
    assert np.isnan(bootstrap_band([], [], seed=1)[0])


def _hand_rows(pits: dict[int, list[float]], model_crps: dict[int, float]) -> pd.DataFrame:
    """Model rows with given PITs and CRPS per horizon, and one baseline missing every month by 100."""
    rows = []
    for h, values in pits.items():
        for o, u in enumerate(values):
            rows.append({"origin": o, "horizon": h, "method": "model", "actual": 1000.0, "forecast": 1000.0 + 10 * h,
                         "crps": model_crps[h], "pit": u, "winkler80": 500.0})
            rows.append({"origin": o, "horizon": h, "method": "customer_median", "actual": 1000.0,
                         "forecast": 900.0, "crps": 100.0})
    return pd.DataFrame(rows)


def test_goals_are_evaluated_per_month():
    """Calibrated pooled (80 %) but not per month (100 / 80 / 60 %): the per-month coverage goal fails."""
    n = 10
    inside, outside = 0.5, 0.95
    pits = {1: [inside] * n, 2: [inside] * 8 + [outside] * 2, 3: [inside] * 6 + [outside] * 4}
    metrics = metrics_table(_hand_rows(pits, {1: 40.0, 2: 50.0, 3: 90.0}), baselines=("customer_median",))
    model = metrics[metrics["method"] == "model"].set_index("horizon")
    assert model.loc["all", "cover80"] == pytest.approx(0.8)
    np.testing.assert_allclose(model.loc[["1", "2", "3"], "cover80"], [1.0, 0.8, 0.6])
    np.testing.assert_allclose(model.loc[["1", "2", "3", "all"], "crps_skill"], [0.6, 0.5, 0.1, 1 - 60 / 100])
    assert (model["best_baseline"] == "customer_median").all()
    # WAPE: model sum|e| = 10 n (10 + 20 + 30) / (3 n 1000) = 0.02; baseline 0.1 -> ratio 0.2
    assert model.loc["all", "wape"] == pytest.approx(0.02) and model.loc["all", "wape_ratio"] == pytest.approx(0.2)
    assert model.loc["all", "bias"] == pytest.approx(0.02)
    goals = evaluate_goals(metrics)
    cover = goals[goals["goal"].str.startswith("80%")]
    assert list(cover["horizon"]) == ["1", "2", "3"] and list(cover["met"]) == [False, True, False]
    skill = goals[goals["goal"].str.startswith("CRPS")]
    assert list(skill["met"]) == [True, True, False] and skill["value"].iloc[2] == pytest.approx(0.1)
    assert goals.loc[goals["goal"].str.startswith("pooled WAPE"), "met"].item()
    assert not goals.loc[goals["goal"].str.startswith("invoice"), "met"].item()     # no invoices: not met


def test_a_perfect_baseline_gives_minus_infinite_skill():
    """Nothing left to collect and a baseline forecasting 0 to the cent: no skill for a model that spreads cash."""
    rows = pd.DataFrame({"origin": [1, 1], "horizon": [3, 3], "method": ["model", "due_date"], "actual": [0.0, 0.0],
                         "forecast": [0.0, 1e-12], "crps": [8.0, 1e-12], "pit": [0.5, np.nan],
                         "winkler80": [30.0, np.nan]})
    m = metrics_table(rows, pooled=False, baselines=("due_date",)).set_index("method")
    assert m.loc["model", "crps_skill"] == -np.inf and np.isnan(m.loc["due_date", "crps_skill"])


def test_a_skill_against_a_perfect_baseline_reads_n_a_and_is_null_in_json(tmp_path):
    """Month 3: the baseline is exact to the cent (nothing left to collect), the model spreads cash: the skill is
    no figure. The text says n/a (n.s. in French) where it printed "-∞", in the table and the goal; JSON null."""
    from cashsim.backtest import BacktestResult

    rows = _hand_rows({1: [0.5] * 4, 2: [0.5] * 4, 3: [0.5] * 4}, {1: 40.0, 2: 50.0, 3: 8.0})
    third = (rows["horizon"] == 3).to_numpy()
    rows.loc[third, "actual"] = 0.0
    rows.loc[third & (rows["method"] == "customer_median").to_numpy(), ["forecast", "crps"]] = 0.0
    metrics = metrics_table(rows, baselines=("customer_median",))
    cumulative = metrics_table(rows, pooled=False, baselines=("customer_median",))
    model = metrics[metrics["method"] == "model"].set_index("horizon")
    assert model.loc["3", "crps_skill"] == -np.inf and model.loc["1", "crps_skill"] == pytest.approx(0.6)
    empty = pd.DataFrame()
    result = BacktestResult(monthly=rows, invoices=empty, metrics=metrics, pit_histogram=empty,
                            goals=evaluate_goals(metrics), cumulative=rows, cumulative_metrics=cumulative,
                            settings={"n_origins": 4, "n_paths": 100})
    english, french = result.summary_text("en_GB"), result.summary_text("fr_FR")
    assert "∞" not in english and "inf" not in english and "∞" not in french
    month3 = next(line for line in english.splitlines() if line.strip().startswith("month 3"))
    assert month3.split()[4] == "n/a" and " 0.60 " in next(line for line in english.splitlines()
                                                             if line.strip().startswith("month 1"))
    assert "(skill n/a)" in english and "(gain n.s.)" in french
    assert next(line for line in french.splitlines() if line.strip().startswith("mois 3")).split()[4] == "n.s."
    data = json.loads(result.to_json(tmp_path / "bt.json").read_text())
    skill3 = [r["crps_skill"] for r in data["metrics"] if r["method"] == "model" and r["horizon"] == "3"]
    goal3 = [g for g in data["goals"] if g["goal"].startswith("CRPS") and g["horizon"] == "3"]
    assert skill3 == [None] and goal3[0]["value"] is None and goal3[0]["met"] is False
    page = backtest_html(result)
    assert "inf" not in page and "∞" not in page
    assert "<td>n/a</td>" in page
    french = backtest_html(result, "fr_FR")      # cashsim backtest --html in the command's language, French first
    assert "<td>n.s.</td>" in french and "-inf" not in french and "<h2>Modèle par horizon</h2>" in french
    assert "<th>mois 3</th>" in french and "<td>ATTEINT</td>" in french and "<td>0,600</td>" in french
    assert "Model by horizon" not in french and "<td>model</td>" not in french and "<td>modèle</td>" in french


def test_a_bias_that_rounds_to_zero_reads_without_a_sign():
    """The model over-forecasts by 0.04 %: the bias reads "0,0 %" (fmt.signed_percent), not "+0,0 %", in the
    horizon table, the methods table and the goal detail; a real bias keeps its sign."""
    from cashsim.backtest import BacktestResult

    rows = _hand_rows({1: [0.5] * 4, 2: [0.5] * 4}, {1: 40.0, 2: 50.0})
    model = (rows["method"] == "model").to_numpy()
    rows.loc[model, "forecast"] = rows.loc[model, "actual"] * 1.0004
    metrics = metrics_table(rows, baselines=("customer_median",))
    assert metrics.loc[metrics["method"] == "model", "bias"].iloc[0] == pytest.approx(0.0004)
    result = BacktestResult(monthly=rows, invoices=pd.DataFrame(), metrics=metrics, pit_histogram=pd.DataFrame(),
                            goals=evaluate_goals(metrics), cumulative=rows,
                            cumulative_metrics=metrics_table(rows, pooled=False, baselines=("customer_median",)),
                            settings={"n_origins": 4, "n_paths": 100})
    french, english = result.summary_text("fr_FR"), result.summary_text("en_GB")
    assert "+0,0" not in french and "+0.0" not in english and "-0,0" not in french
    assert french.count("0,0\xa0%") >= 3 and "biais 0,0\xa0%" in french       # model rows and the goal detail
    assert "-10,0\xa0%" in french                                                # the baseline's real bias


def _world(seed=4, by_date=False):
    """Two years of invoices from 60 customers (log-normal times with customer effects), all paid; the payments in
    the invoices' order, or by date."""
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
    if by_date:
        payments = payments.sort_values("payment_date", kind="stable")
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
    # coverage is read on the randomised PIT
    assert (model["in80"].astype(bool) == model["pit"].between(0.1, 0.9, inclusive="neither")).all()
    # all baselines and the model forecast the same open invoices: month-1 actuals agree
    a = m[m["horizon"] == 1].groupby("origin")["actual"].nunique()
    assert (a == 1).all()
    # on a world the model describes exactly, its median beats the due-date rule
    met = result.metrics.set_index(["method", "horizon"])
    assert met.loc[("model", "all"), "wape"] < met.loc[("due_date", "all"), "wape"]
    assert met.loc[("model", "all"), "invoice_mae"] < met.loc[("due_date", "all"), "invoice_mae"]
    assert (met.loc[("model", "all"), "mape_n"] + met.loc[("model", "all"), "mape_excluded"]) == 12
    lo, hi = met.loc[("model", "all"), ["cover80_lo", "cover80_hi"]]
    assert lo <= met.loc[("model", "all"), "cover80"] <= hi
    goals = result.goals
    assert list(goals["goal"].str[:4]) == ["80% "] * 3 + ["pool"] + ["CRPS"] * 3 + ["invo"]
    assert list(goals["horizon"]) == ["1", "2", "3", "all", "1", "2", "3", "all"]
    assert result.pit_histogram.groupby("horizon")["count"].sum().eq(4).all()


def test_cumulative_rows_add_up_the_months(result):
    month, cum = result.monthly, result.cumulative
    key = ["origin", "method", "horizon"]
    both = month.merge(cum, on=key, suffixes=("", "_cum"))
    first = both[both["horizon"] == 1]
    assert np.allclose(first["actual"], first["actual_cum"]) and np.allclose(first["crps"], first["crps_cum"])
    assert first.loc[first["method"] == "model", "pit"].equals(first.loc[first["method"] == "model", "pit_cum"])
    total = month.groupby(["origin", "method"])["actual"].sum()
    last = cum[cum["horizon"] == 3].set_index(["origin", "method"])["actual"]
    assert np.allclose(total.sort_index(), last.sort_index())
    cm = result.cumulative_metrics
    assert set(cm["horizon"]) == {"1", "2", "3"} and cm["wape"].notna().all()
    table = result.horizon_table()
    assert list(table.index) == ["month 1", "month 2", "month 3", "pooled", "months 1-1", "months 1-2", "months 1-3"]
    # each month's share of the horizon's cash, from the actuals: months add up to the whole, windows grow to it
    model = month[month["method"] == "model"]
    by_h = model.groupby("horizon")["actual"].sum()
    share = table["cash_share"]
    assert np.allclose(share[["month 1", "month 2", "month 3"]], (by_h / by_h.sum()).to_numpy())
    assert share["pooled"] == pytest.approx(1.0) and share["months 1-3"] == pytest.approx(1.0)
    assert share["months 1-2"] == pytest.approx(share["month 1"] + share["month 2"])


def test_backtest_is_reproducible_and_json_ready(result, tmp_path):
    again = run_backtest(_world(), n_paths=200, max_origins=4, seed=3)
    pd.testing.assert_frame_equal(result.monthly, again.monthly)
    pd.testing.assert_frame_equal(result.metrics, again.metrics)      # the bootstrap bands too
    path = result.to_json(tmp_path / "bt.json")
    data = json.loads(path.read_text())
    assert {"settings", "metrics", "cumulative_metrics", "goals", "pit_histogram", "monthly", "cumulative"} <= set(data)
    assert {"wape", "bias", "crps_skill", "winkler80", "cover80_lo", "mape_excluded"} <= set(data["metrics"][0])
    assert len(data["goals"]) == 8 and {"horizon", "met", "detail"} <= set(data["goals"][0])


def test_command_prints_the_horizons_and_writes_json_and_html(tmp_path, capsys):
    from cashsim.cli import main

    world = _world()
    inv_file, pay_file = tmp_path / "invoices.csv", tmp_path / "payments.csv"
    world.invoices.to_csv(inv_file, index=False)
    world.payments.to_csv(pay_file, index=False)
    out, page = tmp_path / "bt.json", tmp_path / "bt.html"
    code = main(["--locale", "en_GB", "backtest", "--invoices", str(inv_file), "--payments", str(pay_file),
                 "--paths", "100", "--max-origins", "2", "--json", str(out), "--html", str(page)])
    assert code == 0 and json.loads(out.read_text())["settings"]["n_origins"] == 2
    text = capsys.readouterr().out
    for label in ("month 1", "month 3", "pooled", "months 1-3", "WAPE", "CRPS skill", "cover80", "Winkler80",
                  "goals:"):
        assert label in text
    assert "MET" in text or "MISSED" in text
    html = page.read_text()
    assert html.count("<table") == 5 and "Model by horizon" in html


def test_class_actuals_from_one_pass_are_each_classs_actual_cash():
    """_class_actual (the oracle's class rows: the payments filtered once per origin) gives actual_monthly of each
    class's invoices, bit for bit, a class without invoices a row of zeros; payments in any order (pandas sums
    date-ordered groups another way)."""
    from cashsim.backtest import _class_actual, _origin_inputs, actual_monthly
    from cashsim.backtest.ceiling import invoice_classes

    for led, origin in [(w, o) for w in (_world(), _world(by_date=True))
                        for o in month_end_origins(w, warmup_months=9)[-3:]]:
        inputs = _origin_inputs(led, origin, 3, 0)
        ids = inputs.open_book["invoice_id"]
        codes, labels = invoice_classes(inputs.open_book, origin)
        n = len(labels) + 1                                               # one more class, empty
        got = _class_actual(led, origin, inputs.months, ids, codes, n)
        ref = np.array([actual_monthly(led, origin, inputs.months, pd.Index(ids[codes == g])) for g in range(n)])
        assert got.shape == ref.shape == (n, 3) and np.array_equal(got, ref)
        assert len(set(codes)) > 1 and (got[:-1] > 0).sum() > 2 and not got[-1].any()
