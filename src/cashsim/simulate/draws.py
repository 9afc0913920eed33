"""The engine's normals kept for a series of runs on one seed (*tirages réutilisés*): a lever study draws them once.

Every run of a lever study (the comparison's scenarios, the plan search's trials) uses the same seed, so each of
its blocks of :data:`~cashsim.simulate.backends.PATH_BLOCK` paths draws the same stream: the month factors, the
customer factors, then one standard normal per (invoice, path) in the book's row order, whatever the invoices'
laws, amounts or discounts (common random numbers). The stream's layout depends only on the seed, the block, the
number of factor months and of customers; so a :class:`Draws` remembers, per such key, the normals of the first run
(a *record*) and later runs read them instead of drawing them again: the very same numbers, bit for bit, in the
same order, so the results are those of a full run (``tests/test_simulate.py`` compares them).

* A book with **more invoices** than the record (invoices added by a lever) reads the recorded ones and draws the
  rest from each block's stream state recorded after the last of them; one with fewer reads a prefix.
* Only whole blocks are kept: a run records when every block is whole (``n_paths`` a multiple of ``PATH_BLOCK``);
  a task uses the record when all its blocks are whole and recorded (a 500-path trial reads the first five blocks
  of a 2,000-path record); anything else draws, as without a ``Draws``.
* **Memory**: ``8 (n_invoices + n_factor_months + n_customers)`` bytes a path (the demo's 5,469 invoices on 2,000
  paths: 90 MB); a record beyond ``max_bytes`` is not kept (the runs then draw). The dask backend never uses one.

Example::

    >>> store = Draws(max_bytes=0)        # nothing fits: every run draws, as without a store
    >>> len(store)
    0
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

#: Default memory budget of a :class:`Draws` (bytes): the normals of one or two lever studies' baselines.
DEFAULT_MAX_BYTES = 256 * 2 ** 20


@dataclass(eq=False)
class _Record:
    """The normals of ``n_blocks`` whole blocks: ``e[b, i, p]`` invoice ``i``'s normal on path ``p`` of block ``b``,
    the standard month and customer factors ``s_month[b]``, ``s_cust[b]``, and each block's stream state after
    its ``n_invoices``-th invoice, ``end[b]`` (:func:`cashsim.simulate.pcg64_state`'s form)."""

    e: np.ndarray
    s_month: np.ndarray
    s_cust: np.ndarray
    end: np.ndarray
    complete: bool = False

    @property
    def n_blocks(self) -> int:
        return self.e.shape[0]

    @property
    def n_invoices(self) -> int:
        return self.e.shape[1]


class Draws:
    """The normals of runs on one seed, kept for the next runs (see the module docstring); thread-safe.

    Pass one to :func:`cashsim.simulate.simulate` (``draws=``) for every run of a series: the first run of each
    stream layout records, the others read. The results never depend on it."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = int(max_bytes)
        self._records: dict[tuple, _Record] = {}
        self._lock = threading.Lock()
        self.reads = 0
        self.records = 0

    def __len__(self) -> int:
        return sum(r.complete for r in self._records.values())

    def _bytes(self) -> int:
        return sum(r.e.nbytes + r.s_month.nbytes + r.s_cust.nbytes for r in self._records.values())

    def claim(self, key: tuple, n_blocks: int, n_whole: int, n_invoices: int, n_months: int, n_customers: int,
              block: int) -> tuple[str, _Record | None]:
        """For a run of ``n_blocks`` blocks (the first ``n_whole`` whole) on the stream layout ``key``:
        ``("read", record)`` when a complete record holds blocks to read, ``("write", record)`` when this run is to
        record (an empty record, kept by :meth:`done`), else ``("draw", None)``."""
        with self._lock:
            rec = self._records.get(key)
            if rec is not None and rec.complete and rec.n_blocks > 0:
                self.reads += 1
                return "read", rec
            if rec is not None or n_whole != n_blocks or n_blocks == 0:      # being recorded, or partial blocks
                return "draw", None
            size = 8 * n_blocks * block * (n_invoices + n_months + n_customers)
            if self._bytes() + size > self.max_bytes:
                return "draw", None
            rec = _Record(e=np.empty((n_blocks, n_invoices, block)), s_month=np.empty((n_blocks, n_months, block)),
                          s_cust=np.empty((n_blocks, n_customers, block)), end=np.empty((n_blocks, 4), np.uint64))
            self._records[key] = rec
            return "write", rec

    def done(self, key: tuple, record: _Record, ok: bool) -> None:
        """The run that claimed ``record`` has finished (``ok``: it filled it): keep it, else forget it."""
        with self._lock:
            if ok:
                record.complete = True
                self.records += 1
            elif self._records.get(key) is record:
                del self._records[key]


def stream_key(seeds: list[np.random.SeedSequence], n_months: int, n_customers: int) -> tuple:
    """The stream layout of a run: its blocks' seeds (the first child's identity: the others follow it) and the
    numbers of factor months and customers drawn before the invoices."""
    s = seeds[0]
    entropy = tuple(s.entropy) if isinstance(s.entropy, list | tuple | np.ndarray) else s.entropy
    return entropy, tuple(s.spawn_key), s.pool_size, int(n_months), int(n_customers)
