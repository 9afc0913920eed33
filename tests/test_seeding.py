"""One way to seed: int, SeedSequence, Generator or None on every stochastic entry point, no hidden default."""

from __future__ import annotations

import numpy as np
import pytest

from cashsim import pipeline
from cashsim.book import Book
from cashsim.errors import InputError
from cashsim.params import load_params
from cashsim.seeding import child, recorded, rng, seed_sequence
from cashsim.simulate import simulate


def test_each_kind_of_seed():
    assert seed_sequence(3).entropy == 3 and seed_sequence(np.int64(3)).entropy == 3
    ss = np.random.SeedSequence(5)
    assert seed_sequence(ss) is ss
    assert np.array_equal(rng(11).random(4), np.random.default_rng(11).random(4))  # the historical streams
    g1, g2 = np.random.default_rng(1), np.random.default_rng(1)
    assert seed_sequence(g1).entropy == seed_sequence(g2).entropy            # a generator's state decides
    assert seed_sequence(None).entropy != seed_sequence(None).entropy        # fresh entropy, said so
    for bad in (-1, 1.5, "42", True):
        with pytest.raises(InputError, match="seed must be"):
            seed_sequence(bad)


def test_child_keeps_the_int_layout_and_extends_a_sequence():
    assert child(4, 9).entropy == [4, 9]
    ss = np.random.SeedSequence(4, spawn_key=(1,))
    assert child(ss, 9).spawn_key == (1, 9) and child(ss, 9).entropy == 4
    assert recorded(4, seed_sequence(4)) == 4 and recorded(ss, ss) is ss


def _book() -> Book:
    grid = np.arange(-5, 40)
    pmf = np.exp(-0.5 * ((grid - 5) / 6.0) ** 2)
    pmf = 0.98 * pmf / pmf.sum()
    import pandas as pd

    inv = pd.DataFrame({"invoice_id": ["a", "b", "c"], "customer_id": ["x", "x", "y"],
                        "due_date": pd.to_datetime(["2026-11-10", "2026-11-20", "2026-12-05"]),
                        "amount": [100.0, 250.0, 80.0], "profile": [0, 0, 0], "min_day": [-5, -5, -5]})
    return Book(as_of=pd.Timestamp("2026-10-31"), grid=grid, pmfs=pmf[None, :], invoices=inv)


def test_simulate_accepts_every_kind_and_an_int_equals_its_sequence():
    book = _book()
    kw = dict(horizon_end="2027-01-31", n_paths=300, rho_month=0.1, rho_customer=0.1)
    by_int = simulate(book, seed=8, **kw)
    by_ss = simulate(book, seed=np.random.SeedSequence(8), **kw)
    assert np.array_equal(by_int.daily, by_ss.daily) and by_int.seed == 8
    g = simulate(book, seed=np.random.default_rng(3), **kw).daily
    assert np.array_equal(g, simulate(book, seed=np.random.default_rng(3), **kw).daily)
    assert not np.array_equal(simulate(book, seed=None, **kw).daily, simulate(book, seed=None, **kw).daily)


def test_the_params_seed_reaches_the_fit(monkeypatch):
    seen = {}
    real = pipeline.fit_behaviour

    def spy(ledger, as_of, **settings):
        seen.update(settings)
        return real(ledger, as_of, **settings)

    monkeypatch.setattr(pipeline, "fit_behaviour", spy)
    params = load_params("params/demo.yml")
    params = params.model_copy(update={"simulation": params.simulation.model_copy(update={"seed": 1234})})
    pipeline.prepare(params, cache=False)
    assert seen["seed"] == 1234
