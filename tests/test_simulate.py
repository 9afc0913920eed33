"""The engine against truth: books with known laws, checked with stated tolerances (Monte Carlo error bounds)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from cashsim.book import Book
from cashsim.calendar import business_day_calendar, payment_run_calendar
from cashsim.errors import ModelError, ParamsError
from cashsim.simulate import (
    GUIDE_LO,
    GUIDE_SCALE,
    simulate,
    simulation_days,
    threshold_tables,
)

GRID = np.arange(-90, 366)
AS_OF = pd.Timestamp("2026-10-31")        # a Saturday; day 0 = Sunday 1 Nov 2026
DAY0 = AS_OF + pd.Timedelta(days=1)
HORIZON = pd.Timestamp("2027-02-28")      # 120 days
N_DAYS = (HORIZON - AS_OF).days


def every_day(n: int = N_DAYS) -> np.ndarray:
    """A calendar row that allows every day (no snapping), so the drawn day can be read back from the cash."""
    return np.arange(n)[None, :]


def point_pmf(day: int, mass: float = 1.0) -> np.ndarray:
    return np.where(GRID == day, mass, 0.0)


def spread_pmf(median: float, sigma: float, never: float) -> np.ndarray:
    """Days since issue log-normal (terms 30), on the grid relative to due; never-paid mass ``never``."""
    t = GRID + 30.0
    cdf = stats.lognorm.cdf(np.clip(t + 1, 1e-9, None), sigma, scale=median)
    return np.diff(cdf, prepend=0.0) * (1 - never)


def book_of(rows: list[dict], pmfs: list[np.ndarray], calendars: np.ndarray | None = None) -> Book:
    inv = pd.DataFrame(rows)
    if "invoice_id" not in inv:
        inv["invoice_id"] = [f"F{i}" for i in range(len(inv))]
    return Book(as_of=AS_OF, grid=GRID, pmfs=np.vstack(pmfs), invoices=inv, calendars=calendars)


def run(book: Book, **kw):
    args = {"horizon_end": HORIZON, "n_paths": 2000, "seed": 11, "rho_month": 0.0, "rho_customer": 0.0}
    args.update(kw)
    return simulate(book, **args)


# ------------------------------------------------------------------------------------------------ validation

def test_book_validates_and_names_the_problem():
    ok = {"customer_id": "C", "due_date": DAY0, "amount": 100.0, "profile": 0, "min_day": -90}
    with pytest.raises(ModelError, match="row 0 .*negative"):
        book_of([ok], [-point_pmf(0)])
    with pytest.raises(ModelError, match="sums to 1.2"):
        book_of([ok], [point_pmf(0, 1.2)])
    with pytest.raises(ModelError, match=r"invoice 'F1'.*profile.*0\.\.0"):
        book_of([ok, {**ok, "profile": 3}], [point_pmf(0)])
    with pytest.raises(ModelError, match="column min_day"):
        book_of([{**ok, "min_day": -200}], [point_pmf(0)])
    with pytest.raises(ModelError, match="column amount: amounts must be finite"):
        book_of([{**ok, "amount": np.inf}], [point_pmf(0)])
    with pytest.raises(ModelError, match="lacks column"):
        Book(as_of=AS_OF, grid=GRID, pmfs=point_pmf(0)[None], invoices=pd.DataFrame({"amount": [1.0]}))
    with pytest.raises(ModelError, match="calendar 2"):
        book_of([{**ok, "calendar": 2}], [point_pmf(0)], calendars=every_day())
    with pytest.raises(ModelError, match="calendars cover 10 days"):
        run(book_of([ok], [point_pmf(0)], calendars=every_day(10)))
    with pytest.raises(ParamsError, match="copula loadings"):
        run(book_of([ok], [point_pmf(0)]), rho_month=0.7, rho_customer=0.5)


# ----------------------------------------------------------------------------------------------- calendars

def test_business_day_calendar_moves_weekends_to_monday():
    cal = business_day_calendar("2026-11-06", 10)            # Fri 6 .. Sun 15 Nov
    assert cal.tolist() == [0, 3, 3, 3, 4, 6, 6, 7, 10, 10]  # Sat/Sun -> Mon 9; 11 Nov -> 12; last weekend: outside
    assert business_day_calendar("2026-11-09", 3).tolist() == [0, 1, 3]   # 11 Nov (Armistice) rolls to the 12th
    given = business_day_calendar("2026-11-09", 3, holidays=[])           # a list given replaces the French one
    assert given.tolist() == [0, 1, 2]


def test_payment_run_calendar_holds_runs_to_the_business_day_before():
    cal = payment_run_calendar("2026-11-01", 61, [10, 31])
    days = pd.date_range("2026-11-01", periods=61)
    runs = sorted({days[i].strftime("%m-%d") for i in cal if i < 61})
    # 10 Nov (Tue), 30 Nov (Mon, 31 clipped), 10 Dec (Thu), 31 Dec (Thu)
    assert runs == ["11-10", "11-30", "12-10", "12-31"]
    assert cal[0] == 9 and cal[10] == 29 and cal[30] == 39
    assert (cal[np.arange(61)] >= np.arange(61)).all()
    # a run on a Sunday is held to the Friday before (la veille ouvrée), as the fit and the demo hold it
    may = payment_run_calendar("2026-05-01", 31, [10])                 # Sun 10 May; Fri 8 May is a holiday
    assert pd.date_range("2026-05-01", periods=31)[may[0]] == pd.Timestamp("2026-05-07")


def test_one_calendar_for_the_fit_and_the_engine():
    from cashsim.behaviour.paydays import calendar_rows

    days = pd.date_range("2026-11-01", periods=90)
    rows = calendar_rows([(10, 25)], days)
    assert np.array_equal(rows[0], business_day_calendar(days[0], 90))
    assert np.array_equal(rows[1], payment_run_calendar(days[0], 90, [10, 25]))


# --------------------------------------------------------------------------------------------- determinism

def _mixed_book(n: int = 300, seed: int = 3) -> Book:
    rng = np.random.default_rng(seed)
    pmfs = [spread_pmf(m, s, nv) for m, s, nv in zip([30, 45, 70], [0.3, 0.5, 0.4], [0.02, 0.05, 0.0], strict=False)]
    due = DAY0 + pd.to_timedelta(rng.integers(-100, 60, n), unit="D")
    rows = pd.DataFrame({"customer_id": rng.integers(0, 40, n).astype(str), "due_date": due,
                         "amount": rng.uniform(100, 5000, n), "profile": rng.integers(0, 3, n),
                         "min_day": np.maximum((DAY0 - due).days.to_numpy(), -90)})
    return book_of(rows.to_dict("records"), pmfs)


def test_simulation_days_are_the_runs_days():
    """simulation_days (the lever study's target setup reads it) is the engine's day range, a time of day dropped."""
    sim = run(_mixed_book(40), n_paths=20)
    days = simulation_days(AS_OF, HORIZON + pd.Timedelta(hours=15))
    assert days.equals(sim.days) and days[0] == DAY0 and days[-1] == HORIZON and len(days) == N_DAYS


def test_same_seed_same_numbers_whatever_the_chunking_and_threads():
    book = _mixed_book()
    a = run(book, n_paths=350, chunk_paths=100, n_threads=1, rho_month=0.1, rho_customer=0.2)
    b = run(book, n_paths=350, chunk_paths=1000, n_threads=2, rho_month=0.1, rho_customer=0.2)
    c = run(book, n_paths=350, chunk_paths=1000, n_threads=2, rho_month=0.1, rho_customer=0.2, seed=12)
    assert np.array_equal(a.daily, b.daily) and np.array_equal(a.daily_cost, b.daily_cost)
    assert not np.array_equal(a.daily, c.daily)


def test_discounts_and_groups_do_not_depend_on_the_chunking_either():
    """The engine's second loop (discounted invoices, per-group months) writes the same numbers for any task size
    and thread count as for one task on one thread."""
    book = _mixed_book(200, seed=5)
    inv = book.invoices.copy()
    inv.loc[::3, "discount_rate"] = 0.02
    inv.loc[::3, "discount_day"] = 8.0
    book = Book(as_of=AS_OF, grid=GRID, pmfs=book.pmfs, invoices=inv)
    groups = np.arange(len(inv)) % 4
    kw = {"n_paths": 530, "rho_month": 0.1, "rho_customer": 0.2, "group_by": groups}
    one = run(book, chunk_paths=10_000, n_threads=1, **kw)
    many = run(book, chunk_paths=200, n_threads=2, **kw)
    assert one.daily_cost.sum() > 0
    for attr in ("daily", "daily_cost", "group_monthly"):
        assert np.array_equal(getattr(one, attr), getattr(many, attr)), attr


def test_a_bad_group_by_raises_while_the_tables_are_built_and_the_next_run_is_unchanged():
    """The tables are filled on the run's threads while ``_prepare`` checks the rest (``group_by`` among it): an
    error there raises once the builder is done, and the next run on the same threads gives the same numbers."""
    book = _mixed_book(120, seed=3)
    kw = {"n_paths": 300, "rho_month": 0.1, "rho_customer": 0.2, "n_threads": 2}
    before = run(book, **kw)
    with pytest.raises(ParamsError, match="group_by must be"):
        run(book, group_by=-np.ones(len(book.invoices), int), **kw)
    after = run(book, **kw)
    assert np.array_equal(before.daily, after.daily) and before.daily.sum() > 0


def test_concurrent_runs_each_get_their_own_numbers_and_builder_threads():
    """Runs on several threads at once (a lever study's trials, the report's driver) fill their tables on helper
    threads of their own: each run gives exactly its sequential numbers, none waits forever, and the helpers
    are kept for later runs rather than started anew each time."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from cashsim.simulate import tables

    books = [_mixed_book(300, seed=3), _mixed_book(250, seed=8)]
    kws = [{"n_paths": 400, "rho_month": 0.1, "rho_customer": 0.2, "n_threads": 2, "seed": s} for s in (11, 12)]
    expected = [run(b, **kw) for b, kw in zip(books, kws, strict=True)]
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(run, books[k % 2], **kws[k % 2]) for k in range(8)]
        got = [f.result(timeout=120) for f in futures]
    for k, sim in enumerate(got):
        assert np.array_equal(sim.daily, expected[k % 2].daily), k
    assert not np.array_equal(expected[0].daily[:, :50], expected[1].daily[:, :50])
    # two runs holding helpers at once never share one; once done, both sets are idle and reused
    first, second = tables._fill_pool(2), tables._fill_pool(2)
    assert len({id(h) for h in first + second}) == 4
    for f in [h.submit(int, 1) for h in first + second]:
        assert f.result(timeout=30) == 1
    helpers = {t.ident for t in threading.enumerate() if t.name == "cashsim-tables"}
    for _ in range(3):
        run(books[0], **kws[0])
    assert {t.ident for t in threading.enumerate() if t.name == "cashsim-tables"} == helpers


def _simulate_in_child(book: Book, expected: np.ndarray) -> None:
    sim = run(book, n_paths=300, rho_month=0.1, rho_customer=0.2, n_threads=2)
    os._exit(0 if np.array_equal(sim.daily, expected) else 3)


def test_a_forked_child_builds_its_tables_on_threads_of_its_own():
    """A child forked after runs (helper threads idle in the parent, which the child does not have) simulates on
    helper threads of its own, with the parent's numbers; it would wait forever on the parent's helpers."""
    import multiprocessing

    book, other = _mixed_book(120, seed=6), _mixed_book(130, seed=7)
    expected = run(other, n_paths=300, rho_month=0.1, rho_customer=0.2, n_threads=2).daily
    run(book, n_paths=300, rho_month=0.1, rho_customer=0.2, n_threads=2)        # helpers now idle in the parent
    child = multiprocessing.get_context("fork").Process(target=_simulate_in_child, args=(_mixed_book(130, seed=7),
                                                                                         expected))
    child.start()
    child.join(timeout=120)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0


def test_a_book_simulated_again_reuses_its_prepared_arrays_and_gives_the_same_numbers():
    """A second run of the very same book and horizon reads the arrays the first prepared (the very object when the
    loadings and groups are the same, else with those re-derived): field for field what a fresh preparation
    gives; a new book is prepared anew; entries go with their book."""
    import dataclasses
    import gc
    import weakref

    from cashsim.simulate import tables

    def same(a, b):
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            assert np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y, f.name

    book = _mixed_book(150, seed=4)
    kw = {"n_paths": 300, "rho_month": 0.1, "rho_customer": 0.2}
    first = run(book, **kw)
    horizon = pd.Timestamp(HORIZON)
    prep, _ = tables._prepare(book, horizon, 0.1, 0.2, None, 2)
    assert tables._prepare(book, horizon, 0.1, 0.2, None, 1)[0] is prep
    again = run(book, n_threads=1, **kw)
    assert np.array_equal(first.daily, again.daily)
    same(prep, tables._prepare_new(book, horizon, 0.1, 0.2, None, 2)[0])
    twin = Book(as_of=book.as_of, grid=book.grid, pmfs=book.pmfs, invoices=book.invoices, calendars=book.calendars)
    assert tables._prepare(twin, horizon, 0.1, 0.2, None, 2)[0] is not prep
    groups = np.arange(150) % 3
    for rho, group in (((0.1, 0.3), None), ((0.1, 0.2), groups), ((0.3, 0.0), (groups + 1) % 3)):
        reused, _ = tables._prepare(book, horizon, *rho, group, 2)
        assert reused is not prep and reused.theta is prep.theta          # the tables read back
        same(reused, tables._prepare_new(book, horizon, *rho, group, 2)[0])
    with pytest.raises(ParamsError, match="group_by must be"):
        tables._prepare(book, horizon, 0.1, 0.2, groups.astype(float), 2)
    assert np.array_equal(run(book, group_by=groups, **kw).group_monthly,
                          run(twin, group_by=groups, **kw).group_monthly)
    assert len(tables._PREPARED) <= tables.PREPARED_KEPT
    gone = weakref.ref(book)
    del book, twin, first, again                      # a Simulation holds its book
    gc.collect()
    assert gone() is None
    other = _mixed_book(20, seed=1)
    tables._prepare(other, horizon, 0.1, 0.2, None, 1)            # forgets the books gone, keeps this one
    assert all(entry[0]() is not None for entry in tables._PREPARED.values())


def test_levers_run_on_common_random_numbers():
    """Changing one invoice's law leaves every other invoice's draws untouched (same seed)."""
    book = _mixed_book(50)
    inv = book.invoices.copy()
    inv.loc[0, "profile"] = (inv.loc[0, "profile"] + 1) % 3
    other = Book(as_of=AS_OF, grid=GRID, pmfs=book.pmfs, invoices=inv)
    group = (np.arange(50) == 0).astype(int)                   # group 1 = the changed invoice
    a = run(book, n_paths=200, group_by=group, rho_month=0.1, rho_customer=0.1)
    b = run(other, n_paths=200, group_by=group, rho_month=0.1, rho_customer=0.1)
    assert np.allclose(a.group_monthly[:, 0], b.group_monthly[:, 0], rtol=0, atol=1e-6)
    assert not np.allclose(a.group_monthly[:, 1], b.group_monthly[:, 1])


# ---------------------------------------------------------------------------------------- means vs analytic

def _analytic_daily_mean(book: Book) -> np.ndarray:
    """Expected cash per day, computed independently: loop over invoices, truncate, renormalise, snap weekends."""
    out = np.zeros(N_DAYS)
    days = pd.date_range(DAY0, HORIZON)
    for _, r in book.invoices.iterrows():
        pmf = book.pmfs[r["profile"]].copy()
        first = max(r["min_day"], (DAY0 - r["due_date"]).days)
        left = 1.0 - pmf[GRID < first].sum()
        pmf[GRID < first] = 0.0
        for g, p in zip(GRID, pmf / left, strict=False):
            if p == 0:
                continue
            date = r["due_date"] + pd.Timedelta(days=int(g))
            while date.day_of_week >= 5:
                date += pd.Timedelta(days=1)
            if date <= HORIZON:
                out[days.get_loc(date)] += p * r["amount"]
    return out


def test_mean_monthly_cash_equals_the_analytic_expectation():
    book = _mixed_book(120)
    sim = run(book, n_paths=4000, rho_month=0.1, rho_customer=0.15)
    expected = pd.Series(_analytic_daily_mean(book), index=sim.days).groupby(sim.days.strftime("%Y-%m")).sum()
    monthly = sim.monthly()
    se = monthly.std(ddof=1) / np.sqrt(sim.n_paths)
    z = (monthly.mean() - expected) / se.clip(lower=1e-9)
    assert (z.abs() < 4.5).all(), z                             # 4.5 sigma: false alarm < 1e-4 over 5 months
    # and the engine's own exact probabilities agree with the independent computation
    p = sim.invoice_probs
    cum = (p.filter(like="p_paid_by_").mul(p["amount"], axis=0)).sum()
    assert np.allclose(np.diff(np.r_[0.0, cum.to_numpy()]), expected.to_numpy(), rtol=1e-9, atol=1e-6)


# ------------------------------------------------------------------------------------------------ conditioning

def test_overdue_invoice_follows_the_truncated_law():
    """An invoice 30 days late (min_day 31) never pays before day 31; its pay day follows pmf / (1 - F(30))."""
    pmf = spread_pmf(45, 0.6, 0.05)
    due = AS_OF - pd.Timedelta(days=30)
    book = book_of([{"customer_id": "C", "due_date": due, "amount": 1.0, "profile": 0, "min_day": 31}], [pmf],
                   calendars=every_day())
    sim = run(book, n_paths=20000, seed=5)
    paid = sim.daily.sum(axis=1) > 0
    rel_day = np.argmax(sim.daily, axis=1)[paid] + 31           # day index 0 is due + 31
    assert rel_day.min() >= 31
    trunc = np.where(GRID >= 31, pmf, 0.0) / (1.0 - pmf[GRID < 31].sum())
    in_h = (GRID >= 31) & (GRID < 31 + N_DAYS)
    expected_never = 1.0 - trunc[in_h].sum()
    # chi-square over day bins with expected count >= 20, plus "not paid in horizon"
    counts = np.bincount(rel_day - 31, minlength=N_DAYS)
    exp = trunc[in_h] * sim.n_paths
    keep = exp >= 20
    obs = np.r_[counts[keep], counts[~keep].sum(), (~paid).sum()]
    expc = np.r_[exp[keep], exp[~keep].sum(), expected_never * sim.n_paths]
    _, pvalue = stats.chisquare(obs, expc * obs.sum() / expc.sum())
    assert pvalue > 1e-3, pvalue                                 # false alarm 1 in 1000
    assert abs((~paid).mean() - expected_never) < 4 * np.sqrt(expected_never * (1 - expected_never) / 20000)


# ------------------------------------------------------------------------------------------ z-space thresholds

def test_thresholds_are_the_inverse_cdf_rule_and_the_guide_never_overshoots():
    """For any law and any conditioning, "first g with theta(g) >= x" equals the U-space rule "first g >= first
    with F(g) - lower >= (1 - lower) Phi(x)" (scipy's Phi), and every guide entry lies at or before that g."""
    rng = np.random.default_rng(4)
    pmfs = np.vstack([spread_pmf(m, s, nv) for m, s, nv in [(30, 0.3, 0.0), (45, 0.6, 0.05), (70, 0.4, 0.3)]]
                     + [point_pmf(10, 0.5) + point_pmf(60, 0.5)])
    cdf = np.cumsum(pmfs, axis=1)
    G = len(GRID)
    profile = rng.integers(0, len(pmfs), 60)
    first = rng.integers(0, 200, 60)
    lower = np.where(first > 0, cdf[profile, np.maximum(first - 1, 0)], 0.0)
    limit = np.minimum(first + rng.integers(1, 300, 60), G)
    skip = 1 - lower <= 1e-12                                      # nothing left to pay: the engine skips them
    th = threshold_tables(cdf, profile, first, lower, limit, skip)
    x = np.r_[rng.standard_normal(4000) * 1.5, rng.uniform(-9, 9, 1000)]
    assert 0 < skip.sum() < 10
    for i in np.flatnonzero(~skip):
        t = th.table[i]
        table = th.theta[th.start[t]: th.start[t] + th.stop[t] - th.first[t] + 1]
        assert np.isinf(table[-1]) and (table[1:] >= table[:-1]).all()
        r = np.searchsorted(table, x, side="left")                 # first position with theta >= x
        g_z = th.first[t] + r
        # F(g) - lower >= (1 - lower) Phi(x): the rule without adding a tiny Phi(x) to lower (which rounds away)
        u = (1 - lower[i]) * special.ndtr(x)
        g_u = first[i] + np.searchsorted(cdf[profile[i], first[i]:] - lower[i], u, side="left")
        assert np.array_equal(np.minimum(g_z, limit[i]), np.minimum(g_u, limit[i])), i
        bins = np.clip(((x - GUIDE_LO) * GUIDE_SCALE).astype(int), 0, th.guide.shape[1] - 1)
        assert (th.guide[t, bins] <= r).all(), i
        reference = np.searchsorted(table, GUIDE_LO + np.arange(th.guide.shape[1]) / GUIDE_SCALE - 1e-9)
        reference[0] = 0                                           # bin 0 also takes every x below GUIDE_LO
        assert np.array_equal(th.guide[t], reference), i
    # built on several threads: the same tables
    again = threshold_tables(cdf, profile, first, lower, limit, skip, n_threads=3)
    assert np.array_equal(again.theta, th.theta) and np.array_equal(again.guide, th.guide)
    # a not-yet-conditioned invoice shares its profile's table; overdue ones get one per (profile, first)
    pairs = set(zip(profile[lower > 0], first[lower > 0], strict=False))
    assert len(th.start) == len(pairs) + len(set(profile[lower == 0]))


def test_table_ranges_are_claimed_once_each_whoever_claims_them():
    """The table builder's claims are atomic: two threads claiming 200 000 numbers each from one counter get every
    number once (a plain read-add-write loses some when both threads run); and tables whose calling thread left most
    ranges to a helper, or filled what a late helper had not claimed, are those built on one thread."""
    from concurrent.futures import ThreadPoolExecutor

    import numba

    from cashsim.simulate.tables import _claim, _start_tables, _wait

    @numba.njit(nogil=True)
    def claim_many(counter, out):
        for k in range(out.shape[0]):
            out[k] = _claim(counter)

    counter = np.zeros(1, np.int64)
    outs = [np.empty(200_000, np.int64) for _ in range(2)]
    claim_many(counter, outs[0][:1])                              # compile before the threads start
    counter[0] = 0
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda out: claim_many(counter, out), outs))
    assert np.array_equal(np.sort(np.concatenate(outs)), np.arange(400_000))
    assert counter[0] == 400_000

    rng = np.random.default_rng(7)
    pmfs = np.vstack([spread_pmf(m, s, nv) for m, s, nv in [(30, 0.3, 0.0), (45, 0.6, 0.05), (70, 0.4, 0.3)]])
    cdf = np.cumsum(pmfs, axis=1)
    profile, first = rng.integers(0, 3, 400), rng.integers(0, 150, 400)
    lower = np.where(first > 0, cdf[profile, np.maximum(first - 1, 0)], 0.0)
    limit, skip = np.minimum(first + 150, len(GRID)), np.zeros(400, bool)
    alone = threshold_tables(cdf, profile, first, lower, limit, skip)
    for leave in (0.0, 0.5, 1.0):
        th, fills, rest = _start_tables(cdf, profile, first, lower, limit, skip, 2, leave=leave)
        rest()
        _wait(fills)
        assert np.array_equal(th.theta, alone.theta) and np.array_equal(th.guide, alone.guide), leave


def test_engine_pay_days_equal_the_u_space_rule_on_the_same_draws():
    """Rebuild the engine's stream (one block: month factors, customer factors, then one standard normal per
    invoice and path, invoice-major) and check that every simulated pay day is exactly the one the textbook
    U-space inverse CDF gives on those normals, for overdue and not-yet-due invoices alike."""
    pmfs = [spread_pmf(40, 0.5, 0.04), spread_pmf(25, 0.3, 0.0), point_pmf(10, 0.5) + point_pmf(60, 0.5)]
    rng = np.random.default_rng(8)
    n = 30
    due_in = rng.integers(-100, 40, n)
    rows = [{"customer_id": f"C{i % 4}", "due_date": DAY0 + pd.Timedelta(days=int(d)), "amount": 2.0 ** i,
             "profile": int(rng.integers(0, 3)), "min_day": int(max(-d, -90))} for i, d in enumerate(due_in)]
    book = book_of(rows, pmfs, calendars=every_day())
    sim = run(book, n_paths=100, seed=21)                      # rho = 0: the latent normal is e itself
    stream = np.random.Generator(np.random.PCG64(np.random.SeedSequence(21).spawn(1)[0]))
    last_due_month = (DAY0 + pd.Timedelta(days=int(due_in.max()))).to_period("M") - DAY0.to_period("M")
    stream.standard_normal((last_due_month.n + 1, 100))         # month factors (months 0 .. last due month)
    stream.standard_normal((4, 100))                            # customer factors (C0 .. C3)
    e = stream.standard_normal((n, 100))
    cdf = np.cumsum(np.vstack(pmfs), axis=1)
    bits = sim.daily.astype(np.int64)
    for i, r in enumerate(rows):
        k, m = r["profile"], r["min_day"] - GRID[0]
        a = cdf[k, m - 1] if m > 0 else 0.0
        g = m + np.searchsorted(cdf[k, m:] - a, (1 - a) * special.ndtr(e[i]), side="left")
        day = np.where(g < len(GRID), due_in[i] + GRID[np.minimum(g, len(GRID) - 1)], N_DAYS)
        day = np.where((day >= 0) & (day < N_DAYS) & (1 - a > 1e-12), day, -1)   # nothing left: never paid
        paid_on = (bits >> i) & 1                                  # paths x days: 1 where invoice i was paid
        assert (paid_on.sum(axis=1) == (day >= 0)).all(), i
        assert np.array_equal(np.argmax(paid_on, axis=1)[day >= 0], day[day >= 0]), i


# ---------------------------------------------------------------------------------------------------- copula

def _indicator_variance(p: float, rho: float, n: int) -> float:
    """Var of the number of invoices paid by a day when each is paid with prob p and the latent normals share
    correlation rho: n p (1-p) + n (n-1) (Phi2(q, q; rho) - p^2), q = Phi^-1(p) (exact)."""
    q = special.ndtri(p)
    joint = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([q, q])
    return n * p * (1 - p) + n * (n - 1) * (joint - p * p)


@pytest.mark.parametrize("factor", ["month", "customer"])
def test_copula_widens_monthly_totals_as_theory_says(factor):
    """200 invoices paid on day +10 with prob 0.5 each (else day +60): the count paid in the first window is a
    sum of correlated indicators. With rho = 0.2 its variance matches the exact formula (+-20 %) and is far above
    independence (the ballpark s^2 (rho + (1 - rho)/N) of methods.md 1.5)."""
    n, rho = 200, 0.2
    pmf = point_pmf(10, 0.5) + point_pmf(60, 0.5)
    due = DAY0 + pd.Timedelta(days=5)
    if factor == "month":       # different customers, one due month: only the month factor is shared
        rows = [{"customer_id": f"C{i}", "due_date": due, "amount": 1.0, "profile": 0, "min_day": -90}
                for i in range(n)]
        kw = {"rho_month": rho}
    else:                       # one customer, due dates in different months: only the customer factor is shared
        rows = [{"customer_id": "C", "due_date": due + pd.DateOffset(months=i % 4) - pd.Timedelta(days=0),
                 "amount": 1.0, "profile": 0, "min_day": -90} for i in range(n)]
        kw = {"rho_customer": rho}
    book = book_of(rows, [pmf], calendars=every_day())
    corr = run(book, n_paths=4000, **kw)
    indep = run(book, n_paths=4000)
    early = np.zeros(N_DAYS, bool)
    for i in range(4):           # the +10 days of each due date, never a +60 day
        early[(due + pd.DateOffset(months=i) + pd.Timedelta(days=10) - DAY0).days] = True
    count_c = corr.daily[:, early].sum(axis=1)
    count_i = indep.daily[:, early].sum(axis=1)
    assert abs(count_c.var() / _indicator_variance(0.5, rho, n) - 1) < 0.2
    assert abs(count_i.var() / _indicator_variance(0.5, 0.0, n) - 1) < 0.2
    assert count_c.var() > 10 * count_i.var()
    assert abs(count_c.mean() - n / 2) < 4 * count_c.std() / np.sqrt(4000)


def test_per_invoice_loadings_default_to_the_scalars_and_follow_theory():
    """Columns ``load_month`` / ``load_customer`` equal to the scalars (or NaN) simulate bit for bit as a Book
    without them; loadings of 0.2 on half the invoices and 0 on the others give the exact indicator variance of
    each half (+-20 %), and an invoice with loading 0 is independent of the month factor."""
    book = _mixed_book(120)
    a = run(book, n_paths=300, rho_month=0.1, rho_customer=0.2)
    inv = book.invoices.assign(load_month=0.1, load_customer=np.where(np.arange(120) % 2, 0.2, np.nan))
    b = run(Book(as_of=AS_OF, grid=GRID, pmfs=book.pmfs, invoices=inv), n_paths=300, rho_month=0.1,
            rho_customer=0.2)
    assert np.array_equal(a.daily, b.daily)
    n, rho = 200, 0.2
    pmf = point_pmf(10, 0.5) + point_pmf(60, 0.5)
    due = DAY0 + pd.Timedelta(days=5)
    rows = [{"customer_id": f"C{i}", "due_date": due, "amount": 1.0, "profile": 0, "min_day": -90,
             "load_month": rho if i < n else 0.0} for i in range(2 * n)]
    sim = run(book_of(rows, [pmf], calendars=every_day()), n_paths=4000,
              group_by=(np.arange(2 * n) >= n).astype(np.int64))
    loaded, free = sim.group_monthly[:, 0, 0], sim.group_monthly[:, 1, 0]    # paid on day +10: in November
    assert abs(loaded.var() / _indicator_variance(0.5, rho, n) - 1) < 0.2
    assert abs(free.var() / _indicator_variance(0.5, 0.0, n) - 1) < 0.2
    assert abs(np.corrcoef(loaded, free)[0, 1]) < 0.1
    with pytest.raises(ParamsError, match="load_month"):
        run(book_of([{**rows[0], "load_month": 0.7, "load_customer": 0.5}], [pmf], calendars=every_day()))


# --------------------------------------------------------------------------------------- upfront, discounts

def test_upfront_and_discount_accounting_is_exact():
    due = pd.Timestamp("2026-11-16")                             # a Monday
    rows = [
        # deposit: 300 received on 4 Nov for sure, the other 700 paid on the due date
        {"customer_id": "A", "due_date": due, "amount": 700.0, "profile": 0, "min_day": -90,
         "upfront_amount": 300.0, "upfront_date": pd.Timestamp("2026-11-04")},
        # 2 % discount taken when paid by due - 5: pays on due - 10 (Fri 6 Nov) -> 980 cash, 20 cost
        {"customer_id": "B", "due_date": due, "amount": 1000.0, "profile": 1, "min_day": -90,
         "discount_rate": 0.02, "discount_day": -5},
        # same discount offered, but paid on due + 4 (Fri 20 Nov): no discount
        {"customer_id": "C", "due_date": due, "amount": 500.0, "profile": 2, "min_day": -90,
         "discount_rate": 0.02, "discount_day": -5},
    ]
    book = book_of(rows, [point_pmf(0), point_pmf(-10), point_pmf(4)])
    sim = run(book, n_paths=7, rho_month=0.3, rho_customer=0.3)
    day = {d: (pd.Timestamp(d) - DAY0).days for d in ("2026-11-04", "2026-11-06", "2026-11-16", "2026-11-20")}
    expected = np.zeros(N_DAYS)
    expected[[day["2026-11-04"], day["2026-11-16"], day["2026-11-06"], day["2026-11-20"]]] = [300, 700, 980, 500]
    cost = np.zeros(N_DAYS)
    cost[day["2026-11-06"]] = 20.0
    assert np.array_equal(sim.daily, np.tile(expected, (7, 1)))
    assert np.array_equal(sim.daily_cost, np.tile(cost, (7, 1)))
    assert sim.monthly_cost()["2026-11"].eq(20.0).all()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(-80, 30), st.integers(0, 60), st.floats(1, 1e5), st.floats(0, 0.05),
                          st.integers(-10, 10), st.floats(0, 0.9)), min_size=1, max_size=12),
       st.integers(0, 2**32 - 1))
def test_money_is_conserved(invoices, seed):
    """Whatever the book: on every path, cash in horizon + unpaid = amount - discounts, where unpaid is zero for
    laws whose mass lies inside the horizon; and upfront cash never depends on the draws."""
    rows, pmfs = [], []
    for k, (due_in, spread, amount, rate, dday, upfront_share) in enumerate(invoices):
        due = DAY0 + pd.Timedelta(days=due_in)
        lo = max(-due_in, -90)                                  # every grid day of the law is within the horizon
        pmf = np.where((GRID >= lo) & (GRID <= lo + spread), 1.0, 0.0)
        pmfs.append(pmf / pmf.sum())
        rows.append({"customer_id": f"C{k % 3}", "due_date": due, "amount": amount * (1 - upfront_share),
                     "profile": k, "min_day": -90, "discount_rate": rate, "discount_day": dday,
                     "upfront_amount": amount * upfront_share, "upfront_date": DAY0 + pd.Timedelta(days=3)})
    book = book_of(rows, pmfs)
    sim = run(book, n_paths=60, seed=seed, rho_month=0.2, rho_customer=0.3)
    total = sum(r[2] for r in invoices)                        # face value: upfront + rest
    collected = sim.daily.sum(axis=1) + sim.daily_cost.sum(axis=1)
    assert np.allclose(collected, total, rtol=1e-9, atol=1e-6)
    assert (sim.daily_cost.sum(axis=1) <= sum(r[2] * (1 - r[5]) * r[3] for r in invoices) + 1e-6).all()


# ------------------------------------------------------------------------------------------- views and probs

def test_views_quantiles_and_groups_add_up():
    book = _mixed_book(80)
    group = np.arange(80) % 3
    sim = run(book, n_paths=300, group_by=group, rho_month=0.1, rho_customer=0.1)
    monthly, weekly = sim.monthly(), sim.weekly()
    assert monthly.columns[0] == "2026-11" and list(monthly.columns) == sim.months and len(sim.months) == 4
    assert all(pd.Timestamp(c).day_of_week == 0 for c in weekly.columns)
    assert np.allclose(monthly.sum(axis=1), sim.daily.sum(axis=1)) and np.allclose(weekly.sum(axis=1),
                                                                                    sim.daily.sum(axis=1))
    assert np.allclose(sim.group_monthly.sum(axis=1), monthly.to_numpy())
    q = sim.quantiles("M")
    assert list(q.columns) == ["period", "mean", "p05", "p10", "p25", "p50", "p75", "p90", "p95"]
    assert (np.diff(q[["p05", "p10", "p25", "p50", "p75", "p90", "p95"]].to_numpy(), axis=1) >= 0).all()
    fan = sim.quantiles("W", cumulative=True)
    assert (np.diff(fan["p50"]) >= -1e-9).all()
    with pytest.raises(ParamsError, match="freq"):
        sim.quantiles("Q")


def test_invoice_probabilities_match_simulated_frequencies():
    pmf = spread_pmf(40, 0.5, 0.04)
    rows = [{"customer_id": "C", "due_date": DAY0 + pd.Timedelta(days=d), "amount": 1.0, "profile": 0,
             "min_day": max(-d, -90)} for d in (-20, 15)]
    sim = run(book_of(rows, [pmf]), n_paths=6000, rho_month=0.2, rho_customer=0.2, group_by=np.array([0, 1]))
    paid_by = np.cumsum(sim.group_monthly, axis=2).mean(axis=0)      # groups x months
    probs = sim.invoice_probs.filter(like="p_paid_by_").to_numpy()
    assert np.abs(paid_by - probs).max() < 4 * np.sqrt(0.25 / 6000)
    assert np.allclose(sim.invoice_probs["p_never_in_horizon"], 1 - probs[:, -1])
    assert (sim.invoice_probs["expected_pay_date"] > AS_OF).all()


def test_the_demo_book_simulates_to_its_exact_marginal_means(demo):
    """On the book PayerModel builds for the demo company (payment-run calendars, disputes, promises), the mean
    cash per month equals sum(amount x P(paid in month)) of the exact marginal laws, within 4.5 standard errors."""
    from cashsim.behaviour import fit_behaviour

    model = fit_behaviour(demo.ledger, demo.as_of)
    known = demo.ledger.known_at(demo.as_of)
    end = pd.Timestamp("2027-01-31")
    book = model.book(known.open_book(demo.as_of), horizon_end=end, promises=known.promises)
    sim = simulate(book, horizon_end=end, n_paths=1000, seed=2, rho_month=model.rho_month,
                   rho_customer=model.rho_customer)
    p = sim.invoice_probs
    cum = p.filter(like="p_paid_by_").mul(p["amount"], axis=0).sum().to_numpy()
    exact = np.diff(np.r_[0.0, cum])
    monthly = sim.monthly()
    z = (monthly.mean().to_numpy() - exact) / (monthly.std(ddof=1).to_numpy() / np.sqrt(sim.n_paths))
    assert np.abs(z).max() < 4.5, z
    assert monthly.sum(axis=1).max() <= book.invoices["amount"].sum() + 1e-6


def test_the_compiled_cumulative_rows_are_numpy_cumsum_bit_for_bit():
    """The engine's per-run cumulative laws (gathered and summed in compiled code) are ``numpy.cumsum`` of the
    gathered rows to the last bit, whatever the array's layout; each row's start is its first positive column."""
    from cashsim.simulate.tables import _cumulative_rows, _first_positive

    rng = np.random.default_rng(7)
    pmfs = rng.dirichlet(np.full(40, 0.3), size=30) * rng.uniform(0.2, 1.0, (30, 1))
    pmfs[:, :5] = 0.0
    pmfs[3] = 0.0                                          # a row without mass: never paid
    pmfs[4, :] = -0.0                                      # negative zeros kept as numpy keeps them
    rows = np.array([5, 3, 0, 29, 5, 4, 17], np.int64)
    for a in (pmfs, np.asfortranarray(pmfs), np.vstack([pmfs, pmfs])[::2]):
        got, want = _cumulative_rows(a, rows), np.cumsum(a[rows], axis=1)
        assert got.tobytes() == want.tobytes()
        positive = want > 0
        assert _first_positive(got).tolist() == np.where(positive.any(axis=1), positive.argmax(axis=1),
                                                         want.shape[1]).tolist()
    assert _cumulative_rows(pmfs, np.empty(0, np.int64)).shape == (0, 40)


def test_upfront_days_are_the_whole_days_pandas_gives():
    """The upfront payments' day indices (numpy) are pandas' ``Timedelta.days`` of the dates less the first day:
    floored for a time of day, NaT and dates outside the horizon left out, amounts of 0 too."""
    from types import SimpleNamespace

    from cashsim.simulate import _upfront

    days = pd.date_range("2026-11-01", "2027-02-28")
    rng = np.random.default_rng(2)
    when = pd.Series(pd.Timestamp("2026-10-01") + pd.to_timedelta(rng.integers(0, 200 * 24, 500), "h"))
    when[rng.random(500) < 0.2] = pd.NaT
    inv = pd.DataFrame({"upfront_date": when.astype("datetime64[ns]"),
                        "upfront_amount": np.where(rng.random(500) < 0.5, 0.0, rng.random(500) * 100)})
    idx = (inv["upfront_date"] - days[0]).dt.days.to_numpy(np.float64)
    rows = np.flatnonzero((inv["upfront_amount"].to_numpy() != 0) & np.isfinite(idx) & (idx >= 0)
                          & (idx < len(days)))
    got_rows, got_day, got_amount = _upfront(SimpleNamespace(invoices=inv), days)
    assert np.array_equal(got_rows, rows)
    assert len(rows) > 50 and got_day.dtype == np.int64
    assert np.array_equal(got_day, idx[rows].astype(np.int64))
    assert np.array_equal(got_amount, inv["upfront_amount"].to_numpy()[rows])
