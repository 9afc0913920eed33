"""The whole chain from a parameter file to a forecast against the target, in one call.

``run_from_params`` is what the notebooks, the monthly report, the scenario panel and the commands share:
ledger → behaviour → book (→ levers of a scenario) → simulation → smoothed targets. Each stage is a function of
its own module; this module only wires them, so every stage stays testable alone.

    >>> from cashsim.params import load_params
    >>> run = run_from_params(load_params("params/demo.yml"), n_paths=500)   # doctest: +SKIP
    >>> run.targets.months[["month", "p_target_met"]]                         # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from cashsim import progress
from cashsim.behaviour import PayerModel, fit_behaviour
from cashsim.book import Book
from cashsim.compare import cheapest_plan, compare_levers
from cashsim.kpi import customer_groups
from cashsim.ledger import Ledger
from cashsim.params import Params
from cashsim.simulate import Simulation, engine_session, simulate
from cashsim.sources import ledger_from_params
from cashsim.targets import TargetReport, target_report, window_actuals


def latest_date(ledger: Ledger) -> pd.Timestamp:
    """The default standing date of a forecast: :attr:`cashsim.ledger.Ledger.latest_date` (the latest date posted in the books)."""
    return ledger.latest_date


def resolve_as_of(params: Params, ledger: Ledger) -> pd.Timestamp:
    """The forecast's standing date: ``params.as_of``, or :func:`latest_date` of the ledger."""
    return pd.Timestamp(params.as_of) if params.as_of is not None else latest_date(ledger)


def horizon_end(as_of: pd.Timestamp, months: int) -> pd.Timestamp:
    """Last day of the horizon: the end of the ``months``-th calendar month after the as-of date's month.

    The first forecast month is the month of ``as_of + 1`` (so an as-of on the 31st starts the next month).
    """
    first = (as_of + pd.Timedelta(days=1)).to_period("M")
    return (first + (months - 1)).end_time.normalize()


@dataclass(frozen=True)
class Baseline:
    """What does not change when levers move: the ledger, the fitted payers and the book of the current practice."""

    params: Params
    ledger: Ledger
    as_of: pd.Timestamp
    horizon_end: pd.Timestamp
    model: PayerModel
    book: Book


@dataclass(frozen=True)
class Run:
    """One simulated scenario on top of a :class:`Baseline`."""

    base: Baseline
    book: Book
    sim: Simulation
    targets: TargetReport
    #: Customer id of each group of ``sim.group_monthly`` when the run was simulated per customer, else None.
    customer_labels: np.ndarray | None = None

    @property
    def params(self) -> Params:
        return self.base.params

    @property
    def ledger(self) -> Ledger:
        return self.base.ledger

    @property
    def model(self) -> PayerModel:
        return self.base.model

    @property
    def as_of(self) -> pd.Timestamp:
        return self.base.as_of

    @cached_property
    def weekly_quantiles(self) -> pd.DataFrame:
        return self.sim.quantiles("W")


def prepare(params: Params, *, ledger: Ledger | None = None) -> Baseline:
    """Read the ledger (unless given), fit payer behaviour as of the standing date and build the book to collect."""
    if ledger is None:
        progress.step("reading the ledger")
        ledger = ledger_from_params(params)
    as_of = resolve_as_of(params, ledger)
    progress.step(f"fitting payer behaviour as of {as_of:%Y-%m-%d}")
    end = horizon_end(as_of, params.horizon_months)
    b = params.behaviour
    model = fit_behaviour(ledger, as_of, half_life_days=b.half_life_days, grace_days=b.grace_days,
                          reliable_threshold=b.reliable_threshold, prior_never_paid=b.prior_never_paid)
    known = ledger.known_at(as_of)
    book = model.book(known.open_book(as_of), params.sales_plan, horizon_end=end, promises=known.promises)
    return Baseline(params=params, ledger=ledger, as_of=as_of, horizon_end=end, model=model, book=book)


def simulate_book(base: Baseline, book: Book, *, n_paths: int | None = None, seed: int | None = None,
                  burn=None, group_by=None) -> Run:
    """Simulate ``book`` (the baseline's, or one transformed by levers) and set it against the smoothed target.

    The same ``seed`` on two books gives common random numbers: their difference is the levers', not noise.
    """
    sim = simulate_only(base, book, n_paths=n_paths, seed=seed, group_by=group_by)
    targets = target_report(sim, burn or base.params.burn, base.ledger)
    return Run(base=base, book=book, sim=sim, targets=targets)


def simulate_only(base: Baseline, book: Book, *, n_paths: int | None = None, seed: int | None = None,
                  group_by=None) -> Simulation:
    """The collections of ``book`` simulated with the baseline's copula and the params' simulation settings."""
    sp = base.params.simulation
    return simulate(book, horizon_end=base.horizon_end, n_paths=n_paths or sp.n_paths,
                    seed=sp.seed if seed is None else seed, rho_month=base.model.rho_month,
                    rho_customer=base.model.rho_customer, group_by=group_by, **sp.engine_options())


def run_from_params(params: Params, *, n_paths: int | None = None, seed: int | None = None,
                    ledger: Ledger | None = None, by_customer: bool = False) -> Run:
    """The baseline forecast of a parameter file: :func:`prepare` then :func:`simulate_book`.

    ``by_customer=True`` also keeps each customer's monthly cash per path (``sim.group_monthly``, labels in
    ``customer_labels``), for :func:`cashsim.kpi.customer_shortfall`; the totals are the same numbers either way.
    """
    base = prepare(params, ledger=ledger)
    if not by_customer:
        return simulate_book(base, base.book, n_paths=n_paths, seed=seed)
    codes, labels = customer_groups(base.book)
    run = simulate_book(base, base.book, n_paths=n_paths, seed=seed, group_by=codes)
    return replace(run, customer_labels=labels)



# ----------------------------------------------------------------------------------------------- lever studies

#: Future invoices are booked this far past the horizon for lever studies: their deposits, asked at order, fall
#: within it.
LEVER_BOOK_EXTRA_DAYS = 62


@dataclass(frozen=True)
class LeverStudy:
    """The params' scenarios of levers against the baseline, as ``cashsim levers`` and the monthly report show
    them: the book they act on, the scenarios adapted to the company, the dunning effects estimated from its log,
    the comparison table and the cheapest plan (None when not searched)."""

    book: Book
    scenarios: dict[str, list]
    estimates: pd.DataFrame
    table: pd.DataFrame
    plan: Any


def company_scenarios(params: Params, ledger: Ledger, as_of: pd.Timestamp) -> tuple[dict, pd.DataFrame]:
    """The params' scenarios with the company's own figures filled in where a lever leaves them unset (dunning
    effects estimated from its own log where reliable, the share of late payment held up by disputes, its hourly
    cost and gross margin), and the dunning-log estimates used."""
    from cashsim.levers import (CutOffThreat, DunningPlan, PromiseCalls, calibrate_dunning, dispute_share_of_late,
                                estimate_dunning_effects)

    known = ledger.known_at(as_of)
    estimates = estimate_dunning_effects(known) if len(known.dunning) else pd.DataFrame()
    share = dispute_share_of_late(known.status(as_of))
    fin = params.finance

    def adapt(lever):
        unset = lambda key: key not in lever.model_fields_set  # noqa: E731
        if isinstance(lever, DunningPlan) and unset("dispute_share_of_late"):
            return lever.model_copy(update={"dispute_share_of_late": share})
        if isinstance(lever, PromiseCalls) and unset("hourly_cost"):
            return lever.model_copy(update={"hourly_cost": fin.hourly_cost})
        if isinstance(lever, CutOffThreat) and unset("gross_margin"):
            return lever.model_copy(update={"gross_margin": fin.gross_margin})
        return lever

    scenarios = {name: calibrate_dunning([adapt(lv) for lv in levers], estimates)
                 for name, levers in params.scenarios.items()}
    return scenarios, estimates


def lever_book(base: Baseline, extra_days: int = LEVER_BOOK_EXTRA_DAYS) -> Book:
    """The book lever studies act on: the open invoices with their dispute flag and payment method (so levers
    leave open disputes and direct-debit payers alone) and the sales plan's invoices to ``extra_days`` past the
    horizon (0: the baseline's own book), with each invoice's ``customer_type`` (the levers' eligibility)."""
    from cashsim.levers import annotate_book
    from cashsim.levers.eligibility import annotate_customer_types

    known = base.ledger.known_at(base.as_of)
    open_book = known.open_book(base.as_of)
    book = base.book if extra_days == 0 else base.model.book(
        open_book, base.params.sales_plan, horizon_end=base.horizon_end + pd.Timedelta(days=extra_days),
        promises=known.promises)
    return annotate_customer_types(annotate_book(book, open_book), known.customers)


def study_levers(base: Baseline, *, n_paths: int | None = None, seed: int | None = None,
                 plan_paths: int | None = None, plan: bool = True,
                 extra_days: int = LEVER_BOOK_EXTRA_DAYS) -> LeverStudy:
    """Every scenario of the params, adapted to the company (:func:`company_scenarios`), against the baseline
    (:func:`cashsim.compare.compare_levers`) and the cheapest plan (:func:`cashsim.compare.cheapest_plan`, on
    ``plan_paths`` paths, default ``n_paths``), on common random numbers, with the window's collections to date,
    on the params' engine (one dask cluster for both), on :func:`lever_book` (``extra_days``).

    ``extra_days=0`` studies the forecast's own book: its baseline row is then the forecast itself, number for
    number (more future invoices would add month and customer factors to the random streams), but deposits asked
    at order for invoices issued after the horizon are left out."""
    params = base.params
    n_paths = params.simulation.n_paths if n_paths is None else int(n_paths)
    seed = params.simulation.seed if seed is None else int(seed)
    book = lever_book(base, extra_days)
    scenarios, estimates = company_scenarios(params, base.ledger, base.as_of)
    common = dict(seed=seed, horizon_end=base.horizon_end, actual_past=window_actuals(base.ledger, params.burn,
                                                                                     base.as_of))
    with engine_session(params.simulation.engine_options()) as opts:
        table = compare_levers(book, base.model, scenarios, params.burn, n_paths=n_paths, engine=opts, **common)
        best = cheapest_plan(book, base.model, scenarios, params.burn, n_paths=plan_paths or n_paths, engine=opts,
                             **common) if plan else None
    return LeverStudy(book=book, scenarios=scenarios, estimates=estimates, table=table, plan=best)
