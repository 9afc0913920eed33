"""Where the engine's time goes (issue 18): kernel variants on the engine benchmark's book, 1 and 2 threads.

``python -m benchmarks.engine_parts`` times, on the book of ``python -m benchmarks engine`` (10k invoices x 10k
paths, the same tasks and streams as :func:`cashsim.simulate.simulate`):

* ``floor``      numpy's default generator, 1e8 uniforms into a reused buffer (the benchmark's floor);
* ``uniforms``   the compiled PCG64 (state in registers), one double per (invoice, path), summed;
* ``normals``    the kernel's ziggurat normals (its ``_draw``) for every (invoice, path) into a buffer;
* ``+lookup``    the same, then each turned into its invoice's ``x`` and table position (as ``_pay``), no booking;
* ``kernel``     the engine's task kernel itself (normals, lookup, booking into ``daily``);
* ``prepare``    the run's preparation built anew (``_prepare_new``: the threshold tables and guides on the run's
  threads, the rest on the calling one); a run of a book simulated before reads it back instead (``_prepare``);
* ``simulate``   :func:`cashsim.simulate.simulate` end to end (tables, factors, kernel, result), on the same book
  each time (tables prepared once), and ``sim-fresh`` on a new Book object each time (tables built).

Each line: best wall of 3 and its CPU time (all threads), ns per draw in CPU time, and CPU relative to the floor.
The variants live here, not in the package: they only measure.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from benchmarks.__main__ import best_timed
from cashsim.simulate._pcg64 import _pcg64_double, pcg64_state
from cashsim.simulate.kernel import PREFETCH_AHEAD, _draw, _from_bin, _latents, _prefetch_tables

KW = {"horizon_end": "2027-02-28", "seed": 1, "rho_month": 0.05, "rho_customer": 0.1}


@numba.njit(nogil=True)
def _uniforms(states, cols, n_inv):
    acc = 0.0
    for _ in range(n_inv):
        for b in range(cols.shape[0] - 1):
            hi, lo, ih, il = states[b, 0], states[b, 1], states[b, 2], states[b, 3]
            for _p in range(cols[b], cols[b + 1]):
                hi, lo, u = _pcg64_double(hi, lo, ih, il)
                acc += u
            states[b, 0], states[b, 1] = hi, lo
    return acc


@numba.njit(nogil=True)
def _normals(states, cols, n_inv, e):
    acc = 0.0
    for _ in range(n_inv):
        _draw(states, cols, e)
        acc += e[0]
    return acc


@numba.njit(nogil=True)
def _lookup(states, cols, s_month, s_cust, a_month, a_cust, c_own, month, cust, table, skip, start, theta, guide, e):
    """The kernel's prefetch, normals and positions (``_draw``, then ``_pay``'s two passes), without the booking."""
    acc = 0
    bins, xs = np.empty(e.shape[0], np.uintp), np.empty(e.shape[0])
    for i in range(month.shape[0]):
        _prefetch_tables(i + PREFETCH_AHEAD, skip, table, start, theta, guide)
        _draw(states, cols, e)
        if skip[i]:
            continue
        t = table[i]
        th = theta[start[t]:start[t + 1]]
        guide_t = guide[t]
        smi, sci = s_month[month[i]], s_cust[cust[i]]
        am, ac, c = a_month[i], a_cust[i], c_own[i]
        _latents(e, smi, sci, am, ac, c, bins, xs)
        for p in range(e.shape[0]):
            acc += _from_bin(xs[p], bins[p], guide_t, th)
    return acc


def _run(tasks, n_threads, fn):
    if n_threads == 1:
        for t in tasks:
            fn(t)
        return
    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(fn, tasks))


def _parts(book, threads, seeds, n_paths, show) -> None:
    """The variants' lines on ``threads`` threads, with the tasks :func:`cashsim.simulate.simulate` would run."""
    import pandas as pd

    from benchmarks.books import fresh_twin
    from cashsim.simulate import PATH_BLOCK, simulate
    from cashsim.simulate.backends import _block_paths, _run_blocks, _tasks
    from cashsim.simulate.tables import _prepare, _prepare_new

    n_invoices = len(book.invoices)
    prep, _ = _prepare(book, pd.Timestamp(KW["horizon_end"]), KW["rho_month"], KW["rho_customer"], None, threads)
    per_thread = PATH_BLOCK * -(-len(seeds) // threads)
    tasks = _tasks(n_paths, min(1000, per_thread))

    def setup(task):
        sizes = [_block_paths(n_paths, b) for b in task]
        cols = np.cumsum([0] + sizes).astype(np.int64)
        states = np.vstack([pcg64_state(np.random.PCG64(seeds[b])) for b in task])
        return cols, states, int(cols[-1])

    def uniforms(task):
        cols, states, _ = setup(task)
        _uniforms(states, cols, n_invoices)

    def normals(task):
        cols, states, total = setup(task)
        _normals(states, cols, n_invoices, np.empty(total))

    def lookup(task):
        cols, states, total = setup(task)
        s_month = np.zeros((prep.n_factor_months, total))
        s_cust = np.zeros((prep.n_customers, total))
        _lookup(states, cols, s_month, s_cust, prep.a_month, prep.a_cust, prep.c_own, prep.month, prep.cust,
                prep.table, prep.skip, prep.start, prep.theta, prep.guide, np.empty(total))

    def kernel(task):
        _run_blocks(prep, task, [seeds[b] for b in task], n_paths)

    for name, fn in (("uniforms", uniforms), ("normals", normals), ("+lookup", lookup), ("kernel", kernel)):
        fn(tasks[0][:1])                                  # compile
        show(name, threads, best_timed(lambda fn=fn: _run(tasks, threads, fn)))
    horizon = pd.Timestamp(KW["horizon_end"])
    show("prepare", threads, best_timed(lambda: _prepare_new(book, horizon, KW["rho_month"], KW["rho_customer"], None,
                                                         threads)))
    show("simulate", threads, best_timed(lambda: simulate(book, n_paths=n_paths, n_threads=threads, **KW)))

    def fresh() -> None:
        simulate(fresh_twin(book), n_paths=n_paths, n_threads=threads, **KW)

    show("sim-fresh", threads, best_timed(fresh))


def main(n_invoices: int = 10_000, n_paths: int = 10_000) -> None:
    from benchmarks.__main__ import floor_seconds
    from benchmarks.books import synthetic_book
    from cashsim.seeding import seed_sequence
    from cashsim.simulate import PATH_BLOCK, simulate

    book = synthetic_book(n_invoices)
    draws = n_invoices * n_paths
    simulate(book, n_paths=100, **KW)                     # compile / load the kernel
    floor = floor_seconds(draws)
    seeds = seed_sequence(KW["seed"]).spawn(-(-n_paths // PATH_BLOCK))
    print(f"{n_invoices:,} invoices x {n_paths:,} paths on {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'part':<10} {'threads':>7} {'wall s':>7} {'CPU s':>7} {'CPU ns/draw':>12} {'CPU/floor':>10}")

    def show(name, threads, t):
        print(f"{name:<10} {threads:>7} {t[0]:7.3f} {t[1]:7.3f} {t[1] / draws * 1e9:12.2f} {t[1] / floor[1]:10.2f}",
              flush=True)

    show("floor", 1, floor)
    for threads in (1, 2):
        _parts(book, threads, seeds, n_paths, show)


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
