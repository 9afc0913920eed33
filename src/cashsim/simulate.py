"""The Monte Carlo collection engine (*prévision d'encaissements clients*): when is each invoice paid, path by path.

Input: a :class:`Book` (open and future invoices, each pointing at a pmf row of its payment day relative to the due
date) and a seed. Output: a :class:`Simulation` holding the cash collected per path per day (euros incl. VAT, net
of discounts), with monthly / weekly views, quantiles (fan-chart data) and exact per-invoice probabilities.

The rule, for invoice ``i`` of customer ``j`` due in calendar month ``m`` on path ``k`` (docs/design.md):

* **Copula** (Gaussian factor copula): ``Z = sqrt(rho_m) M[k, m] + sqrt(rho_c) C[k, j] + sqrt(1 - rho_m - rho_c) e``
  with ``M``, ``C``, ``e`` independent N(0, 1). ``m`` is the month the invoice falls due, or the first forecast
  month for an invoice already overdue: a bad month is bad for many invoices at once, a slow customer is slow on
  all its invoices.
* **Marginal** (inverse CDF on the daily grid, conditioned on "not paid yet"): ``U = Phi(Z)``,
  ``U' = F(min_day - 1) + U (1 - F(min_day - 1))``, pay day = the first grid day ``g`` with ``F(g) >= U'``;
  ``U'`` above the row's total mass (never paid, or paid after the last grid day) = not paid within the horizon.
  ``F`` is the cumulative pmf row of the invoice's profile.
* **Payment days**: the drawn date is moved through the invoice's row of ``Book.calendars`` (row 0 = next business
  day) and counted on that day if it falls within the horizon.
* **Upfront** amounts (deposit *acompte*, factoring advance *affacturage*) land on ``upfront_date`` on every path;
  an early-payment **discount** (*escompte*) taken when the drawn day is ``<= discount_day`` pays
  ``amount (1 - rate)`` and books ``amount * rate`` in ``daily_cost`` on the same day.

How it is computed (profiled; figures in docs/scale.md, ``python -m benchmarks``):

* **z-space thresholds, no ``Phi`` per draw.** ``F(g) >= a + (1 - a) Phi(x)`` with ``a = F(min_day - 1)`` is
  ``theta(g) >= x`` with ``theta(g) = Phi^-1((F(g) - a) / (1 - a))`` (scipy's ``ndtri``, once per table entry).
  Invoices with ``a == 0`` (not yet due, future invoices) share one table per profile; overdue invoices share one
  per distinct (profile, min_day) pair. A table holds only the grid days that can land within the horizon
  (about ``n_days`` entries) and ends with ``+inf`` (never paid / after the horizon). The pay day is the first
  ``g`` with ``theta(g) >= x``: a guide table in ``x`` (4096 bins of 1/512 on [-4, 4], uint8 start positions)
  gives it directly for 98 % of draws, a short forward scan for the rest. Exact: the comparisons are with the
  thresholds themselves (:func:`threshold_tables`, tested against the U-space rule). Tables and guides are built
  in compiled code (scipy's ``ndtri`` called by address) on all the run's threads.
* **Normals drawn in the compiled code**: numpy's PCG64 step (a 128-bit LCG, written with LLVM's ``i128``) and
  numpy's ziggurat run inline with the generator's state in registers: the numbers are exactly
  ``Generator(PCG64(child)).standard_normal``'s (a test compares them), at about 3 ns a normal instead of 4.3
  through the bit generator's function pointer. The Gaussian copula is exact, with no ``Phi^-1``.
* **Loop order**: a task (a few blocks of :data:`PATH_BLOCK` paths) takes the invoices one by one: each block
  draws its paths' normals for the invoice into a buffer of one double per path (L1), then every path of the
  task runs through the invoice, whose table, guide and day map (table position -> row of ``daily``, through the
  invoice's calendar) stay in L1; cash goes to ``daily[day, path]`` (days-major: neighbouring paths share cache
  lines), written straight into the run's result. Memory: the tables and the result, never a paths x invoices
  matrix.
* Seeds: ``SeedSequence(seed).spawn(n_blocks)``, one child per block of :data:`PATH_BLOCK` paths, whatever
  ``chunk_paths`` (tasks only group blocks), the number of threads or the backend (local or dask): the same seed
  gives the same numbers bit for bit. Within a block the stream is: month factors, customer factors, then one
  standard normal per (invoice, path), invoice-major in the book's row order (drawn even for invoices that
  cannot be paid within the horizon), so a lever that changes pmf rows or profiles (not invoice rows) runs on
  common random numbers.

Deviations from docs/design.md, all additive: ``simulate`` also takes ``n_threads`` (local backend; default: all
cores) and ``progress``; ``min_day`` may lie beyond the grid's last day (never paid within the grid, as
``PayerModel.book`` writes for invoices more than a year overdue); the engine never lets a payment precede
``as_of + 1`` nor the invoice's ``issue_date`` (it raises ``min_day`` accordingly); calendars may map a day to an
earlier day (supported, though ``PayerModel`` now snaps to the *next* payment-run day); the discount test uses the drawn day, before
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

import logging
import math
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numba
import numba.np.random._constants as _zig
import numpy as np
import pandas as pd
from llvmlite import binding as llvm_binding
from llvmlite import ir as llvm_ir
from numba import types
from numba.extending import get_cython_function_address, intrinsic

from cashsim.errors import ModelError, ParamsError

#: Paths per seed child: the unit of seeding. ``chunk_paths`` only groups blocks, so it never changes the numbers.
PATH_BLOCK = 100
#: Quantile levels reported by default (p05 ... p95).
QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
#: Guide tables in z-space: bins of width 1 / GUIDE_SCALE from GUIDE_LO (x below: bin 0, above: the last bin).
GUIDE_LO, GUIDE_SCALE, GUIDE_BINS = -4.0, 512.0, 4096
#: Lower edge of the last guide bin: x is clamped to [GUIDE_LO, GUIDE_TOP] before its bin is taken.
GUIDE_TOP = GUIDE_LO + (GUIDE_BINS - 1) / GUIDE_SCALE

BOOK_REQUIRED = ("invoice_id", "customer_id", "due_date", "amount", "profile", "min_day")
BOOK_DEFAULTS: dict[str, Any] = {"segment": "all", "is_future": False, "issue_date": pd.NaT, "calendar": 0,
                                 "upfront_amount": 0.0, "upfront_date": pd.NaT, "discount_rate": 0.0,
                                 "discount_day": np.nan}


# ---------------------------------------------------------------------------------------------------------------
# Calendars
# ---------------------------------------------------------------------------------------------------------------

def next_allowed(allowed: np.ndarray) -> np.ndarray:
    """For each day index, the first allowed index at or after it (``len(allowed)`` when none is left).

    >>> next_allowed(np.array([False, True, False, False])).tolist()
    [1, 1, 4, 4]
    """
    allowed = np.asarray(allowed, bool)
    n = len(allowed)
    idx = np.where(allowed, np.arange(n), n)
    return np.minimum.accumulate(idx[::-1])[::-1].astype(np.int64)


def _days(start: Any, n_days: int) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start).normalize(), periods=int(n_days), freq="D")


def business_day_calendar(start: Any, n_days: int, holidays: Any = ()) -> np.ndarray:
    """Calendar row: next business day (Monday-Friday, not in ``holidays``) for each of ``n_days`` days from ``start``.

    Day index 0 is ``start`` (``as_of + 1`` in a Book); a day whose next business day lies after the last one maps
    to ``n_days`` (outside the horizon).

    >>> business_day_calendar("2026-11-06", 4).tolist()     # Fri, Sat, Sun, Mon
    [0, 3, 3, 3]
    """
    days = _days(start, n_days)
    hol = pd.DatetimeIndex(pd.to_datetime(list(holidays))).normalize() if len(holidays) else pd.DatetimeIndex([])
    allowed = (days.day_of_week < 5) & ~days.isin(hol)
    return next_allowed(allowed)


def payment_run_calendar(start: Any, n_days: int, days_of_month: Any, holidays: Any = ()) -> np.ndarray:
    """Calendar row: next payment-run day (*jour de règlement*) for each of ``n_days`` days from ``start``.

    A run happens on each day of the month in ``days_of_month`` (31 = the month's last day, clipped to its length),
    rolled forward to a business day. Runs falling after the last day are outside (index ``n_days``).

    >>> payment_run_calendar("2026-11-01", 16, [10])[:3].tolist()    # 10 Nov 2026 is a Tuesday
    [9, 9, 9]
    """
    days = _days(start, n_days)
    dom = np.asarray(sorted(set(int(d) for d in days_of_month)), dtype=int)
    if dom.size == 0 or dom.min() < 1 or dom.max() > 31:
        raise ParamsError(f"days_of_month must be days 1..31 of the month, got {list(days_of_month)}")
    # run dates of every month touching the range (and the next one, so the tail rolls correctly)
    months = pd.period_range(days[0], days[-1] + pd.offsets.MonthEnd(1), freq="M")
    starts = months.start_time.to_numpy()[:, None]
    lengths = months.days_in_month.to_numpy()[:, None]
    nominal = (starts + (np.minimum(dom[None, :], lengths) - 1) * np.timedelta64(1, "D")).ravel()
    span = _days(days[0], n_days + 40)
    bd = business_day_calendar(span[0], len(span), holidays)
    pos = ((nominal - span[0].to_datetime64()) // np.timedelta64(1, "D")).astype(np.int64)
    pos = pos[(pos >= 0) & (pos < len(span))]
    run = bd[pos]
    allowed = np.zeros(n_days, bool)
    allowed[run[run < n_days]] = True
    return next_allowed(allowed)


# ---------------------------------------------------------------------------------------------------------------
# Book
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Book:
    """What the engine collects: invoices, their payment-day laws (pmf rows on ``grid``) and payment calendars.

    ``grid``: consecutive days relative to the due date; ``pmfs[p, g]`` = P(paid on grid day g), row sum <= 1,
    the remainder never paid. ``invoices`` (one row per invoice still to collect, amounts in euros incl. VAT):
    ``invoice_id, customer_id, due_date, amount, profile, min_day`` are required; ``segment, is_future,
    issue_date, calendar, upfront_amount, upfront_date, discount_rate, discount_day`` default to
    ``"all", False, NaT, 0, 0.0, NaT, 0.0, NaN``; other columns are kept. ``calendars[k, d]`` = day index on which
    a payment drawn on day index ``d`` (day 0 = ``as_of + 1``) is made, ``>= n_days`` = after the horizon;
    ``None`` = business days (weekends only) over 731 days. Validated on construction (:class:`ModelError`).
    """

    as_of: pd.Timestamp
    grid: np.ndarray
    pmfs: np.ndarray
    invoices: pd.DataFrame
    calendars: np.ndarray | None = None

    def __post_init__(self) -> None:
        as_of = pd.Timestamp(self.as_of).normalize()
        grid = np.asarray(self.grid, dtype=np.int64)
        pmfs = np.asarray(self.pmfs, dtype=np.float64)
        if grid.ndim != 1 or len(grid) == 0 or np.any(np.diff(grid) != 1):
            raise ModelError("Book.grid must be consecutive integer days (e.g. numpy.arange(-90, 366))")
        if pmfs.ndim != 2 or pmfs.shape[1] != len(grid):
            raise ModelError(f"Book.pmfs must have shape (n_profiles, {len(grid)}) to match the grid, got "
                             f"{pmfs.shape}")
        if not np.all(np.isfinite(pmfs)) or (pmfs < 0).any():
            row = int(np.flatnonzero(~(np.isfinite(pmfs) & (pmfs >= 0)).all(axis=1))[0])
            raise ModelError(f"Book.pmfs row {row} has a negative or non-finite probability; pmf rows are "
                             "probabilities of paying on each grid day")
        sums = pmfs.sum(axis=1)
        if (sums > 1 + 1e-9).any():
            row = int(np.argmax(sums))
            raise ModelError(f"Book.pmfs row {row} sums to {sums[row]:.6f} > 1; the never-paid mass is "
                             "1 - row sum, so a row may not exceed 1")
        inv = _normalise_invoices(self.invoices, pmfs.shape[0], grid)
        n_days_default = 731
        cal = (business_day_calendar(as_of + pd.Timedelta(days=1), n_days_default)[None, :]
               if self.calendars is None else np.asarray(self.calendars))
        if cal.ndim != 2 or cal.shape[1] == 0 or not np.issubdtype(cal.dtype, np.integer):
            raise ModelError("Book.calendars must be a 2-D integer array (n_calendars, n_days); build rows with "
                             "cashsim.simulate.business_day_calendar / payment_run_calendar")
        cal = cal.astype(np.int64)
        if (cal < 0).any():
            raise ModelError("Book.calendars has a negative day index; indices count days from as_of + 1")
        bad = inv["calendar"].to_numpy() >= cal.shape[0]
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ModelError(f"Book.invoices row {i} (invoice {inv['invoice_id'].iat[i]!r}): calendar "
                             f"{inv['calendar'].iat[i]} but Book.calendars has {cal.shape[0]} rows")
        object.__setattr__(self, "as_of", as_of)
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "pmfs", pmfs)
        object.__setattr__(self, "invoices", inv)
        object.__setattr__(self, "calendars", cal)

    @property
    def n_invoices(self) -> int:
        return len(self.invoices)

    def total_to_collect(self) -> float:
        """Euros still to collect: ``amount + upfront_amount`` summed over invoices."""
        return float(self.invoices["amount"].sum() + self.invoices["upfront_amount"].sum())


def _normalise_invoices(invoices: pd.DataFrame, n_profiles: int, grid: np.ndarray) -> pd.DataFrame:
    """Book.invoices with defaults filled, dtypes fixed and every row checked (errors name the row and column)."""
    if not isinstance(invoices, pd.DataFrame):
        raise ModelError("Book.invoices must be a pandas DataFrame, one row per invoice")
    missing = [c for c in BOOK_REQUIRED if c not in invoices.columns]
    if missing:
        raise ModelError(f"Book.invoices lacks column(s) {missing}; see docs/design.md, Book")
    inv = invoices.reset_index(drop=True).copy()
    for col, default in BOOK_DEFAULTS.items():
        if col not in inv.columns:
            inv[col] = default
    for col in ("due_date", "issue_date", "upfront_date"):
        inv[col] = pd.to_datetime(inv[col]).astype("datetime64[ns]")
    inv["invoice_id"] = inv["invoice_id"].astype(str)
    inv["customer_id"] = inv["customer_id"].astype(str)
    inv["is_future"] = inv["is_future"].fillna(False).astype(bool)
    for col in ("amount", "upfront_amount", "discount_rate", "discount_day"):
        inv[col] = pd.to_numeric(inv[col], errors="coerce").astype(np.float64)
    inv["upfront_amount"] = inv["upfront_amount"].fillna(0.0)
    inv["discount_rate"] = inv["discount_rate"].fillna(0.0)

    def fail(mask: np.ndarray, col: str, what: str) -> None:
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            raise ModelError(f"Book.invoices row {i} (invoice {inv['invoice_id'].iat[i]!r}), column {col}: "
                             f"{what} (got {inv[col].iat[i]!r}); {int(mask.sum())} row(s) affected")

    fail(inv["due_date"].isna().to_numpy(), "due_date", "every invoice needs a due date")
    fail(~np.isfinite(inv["amount"].to_numpy()), "amount", "amounts must be finite euros")
    fail(~np.isfinite(inv["upfront_amount"].to_numpy()), "upfront_amount", "amounts must be finite euros")
    fail(((inv["upfront_amount"] != 0) & inv["upfront_date"].isna()).to_numpy(), "upfront_date",
         "an upfront amount needs the date it is received")
    rate = inv["discount_rate"].to_numpy()
    fail(~((rate >= 0) & (rate <= 1)), "discount_rate", "a discount rate lies in [0, 1]")
    fail((rate > 0) & inv["discount_day"].isna().to_numpy(), "discount_day",
         "a discount needs its last day (relative to the due date)")
    for col in ("profile", "min_day", "calendar"):
        values = pd.to_numeric(inv[col], errors="coerce").to_numpy(np.float64)
        fail(~np.isfinite(values) | (values != np.round(values)), col, "must be an integer")
        inv[col] = values.astype(np.int64)
    prof = inv["profile"].to_numpy()
    fail((prof < 0) | (prof >= n_profiles), "profile", f"must index a pmf row 0..{n_profiles - 1}")
    fail(inv["min_day"].to_numpy() < grid[0], "min_day",
         f"must be >= the grid's first day {grid[0]} (days past {grid[-1]} mean: not paid within the grid)")
    fail(inv["calendar"].to_numpy() < 0, "calendar", "must index a row of Book.calendars")
    return inv


# ---------------------------------------------------------------------------------------------------------------
# Compiled kernel
# ---------------------------------------------------------------------------------------------------------------

#: numpy's PCG64 multiplier (``PCG_DEFAULT_MULTIPLIER_128``) and the ziggurat tables numba copied from numpy.
_PCG_MULT = (2549297995355413924 << 64) | 4865540595714422341
_ZIG_K, _ZIG_W, _ZIG_F = _zig.ki_double.copy(), _zig.wi_double.copy(), _zig.fi_double.copy()
_ZIG_R, _ZIG_INV_R = float(_zig.ziggurat_nor_r), float(_zig.ziggurat_nor_inv_r)
_U52 = np.uint64(0x000FFFFFFFFFFFFF)


@intrinsic
def _pcg64_next(typingctx, hi, lo, inc_hi, inc_lo):
    """``(hi, lo, out)``: one step of numpy's PCG64 (128-bit LCG, XSL-RR output) on the state ``hi:lo`` with
    increment ``inc_hi:inc_lo``, as ``pcg64_random_r`` does it; the 128-bit product is LLVM's ``i128`` (a
    ``mulx`` and two ``imul``), which numba does not expose."""
    u64 = types.uint64
    sig = types.UniTuple(u64, 3)(u64, u64, u64, u64)

    def codegen(context, builder, signature, args):
        i128, i64 = llvm_ir.IntType(128), llvm_ir.IntType(64)
        c64 = llvm_ir.Constant(i128, 64)

        def join(h, low):
            return builder.or_(builder.shl(builder.zext(h, i128), c64), builder.zext(low, i128))

        state = builder.add(builder.mul(join(args[0], args[1]), llvm_ir.Constant(i128, _PCG_MULT)),
                            join(args[2], args[3]))
        new_hi, new_lo = builder.trunc(builder.lshr(state, c64), i64), builder.trunc(state, i64)
        x, rot = builder.xor(new_hi, new_lo), builder.lshr(new_hi, llvm_ir.Constant(i64, 58))
        back = builder.and_(builder.sub(llvm_ir.Constant(i64, 64), rot), llvm_ir.Constant(i64, 63))
        out = builder.or_(builder.lshr(x, rot), builder.shl(x, back))
        return context.make_tuple(builder, signature.return_type, (new_hi, new_lo, out))

    return sig, codegen


@numba.njit(nogil=True, inline="always")
def _pcg64_double(hi, lo, ih, il):
    """numpy's ``next_double``: the top 53 bits of one output, in [0, 1)."""
    hi, lo, r = _pcg64_next(hi, lo, ih, il)
    return hi, lo, np.float64(r >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(nogil=True, inline="always")
def _ziggurat_step(hi, lo, ih, il):
    """One candidate of numpy's ziggurat: ``(hi, lo, idx, rabs, x)`` from one PCG64 output (layer ``idx``, the
    52-bit magnitude ``rabs``, the signed candidate ``x``); accepted at once when ``rabs < ki[idx]``."""
    hi, lo, r = _pcg64_next(hi, lo, ih, il)
    idx = r & np.uint64(0xFF)
    r >>= np.uint64(8)
    rabs = (r >> np.uint64(1)) & _U52
    x = np.float64(rabs) * _ZIG_W[idx]
    if r & np.uint64(1):
        x = -x
    return hi, lo, idx, rabs, x


@numba.njit(nogil=True, cache=True)
def _normal_tail(hi, lo, ih, il, idx, rabs, x):
    """The rest of numpy's ziggurat after a draw failed its first test (0.7 % of draws): the wedge or tail test,
    then whole new draws until one is accepted. Kept out of line so the hot loop keeps its registers."""
    while True:
        if idx == 0:
            while True:
                hi, lo, u1 = _pcg64_double(hi, lo, ih, il)
                hi, lo, u2 = _pcg64_double(hi, lo, ih, il)
                xx = -_ZIG_INV_R * np.log1p(-u1)
                yy = -np.log1p(-u2)
                if yy + yy > xx * xx:
                    if (rabs >> np.uint64(8)) & np.uint64(1):
                        return hi, lo, -(_ZIG_R + xx)
                    return hi, lo, _ZIG_R + xx
        else:
            hi, lo, u = _pcg64_double(hi, lo, ih, il)
            if (_ZIG_F[idx - 1] - _ZIG_F[idx]) * u + _ZIG_F[idx] < np.exp(-0.5 * x * x):
                return hi, lo, x
        hi, lo, idx, rabs, x = _ziggurat_step(hi, lo, ih, il)
        if rabs < _ZIG_K[idx]:
            return hi, lo, x


@numba.njit(nogil=True, inline="always")
def _normal(hi, lo, ih, il):
    """``(hi, lo, x)``: the next ``Generator(PCG64).standard_normal()`` of the stream in state ``hi:lo`` --
    numpy's ziggurat (``random_standard_normal``) on numpy's PCG64, bit for bit, with the state in registers
    instead of behind the bit generator's function pointer (tests check the numbers against numpy's)."""
    hi, lo, idx, rabs, x = _ziggurat_step(hi, lo, ih, il)
    if rabs < _ZIG_K[idx]:
        return hi, lo, x
    return _normal_tail(hi, lo, ih, il, idx, rabs, x)


def pcg64_state(bit_generator: np.random.PCG64) -> np.ndarray:
    """A PCG64's state as four uint64 ``[state_hi, state_lo, inc_hi, inc_lo]`` (the kernel's form)."""
    s = bit_generator.state["state"]
    mask = (1 << 64) - 1
    return np.array([s["state"] >> 64, s["state"] & mask, s["inc"] >> 64, s["inc"] & mask], np.uint64)


@numba.njit(nogil=True, cache=True)
def standard_normals(state, out):
    """Fill the C-contiguous ``out`` with the stream's standard normals in memory order (what
    ``Generator(PCG64).standard_normal(out.shape)`` gives) and advance ``state`` (:func:`pcg64_state`)."""
    flat = out.reshape(-1)
    hi, lo, ih, il = state[0], state[1], state[2], state[3]
    for k in range(flat.shape[0]):
        hi, lo, x = _normal(hi, lo, ih, il)
        flat[np.uintp(k)] = x
    state[0], state[1] = hi, lo


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
    ``edges[j]``, i.e. the first position whose threshold is ``>= edges[j]``; ``guide[t, 0] = 0``. Built entry by
    entry: the bins of entry ``r`` are those whose edge lies in ``(theta[r - 1], theta[r]]``.
    """
    G = cdf.shape[1]
    n_bins = edges.shape[0]
    for t in range(t0, t1):
        k, a, base, g_first = t_profile[t], t_lower[t], start[t], t_first[t]
        n = t_stop[t] - g_first + 1
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


@numba.njit(nogil=True, cache=True)
def _draw(states, cols, e):
    """Block ``b``'s next ``cols[b + 1] - cols[b]`` standard normals into ``e[cols[b]:cols[b + 1]]``, from its
    stream ``states[b]``, which advances."""
    for b in range(cols.shape[0] - 1):
        hi, lo, ih, il = states[b, 0], states[b, 1], states[b, 2], states[b, 3]
        for p in range(cols[b], cols[b + 1]):
            hi, lo, x = _normal(hi, lo, ih, il)
            e[np.uintp(p)] = x
        states[b, 0], states[b, 1] = hi, lo


@numba.njit(nogil=True, inline="always")
def _position(z, guide_t, th):
    """The first position ``r`` of the table ``th`` with ``th[r] >= z``: the guide bin of ``z`` gives the start,
    a forward scan (rarely taken: a threshold inside the bin) ends at the table's ``+inf`` at the latest."""
    r = np.uintp(guide_t[np.uintp((min(max(z, GUIDE_LO), GUIDE_TOP) - GUIDE_LO) * GUIDE_SCALE)])
    while th[r] < z:
        r += np.uintp(1)
    return r


@numba.njit(nogil=True, cache=True)
def _pay(e, smi, sci, c, guide_t, th, row_of, amt, flat):
    """One invoice without discount or groups on every path ``p``: ``flat[row_of[r] + p] += amt`` where ``r`` is
    the first table position with ``th[r] >= x``, ``x = smi[p] + sci[p] + c e[p]`` and ``row_of[r]`` the offset
    of its day's row in the flattened ``daily`` (see :func:`_simulate_task`)."""
    for p in range(e.shape[0]):
        up = np.uintp(p)
        r = _position(smi[up] + sci[up] + c * e[up], guide_t, th)
        flat[np.uintp(row_of[r]) + up] += amt


@numba.njit(nogil=True, cache=True)
def _simulate_task(states, cols, s_month, s_cust, c, month, cust, table, skip, limit, offset, cal_row, amount,
                   disc_g, disc_rate, group, start, first_g, theta, guide, calendars, month_of_day, daily, cost,
                   group_monthly, use_groups, e, day_of):
    """Pay every invoice of the book on the paths of one task; cash goes to ``daily[day, path]`` (discounts to
    ``cost``, cash to ``group_monthly[path, group, month]`` when ``use_groups``).

    Block ``b`` holds paths ``cols[b] .. cols[b + 1] - 1`` and draws from its own stream ``states[b]``
    (:func:`pcg64_state`). Invoice by invoice in the book's row order, each block draws one standard normal per
    path (so every invoice, even one that cannot be paid within the horizon, takes the same numbers from the
    stream whatever the others do); then every path of the task runs through the invoice, whose tables stay in
    L1. The pay day of invoice ``i`` on path ``p`` is the first grid day ``g`` of its threshold table with
    ``theta(g) >= x``, ``x = s_month[month[i], p] + s_cust[cust[i], p] + c e[p]`` (:func:`_position`).
    ``day_of[r]``, built once per invoice, is the day index of table position ``r`` through the
    invoice's calendar, or the sink row ``daily.shape[0] - 1`` (never paid, or paid after the horizon); for an
    invoice without discount or groups, the offset of that day's row in the flattened ``daily``.
    """
    n_blocks = cols.shape[0] - 1
    n_paths = cols[n_blocks]
    sink_a = calendars.shape[1] - 1
    flat = daily.reshape(-1)
    for i in range(month.shape[0]):
        _draw(states, cols, e)
        if skip[i]:
            continue
        t = table[i]
        base = start[t]
        n = start[t + 1] - base
        g0 = first_g[t]
        lim = limit[i]
        off = offset[i]
        cal = calendars[cal_row[i]]
        plain = disc_g[i] < 0 and not use_groups             # the common case: no discount, no groups
        scale = n_paths if plain else 1                       # plain: offsets of the days' rows in ``flat``
        inside = min(max(lim - g0, 0), n)                     # positions before the horizon limit
        for r in range(inside):
            day_of[r] = cal[off + g0 + r] * scale
        for r in range(inside, n):
            day_of[r] = cal[sink_a] * scale
        th = theta[base:base + n]
        guide_t = guide[t]
        smi = s_month[month[i]]
        sci = s_cust[cust[i]]
        amt = amount[i]
        # indices are unsigned (all are >= 0): numba then skips its negative-index wraparound code
        if plain:
            _pay(e, smi, sci, c, guide_t, th, day_of, amt, flat)
            continue
        r_disc = disc_g[i] - g0                              # discount taken when the table position <= r_disc
        cash_disc = amt * (1.0 - disc_rate[i])
        cost_disc = amt * disc_rate[i]
        gi = group[i]
        for p in range(n_paths):
            up = np.uintp(p)
            r = _position(smi[up] + sci[up] + c * e[up], guide_t, th)
            d = np.uintp(day_of[r])
            cash = amt
            if np.int64(r) <= r_disc:
                cash = cash_disc
                cost[d, up] += cost_disc
            daily[d, up] += cash
            if use_groups:
                group_monthly[up, gi, month_of_day[d]] += cash


# ---------------------------------------------------------------------------------------------------------------
# Preparation (once per run, vectorised)
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
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
    sqrt_rho_month: float
    sqrt_rho_customer: float
    c: float
    longest: int
    any_discount: bool


@dataclass(frozen=True, eq=False)
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
    G = cdf.shape[1]
    conditioned = lower > 0
    key = profile * (G + 2) + np.where(conditioned, first + 1, 0)
    keys, table = np.unique(key, return_inverse=True)
    t_profile, t_first = keys // (G + 2), keys % (G + 2) - 1
    positive = cdf > 0
    row_first = np.where(positive.any(axis=1), positive.argmax(axis=1), G)
    whole_row = t_first < 0
    t_first = np.where(whole_row, row_first[t_profile], t_first)
    t_lower = np.where(whole_row, 0.0, cdf[t_profile, np.clip(t_first - 1, 0, G - 1)])
    t_stop = t_first.copy()
    np.maximum.at(t_stop, table[~skip], limit[~skip])
    length = t_stop - t_first + 1                                      # + the +inf entry
    start = np.r_[0, np.cumsum(length)[:-1]].astype(np.int64)
    theta = np.empty(int(length.sum()))
    longest = length.max(initial=1)
    guide = np.empty((len(keys), GUIDE_BINS), np.uint8 if longest <= 256 else np.int16 if longest <= 2 ** 15
                     else np.int32)                                    # the smallest type: more tables in cache
    args = (np.ascontiguousarray(cdf, dtype=np.float64), t_profile.astype(np.int64), t_first.astype(np.int64),
            t_lower.astype(np.float64), t_stop.astype(np.int64), start, _GUIDE_EDGES, theta, guide)
    cuts = np.searchsorted(start, np.linspace(0, len(theta), max(1, n_threads) + 1)[1:-1]).tolist()
    bounds = list(zip([0] + cuts, cuts + [len(keys)]))                 # about equal numbers of entries
    if len(bounds) == 1:
        _fill_tables(*args, 0, len(keys))
    else:
        with ThreadPoolExecutor(len(bounds)) as pool:
            list(pool.map(lambda b: _fill_tables(*args, *b), bounds))
    return Thresholds(table=table.astype(np.int64), profile=t_profile.astype(np.int64),
                      first=t_first.astype(np.int64), lower=t_lower, stop=t_stop.astype(np.int64), start=start,
                      theta=theta, guide=guide)


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


def _prepare(book: Book, horizon_end: pd.Timestamp, rho_month: float, rho_customer: float,
             group_by: np.ndarray | None, n_threads: int = 1) -> tuple[_Prepared, pd.DatetimeIndex]:
    inv = book.invoices
    day0 = book.as_of + pd.Timedelta(days=1)
    days = pd.date_range(day0, horizon_end, freq="D")
    n_days = len(days)
    if book.calendars.shape[1] < n_days:
        raise ModelError(f"Book.calendars cover {book.calendars.shape[1]} days but the horizon "
                         f"{day0.date()} .. {horizon_end.date()} has {n_days}; rebuild the book with "
                         "horizon_end at least as late")
    t = _timing(book)
    profile = inv["profile"].to_numpy(np.int64)
    cdf = np.cumsum(book.pmfs, axis=1)
    G = cdf.shape[1]
    m_idx = t["m_idx"].astype(np.int64)
    lower = np.where(m_idx > 0, cdf[profile, np.clip(m_idx - 1, 0, G - 1)], 0.0)
    cal_row = inv["calendar"].to_numpy(np.int64)
    calendars = _sinked_calendars(book.calendars, n_days)
    offset = t["offset"].astype(np.int64)
    limit = _horizon_limit(calendars[:, :-1], n_days, cal_row, offset, G)
    skip = (m_idx >= limit) | (1.0 - lower <= 1e-12)       # no mass left within the horizon: never paid in it
    th = threshold_tables(cdf, profile, m_idx, lower, limit, skip, n_threads)
    month_codes = days.to_period("M")
    months = month_codes.unique()
    month_of_day = (month_codes.year * 12 + month_codes.month - (months[0].year * 12 + months[0].month))
    rate = inv["discount_rate"].to_numpy()
    dday = inv["discount_day"].to_numpy()
    disc_g = np.where((rate > 0) & np.isfinite(dday), np.floor(np.nan_to_num(dday)) - book.grid[0], -1)
    if group_by is None:
        group, n_groups = np.zeros(len(inv), np.int64), 1
    else:
        group = np.asarray(group_by)
        if group.shape != (len(inv),) or not np.issubdtype(group.dtype, np.integer) or (group < 0).any():
            raise ParamsError(f"group_by must be {len(inv)} non-negative integers, one per Book.invoices row")
        group, n_groups = group.astype(np.int64), int(group.max()) + 1 if len(group) else 1
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
        use_groups=group_by is not None, sqrt_rho_month=math.sqrt(rho_month),
        sqrt_rho_customer=math.sqrt(rho_customer), c=math.sqrt(max(1.0 - rho_month - rho_customer, 0.0)),
        longest=int(np.diff(bounds).max(initial=0)), any_discount=bool((disc_g >= 0).any()))
    return prep, days


# ---------------------------------------------------------------------------------------------------------------
# Tasks: a task runs a few blocks of PATH_BLOCK paths, each from its own seed child
# ---------------------------------------------------------------------------------------------------------------

def _block_paths(n_paths: int, block: int) -> int:
    return min(PATH_BLOCK, n_paths - block * PATH_BLOCK)


def _run_blocks(prep: _Prepared, blocks: list[int], seeds: list[np.random.SeedSequence], n_paths: int,
                out: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """Cash per day (and discounts, group months) for the paths of ``blocks``, in block order: written into
    ``out`` (the rows of these paths in the run's ``daily``, ``daily_cost`` and ``group_monthly``) or returned.

    Stream of a block (``Generator(PCG64(child)).standard_normal``, drawn in the compiled kernel): month factors
    (n_factor_months x paths), customer factors (n_customers x paths), then one standard normal per (invoice,
    path), invoice-major in the book's row order.
    """
    sizes = [_block_paths(n_paths, b) for b in blocks]
    cols = np.cumsum([0] + sizes).astype(np.int64)
    total = int(cols[-1])
    daily = np.zeros((prep.n_days + 1, total))      # days x paths (cache-friendly); last row: the sink
    # discounts only where the book has some (the kernel never books one otherwise)
    cost = np.zeros((prep.n_days + 1, total) if prep.any_discount else (1, 1))
    groups = np.zeros((total, prep.n_groups, prep.n_months + 1)) if prep.use_groups else np.zeros((1, 1, 1))
    states = np.vstack([pcg64_state(np.random.PCG64(seed)) for seed in seeds])
    s_month = np.empty((prep.n_factor_months, total))
    s_cust = np.empty((prep.n_customers, total))
    for b, size in enumerate(sizes):
        for factors, scale in ((s_month, prep.sqrt_rho_month), (s_cust, prep.sqrt_rho_customer)):
            drawn = np.empty((factors.shape[0], size))
            standard_normals(states[b], drawn)
            factors[:, cols[b]:cols[b + 1]] = drawn * scale
    _simulate_task(states, cols, s_month, s_cust, prep.c, prep.month, prep.cust, prep.table, prep.skip,
                   prep.limit, prep.offset, prep.cal_row, prep.amount, prep.disc_g, prep.disc_rate, prep.group,
                   prep.start, prep.first_g, prep.theta, prep.guide, prep.calendars, prep.month_of_day, daily,
                   cost, groups, prep.use_groups, np.empty(total), np.empty(max(prep.longest, 1), np.int64))
    if out is None:
        out = (np.empty((total, prep.n_days)), np.zeros((total, prep.n_days)),
               np.empty((total, prep.n_groups, prep.n_months)) if prep.use_groups else None)
        result = out
    else:
        result = None
    out[0][...] = daily[:-1].T
    if prep.any_discount:
        out[1][...] = cost[:-1].T
    if prep.use_groups:
        out[2][...] = groups[:, :, :-1]
    return result


def _tasks(n_paths: int, chunk_paths: int) -> list[list[int]]:
    n_blocks = -(-n_paths // PATH_BLOCK)
    per_task = max(1, -(-int(chunk_paths) // PATH_BLOCK))
    return [list(range(b, min(b + per_task, n_blocks))) for b in range(0, n_blocks, per_task)]


def _run_local(prep, tasks, seeds, n_paths, n_threads, progress, out):
    """Run the tasks on ``n_threads`` threads; each writes its paths' rows of ``out`` (daily, cost, groups)."""
    n_threads = max(1, min(n_threads or os.cpu_count() or 1, len(tasks)))

    def run(task: list[int]) -> None:
        rows = slice(task[0] * PATH_BLOCK, task[0] * PATH_BLOCK + sum(_block_paths(n_paths, b) for b in task))
        _run_blocks(prep, task, [seeds[b] for b in task], n_paths,
                    (out[0][rows], out[1][rows], None if out[2] is None else out[2][rows]))

    if n_threads == 1:
        list(_progress(map(run, tasks), len(tasks), progress))
        return
    with ThreadPoolExecutor(n_threads) as pool:
        list(_progress(pool.map(run, tasks), len(tasks), progress))


def _local_cluster():
    """A dask LocalCluster of one single-threaded worker process per core (at most two)."""
    from dask.distributed import LocalCluster

    return LocalCluster(n_workers=min(2, os.cpu_count() or 1), threads_per_worker=1, processes=True,
                        dashboard_address=None, silence_logs=logging.ERROR)


@contextmanager
def engine_session(options: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Engine options (``chunk_paths``, ``backend``, ``dask_address``: keyword arguments of :func:`simulate`) for
    a series of runs -- a lever comparison, a plan search, a scenario sweep. With ``backend="dask"`` and no
    address, one LocalCluster serves every run of the series (instead of one started per run) and is closed at
    the end; otherwise the options pass through unchanged.

    >>> with engine_session({"backend": "local", "chunk_paths": 500}) as opts:
    ...     opts
    {'backend': 'local', 'chunk_paths': 500}
    """
    opts = dict(options or {})
    if opts.get("backend") != "dask" or opts.get("dask_address"):
        yield opts
        return
    with _local_cluster() as cluster:
        yield {**opts, "dask_address": cluster.scheduler_address}


def _run_dask(prep, tasks, seeds, n_paths, address, progress):
    """Run the tasks on dask.distributed: an existing scheduler at ``address``, else a LocalCluster for this run."""
    from dask.distributed import Client

    cluster = None
    if address is None:
        cluster = _local_cluster()
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ParamsError(f"cannot reach the dask scheduler at {address!r} ({exc}); start one with "
                              "`dask scheduler` or fix simulation.dask_address (none = a LocalCluster)") from None
    try:
        shared = client.scatter(prep, broadcast=True)
        futures = [client.submit(_run_blocks, shared, t, [seeds[b] for b in t], n_paths, pure=False) for t in tasks]
        return list(_progress((f.result() for f in futures), len(futures), progress))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _progress(iterable, total: int, enabled: bool):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc="simulate", unit="chunk")


# ---------------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------------

def quantile_name(q: float) -> str:
    """Column name of a quantile level: 0.05 -> "p05", 0.5 -> "p50"."""
    return f"p{round(q * 100):02d}"


@dataclass(frozen=True, eq=False)
class Simulation:
    """Simulated collections: ``daily[path, day]`` euros incl. VAT collected on ``days[day]`` (net of discounts).

    ``daily_cost`` = discounts given; ``invoice_probs`` = per invoice expected pay date (given paid within the
    horizon), ``p_paid_by_<YYYY-MM>`` (by the end of each month of the horizon) and ``p_never_in_horizon``, exact
    from the marginal laws; ``group_monthly[path, group, month]`` when ``group_by`` was given.
    """

    as_of: pd.Timestamp
    days: pd.DatetimeIndex
    daily: np.ndarray
    daily_cost: np.ndarray
    n_paths: int
    seed: int
    #: The book simulated, kept for the exact per-invoice probabilities (computed on first use only).
    book: Book | None = field(default=None, repr=False)
    group_monthly: np.ndarray | None = None
    rho_month: float = 0.0
    rho_customer: float = 0.0
    meta: dict = field(default_factory=dict)

    @property
    def months(self) -> list[str]:
        """Calendar months of the horizon, ``"YYYY-MM"`` (the first is the month of ``as_of + 1``)."""
        return list(pd.unique(self.days.strftime("%Y-%m")))

    def _aggregate(self, values: np.ndarray, freq: str) -> pd.DataFrame:
        if freq in ("M", "ME", "month"):
            labels = self.days.strftime("%Y-%m")
        elif freq in ("W", "week"):
            labels = (self.days - pd.to_timedelta(self.days.day_of_week, unit="D")).normalize()
        elif freq in ("D", "day"):
            labels = self.days
        else:
            raise ParamsError(f"freq must be 'M' (months), 'W' (weeks starting Monday) or 'D', got {freq!r}")
        codes, uniq = pd.factorize(labels)
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        out = np.add.reduceat(values, starts, axis=1) if values.shape[1] else values
        return pd.DataFrame(out, columns=pd.Index(uniq, name="period"),
                            index=pd.RangeIndex(values.shape[0], name="path"))

    @cached_property
    def invoice_probs(self) -> pd.DataFrame:
        """Per invoice: expected pay date, ``p_paid_by_<YYYY-MM>``, ``p_never_in_horizon`` (see
        :func:`invoice_probabilities`); computed on first use, since a scenario panel redraw never needs it."""
        if self.book is None:
            raise ParamsError("this Simulation was built without its book: per-invoice probabilities are unknown")
        return invoice_probabilities(self.book, self.days)

    def monthly(self) -> pd.DataFrame:
        """Paths x calendar months (columns ``"YYYY-MM"``): euros collected in each month."""
        return self._aggregate(self.daily, "M")

    def weekly(self) -> pd.DataFrame:
        """Paths x weeks (columns = the Monday starting each week; the first and last may be partial)."""
        return self._aggregate(self.daily, "W")

    def monthly_cost(self) -> pd.DataFrame:
        """Paths x months of discounts given (euros)."""
        return self._aggregate(self.daily_cost, "M")

    def quantiles(self, freq: str = "M", q: tuple[float, ...] = QUANTILES, *, cumulative: bool = False
                  ) -> pd.DataFrame:
        """Tidy table: ``period, mean, p05 ... p95`` of the cash collected per period (``cumulative=True``: since
        ``as_of``, the fan chart of cumulated collections).

        >>> sim.quantiles("M").columns.tolist()          # doctest: +SKIP
        ['period', 'mean', 'p05', 'p10', 'p25', 'p50', 'p75', 'p90', 'p95']
        """
        table = self._aggregate(self.daily, freq)
        values = table.to_numpy()
        if cumulative:
            values = np.cumsum(values, axis=1)
        out = pd.DataFrame({"period": table.columns, "mean": values.mean(axis=0)})
        qs = np.quantile(values, q, axis=0) if values.shape[0] else np.full((len(q), values.shape[1]), np.nan)
        for level, row in zip(q, qs):
            out[quantile_name(level)] = row
        return out


def simulate(book: Book, *, horizon_end: Any, n_paths: int, seed: int, rho_month: float, rho_customer: float,
             chunk_paths: int = 1000, backend: Literal["local", "dask"] = "local", dask_address: str | None = None,
             group_by: Any = None, progress: bool = False, n_threads: int | None = None) -> Simulation:
    """Simulate the collection of ``book`` on ``n_paths`` paths from ``as_of + 1`` to ``horizon_end`` (inclusive).

    ``rho_month``, ``rho_customer``: copula loadings (>= 0, sum <= 1). ``chunk_paths``: paths per task (rounded up
    to blocks of :data:`PATH_BLOCK`); ``backend="dask"`` runs the tasks on dask.distributed (the scheduler at
    ``dask_address``, else a two-worker LocalCluster); ``n_threads`` threads for the local backend (default: all
    cores). ``group_by``: one non-negative int per invoice -> ``Simulation.group_monthly``. The result does not
    depend on ``chunk_paths``, ``n_threads`` or ``backend``.
    """
    if not isinstance(book, Book):
        raise ParamsError("simulate() takes a cashsim.simulate.Book (see PayerModel.book)")
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
    n_paths, seed = int(n_paths), int(seed)
    group = None if group_by is None else np.asarray(group_by)
    threads = max(1, n_threads or os.cpu_count() or 1)
    prep, days = _prepare(book, horizon_end, float(rho_month), float(rho_customer), group, threads)
    n_blocks = -(-n_paths // PATH_BLOCK)
    seeds = np.random.SeedSequence(seed).spawn(n_blocks)
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
        _run_local(prep, _tasks(n_paths, min(int(chunk_paths), per_thread)), seeds, n_paths, threads, progress,
                   (daily, cost, group_monthly))
    up_day, up_amt = _upfront(book, days)
    if len(up_day):
        daily += np.bincount(up_day, weights=up_amt, minlength=len(days))[None, :]
    if group_monthly is not None and len(up_day):
        gm = np.zeros((prep.n_groups, prep.n_months))
        np.add.at(gm, (prep.group[_upfront_rows(book, days)], prep.month_of_day[up_day]), up_amt)
        group_monthly += gm[None]
    return Simulation(as_of=book.as_of, days=days, daily=daily, daily_cost=cost, n_paths=n_paths, seed=seed,
                      book=book, group_monthly=group_monthly,
                      rho_month=float(rho_month), rho_customer=float(rho_customer),
                      meta={"backend": backend, "chunk_paths": int(chunk_paths), "path_block": PATH_BLOCK})


def _upfront_rows(book: Book, days: pd.DatetimeIndex) -> np.ndarray:
    inv = book.invoices
    idx = ((inv["upfront_date"] - days[0]).dt.days).to_numpy(np.float64)
    ok = (inv["upfront_amount"].to_numpy() != 0) & np.isfinite(idx) & (idx >= 0) & (idx < len(days))
    return np.flatnonzero(ok)


def _upfront(book: Book, days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Day index and amount of every upfront payment landing within the horizon (the same on every path)."""
    rows = _upfront_rows(book, days)
    inv = book.invoices
    idx = (inv["upfront_date"].iloc[rows] - days[0]).dt.days.to_numpy(np.int64)
    return idx, inv["upfront_amount"].to_numpy(np.float64)[rows]


def invoice_probabilities(book: Book, days: pd.DatetimeIndex) -> pd.DataFrame:
    """Per invoice, exact from its conditional marginal law (no sampling; the copula does not change marginals):
    ``expected_pay_date`` (mean pay date given paid within the horizon, NaT if it cannot be), ``p_paid_by_<YYYY-MM>``
    (by the end of each month of ``days``) and ``p_never_in_horizon``. Calendar snapping included."""
    inv = book.invoices
    n_days = len(days)
    months = list(pd.unique(days.strftime("%Y-%m")))
    mcode = days.to_period("M")
    month_of_day = np.asarray(mcode.year * 12 + mcode.month - (mcode[0].year * 12 + mcode[0].month), np.int64)
    t = _timing(book)
    by_month, mean_day = _marginal_months(
        np.ascontiguousarray(np.cumsum(book.pmfs, axis=1)), inv["profile"].to_numpy(np.int64),
        t["m_idx"].astype(np.int64), t["offset"].astype(np.int64), inv["calendar"].to_numpy(np.int64),
        _sinked_calendars(book.calendars, n_days), np.append(month_of_day, len(months)), len(months))
    cum = np.cumsum(by_month, axis=1)
    out = pd.DataFrame({"invoice_id": inv["invoice_id"].to_numpy(), "customer_id": inv["customer_id"].to_numpy(),
                        "amount": inv["amount"].to_numpy()})
    out["expected_pay_date"] = (days[0] + pd.to_timedelta(np.round(mean_day), unit="D")).astype("datetime64[ns]")
    for j, month in enumerate(months):
        out[f"p_paid_by_{month}"] = np.clip(cum[:, j], 0.0, 1.0)
    out["p_never_in_horizon"] = np.clip(1.0 - cum[:, -1], 0.0, 1.0)
    return out


@numba.njit(nogil=True, cache=True)
def _marginal_months(cdf, profile, first, offset, cal_row, calendars, month_of_day, n_months):
    """For each invoice: P(paid in each month of the horizon) and the mean pay-day index given paid in it, from
    ``q_g = (F(g) - F(g - 1)) / (1 - F(m - 1))`` for grid days ``g >= m`` (snapped by its calendar)."""
    n, G = profile.shape[0], cdf.shape[1]
    D = calendars.shape[1] - 1
    sink = month_of_day.shape[0] - 1
    by_month = np.zeros((n, n_months))
    mean_day = np.full(n, np.nan)
    for i in range(n):
        k, m = profile[i], first[i]
        if m >= G:
            continue
        a0 = cdf[k, m - 1] if m > 0 else 0.0
        b0 = 1.0 - a0
        if b0 <= 1e-12:
            continue
        total, weighted = 0.0, 0.0
        for g in range(m, G):
            q = (cdf[k, g] - (cdf[k, g - 1] if g > 0 else 0.0)) / b0
            if q <= 0.0:
                continue
            a = min(max(offset[i] + g, 0), D)
            d = calendars[cal_row[i], a]
            if d >= sink:
                continue
            by_month[i, month_of_day[d]] += q
            total += q
            weighted += q * d
        if total > 0.0:
            mean_day[i] = weighted / total
    return by_month, mean_day
