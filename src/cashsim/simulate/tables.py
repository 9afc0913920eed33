"""Per-run preparation of the engine (*seuils de paiement*): z-space threshold tables, guide tables and each
invoice's timing, as the plain arrays the compiled kernel reads.

* **z-space thresholds, no ``Phi`` per draw.** ``F(g) >= a + (1 - a) Phi(x)`` with ``a = F(min_day - 1)`` is
  ``theta(g) >= x`` with ``theta(g) = Phi^-1((F(g) - a) / (1 - a))`` (scipy's ``ndtri``, once per table entry).
  Invoices with ``a == 0`` (not yet due, future invoices) share one table per profile; overdue invoices share one
  per distinct (profile, min_day) pair. A table holds only the grid days that can land within the horizon
  (about ``n_days`` entries) and ends with ``+inf`` (never paid / after the horizon). The pay day is the first
  ``g`` with ``theta(g) >= x``: a guide table in ``x`` (2048 bins of 1/256 on [-4, 4], uint8 start positions:
  2 KiB a table) gives it directly for 96 % of draws, a short forward scan for the rest. Exact: the comparisons
  are with the thresholds themselves (:func:`threshold_tables`, tested against the U-space rule). Tables and
  guides are built in compiled code (scipy's ``ndtri`` called by address) on all the run's threads.
* **Timing** (:func:`_timing`), in day indices from ``as_of + 1``: an invoice's first allowed grid day is
  ``max(min_day, as_of + 1 - due_date, issue_date - due_date)`` (never before the forecast starts nor before it is
  invoiced); its month factor is the month it falls due, or the first forecast month when already overdue.
* **Horizon** (:func:`_horizon_limit`): grid days whose every calendar day lies after ``horizon_end`` go to the sink
  (day index ``n_days``); an invoice with no mass left before that limit is skipped (never paid within it).

:func:`_prepare` runs all of it once per run, vectorised, into a picklable :class:`_Prepared` (kept for the next
runs of the same book: :data:`PREPARED_KEPT`).

Example::

    >>> GUIDE_LO, GUIDE_SCALE, GUIDE_BINS
    (-4.0, 256.0, 2048)
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait

import numba
import numpy as np
import pandas as pd
from llvmlite import binding as llvm_binding
from llvmlite import ir as llvm_ir
from numba import types
from numba.extending import get_cython_function_address, intrinsic

from cashsim.book import Book
from cashsim.errors import ModelError, ParamsError

#: Guide tables in z-space: bins of width 1 / GUIDE_SCALE from GUIDE_LO (x below: bin 0, above: the last bin).
GUIDE_LO, GUIDE_SCALE, GUIDE_BINS = -4.0, 256.0, 2048
#: Lower edge of the last guide bin: x is clamped to [GUIDE_LO, GUIDE_TOP] before its bin is taken.
GUIDE_TOP = GUIDE_LO + (GUIDE_BINS - 1) / GUIDE_SCALE

# scipy's ``ndtri`` (Phi^-1) as a C symbol the compiled table builder calls by name (so it can be cached).
llvm_binding.add_symbol("cashsim_scipy_ndtri", get_cython_function_address("scipy.special.cython_special", "ndtri"))
_ndtri = types.ExternalFunction("cashsim_scipy_ndtri", types.float64(types.float64))
#: Left edge of every guide bin but the first (which also takes every x below GUIDE_LO), less 1e-9 so a rounding
#: of the bin index can never skip a threshold.
_GUIDE_EDGES = GUIDE_LO + np.arange(GUIDE_BINS) / GUIDE_SCALE - 1e-9


@numba.njit(nogil=True, cache=True)
def _fill_tables(cdf, t_profile, t_first, t_lower, t_stop, start, edges, theta, guide, t0, t1):
    """Thresholds and guides of tables ``t0 .. t1 - 1`` (see :class:`Thresholds`).

    ``theta[start[t] + r] = Phi^-1((F(g) - lower) / (1 - lower))`` for ``g = first + r < stop`` (clipped to
    [0, 1], NaN -> 0), then ``+inf``. ``guide[t, j]`` (``j >= 1``) = the number of entries below
    ``edges[j]``, i.e. the first position whose threshold is ``>= edges[j]``; ``guide[t, 0] = 0``. ``guide``
    comes in zeroed: a table of the single entry ``+inf`` is left so. Built entry by
    entry: the bins of entry ``r`` are those whose edge lies in ``(theta[r - 1], theta[r]]``.
    """
    G = cdf.shape[1]
    n_bins = edges.shape[0]
    for t in range(t0, t1):
        k, a, base, g_first = t_profile[t], t_lower[t], start[t], t_first[t]
        n = t_stop[t] - g_first + 1
        if n == 1:                      # never paid within the horizon: +inf, and a guide of zeros (as allocated)
            theta[base] = np.inf
            continue
        for r in range(n - 1):
            q = (cdf[k, min(g_first + r, G - 1)] - a) / (1.0 - a)
            q = 0.0 if np.isnan(q) else min(max(q, 0.0), 1.0)
            theta[base + r] = _ndtri(q)
        theta[base + n - 1] = np.inf
        row = guide[t]
        row[0] = 0
        j = 1
        for r in range(n):
            th = theta[base + r]
            # bins j with edges[j] <= th start at r + 1 or later; the others, from the current j, start at r
            stop = n_bins
            if th < edges[n_bins - 1]:
                stop = min(max(int((th - GUIDE_LO) * GUIDE_SCALE) + 1, 1), n_bins) if th > edges[0] else 1
                while stop > 1 and edges[stop - 1] > th:
                    stop -= 1
                while stop < n_bins and edges[stop] <= th:
                    stop += 1
            if stop > j:
                row[j:stop] = r
                j = stop
            if j >= n_bins:
                break


@intrinsic
def _claim(typingctx, counter):
    """``counter[0]`` before adding 1 to it, as one atomic step (LLVM's ``atomicrmw add``): threads that claim from
    the same counter never get the same number. numba has no atomics of its own."""
    sig = types.int64(counter)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.atomic_rmw("add", ary.data, llvm_ir.Constant(llvm_ir.IntType(64), 1), "monotonic")

    return sig, codegen


@numba.njit(nogil=True, cache=True)
def _fill_claimed(counter, cuts, until, cdf, t_profile, t_first, t_lower, t_stop, start, edges, theta, guide):
    """Fill the table ranges ``cuts[k] .. cuts[k + 1] - 1`` (:func:`_fill_tables`), each claimed from ``counter``
    (:func:`_claim`), until none is left or this thread has filled range ``until - 1`` or a later one. Every
    thread of a run calls it: one that starts late or runs slowly (a virtual CPU taken away for a while) fills
    fewer ranges, the others more; each range is filled once, by one thread, so the tables are the same whoever
    fills them."""
    n = cuts.shape[0] - 1
    while True:
        k = _claim(counter)
        if k >= n:
            return
        _fill_tables(cdf, t_profile, t_first, t_lower, t_stop, start, edges, theta, guide, cuts[k], cuts[k + 1])
        if k + 1 >= until:
            return


@numba.njit(nogil=True, cache=True)
def _cumulative_rows(pmfs, rows):
    """``numpy.cumsum(pmfs[rows], axis=1)`` bit for bit (the same running sum, left to right), read straight from
    ``pmfs`` without the gathered copy."""
    G = pmfs.shape[1]
    out = np.empty((rows.shape[0], G))
    for i in range(rows.shape[0]):
        k = rows[i]
        s = 0.0
        for g in range(G):
            s = pmfs[k, g] if g == 0 else s + pmfs[k, g]
            out[i, g] = s
    return out


@numba.njit(nogil=True, cache=True)
def _first_positive(cdf):
    """Per row of ``cdf``, the first column above 0 (the row's length if none): where its law starts."""
    n, G = cdf.shape
    first = np.full(n, G, np.int64)
    for i in range(n):
        for g in range(G):
            if cdf[i, g] > 0:
                first[i] = g
                break
    return first


@dataclasses.dataclass(frozen=True, eq=False)
class _Prepared:
    """Everything a task needs, as plain arrays (picklable: dask ships it once to every worker)."""

    month: np.ndarray
    cust: np.ndarray
    table: np.ndarray
    skip: np.ndarray
    limit: np.ndarray
    offset: np.ndarray
    cal_row: np.ndarray
    amount: np.ndarray
    disc_g: np.ndarray
    disc_rate: np.ndarray
    group: np.ndarray
    start: np.ndarray
    first_g: np.ndarray
    theta: np.ndarray
    guide: np.ndarray
    calendars: np.ndarray
    month_of_day: np.ndarray
    n_days: int
    n_months: int
    n_factor_months: int
    n_customers: int
    n_groups: int
    use_groups: bool
    a_month: np.ndarray
    a_cust: np.ndarray
    c_own: np.ndarray
    longest: int
    any_discount: bool


@dataclasses.dataclass(frozen=True, eq=False)
class Thresholds:
    """Pay-day thresholds in z-space (*seuils*), one table per law the book needs.

    Table ``t`` is the law of profile ``profile[t]`` conditioned on "not paid before grid index ``first[t]``"
    (``lower[t] = F(first - 1)``, 0 for a table of a whole profile row). Its entries ``theta[start[t] + r]``
    for grid indices ``g = first[t] + r < stop[t]`` are ``Phi^-1((F(g) - lower) / (1 - lower))``, followed by
    ``+inf``: an invoice of the table whose latent normal is ``x`` pays on the first ``g`` with ``theta(g) >= x``,
    which is the inverse-CDF rule ``F(g) >= lower + (1 - lower) Phi(x)`` without a ``Phi`` per draw.
    ``guide[t, j]``: where to start the scan for ``x`` in bin ``j`` of width ``1 / GUIDE_SCALE`` from
    ``GUIDE_LO``. ``table[i]`` is invoice ``i``'s table.
    """

    table: np.ndarray
    profile: np.ndarray
    first: np.ndarray
    lower: np.ndarray
    stop: np.ndarray
    start: np.ndarray
    theta: np.ndarray
    guide: np.ndarray


def threshold_tables(cdf: np.ndarray, profile: np.ndarray, first: np.ndarray, lower: np.ndarray,
                     limit: np.ndarray, skip: np.ndarray, n_threads: int = 1) -> Thresholds:
    """The z-space threshold tables for invoices with cumulative rows ``cdf[profile]``, first allowed grid index
    ``first``, ``lower = F(first - 1)`` and horizon limit ``limit`` (grid index from which every day is outside the
    horizon); ``skip`` invoices are never paid within it and need no table entries.

    Invoices not yet conditioned (``lower == 0``: nothing of their law lies before ``first``, the common case of
    invoices not yet due and of future invoices) share one table per profile, starting at the profile's first day
    of positive mass; overdue invoices share one table per distinct (profile, first) pair. A table stops at the
    largest ``limit`` of its invoices, so it holds at most the horizon's days. ``n_threads`` threads share the
    tables (the result does not depend on it).

    >>> cdf = np.array([[0.0, 0.5, 1.0]])
    >>> th = threshold_tables(cdf, np.array([0, 0]), np.array([0, 2]), np.array([0.0, 0.5]), np.array([3, 3]),
    ...                       np.array([False, False]))
    >>> th.table.tolist(), th.first.tolist()   # the whole row starts at g = 1; the overdue invoice's law at g = 2
    ([0, 1], [1, 2])
    >>> th.theta.tolist()      # Phi^-1(0.5), Phi^-1(1), end | Phi^-1((1 - 0.5) / (1 - 0.5)), end
    [0.0, inf, inf, inf, inf]
    """
    th, fills, rest = _start_tables(cdf, profile, first, lower, limit, skip, n_threads)
    rest()
    _wait(fills)
    return th


def _start_tables(cdf: np.ndarray, profile: np.ndarray, first: np.ndarray, lower: np.ndarray, limit: np.ndarray,
                  skip: np.ndarray, n_threads: int, leave: float = 0.0
                  ) -> tuple[Thresholds, list[Future], Callable[[], None]]:
    """:func:`threshold_tables`, its arrays still being filled by ``n_threads - 1`` helper threads when it returns.
    The table ranges are claimed one at a time by every thread (:func:`_fill_claimed`); the calling thread stops
    claiming once about the last ``leave`` of them remain (a share of the ranges: the helpers fill them while the
    caller does its other work), then calls the returned ``rest`` (the ranges no helper has claimed by then, if
    any: a helper may start late) and waits for the returned futures (:func:`_wait`)."""
    cdf = np.ascontiguousarray(cdf, dtype=np.float64)
    G = cdf.shape[1]
    conditioned = lower > 0
    key = profile * (G + 2) + np.where(conditioned, first + 1, 0)
    keys, table = np.unique(key, return_inverse=True)
    t_profile, t_first = keys // (G + 2), keys % (G + 2) - 1
    row_first = _first_positive(cdf)
    whole_row = t_first < 0
    t_first = np.where(whole_row, row_first[t_profile], t_first)
    t_lower = np.where(whole_row, 0.0, cdf[t_profile, np.clip(t_first - 1, 0, G - 1)])
    t_stop = t_first.copy()
    np.maximum.at(t_stop, table[~skip], limit[~skip])
    length = t_stop - t_first + 1                                      # + the +inf entry
    start = np.r_[0, np.cumsum(length)[:-1]].astype(np.int64)
    theta = np.empty(int(length.sum()))
    longest = length.max(initial=1)
    # the smallest type: more tables in cache; zeros: the guide of a table of one entry (+inf), left as allocated
    # (pages of tables the engine never reads are never touched)
    guide = np.zeros((len(keys), GUIDE_BINS), np.uint8 if longest <= 256 else np.int16 if longest <= 2 ** 15
                     else np.int32)
    args = (cdf, t_profile.astype(np.int64), t_first.astype(np.int64),
            t_lower.astype(np.float64), t_stop.astype(np.int64), start, _GUIDE_EDGES, theta, guide)
    n = max(1, n_threads)
    # ranges of about equal numbers of entries, FILL_RANGES a thread, claimed one at a time by every thread (the
    # calling one too): a thread that starts late (a helper waking up, waiting for the GIL) or runs slowly fills
    # fewer; with fixed shares the run waited for the slowest (3 to 45 ms for the same 15 ms of work)
    n_ranges = max(1, min(len(keys), FILL_RANGES * n))
    cuts = np.searchsorted(start, np.arange(1, n_ranges) * (len(theta) / n_ranges))
    cuts = np.concatenate([[0], cuts, [len(keys)]]).astype(np.int64)
    counter = np.zeros(1, np.int64)
    fills = [helper.submit(_fill_claimed, counter, cuts, n_ranges, *args) for helper in _fill_pool(n - 1)]
    # the calling thread claims ranges too, without the GIL: the helpers take the GIL at once to start theirs
    # (had it gone on with the pandas side, they would have waited for the interpreter's 5 ms switch)
    _fill_claimed(counter, cuts, n_ranges - int(leave * n_ranges) if n > 1 else n_ranges, *args)
    return Thresholds(table=table.astype(np.int64), profile=t_profile.astype(np.int64),
                      first=t_first.astype(np.int64), lower=t_lower, stop=t_stop.astype(np.int64), start=start,
                      theta=theta, guide=guide), fills, lambda: _fill_claimed(counter, cuts, n_ranges, *args)


#: Table ranges a thread of the run claims on average (:func:`_fill_claimed`): enough that a late or slow thread
#: costs the run a fraction of a millisecond, few enough that claiming costs nothing (the benchmark book's 7 425
#: tables: 16 ranges on 2 threads, about 0.9 ms of work each).
FILL_RANGES = 8
#: The share of the table ranges :func:`_prepare_new`'s calling thread leaves to the helpers while it does the
#: pandas side of the preparation (about 3 ms; the benchmark book's tables, about 15 ms of one thread's work).
PANDAS_SHARE = 0.2


def _fill_pool(n: int) -> list[_Helper]:
    """``n`` builder threads of the run's own: idle ones kept from earlier runs (a run used to start its own
    threads: about 0.5 ms each on this machine, before the paths fan out), new ones when concurrent runs hold the
    others. Each helper serves one job at a time and goes back to the idle list when it is done, so runs on
    several threads at once (a lever study's trials, the report's driver) never queue behind one another nor
    share a helper; helpers are daemon threads, never shut down under a run."""
    with _IDLE_LOCK:
        taken = [_IDLE.pop() for _ in range(min(n, len(_IDLE)))]
    return taken + [_Helper() for _ in range(n - len(taken))]


class _Helper:
    """One table-builder thread: :meth:`submit` runs a job on it and returns its :class:`Future`; the thread goes
    back to the idle list once the job is done (its result or error set)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="cashsim-tables", daemon=True).start()

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        self._jobs.put((future, fn, args))
        return future

    def _serve(self) -> None:
        while True:
            future, fn, args = self._jobs.get()
            try:
                result = fn(*args)
            except BaseException as exc:     # handed to the run through its future
                error, result = exc, None
            else:
                error = None
            with _IDLE_LOCK:                 # idle before the run hears of it: its next run finds this helper
                _IDLE.append(self)
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
            del future, fn, args, error, result      # no reference kept to the run's arrays while idle


_IDLE: list[_Helper] = []
_IDLE_LOCK = threading.Lock()


def _after_fork() -> None:
    """In a forked child, the parent's helper threads do not exist (a job handed to one would wait forever) and
    a lock another thread held at the fork stays held: start afresh."""
    global _IDLE_LOCK, _PREPARED_LOCK
    _IDLE.clear()
    _IDLE_LOCK, _PREPARED_LOCK = threading.Lock(), threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def _wait(fills: list[Future]) -> None:
    """Wait for the table builder's threads (their errors raise here)."""
    for f in fills:
        f.result()


def _timing(book: Book) -> dict[str, np.ndarray]:
    """Per invoice: grid offset (absolute day index of grid[0]), first allowed grid index, factor month index."""
    inv = book.invoices
    day0 = book.as_of + pd.Timedelta(days=1)
    due = inv["due_date"].to_numpy("datetime64[D]")
    dd = (due - np.datetime64(day0.date(), "D")).astype(np.int64)           # due date as a day index
    grid0, G = int(book.grid[0]), len(book.grid)
    first = np.maximum(inv["min_day"].to_numpy(np.int64), -dd)              # not before as_of + 1
    issue = inv["issue_date"].to_numpy("datetime64[D]")
    has_issue = ~np.isnat(issue)
    issue_rel = np.full(len(inv), np.iinfo(np.int64).min, np.int64)
    issue_rel[has_issue] = (issue[has_issue] - due[has_issue]).astype(np.int64)
    first = np.maximum(first, issue_rel)                                    # never before it is invoiced
    m_idx = np.clip(first - grid0, 0, G)
    due_ym = due.astype("datetime64[M]").astype(np.int64)
    first_ym = np.datetime64(day0.date(), "M").astype(np.int64)
    return {"offset": dd + grid0, "m_idx": m_idx, "month": np.clip(due_ym - first_ym, 0, None)}


def _sinked_calendars(calendars: np.ndarray, n_days: int) -> np.ndarray:
    """Calendars with day indices past the horizon sent to the sink ``n_days``, plus a last sink column."""
    cal = np.minimum(calendars, n_days)
    return np.ascontiguousarray(np.hstack([cal, np.full((len(cal), 1), n_days, dtype=cal.dtype)]), dtype=np.int64)


def _horizon_limit(calendars: np.ndarray, n_days: int, cal_row: np.ndarray, offset: np.ndarray, G: int
                   ) -> np.ndarray:
    """Per invoice, the first grid index from which every day is paid after the horizon whatever its calendar:
    one past the last calendar day that lands within the horizon (a calendar may snap a day to an earlier one)."""
    inside = calendars < n_days
    last_inside = np.where(inside.any(axis=1), calendars.shape[1] - 1 - np.argmax(inside[:, ::-1], axis=1), -1)
    return np.clip(last_inside[cal_row] - offset + 1, 0, G)


def _loadings(inv: pd.DataFrame, rho_month: float, rho_customer: float) -> dict[str, np.ndarray]:
    """Per invoice, the copula loadings the kernel multiplies: ``a_month = sqrt(load_month)``,
    ``a_cust = sqrt(load_customer)``, ``c_own = sqrt(max(1 - load_month - load_customer, 0))``.

    ``load_month`` / ``load_customer`` are optional Book.invoices columns (the share of the invoice's latent
    normal that is the path's month / customer factor); missing columns or NaN take the scalars ``rho_month`` /
    ``rho_customer``, so a Book without them simulates exactly as with one loading for all.

    >>> _loadings(pd.DataFrame({"load_month": [0.0, np.nan]}), 0.25, 0.0)["a_month"].tolist()
    [0.0, 0.5]
    """
    cols = {}
    for col, rho in (("load_month", rho_month), ("load_customer", rho_customer)):
        v = inv[col].to_numpy(np.float64) if col in inv.columns else np.full(len(inv), np.nan)
        cols[col] = np.where(np.isnan(v), rho, v)
    lm, lc = cols["load_month"], cols["load_customer"]
    bad = (lm < 0) | (lc < 0) | (lm + lc > 1 + 1e-12)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParamsError(f"Book.invoices row {i} (invoice {inv['invoice_id'].iat[i]!r}): load_month={lm[i]} and "
                          f"load_customer={lc[i]} must be >= 0 with a sum <= 1")
    return {"a_month": np.sqrt(lm), "a_cust": np.sqrt(lc), "c_own": np.sqrt(np.maximum(1.0 - lm - lc, 0.0))}


def _prepare(book: Book, horizon_end: pd.Timestamp, rho_month: float, rho_customer: float,
             group_by: np.ndarray | None, n_threads: int = 1) -> tuple[_Prepared, pd.DatetimeIndex]:
    """The run's :class:`_Prepared` arrays and its days. When this very ``book`` was prepared for the same horizon
    by one of the last :data:`PREPARED_KEPT` runs (a panel update, a benchmark or a lever study simulates one book
    again), its arrays are read back -- the same object when the loadings and groups are the same too, else with
    only those re-derived (:func:`_loadings`, :func:`_groups`): the same arrays, so the same numbers. Otherwise
    built (:func:`_prepare_new`). Books are never changed in place (levers and models build new ones), so what was
    prepared from one stays true; entries go with their book. The arrays are shared: the engine only reads them."""
    key = (id(book), pd.Timestamp(horizon_end).value)
    with _PREPARED_LOCK:
        while _GONE:                                      # entries of books gone since (see _forget)
            _PREPARED.pop(_GONE.pop(), None)
        hit = _PREPARED.get(key)
        if hit is not None and hit[0]() is not book:
            hit = None
        if hit is not None:
            _PREPARED.move_to_end(key)
    if hit is not None:
        prep, days = hit[1], hit[2]
        same_groups = (group_by is None and not prep.use_groups) or (
            group_by is not None and prep.use_groups and np.shape(group_by) == prep.group.shape
            and np.issubdtype(np.asarray(group_by).dtype, np.integer) and np.array_equal(group_by, prep.group))
        same_loadings = (rho_month, rho_customer) == hit[3]
        if same_groups and same_loadings:
            return prep, days
        changes = {} if same_loadings else _loadings(book.invoices, rho_month, rho_customer)
        if not same_groups:
            changes["group"], changes["n_groups"] = _groups(book.invoices, group_by)
            changes["use_groups"] = group_by is not None
        return dataclasses.replace(prep, **changes), days
    prep, days = _prepare_new(book, horizon_end, rho_month, rho_customer, group_by, n_threads)
    with _PREPARED_LOCK:
        _PREPARED[key] = (weakref.ref(book, lambda _ref, key=key: _forget(key)), prep, days,
                          (rho_month, rho_customer))
        while len(_PREPARED) > PREPARED_KEPT:
            _PREPARED.popitem(last=False)
    return prep, days


def _groups(inv: pd.DataFrame, group_by: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Each invoice's group (all 0 without ``group_by``) and the number of groups; a bad ``group_by`` raises."""
    if group_by is None:
        return np.zeros(len(inv), np.int64), 1
    group = np.asarray(group_by)
    if group.shape != (len(inv),) or not np.issubdtype(group.dtype, np.integer) or (group < 0).any():
        raise ParamsError(f"group_by must be {len(inv)} non-negative integers, one per Book.invoices row")
    return group.astype(np.int64), int(group.max()) + 1 if len(group) else 1


def _forget(key: tuple) -> None:
    """A book prepared earlier is gone: its entry goes at the next run (its arrays freed then). Only noted here:
    the collector may call this at any allocation, even one under the lock."""
    _GONE.append(key)


#: How many prepared runs :func:`_prepare` keeps (the benchmark book's: 21 MiB of tables; the demo's: 6 MiB).
PREPARED_KEPT = 4
_PREPARED: OrderedDict[tuple, tuple[weakref.ref, _Prepared, pd.DatetimeIndex, tuple]] = OrderedDict()
_PREPARED_LOCK = threading.Lock()
_GONE: list[tuple] = []


def simulation_days(as_of: pd.Timestamp, horizon_end: pd.Timestamp) -> pd.DatetimeIndex:
    """The days a run simulates: ``as_of`` + 1 to ``horizon_end`` (normalised) inclusive, one a day."""
    return pd.date_range(pd.Timestamp(as_of) + pd.Timedelta(days=1), pd.Timestamp(horizon_end).normalize(), freq="D")


def _prepare_new(book: Book, horizon_end: pd.Timestamp, rho_month: float, rho_customer: float,
                 group_by: np.ndarray | None, n_threads: int = 1) -> tuple[_Prepared, pd.DatetimeIndex]:
    """Everything a run's tasks read, built from ``book`` (:func:`_prepare` without its memory)."""
    inv = book.invoices
    day0 = book.as_of + pd.Timedelta(days=1)
    days = simulation_days(book.as_of, horizon_end)
    n_days = len(days)
    if book.calendars.shape[1] < n_days:
        raise ModelError(f"Book.calendars cover {book.calendars.shape[1]} days but the horizon "
                         f"{day0.date()} .. {horizon_end.date()} has {n_days}; rebuild the book with "
                         "horizon_end at least as late")
    t = _timing(book)
    # the cumulative rows of the profiles the invoices use, renumbered in the same order (levers leave many rows
    # of a book unused): the same tables, bit for bit, without a pass over every row. A book derived by levers
    # whose rows were never gathered (:meth:`Book.derive`, ``rows.whole`` None) gives only those rows, read from
    # its blocks
    used, profile = np.unique(inv["profile"].to_numpy(np.int64), return_inverse=True)
    profile = profile.ravel().astype(np.int64)
    whole = book.rows.whole
    if whole is not None:                                           # the rows as one array
        cdf = _cumulative_rows(whole, used.astype(np.int64))
    else:
        cdf = _cumulative_rows(book.pmf_rows(used), np.arange(len(used), dtype=np.int64))
    G = cdf.shape[1]
    m_idx = t["m_idx"].astype(np.int64)
    lower = np.where(m_idx > 0, cdf[profile, np.clip(m_idx - 1, 0, G - 1)], 0.0)
    cal_row = inv["calendar"].to_numpy(np.int64)
    calendars = _sinked_calendars(book.calendars, n_days)
    offset = t["offset"].astype(np.int64)
    limit = _horizon_limit(calendars[:, :-1], n_days, cal_row, offset, G)
    skip = (m_idx >= limit) | (1.0 - lower <= 1e-12)       # no mass left within the horizon: never paid in it
    # the tables are filled on the run's threads while this thread does the rest (pandas, the GIL's side)
    th, fills, rest = _start_tables(cdf, profile, m_idx, lower, limit, skip, n_threads, leave=PANDAS_SHARE)
    try:
        month_codes = days.to_period("M")
        months = month_codes.unique()
        month_of_day = (month_codes.year * 12 + month_codes.month - (months[0].year * 12 + months[0].month))
        rate = inv["discount_rate"].to_numpy()
        dday = inv["discount_day"].to_numpy()
        disc_g = np.where((rate > 0) & np.isfinite(dday), np.floor(np.nan_to_num(dday)) - book.grid[0], -1)
        group, n_groups = _groups(inv, group_by)
        cust = pd.factorize(inv["customer_id"])[0].astype(np.int64)
        bounds = np.append(th.start, len(th.theta))            # table t: theta[bounds[t]:bounds[t + 1]]
        prep = _Prepared(
            month=t["month"].astype(np.int64), cust=cust, table=th.table, skip=skip, limit=limit.astype(np.int64),
            offset=offset, cal_row=cal_row, amount=inv["amount"].to_numpy(np.float64),
            disc_g=np.maximum(disc_g, -1).astype(np.int64), disc_rate=rate.astype(np.float64), group=group,
            start=bounds, first_g=th.first, theta=th.theta, guide=th.guide, calendars=calendars,
            month_of_day=np.append(np.asarray(month_of_day, np.int64), len(months)), n_days=n_days,
            n_months=len(months),
            n_factor_months=int(t["month"].max()) + 1 if len(inv) else 1,
            n_customers=max(int(cust.max()) + 1, 1) if len(inv) else 1, n_groups=n_groups,
            use_groups=group_by is not None, **_loadings(inv, rho_month, rho_customer),
            longest=int(np.diff(bounds).max(initial=0)), any_discount=bool((disc_g >= 0).any()))
    finally:
        rest()                                           # ranges no helper has claimed yet (one started late)
        futures_wait(fills)                              # the builder done, even when the rest raised
    _wait(fills)
    return prep, days
