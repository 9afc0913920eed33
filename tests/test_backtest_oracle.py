"""The demo back-test's truth-knowing forecaster (cashsim.demo.oracle, cashsim.backtest.ceiling), on simulated truth:
its draws agree with what the ledger knew at the origin, the demo's realised pay days look like draws from it, and
the back-test scores it beside the model without touching the model's figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cashsim.backtest import backtest_html, run_backtest
from cashsim.backtest.ceiling import ceiling_bands, class_table
from cashsim.demo import demo_ledger
from cashsim.demo.laws import _NEVER
from cashsim.demo.oracle import DemoOracle
from cashsim.ledger import OPEN_STATUSES

ORIGIN = pd.Timestamp("2025-02-28")      # the stressed quarter: many overdue invoices, disputes, promises, instalments
N_PATHS = 200


@pytest.fixture(scope="module")
def oracle():
    return DemoOracle(7)


@pytest.fixture(scope="module")
def drawn(oracle):
    ledger = demo_ledger(7)
    hist = ledger.status(ORIGIN)
    book = hist[hist["status"].isin(OPEN_STATUSES).to_numpy() & (hist["outstanding"] > 0).to_numpy()]
    months = ["2025-03", "2025-04", "2025-05"]
    return book.reset_index(drop=True), oracle.forecast(ORIGIN, book["invoice_id"], months, N_PATHS, seed=3)


def test_oracle_draws_agree_with_the_ledger_at_the_origin(oracle, drawn):
    book, f = drawn
    o = np.datetime64(ORIGIN.date(), "D").astype(np.int64)
    assert f.unfilled == 0 and f.day2.shape == (len(book), N_PATHS)
    assert (f.day2 > o).all() and (f.day1[f.amount1 != 0] > o).all()          # nothing paid by the origin
    # a first instalment paid by the origin: the rest is what the ledger says is left, never a second first one
    paid = oracle.world.payments
    paid = paid[(paid["payment_date"] <= ORIGIN)].groupby("invoice_id")["amount"].sum()
    part = book["invoice_id"].isin(paid.index).to_numpy()
    assert part.any()
    left = (book["amount"] - book["invoice_id"].map(paid).fillna(0)).to_numpy()[part]
    payable = f.day2[part] < _NEVER
    assert np.allclose(np.where(payable, f.amount2[part], left[:, None]), left[:, None])
    assert (f.amount1[part] == 0).all()
    # a promise made by the origin and already due: broken, so paid after the promised day
    prom = oracle.world.promises
    prom = prom[(prom["made_date"] <= ORIGIN) & (prom["promised_date"] <= ORIGIN)].set_index("invoice_id")[
        "promised_date"]
    has = book["invoice_id"].isin(prom.index).to_numpy()
    assert has.any()
    promised = book.loc[has, "invoice_id"].map(prom).to_numpy().astype("datetime64[D]").astype(np.int64)
    assert (f.day2[has] > promised[:, None]).all()


def test_realised_pay_days_look_like_draws_from_the_oracle(oracle, drawn):
    """Simulated truth: each open invoice's realised full-payment day is one draw from the law the oracle samples, so
    its randomised PIT among the oracle's draws is uniform: 80 % central coverage and mean 1/2, on the overdue
    invoices too (where conditioning on 'unpaid at the origin' matters most)."""
    book, f = drawn
    truth = oracle.world.invoices.set_index("invoice_id").loc[book["invoice_id"]]
    day = truth["paid_date"].to_numpy().astype("datetime64[D]")
    y = np.where(np.isnat(day), _NEVER, day.astype(np.int64))
    v = np.random.default_rng(0).random(len(book))
    pit = ((f.day2 < y[:, None]).mean(axis=1) + v * (f.day2 == y[:, None]).mean(axis=1))
    overdue = (book["due_date"] < ORIGIN).to_numpy()
    assert overdue.sum() > 200 and (~overdue).sum() > 200
    for part in (slice(None), overdue):
        covered = ((pit[part] > 0.1) & (pit[part] < 0.9)).mean()
        assert 0.74 <= covered <= 0.86, covered
        assert 0.45 <= pit[part].mean() <= 0.55, pit[part].mean()


@pytest.fixture(scope="module")
def runs(oracle):
    ledger = demo_ledger(7)
    plain = run_backtest(ledger, n_paths=60, max_origins=1, seed=5)
    return plain, run_backtest(ledger, n_paths=60, max_origins=1, seed=5, oracle=oracle)


def test_backtest_scores_the_oracle_beside_an_unchanged_model(runs):
    plain, with_oracle = runs
    assert "oracle" not in set(plain.monthly["method"]) and plain.classes is None
    assert "classes" not in plain.to_dict()
    rows = with_oracle.monthly[with_oracle.monthly["method"] != "oracle"].reset_index(drop=True)
    pd.testing.assert_frame_equal(rows, plain.monthly)
    pd.testing.assert_frame_equal(with_oracle.goals, plain.goals)
    oracle_rows = with_oracle.metrics[with_oracle.metrics["method"] == "oracle"]
    assert len(oracle_rows) == 4 and oracle_rows[["crps", "cover80", "winkler80", "crps_skill"]].notna().all().all()
    # the class rows add up to each method's monthly mean and actual cash
    classes = with_oracle.classes
    for method in ("model", "oracle"):
        by = classes[classes["method"] == method].groupby("horizon")[["mean", "actual"]].sum()
        ref = with_oracle.monthly[with_oracle.monthly["method"] == method].set_index("horizon")
        assert np.allclose(by["mean"], ref["mean"]) and np.allclose(by["actual"], ref["actual"])
    table = class_table(classes, 3)
    assert np.isclose(table["gap_share"].sum(), 1.0) and table["crps_gap"].is_monotonic_decreasing
    assert "oracle" in with_oracle.summary_text("en_GB") and "oracle" not in plain.summary_text("en_GB")
    assert "modèle / oracle" in with_oracle.summary_text("fr_FR") and "oracle" in backtest_html(with_oracle)
    bands = ceiling_bands(with_oracle.monthly, with_oracle.metrics, n_boot=50)
    metrics = with_oracle.metrics.set_index(["method", "horizon"])
    for row in bands.itertuples():     # one origin: the bands collapse on the figures of the metrics table
        assert np.isclose(row.oracle_skill, metrics.loc[("oracle", str(row.horizon)), "crps_skill"])
        assert np.isclose(row.oracle_skill_lo, row.oracle_skill) and np.isclose(row.ratio_hi, row.model_over_oracle)


def test_command_refuses_the_oracle_without_the_demo(tmp_path, capsys):
    from cashsim.cli import main

    code = main(["--locale", "en_GB", "backtest", "--ibm", str(tmp_path / "none.csv"), "--oracle"])
    assert code == 2 and "--oracle needs --params" in capsys.readouterr().err
