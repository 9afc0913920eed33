"""The whole chain from a parameter file to a forecast against the target, in one call.

``run_from_params`` is what the notebooks, the monthly report, the scenario panel and the commands share:
ledger → behaviour → book (→ levers of a scenario) → simulation → smoothed targets. Each stage is a function of
its own module; this module only wires them, so every stage stays testable alone.

    >>> from cashsim.params import load_params
    >>> run = run_from_params(load_params("params/demo.yml"), n_paths=500)   # doctest: +SKIP
    >>> run.targets.months[["month", "p_target_met"]]                         # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from cashsim import progress
from cashsim.behaviour import PayerModel, fit_behaviour
from cashsim.book import Book
from cashsim.cache import cached_baseline
from cashsim.compare import cheapest_plan, compare_levers
from cashsim.kpi import customer_groups
from cashsim.ledger import Ledger
from cashsim.levers.memo import LeverMemo
from cashsim.memory import check_paths
from cashsim.params import Params
from cashsim.simulate import Simulation, engine_session, simulate
from cashsim.sources import ledger_from_params
from cashsim.targets import TargetReport, target_report, window_actuals


def latest_date(ledger: Ledger) -> pd.Timestamp:
    """The default standing date of a forecast: :attr:`cashsim.ledger.Ledger.latest_date` (the latest date posted in
    the books)."""
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


def fit_settings(params: Params) -> dict[str, Any]:
    """The arguments of :func:`cashsim.behaviour.fit_behaviour` the params set (the fit cache's key holds them)."""
    b = params.behaviour
    return dict(half_life_days=b.half_life_days, grace_days=b.grace_days, reliable_threshold=b.reliable_threshold,
                prior_never_paid=b.prior_never_paid, segment_months=b.segment_months,
                persistence_test=b.persistence_test,
                seed=params.simulation.seed)  # the run's seed reaches the fit too: no hidden default


def book_inputs(params: Params, end: Any) -> dict[str, Any]:
    """What the book is built from besides the model, as plain values (the fit cache's book key holds them)."""
    return {"sales_plan": [line.model_dump(mode="json") for line in params.sales_plan], "horizon_end": end}


def with_seed(params: Params, seed: int | None) -> Params:
    """``params`` with ``simulation.seed`` replaced by an int ``seed`` (``--seed``), for the fit too; else as is."""
    if seed is not None and isinstance(seed, int) and seed != params.simulation.seed:
        params = params.model_copy(update={"simulation": params.simulation.model_copy(update={"seed": seed})})
    return params


def prepare(params: Params, ledger: Ledger | None = None, *, cache: bool = True) -> Baseline:
    """Read the ledger (unless given), fit payer behaviour as of the standing date and build the book to collect.

    With ``cache`` (and ``params.cache.enabled``, and no ``CASHSIM_NO_CACHE`` in the environment) the fitted model
    and the book come from the fit cache (:mod:`cashsim.cache`) when this ledger's content, as-of date and
    behaviour settings were fitted before: the same numbers, bit for bit, without the fit."""
    if ledger is None:
        progress.step("reading the ledger")
        ledger = ledger_from_params(params)
    as_of = resolve_as_of(params, ledger)
    progress.step("fitting payer behaviour as of {date}", date=pd.Timestamp(as_of).date())
    end = horizon_end(as_of, params.horizon_months)
    settings = fit_settings(params)
    known = ledger.known_at(as_of)

    def build_book(model: PayerModel) -> Book:
        return model.book(known.open_book(as_of), params.sales_plan, horizon_end=end, promises=known.promises)

    if cache and params.cache.enabled:
        model, book = cached_baseline(
            ledger, as_of, settings, folder=params.resolve(params.cache.dir), build_book=build_book,
            book_inputs=book_inputs(params, end))
    else:
        model = fit_behaviour(ledger, as_of, **settings)
        book = build_book(model)
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
                    ledger: Ledger | None = None, by_customer: bool = False, cache: bool = True) -> Run:
    """The baseline forecast of a parameter file: :func:`prepare` (``cache``: use the fit cache) then
    :func:`simulate_book`.

    ``by_customer=True`` also keeps each customer's monthly cash per path (``sim.group_monthly``, labels in
    ``customer_labels``), for :func:`cashsim.kpi.customer_shortfall`; the totals are the same numbers either way.
    A ``seed`` given here is the run's seed for the fit too, as ``--seed`` is on the command line (``params``'
    ``simulation.seed`` replaced), so both give the same numbers.
    """
    params = with_seed(params, seed)
    base = prepare(params, ledger=ledger, cache=cache)
    if not by_customer:
        return simulate_book(base, base.book, n_paths=n_paths, seed=seed)
    codes, labels = customer_groups(base.book)
    check_paths(n_paths or params.simulation.n_paths, (base.horizon_end - base.as_of).days, setting="n_paths",
                n_groups=len(labels), n_months=params.horizon_months + 1)   # + the groups kept per customer
    run = simulate_book(base, base.book, n_paths=n_paths, seed=seed, group_by=codes)
    return replace(run, customer_labels=labels)



# ----------------------------------------------------------------------------------------------- lever studies

#: Future invoices are booked this far past the horizon for lever studies: their deposits, asked at order, fall
#: within it (without them a deposit lever shows the last month's loss and not its gain).
LEVER_BOOK_EXTRA_DAYS = 62
#: Paths per trial of the cheapest-plan search, at most (each round simulates every candidate).
PLAN_PATHS = 500


@dataclass(frozen=True)
class LeverStudy:
    """The params' scenarios of levers against the baseline, as ``cashsim levers``, the monthly report and the panel
    show them: the book they act on, the scenarios adapted to the company, the dunning effects and recovery
    estimated from its log, the comparison table and the cheapest plan (None when not searched)."""

    book: Book
    scenarios: dict[str, list]
    estimates: pd.DataFrame
    table: pd.DataFrame
    plan: Any
    recovery: pd.DataFrame = field(default_factory=pd.DataFrame)


def company_scenarios(params: Params, ledger: Ledger, as_of: pd.Timestamp
                      ) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """The params' scenarios with the company's own figures filled in where a lever leaves them unset (dunning
    effects and recovery estimated from its own log where reliable, the share of late payment held up by disputes,
    its hourly cost and gross margin, its dispute service levels), and the dunning-log estimates used: effects
    (:func:`cashsim.levers.estimate_dunning_effects`) and recovery (:func:`cashsim.levers.estimate_recovery`)."""
    from cashsim.levers import (
        CutOffThreat,
        Deposit,
        DisputeResolution,
        DunningPlan,
        PromiseCalls,
        dispute_share_of_late,
        estimate_dunning_effects,
        estimate_recovery,
    )
    from cashsim.levers.calibration import dunning_calibrator

    known = ledger.known_at(as_of)
    estimates = estimate_dunning_effects(known) if len(known.dunning) else pd.DataFrame()
    recovery = estimate_recovery(known) if len(known.dunning) else pd.DataFrame()
    share = dispute_share_of_late(known.status(as_of))
    fin = params.finance

    def adapt(lever):
        unset = lambda key: key not in lever.model_fields_set  # noqa: E731
        if isinstance(lever, DunningPlan) and unset("dispute_share_of_late"):
            return lever.model_copy(update={"dispute_share_of_late": share})
        if isinstance(lever, PromiseCalls) and unset("hourly_cost"):
            return lever.model_copy(update={"hourly_cost": fin.hourly_cost})
        if isinstance(lever, CutOffThreat | Deposit) and unset("gross_margin"):
            return lever.model_copy(update={"gross_margin": fin.gross_margin})
        if isinstance(lever, DisputeResolution):
            update = {"hourly_cost": fin.hourly_cost} if unset("hourly_cost") else {}
            if unset("sla_days"):
                update["sla_days"] = {k: int(round(v)) for k, v in params.alerts.dispute_sla_days.items()}
            return lever.model_copy(update=update)
        return lever

    calibrate = dunning_calibrator(estimates, recovery)      # the reliable estimates picked once
    scenarios = {name: calibrate([adapt(lv) for lv in levers])
                 for name, levers in params.scenarios.items()}
    return scenarios, estimates, recovery


def lever_book(base: Baseline, extra_days: int = LEVER_BOOK_EXTRA_DAYS) -> Book:
    """The book lever studies act on: the open invoices with their dispute flag, type and dates and their payment
    method (so levers leave open disputes and direct-debit payers alone, and resolve disputes on time), the sales
    plan's invoices to ``extra_days`` past the horizon (0: the baseline's own book), and each invoice's
    ``customer_type`` (the levers' eligibility)."""
    known = base.ledger.known_at(base.as_of)
    open_book = known.open_book(base.as_of)
    book = base.book if extra_days == 0 else base.model.book(
        open_book, base.params.sales_plan, horizon_end=base.horizon_end + pd.Timedelta(days=extra_days),
        promises=known.promises)
    return for_levers(book, open_book, known.customers)


def for_levers(book: Book, open_book: pd.DataFrame, customers: pd.DataFrame) -> Book:
    """``book`` with what levers read beside the payment laws: each open invoice's dispute flag, type and dates and
    payment method (:func:`cashsim.levers.annotate_book`) and each invoice's ``customer_type`` (eligibility: no
    cut-off threat, mandate or deposit asked of a public body). Every book levers act on goes through here: the
    lever study's and the scenario panel's."""
    from cashsim.levers import annotate_book
    from cashsim.levers.eligibility import annotate_customer_types

    return annotate_customer_types(annotate_book(book, open_book), customers)


def study_levers(base: Baseline, *, n_paths: int | None = None, seed: int | None = None,
                 plan_paths: int | None = None, plan: bool = True,
                 extra_days: int = LEVER_BOOK_EXTRA_DAYS) -> LeverStudy:
    """Every scenario of the params, adapted to the company (:func:`company_scenarios`), against the baseline
    (:func:`cashsim.compare.compare_levers`) and the cheapest plan (:func:`cashsim.compare.cheapest_plan`, on
    ``plan_paths`` paths per trial, default min(``n_paths``, :data:`PLAN_PATHS`)), on common random numbers, with
    the window's collections to date, on the params' engine (one dask cluster for both), on :func:`lever_book`.

    **The one lever study**: ``cashsim levers``, the monthly report and the scenario panel call it with the
    params' (or their own) paths and seed and the defaults otherwise, so they show the same table and the same plan,
    number for number. Its book holds the sales plan's invoices to ``extra_days`` (62) past the horizon, so that a
    deposit asked at order in the horizon's last month for an invoice issued after it counts (without them the
    demo's deposit lever reads -135,000 EUR in February instead of +3,000). The price: its baseline row is the
    forecast's up to Monte Carlo noise, not number for number (more invoices add month and customer factors to
    the random streams). ``extra_days=0`` studies the forecast's own book (its baseline row is then the forecast
    itself, exactly) and leaves those deposits out."""
    params = base.params
    n_paths = params.simulation.n_paths if n_paths is None else int(n_paths)
    seed = params.simulation.seed if seed is None else int(seed)
    plan_paths = min(n_paths, PLAN_PATHS if plan_paths is None else int(plan_paths))
    book = lever_book(base, extra_days)
    scenarios, estimates, recovery = company_scenarios(params, base.ledger, base.as_of)
    common = dict(seed=seed, horizon_end=base.horizon_end, actual_past=window_actuals(base.ledger, params.burn,
                                                                                     base.as_of))
    memo = LeverMemo(book, base.model)   # lever applications shared by the comparison and the plan search
    with engine_session(params.simulation.engine_options()) as opts:
        table = compare_levers(book, base.model, scenarios, params.burn, n_paths=n_paths, engine=opts, memo=memo,
                               **common)
        best = cheapest_plan(book, base.model, scenarios, params.burn, n_paths=plan_paths, engine=opts, memo=memo,
                             **common) if plan else None
    return LeverStudy(book=book, scenarios=scenarios, estimates=estimates, table=table, plan=best,
                      recovery=recovery)
