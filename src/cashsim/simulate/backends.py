"""Where the engine's tasks run (*exécution*): local threads or dask.distributed, with the seeding that makes the
result the same on both.

* **Seeds**: ``SeedSequence(seed).spawn(n_blocks)``, one child per block of :data:`PATH_BLOCK` paths, whatever
  ``chunk_paths`` (tasks only group blocks), the number of threads or the backend (local or dask): the same seed
  gives the same numbers bit for bit. Within a block the stream (``Generator(PCG64(child)).standard_normal``,
  drawn in the compiled kernel) is: month factors, customer factors, then one standard normal per (invoice,
  path), invoice-major in the book's row order (:func:`_run_blocks`).
* **Local** (:func:`_run_local`): tasks on a thread pool (the kernel releases the GIL), each writing its paths'
  rows of the run's result in place.
* **dask** (:func:`_run_dask`): the prepared arrays are scattered once to every worker, each task returns its rows;
  the scheduler at ``dask_address``, else a LocalCluster of one single-threaded worker process per core (at most
  two) started for the run. :func:`engine_session` keeps one LocalCluster for a series of runs.

Example::

    >>> _tasks(450, 200)               # blocks of 100 paths, two blocks a task
    [[0, 1], [2, 3], [4]]
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

from cashsim.errors import ParamsError
from cashsim.simulate._pcg64 import pcg64_state, standard_normals
from cashsim.simulate.kernel import _simulate_task
from cashsim.simulate.tables import _Prepared

#: Paths per seed child: the unit of seeding. ``chunk_paths`` only groups blocks, so it never changes the numbers.
PATH_BLOCK = 100


def _block_paths(n_paths: int, block: int) -> int:
    return min(PATH_BLOCK, n_paths - block * PATH_BLOCK)


_NO_DRAWS = np.empty((0, 0, PATH_BLOCK))


def _run_blocks(prep: _Prepared, blocks: list[int], seeds: list[np.random.SeedSequence], n_paths: int,
                out: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None,
                stream: tuple[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """Cash per day (and discounts, group months) for the paths of ``blocks``, in block order: written into
    ``out`` (the rows of these paths in the run's ``daily``, ``daily_cost`` and ``group_monthly``) or returned.

    Stream of a block (``Generator(PCG64(child)).standard_normal``, drawn in the compiled kernel): month factors
    (n_factor_months x paths), customer factors (n_customers x paths), then one standard normal per (invoice,
    path), invoice-major in the book's row order. ``stream``: ``("read", record)`` reads these normals from a
    :mod:`cashsim.simulate.draws` record, ``("write", record)`` writes them to it (only for tasks whose blocks are
    whole and consecutive: the others draw); the same numbers either way.
    """
    sizes = [_block_paths(n_paths, b) for b in blocks]
    cols = np.cumsum([0] + sizes).astype(np.int64)
    total = int(cols[-1])
    daily = np.zeros((prep.n_days + 1, total))      # days x paths (cache-friendly); last row: the sink
    # discounts only where the book has some (the kernel never books one otherwise)
    cost = np.zeros((prep.n_days + 1, total) if prep.any_discount else (1, 1))
    groups = np.zeros((total, prep.n_groups, prep.n_months + 1)) if prep.use_groups else np.zeros((1, 1, 1))
    mode, rec = stream or ("draw", None)
    lo, hi = blocks[0], blocks[-1] + 1
    usable = (rec is not None and hi <= rec.n_blocks and all(s == PATH_BLOCK for s in sizes)
              and list(blocks) == list(range(lo, hi)))
    mode = mode if usable else "draw"
    s_month = np.empty((prep.n_factor_months, total))
    s_cust = np.empty((prep.n_customers, total))
    stored, n_stored, kept = _NO_DRAWS, 0, _NO_DRAWS
    if mode == "read":                                    # the recorded factors; the states after the recorded
        states = rec.end[lo:hi].copy()                   # invoices (a longer book draws on from there)
        for b in range(len(blocks)):
            s_month[:, cols[b]:cols[b + 1]] = rec.s_month[lo + b]
            s_cust[:, cols[b]:cols[b + 1]] = rec.s_cust[lo + b]
        stored, n_stored = rec.e[lo:hi], min(rec.n_invoices, len(prep.month))
    else:
        states = np.vstack([pcg64_state(np.random.PCG64(seed)) for seed in seeds])
        for b, size in enumerate(sizes):
            for k, factors in enumerate((s_month, s_cust)):  # standard normals: the kernel applies the loadings
                drawn = np.empty((factors.shape[0], size))
                standard_normals(states[b], drawn)
                factors[:, cols[b]:cols[b + 1]] = drawn
                if mode == "write":
                    (rec.s_month, rec.s_cust)[k][lo + b] = drawn
        if mode == "write":
            kept = rec.e[lo:hi]
    _simulate_task(states, cols, s_month, s_cust, prep.a_month, prep.a_cust, prep.c_own, prep.month, prep.cust,
                   prep.table, prep.skip, prep.limit, prep.offset, prep.cal_row, prep.amount, prep.disc_g,
                   prep.disc_rate, prep.group, prep.start, prep.first_g, prep.theta, prep.guide, prep.calendars,
                   prep.month_of_day, daily, cost, groups, prep.use_groups, np.empty(total),
                   np.empty(max(prep.longest, 1), np.int64), stored, n_stored, kept, mode == "write")
    if mode == "write":
        rec.end[lo:hi] = states
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


def _run_local(prep, tasks, seeds, n_paths, n_threads, progress, out, stream=None):
    """Run the tasks on ``n_threads`` threads; each writes its paths' rows of ``out`` (daily, cost, groups).
    ``stream``: normals read from or written to a record (:func:`_run_blocks`)."""
    n_threads = max(1, min(n_threads or os.cpu_count() or 1, len(tasks)))

    def run(task: list[int]) -> None:
        rows = slice(task[0] * PATH_BLOCK, task[0] * PATH_BLOCK + sum(_block_paths(n_paths, b) for b in task))
        _run_blocks(prep, task, [seeds[b] for b in task], n_paths,
                    (out[0][rows], out[1][rows], None if out[2] is None else out[2][rows]), stream)

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
