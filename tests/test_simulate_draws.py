"""The engine's normals kept by one run and read by the next (cashsim.simulate.draws): the same numbers as a full
run, bit for bit, on books a lever changed (laws, amounts, discounts, added or fewer invoices, groups)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cashsim.book import Book
from cashsim.simulate import Draws, simulate

GRID = np.arange(-90, 366)
AS_OF = pd.Timestamp("2026-10-31")
DAY0 = AS_OF + pd.Timedelta(days=1)


def _pmf(median: float, sigma: float, never: float) -> np.ndarray:
    cdf = stats.lognorm.cdf(np.clip(GRID + 31.0, 1e-9, None), sigma, scale=median)
    return np.diff(cdf, prepend=0.0) * (1 - never)


def _mixed_book(n: int, seed: int) -> Book:
    """Open and future invoices of 40 customers on three laws (as tests/test_simulate.py's)."""
    rng = np.random.default_rng(seed)
    pmfs = np.vstack([_pmf(30, 0.3, 0.02), _pmf(45, 0.5, 0.05), _pmf(70, 0.4, 0.0)])
    due = DAY0 + pd.to_timedelta(rng.integers(-100, 60, n), unit="D")
    inv = pd.DataFrame({"invoice_id": [f"F{i}" for i in range(n)], "customer_id": rng.integers(0, 40, n).astype(str),
                        "due_date": due, "amount": rng.uniform(100, 5000, n), "profile": rng.integers(0, 3, n),
                        "min_day": np.maximum((DAY0 - due).days.to_numpy(), -90)})
    return Book(as_of=AS_OF, grid=GRID, pmfs=pmfs, invoices=inv)


def run(book: Book, **kw):
    args = {"horizon_end": "2027-02-28", "n_paths": 400, "seed": 11}
    return simulate(book, **{**args, **kw})

ATTRS = ("daily", "daily_cost", "group_monthly")
KW = {"rho_month": 0.1, "rho_customer": 0.2}


def _with_discounts(book: Book) -> Book:
    inv = book.invoices.copy()
    inv.loc[::3, "discount_rate"] = 0.02
    inv.loc[::3, "discount_day"] = 8.0
    return Book(as_of=AS_OF, grid=GRID, pmfs=book.pmfs, invoices=inv)


def _lever(book: Book, added: int = 0, new_customer: bool = False) -> Book:
    """What a lever does: other laws, amounts and discounts for some invoices; ``added`` invoices appended (copies
    of the first ones, of known customers and months unless ``new_customer``)."""
    inv = book.invoices.copy()
    inv.loc[1::4, "profile"] = (inv.loc[1::4, "profile"] + 1) % book.pmfs.shape[0]
    inv.loc[2::5, "amount"] *= 1.5
    inv.loc[::2, "discount_rate"] = 0.03
    inv.loc[::2, "discount_day"] = 12.0
    extra = inv.iloc[:added].copy()
    extra["invoice_id"] = [f"N{i}" for i in range(added)]
    if new_customer and added:
        extra["customer_id"] = "a new customer"
    inv = pd.concat([inv, extra], ignore_index=True)
    return Book(as_of=AS_OF, grid=GRID, pmfs=book.pmfs, invoices=inv)


def _same(a, b) -> None:
    for attr in ATTRS:
        assert np.array_equal(getattr(a, attr), getattr(b, attr)), attr


def test_a_run_reading_the_kept_normals_equals_a_full_run_bit_for_bit():
    base = _with_discounts(_mixed_book(200, seed=5))
    changed = _lever(base, added=25)
    inv = changed.invoices
    # invoices removed (not the first of their customer, nor of the last month: the stream's layout stays)
    gone = inv["customer_id"].duplicated() & (inv.index % 3 == 0) & (inv["due_date"] < inv["due_date"].max())
    fewer = Book(as_of=AS_OF, grid=GRID, pmfs=base.pmfs, invoices=inv[~gone].reset_index(drop=True))
    store = Draws()
    groups = {n: np.arange(n) % 4 for n in (len(fewer.invoices), 200, 225)}
    first = run(base, n_paths=400, group_by=groups[200], draws=store, **KW)
    assert len(store) == 1 and store.reads == 0                      # the first run records
    _same(first, run(base, n_paths=400, group_by=groups[200], **KW))  # ... and is itself a full run
    for book in (base, changed, fewer):
        n = len(book.invoices)
        for paths, chunk, threads in ((400, 1000, 2), (300, 100, 1), (200, 200, 2)):   # a prefix of the blocks
            reads = store.reads
            kept = run(book, n_paths=paths, chunk_paths=chunk, n_threads=threads, group_by=groups[n], draws=store,
                       **KW)
            assert store.reads == reads + 1                          # read, not drawn
            _same(kept, run(book, n_paths=paths, chunk_paths=chunk, n_threads=threads, group_by=groups[n], **KW))
    assert changed.invoices["discount_rate"].gt(0).sum() > 0 and first.daily_cost.sum() > 0


def test_other_stream_layouts_and_partial_blocks_draw_their_own_numbers():
    base = _mixed_book(120, seed=8)
    store = Draws()
    run(base, n_paths=300, draws=store, **KW)
    # a new customer adds a customer factor: the invoices' normals sit elsewhere in the stream
    other = _lever(base, added=3, new_customer=True)
    _same(run(other, n_paths=300, draws=store, **KW), run(other, n_paths=300, **KW))
    assert store.reads == 0 and len(store) == 2
    # a partial last block (250 paths) and more blocks than kept (500): the same numbers as a full run
    for paths in (250, 500):
        _same(run(base, n_paths=paths, draws=store, **KW), run(base, n_paths=paths, **KW))
    # another seed is another stream
    _same(run(base, n_paths=300, seed=99, draws=store, **KW), run(base, n_paths=300, seed=99, **KW))


def test_no_room_no_record():
    base = _mixed_book(60, seed=2)
    store = Draws(max_bytes=1000)
    _same(run(base, n_paths=200, draws=store, **KW), run(base, n_paths=200, **KW))
    assert len(store) == 0
