"""The Monte Carlo collection engine (*prévision d'encaissements clients*): when is each invoice paid, path by path.

Input: a :class:`~cashsim.book.Book` (open and future invoices, each pointing at a pmf row of its payment day
relative to the due date) and a seed. Output: a :class:`Simulation` holding the cash collected per path per day
(euros incl. VAT, net of discounts), with monthly / weekly views, quantiles (fan-chart data) and exact per-invoice
probabilities.

The rule, for invoice ``i`` of customer ``j`` due in calendar month ``m`` on path ``k`` (docs/design.md):

* **Copula** (Gaussian factor copula): ``Z = sqrt(rho_m) M[k, m] + sqrt(rho_c) C[k, j] + sqrt(1 - rho_m - rho_c) e``
  with ``M``, ``C``, ``e`` independent N(0, 1). ``m`` is the month the invoice falls due, or the first forecast
  month for an invoice already overdue: a bad month is bad for many invoices at once, a slow customer is slow on
  all its invoices. **Per-invoice loadings**: the optional Book.invoices columns ``load_month`` and
  ``load_customer`` replace ``rho_m`` and ``rho_c`` for their rows (NaN or absent: the scalars, so a Book without
  them simulates exactly as before); :meth:`PayerModel.book <cashsim.behaviour.PayerModel.book>` writes them.
* **Marginal** (inverse CDF on the daily grid, conditioned on "not paid yet"): ``U = Phi(Z)``,
  ``U' = F(min_day - 1) + U (1 - F(min_day - 1))``, pay day = the first grid day ``g`` with ``F(g) >= U'``;
  ``U'`` above the row's total mass (never paid, or paid after the last grid day) = not paid within the horizon.
  ``F`` is the cumulative pmf row of the invoice's profile.
* **Payment days**: the drawn date is moved through the invoice's row of ``Book.calendars`` (row 0 = next business
  day) and counted on that day if it falls within the horizon.
* **Upfront** amounts (deposit *acompte*, factoring advance *affacturage*) land on ``upfront_date`` on every path;
  an early-payment **discount** (*escompte*) taken when the drawn day is ``<= discount_day`` pays
  ``amount (1 - rate)`` and books ``amount * rate`` in ``daily_cost`` on the same day.

How it is computed (profiled; figures in docs/scale.md, ``python -m benchmarks``), one concept per module:

* :mod:`cashsim.book` -- the :class:`Book` and its validation (no numba: cheap for every stage that builds one).
* :mod:`cashsim.simulate.tables` -- z-space threshold and guide tables (no ``Phi`` per draw) and each invoice's
  timing, prepared once per run.
* :mod:`cashsim.simulate._pcg64` -- numpy's PCG64 step and ziggurat, compiled inline: the normals are exactly
  ``Generator(PCG64(child)).standard_normal``'s.
* :mod:`cashsim.simulate.kernel` -- the compiled loops: invoice by invoice, every path of a task; cash into
  ``daily[day, path]``, never a paths x invoices matrix.
* :mod:`cashsim.simulate.backends` -- seeding per block of :data:`PATH_BLOCK` paths, local threads or dask: the
  same seed gives the same numbers bit for bit whatever ``chunk_paths``, the threads or the backend.
* :mod:`cashsim.simulate.draws` -- the normals of a series of runs on one seed, kept by the first and read by the
  others (a lever study's scenarios and trials): the same numbers, drawn once.
* :mod:`cashsim.simulate.result` -- the :class:`Simulation`, its views and the exact per-invoice probabilities.
* here -- :func:`simulate`: checks the arguments, runs the tasks, adds the upfront amounts.

Deviations from docs/design.md, all additive: ``simulate`` also takes ``n_threads`` (local backend; default: all
cores) and ``progress``; ``min_day`` may lie beyond the grid's last day (never paid within the grid, as
``PayerModel.book`` writes for invoices more than a year overdue); the engine never lets a payment precede
``as_of + 1`` nor the invoice's ``issue_date`` (it raises ``min_day`` accordingly); calendars may map a day to an
earlier day (supported, though ``PayerModel`` now snaps to the *next* payment-run day); the discount test uses the
drawn day, before
snapping; ``Simulation.quantiles`` has a ``cumulative`` switch for fan charts of cumulated cash.

Example::

    >>> import numpy as np, pandas as pd
    >>> grid = np.arange(-90, 366)
    >>> pmf = np.where(grid == 10, 0.9, 0.0)[None, :]          # pays 10 days late with 90 %, never with 10 %
    >>> inv = pd.DataFrame({"invoice_id": ["F1"], "customer_id": ["C1"], "due_date": [pd.Timestamp("2026-11-20")],
    ...                     "amount": [1200.0], "profile": [0], "min_day": [-90]})
    >>> book = Book(as_of=pd.Timestamp("2026-10-31"), grid=grid, pmfs=pmf, invoices=inv)
    >>> sim = simulate(book, horizon_end="2027-01-31", n_paths=1000, seed=1, rho_month=0.1, rho_customer=0.1)
    >>> p = sim.invoice_probs.iloc[0]
    >>> str(p["expected_pay_date"].date()), float(p["p_paid_by_2026-11"]), round(float(p["p_never_in_horizon"]), 6)
    ('2026-11-30', 0.9, 0.1)
    >>> sorted(set(np.round(sim.monthly()["2026-11"], 2)))     # 20 + 10 = 30 Nov, a Monday: all or nothing
    [0.0, 1200.0]
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np
import pandas as pd

from cashsim.book import BOOK_DEFAULTS, BOOK_REQUIRED, Book
from cashsim.calendar import business_day_calendar, next_allowed, payment_run_calendar
from cashsim.errors import ParamsError
from cashsim.seeding import SeedLike, recorded, seed_sequence
from cashsim.simulate._pcg64 import pcg64_state, standard_normals
from cashsim.simulate.backends import PATH_BLOCK, _run_dask, _run_local, _tasks, engine_session
from cashsim.simulate.draws import Draws, stream_key
from cashsim.simulate.result import QUANTILES, Simulation, invoice_probabilities, quantile_name
from cashsim.simulate.tables import (
    GUIDE_BINS,
    GUIDE_LO,
    GUIDE_SCALE,
    GUIDE_TOP,
    Thresholds,
    _prepare,
    simulation_days,
    threshold_tables,
)

__all__ = [
    "BOOK_DEFAULTS", "BOOK_REQUIRED", "CHUNK_PATHS", "GUIDE_BINS", "GUIDE_LO", "GUIDE_SCALE", "GUIDE_TOP",
    "PATH_BLOCK", "QUANTILES", "Book", "Draws", "Simulation", "Thresholds", "business_day_calendar", "engine_session",
    "invoice_probabilities", "next_allowed", "payment_run_calendar", "pcg64_state", "quantile_name", "run_meta",
    "simulate", "simulation_days", "standard_normals", "threshold_tables",
]


#: Paths a task simulates by default (chunking never changes the numbers, only the schedule).
CHUNK_PATHS = 1000


def run_meta(backend: str = "local", chunk_paths: int = CHUNK_PATHS) -> dict[str, Any]:
    """How a run was made (:attr:`Simulation.meta`): its backend, paths per task and paths per seeded block."""
    return {"backend": backend, "chunk_paths": int(chunk_paths), "path_block": PATH_BLOCK}


def simulate(book: Book, *, horizon_end: Any, n_paths: int, seed: SeedLike, rho_month: float, rho_customer: float,
             chunk_paths: int = CHUNK_PATHS, backend: Literal["local", "dask"] = "local",
             dask_address: str | None = None, group_by: Any = None, progress: bool = False,
             n_threads: int | None = None, draws: Draws | None = None) -> Simulation:
    """Simulate the collection of ``book`` on ``n_paths`` paths from ``as_of + 1`` to ``horizon_end`` (inclusive).

    ``rho_month``, ``rho_customer``: copula loadings (>= 0, sum <= 1). ``chunk_paths``: paths per task (rounded up
    to blocks of :data:`PATH_BLOCK`); ``backend="dask"`` runs the tasks on dask.distributed (the scheduler at
    ``dask_address``, else a two-worker LocalCluster); ``n_threads`` threads for the local backend (default: all
    cores). ``group_by``: one non-negative int per invoice -> ``Simulation.group_monthly``. The result does not
    depend on ``chunk_paths``, ``n_threads`` or ``backend``. ``draws``: a :class:`~cashsim.simulate.draws.Draws`
    shared by a series of runs on one seed (a lever study): the local backend reads the normals it holds instead of
    drawing them again (the same numbers: it never changes the result).
    """
    if not isinstance(book, Book):
        raise ParamsError("simulate() takes a cashsim.book.Book (see PayerModel.book)")
    if int(n_paths) < 1:
        raise ParamsError(f"n_paths must be at least 1, got {n_paths}")
    if not (0 <= rho_month <= 1 and 0 <= rho_customer <= 1 and rho_month + rho_customer <= 1):
        raise ParamsError(f"copula loadings must be >= 0 with rho_month + rho_customer <= 1, got rho_month="
                          f"{rho_month}, rho_customer={rho_customer}")
    if int(chunk_paths) < 1:
        raise ParamsError(f"chunk_paths must be at least 1, got {chunk_paths}")
    if backend not in ("local", "dask"):
        raise ParamsError(f"backend must be 'local' or 'dask', got {backend!r}")
    horizon_end = pd.Timestamp(horizon_end).normalize()
    if horizon_end <= book.as_of:
        raise ParamsError(f"horizon_end {horizon_end.date()} must be after as_of {book.as_of.date()}")
    n_paths = int(n_paths)
    root = seed_sequence(seed)
    group = None if group_by is None else np.asarray(group_by)
    threads = max(1, n_threads or os.cpu_count() or 1)
    prep, days = _prepare(book, horizon_end, float(rho_month), float(rho_customer), group, threads)
    n_blocks = -(-n_paths // PATH_BLOCK)
    seeds = root.spawn(n_blocks)
    if backend == "dask":
        parts = _run_dask(prep, _tasks(n_paths, chunk_paths), seeds, n_paths, dask_address, progress)
        daily = np.vstack([p[0] for p in parts])
        cost = np.vstack([p[1] for p in parts])
        group_monthly = np.vstack([p[2] for p in parts]) if prep.use_groups else None
    else:
        daily, cost = np.empty((n_paths, prep.n_days)), np.zeros((n_paths, prep.n_days))
        group_monthly = np.empty((n_paths, prep.n_groups, prep.n_months)) if prep.use_groups else None
        # enough tasks to keep every thread busy: chunking never changes the numbers, only the schedule
        per_thread = PATH_BLOCK * -(-n_blocks // threads)
        stream, key = ("draw", None), None
        if draws is not None:
            key = stream_key(seeds, prep.n_factor_months, prep.n_customers)
            stream = draws.claim(key, n_blocks, n_paths // PATH_BLOCK, len(book.invoices), prep.n_factor_months,
                                 prep.n_customers, PATH_BLOCK)
        try:
            _run_local(prep, _tasks(n_paths, min(int(chunk_paths), per_thread)), seeds, n_paths, threads, progress,
                       (daily, cost, group_monthly), stream)
        except BaseException:
            if stream[0] == "write":
                draws.done(key, stream[1], ok=False)
            raise
        if stream[0] == "write":
            draws.done(key, stream[1], ok=True)
    up_rows, up_day, up_amt = _upfront(book, days)
    if len(up_day):
        daily += np.bincount(up_day, weights=up_amt, minlength=len(days))[None, :]
        if group_monthly is not None:
            gm = np.zeros((prep.n_groups, prep.n_months))
            np.add.at(gm, (prep.group[up_rows], prep.month_of_day[up_day]), up_amt)
            group_monthly += gm[None]
    return Simulation(as_of=book.as_of, days=days, daily=daily, daily_cost=cost, n_paths=n_paths,
                      seed=recorded(seed, root),
                      book=book, group_monthly=group_monthly,
                      rho_month=float(rho_month), rho_customer=float(rho_customer),
                      meta=run_meta(backend, chunk_paths))


def _upfront(book: Book, days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Invoice row, day index and amount of every upfront payment landing within the horizon (the same on every
    path), in numpy: the whole days from ``days[0]`` (``Timedelta.days``: floored), rows without a date or outside
    the horizon left out."""
    inv = book.invoices
    rows = np.flatnonzero(inv["upfront_amount"].to_numpy() != 0)
    when = inv["upfront_date"].to_numpy("datetime64[ns]")[rows]
    dated = ~np.isnat(when)
    rows, when = rows[dated], when[dated]
    idx = (when - np.datetime64(days[0], "ns")) // np.timedelta64(1, "D")
    inside = (idx >= 0) & (idx < len(days))
    rows = rows[inside]
    return rows, idx[inside].astype(np.int64), inv["upfront_amount"].to_numpy(np.float64)[rows]
