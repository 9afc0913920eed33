"""The panel's computations without widgets: fit once, then levers + simulation per scenario, memoised.

The expensive parts - ledger, fit, base Book - are computed ONCE by :func:`cashsim.pipeline.prepare`. A change only
re-applies levers (prefix-cached: changing the k-th lever of the canonical order re-applies levers k...n only) and
re-simulates with the **same seed**: common random numbers, so a difference between baseline and proposal is the
lever's, not noise, and moving a slider back returns the same picture bit for bit (results are also memoised by
scenario, in small least-recently-used memos; a burn change re-computes the target report only, not the
simulation).

Latency (:func:`benchmark_update`: median of 7 discount steps on the demo company, each a value not seen before)
measured on 2 cores shared with other jobs (load average 4.3-4.6): 0.27-0.44 s at 500 paths, 0.23-0.31 s at 250-300
paths; the time is mostly fixed costs, not paths - per update about 65 ms simulate (engine set-up and the exact
invoice probabilities, which the panel does not use, included), 60 ms levers, 55 ms target report, 45 ms redraw.

Example::

    >>> engine = PanelEngine(prepare(params), params, n_paths=500)          # doctest: +SKIP
    >>> out = engine.outcome(4, scenario.levers)                           # doctest: +SKIP
    >>> engine.report(out, scenario.burn).forecast_months                  # doctest: +SKIP
"""

from __future__ import annotations

import statistics
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cashsim.book import Book
from cashsim.errors import ParamsError
from cashsim.levers import EarlyPaymentDiscount, LeverSpec, apply_levers, empty_costs
from cashsim.panel.controls import MAX_HORIZON
from cashsim.params import CashBurn, Params
from cashsim.pipeline import Baseline, for_levers, horizon_end, lever_book
from cashsim.simulate import Simulation, simulate
from cashsim.targets import TargetReport, target_report

#: Default Monte Carlo paths per update: enough for stable medians and 10-90 % bands, small enough to be live.
PANEL_PATHS = 500


class _LRU(OrderedDict):
    """A small least-recently-used memo (results are immutable, so sharing them is safe)."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get_or(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value


@dataclass(frozen=True)
class Outcome:
    """One scenario simulated on the panel's paths: the book after its levers, the simulation, their costs."""

    levers: tuple[LeverSpec, ...]
    book: Any
    sim: Simulation
    costs: pd.DataFrame   # lever, month, item, amount, in_simulation (expected, from the levers' own laws)
    key: tuple = ()       # (horizon, levers as JSON): the memo key, also the identity of the simulation


class PanelEngine:
    """The panel's computations without widgets: fit once, then levers + simulation per scenario, memoised.

    ``base`` is what :func:`cashsim.pipeline.prepare` returns (ledger, as_of, fitted model, the book of the params'
    horizon), computed once. Every simulation uses ``seed``: common random numbers across scenarios and updates.
    """

    def __init__(self, base: Baseline, params: Params, *, n_paths: int = PANEL_PATHS, seed: int | None = None):
        if int(n_paths) < 1:
            raise ParamsError(f"n_paths must be at least 1, got {n_paths}")
        self.base = base
        self.params = params
        self.ledger = base.ledger
        self.model = base.model
        self.as_of = pd.Timestamp(base.as_of).normalize()
        self.n_paths = int(n_paths)
        self.seed = int(params.simulation.seed if seed is None else seed)
        self._books = _LRU(MAX_HORIZON + 1)
        self._chains = _LRU(64)
        self._outcomes = _LRU(64)
        self._reports = _LRU(128)
        if base.horizon_end == horizon_end(self.as_of, params.horizon_months):
            self._books[params.horizon_months] = lever_book(base, extra_days=0)   # the pipeline's book, annotated
        self._known = None

    def base_book(self, months: int) -> Book:
        """The book without levers for a horizon: open invoices + the sales plan's invoices to its end, built as
        :func:`cashsim.pipeline.prepare` builds it, with what levers read (:func:`cashsim.pipeline.for_levers`:
        disputes, payment method, customer type) as in the lever study (memoised)."""
        def make() -> Book:
            if self._known is None:
                self._known = self.ledger.known_at(self.as_of)
            open_book = self._known.open_book(self.as_of)
            book = self.model.book(open_book, self.params.sales_plan, horizon_end=horizon_end(self.as_of, months),
                                   promises=self._known.promises)
            return for_levers(book, open_book, self._known.customers)   # the levers' eligibility, as in the study
        return self._books.get_or(int(months), make)

    def _apply(self, months: int, levers: tuple[LeverSpec, ...]) -> tuple[Any, pd.DataFrame]:
        """Apply levers in order, memoising every prefix: a change to lever k re-applies levers k..n only."""
        if not levers:
            return self.base_book(months), empty_costs()
        key = (int(months), *(lv.model_dump_json() for lv in levers))

        def make() -> tuple[Any, pd.DataFrame]:
            book, costs = self._apply(months, levers[:-1])
            lever = levers[-1]
            if isinstance(lever, EarlyPaymentDiscount):
                # its only cost is the discount the engine books path by path (Simulation.daily_cost): the
                # expected-value estimate of lever.costs would be computed for nothing
                return lever.apply(book, self.model), costs
            new_book, new_costs = apply_levers(book, [lever], self.model)
            return new_book, pd.concat([costs, new_costs], ignore_index=True)
        return self._chains.get_or(key, make)

    def outcome(self, months: int, levers: tuple[LeverSpec, ...]) -> Outcome:
        """Levers applied to the base book of the horizon and simulated (memoised by levers and horizon)."""
        levers = tuple(levers)
        key = (int(months), *(lv.model_dump_json() for lv in levers))

        def make() -> Outcome:
            book, costs = self._apply(months, levers)
            sim = simulate(book, horizon_end=horizon_end(self.as_of, months), n_paths=self.n_paths, seed=self.seed,
                           rho_month=self.model.rho_month, rho_customer=self.model.rho_customer,
                           chunk_paths=self.params.simulation.chunk_paths)
            return Outcome(levers=levers, book=book, sim=sim, costs=costs, key=key)
        return self._outcomes.get_or(key, make)

    def report(self, outcome: Outcome, burn: CashBurn) -> TargetReport:
        """The target report of an outcome for a burn (memoised: the burn sliders do not re-simulate)."""
        key = (outcome.key, burn.model_dump_json())
        return self._reports.get_or(key, lambda: target_report(outcome.sim, burn, self.ledger))


# ================================================================================================ benchmark


def benchmark_update(params_path: str | Path, *, n_paths: int = PANEL_PATHS, repeats: int = 7) -> float:
    """Median seconds a control change takes to be shown on the panel (levers, simulation, tables, redraw).

    The panel is built once (fit not timed); each timed change is to a value not seen before (the discount rate
    moves 0.25 % at a time), so no memo answers it. Goal: under 0.3 s on the demo company.
    """
    from cashsim.panel.widget import ScenarioPanel  # the widgets build on this module

    panel = ScenarioPanel(params_path, n_paths=n_paths)
    spec = panel._spec["discount_rate"]
    times = []
    for i in range(1, repeats + 1):
        value = min(spec.hi, panel.start["discount_rate"] + i * spec.step)
        t0 = time.perf_counter()
        panel.update(discount_rate=value)
        times.append(time.perf_counter() - t0)
    return float(statistics.median(times))
