"""Hindsight forecasters (cashsim.backtest.hindsight) on a simulated ledger: the truth scores a WAPE of 0, knowing
the dispute flag beats not knowing it where disputes add three weeks, draws pay after the origin, same seed same
table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cashsim.backtest.hindsight import (
    HINDSIGHT,
    SD_PRIOR,
    SURROGATES,
    _cells,
    _draws,
    _final_laws,
    _shrunk,
    _within_fit,
    hindsight_table,
)
from cashsim.ledger import OPEN_STATUSES, read_ledger

ORIGINS = ["2024-09-30", "2024-12-31", "2025-03-31"]


def _world(seed: int = 3) -> object:
    """60 customers, an invoice every 6-14 days for two years, 30-day terms; days late = the customer's mean
    (-10 to +25) + 21 if disputed (25 %) + N(0, 3)."""
    rng = np.random.default_rng(seed)
    inv, pay = [], []
    for c in range(60):
        mu = rng.uniform(-10, 25)
        day = pd.Timestamp("2023-07-01") + pd.Timedelta(days=int(rng.integers(0, 10)))
        while day < pd.Timestamp("2025-07-01"):
            i = f"F{len(inv)}"
            disputed = rng.uniform() < 0.25
            late = int(round(mu + 21 * disputed + rng.normal(0, 3)))
            due = day + pd.Timedelta(days=30)
            amount = round(float(rng.uniform(20, 120)), 2)
            inv.append({"invoice_id": i, "customer_id": f"C{c}", "issue_date": day, "due_date": due,
                        "amount": amount, "disputed": "yes" if disputed else "no"})
            pay.append({"invoice_id": i, "payment_date": max(due + pd.Timedelta(days=late), day), "amount": amount})
            day += pd.Timedelta(days=int(rng.integers(6, 15)))
    return read_ledger(pd.DataFrame(inv), pd.DataFrame(pay))


@pytest.fixture(scope="module")
def ledger():
    return _world()


@pytest.fixture(scope="module")
def table(ledger):
    return hindsight_table(ledger, n_paths=300, seed=5, origins=ORIGINS, noise=(1.0, 0.0)).set_index("forecaster")


def test_every_forecaster_is_scored_against_the_best_baseline(table):
    assert list(table.index) == [*HINDSIGHT, *SURROGATES, "truth + 1 x residual", "truth + 0 x residual"]
    assert table["best_baseline"].notna().all() and (table["best_baseline_wape"] > 0).all()
    ratio = table["wape"] / table["best_baseline_wape"]
    assert np.allclose(ratio, table["wape_ratio"])


def test_the_truth_scores_zero_and_knowing_disputes_helps(table):
    assert table.loc["truth + 0 x residual", "wape"] < 1e-12          # sums of cents: float noise only
    assert table.loc["truth + 0 x residual", "crps_1"] < 1e-9
    # disputes add 21 days to a noise of 3: the law that knows the flag is far sharper than the one that mixes
    assert table.loc["customer x channel x disputed law", "wape"] < 0.7 * table.loc["customer law", "wape"]
    assert table.loc["truth + 1 x residual", "wape"] < 0.7 * table.loc["customer law", "wape"]


def test_draws_pay_after_the_origin_and_the_seed_decides(ledger, table):
    origin = pd.Timestamp(ORIGINS[1])
    hist = ledger.status(origin)
    ob = hist[hist["status"].isin(OPEN_STATUSES).to_numpy() & (hist["outstanding"] > 0).to_numpy()]
    age = (origin - ob["due_date"]).dt.days.to_numpy()
    final = _cells(ledger.status(ledger.latest_date))
    draws = _draws(final, _final_laws(final), hist, ob["invoice_id"].to_numpy(), age, 50, np.random.default_rng(0),
                   (1.0,))
    assert len(ob) > 50 and set(draws) == {*HINDSIGHT, *SURROGATES, "truth + 1 x residual"}
    for days in draws.values():
        assert days.shape == (50, len(ob)) and (days > age[None, :]).all()
    again = hindsight_table(ledger, n_paths=300, seed=5, origins=ORIGINS, noise=(1.0, 0.0)).set_index("forecaster")
    pd.testing.assert_frame_equal(again, table)
    other = hindsight_table(ledger, n_paths=300, seed=6, origins=ORIGINS, noise=(1.0,)).set_index("forecaster")
    assert not np.allclose(other.loc[list(HINDSIGHT), "crps_1"], table.loc[list(HINDSIGHT), "crps_1"])


def test_the_surrogates_least_squares_and_shrinkage():
    rng = np.random.default_rng(1)
    group = rng.choice(np.array(["a", "b", "c", "d"]), size=400)
    x = rng.normal(size=(400, 2))
    true_effect = {"a": 1.0, "b": -2.0, "c": 0.5, "d": 4.0}
    y = np.array([true_effect[g] for g in group]) + x @ np.array([2.0, -3.0])
    effect, beta, resid = _within_fit(y, x, group)
    assert np.allclose(beta, [2.0, -3.0]) and np.allclose(resid, 0.0, atol=1e-9)
    assert np.allclose(effect.reindex(list(true_effect)).to_numpy(), list(true_effect.values()))
    effect0, beta0, _ = _within_fit(y, np.zeros((400, 0)), group)          # no covariate: the group means
    assert len(beta0) == 0 and np.allclose(effect0, pd.Series(y).groupby(group).mean())
    values = pd.Series([1.0, 1.0, 0.0, 1.0, 0.0])
    shrunk = _shrunk(values.groupby(np.array(["p", "p", "p", "q", "q"])), 0.2, lambda v: v.sum())
    expected = [(2 + SD_PRIOR * 0.2) / (3 + SD_PRIOR), (1 + SD_PRIOR * 0.2) / (2 + SD_PRIOR)]
    assert np.allclose(shrunk.to_numpy(), expected)
