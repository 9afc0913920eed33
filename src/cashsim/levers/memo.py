"""Lever applications remembered along a chain: a lever study applies the same levers to the same book many times.

A study (:func:`cashsim.compare.compare_levers` then :func:`cashsim.compare.cheapest_plan`) applies every scenario's
levers to one book, then the plan search applies ``plan + candidate`` for every candidate of every round: the plan's
own levers (a new dunning plan: the costliest lever to apply) are applied again for each of the round's trials, and
the first round's trials are mostly the scenarios already compared. Applying a lever is a pure function of its
input book, the lever and the payer model, so :class:`LeverMemo` keeps each result keyed by the chain of levers
that led to it (``levers[:i + 1]`` from the study's book) and :meth:`LeverMemo.apply` applies only what it has
not seen: the same books and costs, bit for bit, as :func:`cashsim.levers.apply_levers_traced`.

Two levers are the same link when they are of the same class with the same values *and* the same fields set
explicitly (a lever may read ``model_fields_set``: :class:`cashsim.levers.PromiseCalls` does); floats are keyed by
their ``repr`` (``-0.0`` is not ``0.0``). Books are never modified in place by a lever (each builds a new one with
:meth:`Book.derive`), so a remembered book can be the input of the next lever.

Memory: every remembered book holds its own pmf rows (a dunning plan doubles them); :meth:`LeverMemo.keep` drops
every chain that is not a prefix of the given ones (the plan search keeps only the plan chosen at each round).

:func:`map_scenarios` runs a study's independent scenarios (or a plan round's trials) on a few threads: applying
levers is numpy work on big arrays and the engine's kernel releases the GIL, so two scenarios overlap on two
cores; each keeps its own seed, so the results do not depend on the number of threads.

A memo also carries the engine's normals of the chain's runs (:attr:`LeverMemo.draws`,
:class:`cashsim.simulate.draws.Draws`): every run of a study uses one seed, so its streams are drawn once and
read by the other runs -- the same numbers, bit for bit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
from pydantic import BaseModel

from cashsim.levers._book import empty_costs

if TYPE_CHECKING:
    from cashsim.behaviour import PayerModel
    from cashsim.levers.spec import LeverSpec
    from cashsim.simulate import Book

T = TypeVar("T")
R = TypeVar("R")
#: Memory a :class:`LeverMemo` may hold in simulations of its chains (bytes; the demo study's: 54 MB).
SIMULATION_BYTES = 256 * 2 ** 20
#: Scenarios run at once by :func:`map_scenarios` by default (at most the machine's cores); 1 runs them in turn.
SCENARIO_WORKERS = 2


def scenario_workers(workers: int | None = None) -> int:
    """``workers``, else ``$CASHSIM_SCENARIO_WORKERS``, else :data:`SCENARIO_WORKERS` capped at the cores."""
    if workers is None:
        env = os.environ.get("CASHSIM_SCENARIO_WORKERS", "").strip()
        workers = int(env) if env.isdigit() else min(SCENARIO_WORKERS, os.cpu_count() or 1)
    return max(1, int(workers))


def map_scenarios(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterator[R]:
    """``fn(x) for x in items``, on :func:`scenario_workers` threads, yielded in the order of ``items``: at most
    ``workers`` results ahead of the caller, so a caller that keeps only what it needs of each holds few at once."""
    items = list(items)
    n = min(scenario_workers(workers), len(items))
    if n <= 1:
        yield from (fn(x) for x in items)
        return
    with ThreadPoolExecutor(n, thread_name_prefix="cashsim-scenario") as pool:
        pending = [pool.submit(fn, x) for x in items[:n]]
        for x in items[n:]:
            done = pending.pop(0).result()
            pending.append(pool.submit(fn, x))
            yield done
        for f in pending:
            yield f.result()


def lever_key(value: Any) -> Any:
    """A hashable key equal for two levers exactly when applying them cannot differ (class, values, fields set)."""
    if isinstance(value, BaseModel):
        fields = tuple((name, lever_key(getattr(value, name))) for name in type(value).model_fields)
        return type(value).__module__, type(value).__qualname__, fields, tuple(sorted(value.model_fields_set))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((repr(k), lever_key(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(lever_key(v) for v in value))
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, repr(value))


class LeverMemo:
    """The levers applied to one ``book`` with one ``model``, remembered by chain (see the module docstring);
    ``apply`` returns what ``apply_levers_traced`` would.

    >>> memo = LeverMemo(book, model)                             # doctest: +SKIP
    >>> new_book, costs, inputs = memo.apply([dunning, calls])    # doctest: +SKIP
    """

    def __init__(self, book: Book, model: PayerModel | None) -> None:
        self.book = book
        self.model = model
        self._done: dict[tuple, tuple[Book, pd.DataFrame]] = {}
        self._keys: dict[int, tuple[Any, Any]] = {}     # id(lever) -> (lever, lever_key(lever))
        self._lock = threading.Lock()
        # imported here: cashsim.simulate loads the compiled engine, which the lever specs (every params load) need not
        from cashsim.simulate.draws import Draws

        #: The engine's normals of the runs on this book's chains (same seed: the same streams), drawn once.
        self.draws = Draws()
        #: Simulations of chains, by (chain, run settings): see :meth:`simulation`.
        self._sims: dict[tuple, Any] = {}
        self.hits = 0
        self.misses = 0

    def serves(self, book: Book, model: Any) -> bool:
        """Whether this memo was built for this very book and model (identity, not equality)."""
        return book is self.book and model is self.model

    def chain_key(self, levers: list[LeverSpec]) -> tuple:
        """The key of the chain ``levers`` (one :func:`lever_key` per lever): what :meth:`apply`, :meth:`simulation`
        and :meth:`remember_simulation` take as ``key``, so a run works its chain's key out once. Each lever's key
        is worked out once per lever object (levers are frozen; the plan search tries the same ones every round)."""
        keys = []
        for lever in levers:
            hit = self._keys.get(id(lever))
            if hit is None or hit[0] is not lever:
                hit = (lever, lever_key(lever))     # the lever held: its id is not reused while the memo lives
                self._keys[id(lever)] = hit
            keys.append(hit[1])
        return tuple(keys)

    def apply(self, levers: list[LeverSpec], key: tuple | None = None) -> tuple[Book, pd.DataFrame, list[Book]]:
        """:func:`cashsim.levers.apply_levers_traced` on the memo's book: (new book, costs, each lever's input).
        ``key``: :meth:`chain_key` of ``levers``, when known."""
        key = self.chain_key(levers) if key is None else key
        book, frames, inputs = self.book, [empty_costs()], []
        for i, lever in enumerate(levers):
            inputs.append(book)
            chain = key[:i + 1]
            with self._lock:
                hit = self._done.get(chain)
                if hit is not None:
                    self.hits += 1
            if hit is None:
                after = lever.apply(book, self.model)
                hit = (after, lever.costs(book, self.model, after=after))
                with self._lock:
                    self.misses += 1
                    hit = self._done.setdefault(chain, hit)  # a thread that raced us: its book, so the
                    # caches keyed by book identity (per_book, serves) see one book per chain
            book = hit[0]
            frames.append(hit[1])
        return book, pd.concat(frames, ignore_index=True), inputs

    def simulation(self, key: tuple, settings: tuple, n_paths: int) -> Any:
        """The simulation remembered for the chain of :meth:`chain_key` ``key`` and these run ``settings`` (seed,
        horizon, copula) on at least ``n_paths`` paths (:meth:`remember_simulation`), or None. Its first ``n_paths``
        paths are a run on ``n_paths`` paths when both are whole blocks of :data:`~cashsim.simulate.PATH_BLOCK`:
        each block of paths is drawn from its own seed (the caller checks this)."""
        key = (key, settings)
        with self._lock:
            sim = self._sims.get(key)
        return sim if sim is not None and sim.n_paths >= n_paths else None

    def remember_simulation(self, key: tuple, settings: tuple, sim: Any) -> None:
        """Keep ``sim`` (the chain of :meth:`chain_key` ``key`` simulated with ``settings``) for :meth:`simulation`
        (the largest), while the simulations kept hold at most :data:`SIMULATION_BYTES`."""
        key = (key, settings)
        with self._lock:
            old = self._sims.get(key)
            held = sum(v.daily.nbytes + v.daily_cost.nbytes for k, v in self._sims.items() if k != key)
            if (old is None or old.n_paths < sim.n_paths) and \
                    held + sim.daily.nbytes + sim.daily_cost.nbytes <= SIMULATION_BYTES:
                self._sims[key] = sim

    def keep(self, *chains: list[LeverSpec]) -> None:
        """Forget every remembered chain that is not a prefix of one of ``chains`` (and every simulation but
        theirs)."""
        keys = [self.chain_key(c) for c in chains]
        with self._lock:
            self._done = {k: v for k, v in self._done.items() if any(c[:len(k)] == k for c in keys)}
            self._sims = {k: v for k, v in self._sims.items() if k[0] in keys}

    def __len__(self) -> int:
        return len(self._done)
