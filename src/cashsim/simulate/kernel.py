"""The compiled loops of the engine (*noyau*): draw each invoice's normals, find its pay day, book the cash.

The rule, for invoice ``i`` on path ``p`` of a task:
``x = a_month[i] s_month[month[i], p] + a_cust[i] s_cust[cust[i], p] + c[i] e[p]`` (``s_*`` = the standard normal
month and customer factors, ``a_month[i] = sqrt(load_month[i])``, ``a_cust[i] = sqrt(load_customer[i])``,
``c[i] = sqrt(1 - load_month[i] - load_customer[i])``, ``e`` the invoice's own standard normal; the loadings are
per invoice, :func:`cashsim.simulate.tables._prepare`); the pay day is the first table position ``r`` with
``theta[r] >= x`` (:mod:`cashsim.simulate.tables`), moved through the invoice's calendar row;
``daily[day, path] += amount`` (or ``amount (1 - rate)`` and ``cost += amount rate`` when the discount is taken,
``r <= disc_g - first_g``).

* **Loop order**: a task (a few blocks of :data:`~cashsim.simulate.backends.PATH_BLOCK` paths) takes the invoices
  one by one: each block draws its paths' normals for the invoice into a buffer of one double per path (L1), then
  every path of the task runs through the invoice, whose table, guide and day map (table position -> row of
  ``daily``, through the invoice's calendar) stay in L1; cash goes to ``daily[day, path]`` (days-major:
  neighbouring paths share cache lines), written straight into the run's result. Memory: the tables and the
  result, never a paths x invoices matrix.
* **Stream**: every invoice takes one normal per path from its block's stream, in the book's row order, even one
  that cannot be paid within the horizon, so a lever that changes pmf rows or profiles runs on common random
  numbers. The normals are numpy's own (:mod:`cashsim.simulate._pcg64`).
* Indices are unsigned where all are ``>= 0``: numba then skips its negative-index wraparound code.
* **Prefetch**: a book has thousands of tables (one per profile and first allowed day; the benchmark's 10k
  invoices, 7 425 tables, 21 MiB of guides and thresholds: about the whole L3 cache); every task reads them all again,
  so each invoice's tables are prefetched :data:`PREFETCH_AHEAD` invoices ahead (:func:`_prefetch_tables`).
* **Two streams at a time**: :func:`_draw` interleaves the draws of two blocks (each stream is a chain of
  dependent 128-bit steps). Neither changes a number: same normals, same positions, same sums in the same order.
* **Cache**: numba keys each cached function on its own file only. These loops inline :mod:`._pcg64`'s generator
  and the guide constants of :mod:`.tables`: after changing either, delete ``src/cashsim/simulate/__pycache__`` so
  they are compiled again.

Example (the pay-day rule on one table; a guide of zeros makes every search a plain forward scan)::

    >>> th, guide = np.array([-0.5, 0.5, np.inf]), np.zeros(2048, np.uint8)
    >>> [int(_from_bin(x, _guide_bin(x), guide, th)) for x in (-1.0, 0.1, 9.0)]  # first r, th[r] >= x; 2 = never
    [0, 1, 2]
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba import types
from numba.extending import intrinsic

from cashsim.simulate._pcg64 import _normal
from cashsim.simulate.tables import GUIDE_LO, GUIDE_SCALE, GUIDE_TOP

#: Invoices ahead of the current one whose guide and threshold tables are prefetched (:func:`_prefetch_tables`).
PREFETCH_AHEAD = 4


@numba.njit(nogil=True, cache=True)
def _draw(states, cols, e):
    """Block ``b``'s next ``cols[b + 1] - cols[b]`` standard normals into ``e[cols[b]:cols[b + 1]]``, from its
    stream ``states[b]``, which advances.

    Two blocks of the same size at a time, their draws interleaved: each stream is a chain of dependent 128-bit
    steps, two chains keep the core busier than one. Each stream gives the same numbers in the same places."""
    n_blocks = cols.shape[0] - 1
    b = 0
    while b + 1 < n_blocks and cols[b + 1] - cols[b] == cols[b + 2] - cols[b + 1]:
        h0, l0, ih0, il0 = states[b, 0], states[b, 1], states[b, 2], states[b, 3]
        h1, l1, ih1, il1 = states[b + 1, 0], states[b + 1, 1], states[b + 1, 2], states[b + 1, 3]
        p0, p1 = np.uintp(cols[b]), np.uintp(cols[b + 1])
        for k in range(cols[b + 1] - cols[b]):
            uk = np.uintp(k)
            h0, l0, x0 = _normal(h0, l0, ih0, il0)
            h1, l1, x1 = _normal(h1, l1, ih1, il1)
            e[p0 + uk] = x0
            e[p1 + uk] = x1
        states[b, 0], states[b, 1] = h0, l0
        states[b + 1, 0], states[b + 1, 1] = h1, l1
        b += 2
    for rest in range(b, n_blocks):                           # the odd one out, or a shorter last block
        hi, lo, ih, il = states[rest, 0], states[rest, 1], states[rest, 2], states[rest, 3]
        for p in range(cols[rest], cols[rest + 1]):
            hi, lo, x = _normal(hi, lo, ih, il)
            e[np.uintp(p)] = x
        states[rest, 0], states[rest, 1] = hi, lo


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Ask the CPU to bring the cache line of ``arr[idx]`` (1-d, contiguous) into its caches (``llvm.prefetch``:
    read, keep): a hint, it changes no value and never faults."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        i8p, i32 = llvm_ir.IntType(8).as_pointer(), llvm_ir.IntType(32)
        fn = builder.module.declare_intrinsic("llvm.prefetch",
                                              fnty=llvm_ir.FunctionType(llvm_ir.VoidType(), [i8p, i32, i32, i32]))
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
        builder.call(fn, [ptr, llvm_ir.Constant(i32, 0), llvm_ir.Constant(i32, 3), llvm_ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(nogil=True, inline="always")
def _prefetch_tables(i, skip, table, start, theta, guide):
    """Prefetch invoice ``i``'s guide and thresholds, one cache line at a time (nothing past the book's end or for
    a skipped invoice). A book holds thousands of tables (one per profile and first allowed day, 2 KiB of guide
    each): more than a core's caches, so without this every invoice of every task starts with cache misses."""
    if i >= table.shape[0] or skip[i]:
        return
    t = table[i]
    g = guide[t]
    for k in range(0, g.shape[0], 64 // g.itemsize):
        _prefetch(g, k)
    _prefetch(g, g.shape[0] - 1)
    for k in range(start[t], start[t + 1], 8):
        _prefetch(theta, k)
    _prefetch(theta, start[t + 1] - 1)


@numba.njit(nogil=True, inline="always")
def _guide_bin(x):
    """The guide bin of ``x``: where the search for its table position starts (:func:`_from_bin`)."""
    return np.uintp((min(max(x, GUIDE_LO), GUIDE_TOP) - GUIDE_LO) * GUIDE_SCALE)


@numba.njit(nogil=True, inline="always")
def _latents(e, smi, sci, am, ac, c, bins, xs):
    """The first pass of :func:`_pay` and :func:`_pay_general`: every path's ``x = am smi[p] + ac sci[p] + c e[p]``
    into ``xs`` and its guide bin (:func:`_guide_bin`) into ``bins``, a loop the compiler vectorises. ``e`` is only
    read."""
    for p in range(e.shape[0]):
        up = np.uintp(p)
        x = am * smi[up] + ac * sci[up] + c * e[up]
        xs[up] = x
        bins[up] = _guide_bin(x)


@numba.njit(nogil=True, inline="always")
def _from_bin(z, b, guide_t, th):
    """The first position ``r`` of the table ``th`` with ``th[r] >= z``, from ``z``'s guide bin ``b`` computed ahead
    (:func:`_latents`): the guide's start, then a forward scan (rarely taken: a threshold inside the bin) that ends
    at the table's ``+inf`` at the latest."""
    r = np.uintp(guide_t[b])
    while th[r] < z:
        r += np.uintp(1)
    return r


@numba.njit(nogil=True, cache=True)
def _pay(e, smi, sci, am, ac, c, guide_t, th, row_of, amt, flat, bins, xs):
    """One invoice without discount or groups on every path ``p``: ``flat[row_of[r] + p] += amt`` where ``r`` is
    the first table position with ``th[r] >= x``, ``x = am smi[p] + ac sci[p] + c e[p]`` and ``row_of[r]`` the
    offset of its day's row in the flattened ``daily`` (see :func:`_simulate_task`).

    Two passes, the same arithmetic as :func:`_from_bin`: every path's ``x`` and guide bin (into the scratch
    arrays ``xs`` and ``bins``, at least as long as ``e``) first, a loop the compiler vectorises; then the guide, the
    scan and the booking, whose chain of dependent loads no longer waits for the bin's arithmetic. ``e`` is only
    read: it may be a study's stored normals (:mod:`cashsim.simulate.draws`), which later runs read again."""
    n = e.shape[0]
    _latents(e, smi, sci, am, ac, c, bins, xs)
    for p in range(n):
        up = np.uintp(p)
        r = _from_bin(xs[up], bins[up], guide_t, th)
        flat[np.uintp(row_of[r]) + up] += amt


@numba.njit(nogil=True, cache=True)
def _simulate_task(states, cols, s_month, s_cust, a_month, a_cust, c_own, month, cust, table, skip, limit, offset,
                   cal_row, amount, disc_g, disc_rate, group, start, first_g, theta, guide, calendars, month_of_day,
                   daily, cost, group_monthly, use_groups, e, day_of, stored, n_stored, kept, keep):
    """Pay every invoice of the book on the paths of one task; cash goes to ``daily[day, path]`` (discounts to
    ``cost``, cash to ``group_monthly[path, group, month]`` when ``use_groups``).

    Block ``b`` holds paths ``cols[b] .. cols[b + 1] - 1`` and draws from its own stream ``states[b]``
    (:func:`pcg64_state`). Invoice by invoice in the book's row order, each block draws one standard normal per
    path (so every invoice, even one that cannot be paid within the horizon, takes the same numbers from the
    stream whatever the others do); then every path of the task runs through the invoice, whose tables stay in
    L1. The pay day of invoice ``i`` on path ``p`` is the first grid day ``g`` of its threshold table with
    ``theta(g) >= x``, ``x = a_month[i] s_month[month[i], p] + a_cust[i] s_cust[cust[i], p] + c_own[i] e[p]``
    (:func:`_from_bin`).
    ``day_of[r]``, built once per invoice, is the day index of table position ``r`` through the
    invoice's calendar, or the sink row ``daily.shape[0] - 1`` (never paid, or paid after the horizon); for an
    invoice without discount or groups, the offset of that day's row in the flattened ``daily``.

    Normals kept from an earlier run on the same streams (:mod:`cashsim.simulate.draws`): the first ``n_stored``
    invoices read block ``b``'s normals from ``stored[b, i]`` instead of drawing them (the states then stand after
    them: the later invoices draw on; a skipped invoice reads nothing, a plain one is paid block by block straight
    from them); ``keep`` writes every invoice's normals to ``kept[b, i]``. The same numbers either way.
    """
    n_blocks = cols.shape[0] - 1
    n_paths = cols[n_blocks]
    sink_a = calendars.shape[1] - 1
    flat = daily.reshape(-1)
    bins = np.empty(e.shape[0], np.uint16)                # _pay's scratch: guide bins (< GUIDE_BINS = 2048)
    xs = np.empty(e.shape[0])                             # _pay's scratch: it never writes its normals (stored rows)
    for i in range(month.shape[0]):
        _prefetch_tables(i + PREFETCH_AHEAD, skip, table, start, theta, guide)     # (engine branch, issue 18)
        read = i < n_stored                                   # this invoice's normals are in ``stored``
        if not read:
            _draw(states, cols, e)
        if keep:
            for b in range(n_blocks):
                dst = kept[b, i]
                for p in range(cols[b], cols[b + 1]):
                    dst[np.uintp(p - cols[b])] = e[np.uintp(p)]
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
        am, ac, c = a_month[i], a_cust[i], c_own[i]
        # indices are unsigned (all are >= 0): numba then skips its negative-index wraparound code
        if plain and read:                                    # straight from the stored rows, block by block
            for b in range(n_blocks):
                c0, c1 = cols[b], cols[b + 1]
                _pay(stored[b, i, :c1 - c0], smi[c0:c1], sci[c0:c1], am, ac, c, guide_t, th, day_of, amt,
                     flat[c0:], bins, xs)
            continue
        if read:
            for b in range(n_blocks):
                src = stored[b, i]
                for p in range(cols[b], cols[b + 1]):
                    e[np.uintp(p)] = src[np.uintp(p - cols[b])]
        if plain:
            _pay(e, smi, sci, am, ac, c, guide_t, th, day_of, amt, flat, bins, xs)
            continue
        _pay_general(e, smi, sci, am, ac, c, guide_t, th, day_of, amt, disc_g[i] - g0, disc_rate[i], group[i],
                     month_of_day, daily, cost, group_monthly, use_groups, bins, xs)


@numba.njit(nogil=True, cache=True)
def _pay_general(e, smi, sci, am, ac, c, guide_t, th, day_of, amt, r_disc, rate, gi, month_of_day, daily, cost,
                 group_monthly, use_groups, bins, xs):
    """One invoice with a discount or groups on every path ``p``: as :func:`_pay` (the same two passes, the same
    arithmetic), the day's row ``d = day_of[r]``; ``daily[d, p] += cash``, ``cash = amt (1 - rate)`` and
    ``cost[d, p] += amt rate`` when the table position ``r <= r_disc`` (the discount is taken), else ``amt``;
    ``group_monthly[p, gi, month_of_day[d]] += cash`` when ``use_groups``. ``e`` is only read."""
    n = e.shape[0]
    _latents(e, smi, sci, am, ac, c, bins, xs)
    cash_disc = amt * (1.0 - rate)
    cost_disc = amt * rate
    for p in range(n):
        up = np.uintp(p)
        r = _from_bin(xs[up], bins[up], guide_t, th)
        d = np.uintp(day_of[r])
        cash = amt
        if np.int64(r) <= r_disc:
            cash = cash_disc
            cost[d, up] += cost_disc
        daily[d, up] += cash
        if use_groups:
            group_monthly[up, gi, month_of_day[d]] += cash
