"""backend="dask": the same seed gives the same numbers as the local run, on a two-worker LocalCluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cashsim.book import Book
from cashsim.simulate import simulate

distributed = pytest.importorskip("distributed")


def _book(n: int = 200) -> Book:
    rng = np.random.default_rng(1)
    grid = np.arange(-90, 366)
    pmfs = np.vstack([np.exp(-0.5 * ((grid - m) / 12.0) ** 2) for m in (0, 15, 40)])
    pmfs = pmfs / pmfs.sum(axis=1, keepdims=True) * 0.97
    as_of = pd.Timestamp("2026-10-31")
    due = as_of + pd.to_timedelta(rng.integers(-60, 60, n), unit="D")
    inv = pd.DataFrame({"invoice_id": [f"F{i}" for i in range(n)], "customer_id": rng.integers(0, 20, n).astype(str),
                        "due_date": due, "amount": rng.uniform(100, 1000, n), "profile": rng.integers(0, 3, n),
                        "min_day": np.maximum((as_of + pd.Timedelta(days=1) - due).days, -90)})
    return Book(as_of=as_of, grid=grid, pmfs=pmfs, invoices=inv)


def test_dask_backend_matches_local_bit_for_bit():
    book = _book()
    kw = {"horizon_end": "2027-01-31", "n_paths": 450, "seed": 3, "rho_month": 0.1, "rho_customer": 0.2,
          "group_by": np.arange(len(book.invoices)) % 4}
    local = simulate(book, chunk_paths=1000, **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        remote = simulate(book, backend="dask", dask_address=cluster.scheduler_address, chunk_paths=100, **kw)
        n_workers = len(cluster.workers)
    assert n_workers == 2
    assert np.array_equal(local.daily, remote.daily)
    assert np.array_equal(local.daily_cost, remote.daily_cost)
    assert np.array_equal(local.group_monthly, remote.group_monthly)
    assert remote.meta["backend"] == "dask"


def test_an_unreachable_scheduler_is_a_clear_error():
    from cashsim.errors import ParamsError

    with pytest.raises(ParamsError, match="cannot reach the dask scheduler"):
        simulate(_book(5), horizon_end="2027-01-31", n_paths=10, seed=1, rho_month=0.1, rho_customer=0.1,
                 backend="dask", dask_address="tcp://127.0.0.1:9")
