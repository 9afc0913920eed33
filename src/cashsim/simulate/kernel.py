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
* **Cache**: numba keys each cached function on its own file only. These loops inline :mod:`._pcg64`'s generator
  and the guide constants of :mod:`.tables`: after changing either, delete ``src/cashsim/simulate/__pycache__`` so
  they are compiled again.

Example (the pay-day rule on one table; a guide of zeros makes every search a plain forward scan)::

    >>> th, guide = np.array([-0.5, 0.5, np.inf]), np.zeros(4096, np.uint8)
    >>> [int(_position(x, guide, th)) for x in (-1.0, 0.1, 9.0)]     # first r with th[r] >= x; 2 = never
    [0, 1, 2]
"""

from __future__ import annotations

import numba
import numpy as np

from cashsim.simulate._pcg64 import _normal
from cashsim.simulate.tables import GUIDE_LO, GUIDE_SCALE, GUIDE_TOP


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
def _pay(e, smi, sci, am, ac, c, guide_t, th, row_of, amt, flat):
    """One invoice without discount or groups on every path ``p``: ``flat[row_of[r] + p] += amt`` where ``r`` is
    the first table position with ``th[r] >= x``, ``x = am smi[p] + ac sci[p] + c e[p]`` and ``row_of[r]`` the
    offset of its day's row in the flattened ``daily`` (see :func:`_simulate_task`)."""
    for p in range(e.shape[0]):
        up = np.uintp(p)
        r = _position(am * smi[up] + ac * sci[up] + c * e[up], guide_t, th)
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
    (:func:`_position`).
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
    for i in range(month.shape[0]):
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
                     flat[c0:])
            continue
        if read:
            for b in range(n_blocks):
                src = stored[b, i]
                for p in range(cols[b], cols[b + 1]):
                    e[np.uintp(p)] = src[np.uintp(p - cols[b])]
        if plain:
            _pay(e, smi, sci, am, ac, c, guide_t, th, day_of, amt, flat)
            continue
        r_disc = disc_g[i] - g0                              # discount taken when the table position <= r_disc
        cash_disc = amt * (1.0 - disc_rate[i])
        cost_disc = amt * disc_rate[i]
        gi = group[i]
        for p in range(n_paths):
            up = np.uintp(p)
            r = _position(am * smi[up] + ac * sci[up] + c * e[up], guide_t, th)
            d = np.uintp(day_of[r])
            cash = amt
            if np.int64(r) <= r_disc:
                cash = cash_disc
                cost[d, up] += cost_disc
            daily[d, up] += cash
            if use_groups:
                group_monthly[up, gi, month_of_day[d]] += cash
