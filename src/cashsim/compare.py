"""Levers side by side against the smoothed target, and the cheapest plan that reaches it (*plan d'action trésorerie*).

:func:`compare_levers` simulates the baseline and every scenario of levers on **common random numbers** (the same
seed; levers never add or remove invoice rows, so each invoice draws the same uniforms in every scenario): the
per-path differences are the levers' effect, not Monte Carlo noise. Per scenario and month (euros incl. VAT):

- ``extra_cash_mean / _p10 / _p90``: mean and 10th / 90th percentiles over paths of (scenario - baseline) cash;
- ``p_target_met`` and ``delta_p_target_met``; ``expected_shortfall`` and ``delta_expected_shortfall``
  (:meth:`cashsim.targets.TargetSetup.path_targets`, path by path, so a better month also lowers the next targets);
- ``cost``: discounts the engine booked (mean over paths, net of the baseline's) + the levers' expected costs
  (staff, fees, interest, lost margin) of the month; ``cumulative_cost``;
- ``extra_cash_cum``: cumulative extra cash to the month's end (mean), split into ``recovered`` — cash the
  baseline would never collect (a threat, a court order, a deposit's certain part; negative: cash lost for good,
  e.g. orders lost to a deposit) — and ``brought_forward`` = ``extra_cash_cum - recovered``, the same cash
  earlier (:func:`cashsim.levers.recovered_cash`: exact expectations from the laws, so ``brought_forward`` also
  holds the simulation's noise and payment-day snapping); ``recovered_ever``: what the scenario recovers in the
  end, within the horizon or after it;
- ``cost_per_euro`` = cumulative cost / ``extra_cash_cum``; ``annualised_cost_rate`` = cumulative cost /
  (euro-days of extra cash held / 365), the rate to set against the company's cost of borrowing — shown only
  where it means something: cash brought forward at a cost (recovered cash within ``RATE_RECOVERY_SHARE`` of the
  extra cash), a positive cost, and at most ``MAX_ANNUAL_RATE`` (beyond it the cost is not the price of an
  advance: a threat's churn provision set against days gained read as 135,332 % a year); blank otherwise;
- ``risk`` (none / low / medium / high, the worst of the scenario's levers) and ``risk_note``; ``financing``
  (the scenario finances receivables: report it apart from DSO) and ``financing_advance`` (advances of the month).

:func:`cheapest_plan` searches the cheapest combination of levers and intensities that brings P(target met) to
``burn.required_probability`` in every month (greedy, see its docstring), or the closest one with the remaining
gap and the financing that would bridge it, month by month (:class:`Plan`), with the actions (whom to offer a
discount, whom to call first).

Baseline next to proposal (the scenario panel's tables): :func:`side_by_side` puts two target reports' forecast
months side by side; :func:`cost_table` prices each lever a proposal changes against the baseline on common random
numbers (expected costs in the horizon, net of the baseline's; a discount's annualised rate on the book's mean
payment terms, :func:`payment_terms`) with the extra cash it brings.

Example::

    >>> table = compare_levers(book, model, params.scenarios, params.burn, n_paths=1000, seed=42,
    ...                        horizon_end="2027-02-28")                                 # doctest: +SKIP
    >>> table.query("month == '2026-11'")[["scenario", "extra_cash_mean", "cost"]]   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from cashsim import progress
from cashsim.book import Book
from cashsim.errors import ParamsError
from cashsim.levers import (
    DEFAULT_TONE,
    RISK_LEVELS,
    Deposit,
    DirectDebit,
    DunningPlan,
    EarlyPaymentDiscount,
    Financing,
    LeverSpec,
    PaymentRebate,
    PromiseCalls,
    apply_levers_traced,
    recovered_cash,
)
from cashsim.levers.memo import LeverMemo, map_scenarios
from cashsim.proposal import cost_table, payment_terms, side_by_side  # re-exported: the panel's tables
from cashsim.simulate import CHUNK_PATHS, PATH_BLOCK, Simulation, engine_session, run_meta, simulate, simulation_days
from cashsim.targets import (
    PathTargets,
    TargetSetup,
    json_records,
    month_chances,
    serving_setup,
    target_setup,
)
from cashsim.unchanged import changes_nothing_text, flag_changes_nothing, nothing_changed  # noqa: F401 (API)

BASELINE = "baseline"
COLUMNS = ["scenario", "month", "extra_cash_mean", "extra_cash_p10", "extra_cash_p90", "p_target_met",
           "delta_p_target_met", "expected_shortfall", "delta_expected_shortfall", "cost", "cumulative_cost",
           "extra_cash_cum", "recovered", "brought_forward", "recovered_ever", "cost_per_euro",
           "annualised_cost_rate", "risk", "risk_note", "financing", "financing_advance", "levers"]
#: The annualised cost rate is shown only for scenarios whose recovered cash is at most this share of their extra
#: cash (levers that bring cash forward, priced like credit), ...
RATE_RECOVERY_SHARE = 0.05
#: ... and only up to this rate (100 % a year): beyond it the cost is not the price of an advance.
MAX_ANNUAL_RATE = 1.0


def scenario_levers(scenarios: dict[str, list[LeverSpec]], name: str) -> list[LeverSpec]:
    """The levers of scenario ``name`` on top of the baseline's: a lever replaces the baseline's lever of the same
    kind (a new dunning plan replaces the current one, and is made relative to it), others are added."""
    if name not in scenarios and name != BASELINE:
        raise ParamsError(f"scenarios: no scenario named {name!r}; known: {', '.join(scenarios) or '(none)'}")
    base = list(scenarios.get(BASELINE, []))
    current = next((lv for lv in base if isinstance(lv, DunningPlan)), None)
    own = base if name == BASELINE else list(scenarios[name])
    kinds = {lv.kind for lv in own}
    merged = own if name == BASELINE else [lv for lv in base if lv.kind not in kinds] + own
    return [lv.relative_to(current) if isinstance(lv, DunningPlan) else lv for lv in merged]


@dataclass(frozen=True)
class ScenarioRun:
    """One simulated scenario: its levers, transformed book, expected lever costs and simulation; ``inputs[i]`` is
    the book ``levers[i]`` was applied to (``inputs[0]`` the scenario's starting book). ``paths``: its
    :class:`~cashsim.targets.PathTargets` (the target report's path-by-path arrays), worked out with ``setup`` from
    ``cash``, its collections by path and month of the horizon (:meth:`~cashsim.targets.TargetSetup.monthly` of
    ``sim.daily``)."""

    name: str
    levers: list[LeverSpec]
    book: Book
    costs: pd.DataFrame
    sim: Simulation
    paths: PathTargets = field(repr=False)
    setup: TargetSetup = field(repr=False)
    cash: np.ndarray = field(repr=False)
    inputs: list[Book] = field(repr=False, default_factory=list)

    @cached_property
    def month_rows(self) -> dict[str, np.ndarray]:
        """``p_target_met`` and ``expected_shortfall`` (read-only arrays) of each month of the horizon (``sim.months``):
        :func:`cashsim.targets.month_chances` of its paths, the report's numbers, worked out once per run."""
        p_met, shortfall = month_chances(self.paths)
        ahead = ~self.paths.is_past
        out = {"p_target_met": p_met[ahead], "expected_shortfall": shortfall[ahead]}
        for a in out.values():
            a.flags.writeable = False
        return out

    @cached_property
    def monthly_cash(self) -> np.ndarray:
        """Cash per path and month of the horizon (``sim.monthly()``): the cash its targets were worked out from,
        once per run (the baseline's is read by every scenario's table). Column-major, as
        ``sim.monthly().to_numpy()`` is: a mean over paths adds in the same order, bit for bit."""
        return np.asfortranarray(self.cash)

    @cached_property
    def monthly_cost(self) -> np.ndarray:
        """Discounts per path and month (``sim.monthly_cost()``), once per run; column-major as :attr:`monthly_cash`."""
        return np.asfortranarray(self.setup.monthly(self.sim.daily_cost))


def run_scenario(book: Book, model: Any, name: str, levers: list[LeverSpec], burn: Any, *, horizon_end: Any,
                 n_paths: int, seed: int, actual_past: pd.Series | None = None,
                 engine: Mapping[str, Any] | None = None, memo: LeverMemo | None = None,
                 setup: TargetSetup | None = None) -> ScenarioRun:
    """Apply ``levers`` to ``book`` and simulate it (rho from the model) against the target.
    ``engine``: where the simulation runs (``Params.simulation.engine_options()``: chunking, local or dask).
    ``memo``: lever applications already made on this book and model (:class:`cashsim.levers.memo.LeverMemo`; the
    same result, without applying again what it holds; its :attr:`~cashsim.levers.memo.LeverMemo.draws` keep the
    engine's normals for the next runs: the same numbers, drawn once). The run is judged on the target report's
    paths only (:meth:`~cashsim.targets.TargetSetup.path_targets`: a study reads :attr:`ScenarioRun.month_rows`).
    ``setup``: the :func:`cashsim.targets.target_setup` of ``burn``, the horizon and ``actual_past``, shared by a
    series of runs (one made for other inputs is not used)."""
    rm = float(getattr(model, "rho_month", 0.0))
    rc = float(getattr(model, "rho_customer", 0.0))
    kw = dict(horizon_end=horizon_end, n_paths=n_paths, seed=seed, rho_month=rm, rho_customer=rc, **(engine or {}))
    if memo is not None and memo.serves(book, model):
        key = memo.chain_key(levers)                                     # worked out once for the run
        new_book, costs, inputs = memo.apply(levers, key)
        sim = _chain_simulation(memo, key, new_book, kw)
    else:
        new_book, costs, inputs = apply_levers_traced(book, levers, model)
        sim = simulate(new_book, **kw)
    setup = serving_setup(burn, sim.days, actual_past, setup=setup)
    cash = setup.monthly(sim.daily)
    return ScenarioRun(name=name, levers=levers, book=new_book, costs=costs, sim=sim,
                       paths=setup.path_targets(cash), inputs=inputs, setup=setup, cash=cash)


def _chain_simulation(memo: LeverMemo, key: tuple, book: Book, kw: dict[str, Any]) -> Simulation:
    """``simulate(book, **kw)`` for the memo's chain of :meth:`LeverMemo.chain_key` ``key`` (``book``: the chain
    applied): the first paths of the chain's simulation already run on as many paths or more (the plan search's
    baseline and the trials that are a compared scenario: each block of paths has its own seed, so they are the
    very numbers), else a run reading the memo's normals (:attr:`LeverMemo.draws`)."""
    n = int(kw["n_paths"])
    seed = kw["seed"]
    settings = (repr(seed), str(pd.Timestamp(kw["horizon_end"]).normalize()), repr(kw["rho_month"]),
                repr(kw["rho_customer"]))
    whole = isinstance(seed, int | np.integer) and n % PATH_BLOCK == 0
    done = memo.simulation(key, settings, n) if whole else None
    if done is None:
        sim = simulate(book, draws=memo.draws, **kw)
        if whole:
            memo.remember_simulation(key, settings, sim)
        return sim
    meta = run_meta(kw.get("backend", "local"), kw.get("chunk_paths", CHUNK_PATHS))
    return dataclasses.replace(done, daily=done.daily[:n], daily_cost=done.daily_cost[:n], n_paths=n, book=book,
                               meta=meta)


def _lever_costs_by_month(run: ScenarioRun, months: list[str]) -> pd.Series:
    """Expected lever costs not booked by the engine, by month of the horizon (earlier months fold into the first,
    later ones are left out of the horizon's figures)."""
    keep = ~run.costs["in_simulation"].to_numpy(dtype=bool)      # (plain arrays, no filtered frame: the same sums)
    month = pd.Series(run.costs["month"].to_numpy()[keep])
    month = month.where(month >= months[0], months[0])
    return pd.Series(run.costs["amount"].to_numpy()[keep]).groupby(month).sum().reindex(months, fill_value=0.0)


def _financing_advance(run: ScenarioRun, months: list[str]) -> np.ndarray:
    """Advances of the run's financing levers by month of the horizon (euros)."""
    if not any(isinstance(lever, Financing) for lever in run.levers):
        return np.zeros(len(months))
    out = pd.Series(0.0, index=months)
    for lever, lever_book in zip(run.levers, run.inputs, strict=True):
        if isinstance(lever, Financing):
            out = out.add(_advance_by_month(lever, lever_book, months), fill_value=0.0)
    return out.to_numpy()


def _advance_by_month(lever: Financing, book: Book, months: list[str]) -> pd.Series:
    """The advances of a financing ``lever`` on ``book`` by funding month (``%Y-%m``) over ``months`` (0.0: none)."""
    t = lever.terms(book)
    return t.groupby(t["funding_date"].dt.strftime("%Y-%m"))["advance"].sum().reindex(months, fill_value=0.0)


def _active(levers: list[LeverSpec]) -> list[LeverSpec]:
    """The levers that change something (a dunning plan equal to the current one is the baseline itself)."""
    return [lv for lv in levers if not lv.changes_nothing()]


def scenario_table(base: ScenarioRun, run: ScenarioRun, book: Book, model: Any) -> pd.DataFrame:
    """Per month of the horizon: the scenario's effect against the baseline (see the module docstring)."""
    months = run.sim.months
    diff_daily = run.sim.daily - base.sim.daily                      # (paths, days), common random numbers
    diff = run.monthly_cash - base.monthly_cash
    engine_cost = (run.monthly_cost - base.monthly_cost).mean(axis=0)
    cost = engine_cost + _lever_costs_by_month(run, months).to_numpy()
    cum_cost = np.cumsum(cost)
    cum_extra = np.cumsum(diff_daily.mean(axis=0))                   # mean extra cash held, day by day
    codes = run.setup.day_months
    euro_days = np.cumsum(np.bincount(codes, weights=np.maximum(cum_extra, 0.0), minlength=len(months)))
    extra = np.cumsum(diff.mean(axis=0))
    recovered, ever = recovered_cash(base.book, run.book, run.setup.month_ends)
    t_run, t_base = run.month_rows, base.month_rows
    with np.errstate(divide="ignore", invalid="ignore"):
        per_euro = np.where(extra > 0, cum_cost / extra, np.nan)
        annual = np.where(euro_days > 0, cum_cost / (euro_days / 365.0), np.nan)
    priced = (np.abs(recovered) <= RATE_RECOVERY_SHARE * np.abs(extra)) & (cum_cost > 0) & (annual <= MAX_ANNUAL_RATE)
    p10, p90 = np.quantile(diff, [0.1, 0.9], axis=0)      # one sort for both
    active = _active(run.levers)
    risk = RISK_LEVELS[max([RISK_LEVELS.index(lv.risk) for lv in active] or [0])]
    notes = "; ".join(dict.fromkeys(f"{lv.name}: {lv.risk_note}" for lv in active if lv.risk_note))
    return pd.DataFrame({
        "scenario": run.name, "month": months,
        "extra_cash_mean": diff.mean(axis=0),
        "extra_cash_p10": p10, "extra_cash_p90": p90,
        "p_target_met": t_run["p_target_met"],
        "delta_p_target_met": t_run["p_target_met"] - t_base["p_target_met"],
        "expected_shortfall": t_run["expected_shortfall"],
        "delta_expected_shortfall": t_run["expected_shortfall"] - t_base["expected_shortfall"],
        "cost": cost, "cumulative_cost": cum_cost, "extra_cash_cum": extra, "recovered": recovered,
        "brought_forward": extra - recovered, "recovered_ever": ever, "cost_per_euro": per_euro,
        "annualised_cost_rate": np.where(priced, annual, np.nan), "risk": risk, "risk_note": notes,
        "financing": any(lv.is_financing() for lv in run.levers),
        "financing_advance": _financing_advance(run, months),
        "levers": ", ".join(lv.name for lv in active),
    }, columns=COLUMNS)


def compare_levers(book: Book, model: Any, scenarios: dict[str, list[LeverSpec]], burn: Any, *, n_paths: int,
                   seed: int, horizon_end: Any, actual_past: pd.Series | None = None,
                   combinations: dict[str, list[str]] | None = None,
                   engine: Mapping[str, Any] | None = None, memo: LeverMemo | None = None,
                   workers: int | None = None) -> pd.DataFrame:
    """Every scenario (and each named combination of scenarios) against the baseline, month by month.

    ``scenarios``: name -> levers (``Params.scenarios``; "baseline" = current practice, may be absent = the book
    as fitted). ``burn``: :class:`cashsim.params.CashBurn`. ``combinations``: name -> scenario names whose levers
    are merged (a later lever of a kind replaces an earlier one). ``actual_past``: actual collections by month of
    the current window (:func:`cashsim.targets.actual_collections`). ``engine``: where the runs go
    (``Params.simulation.engine_options()``; with dask and no address, one LocalCluster serves every scenario).
    Same inputs and seed -> the same table, bit for bit, on any engine. Returns one row per scenario and month,
    columns :data:`COLUMNS`. ``memo``: a :class:`~cashsim.levers.memo.LeverMemo` of ``book`` and ``model`` to
    share with :func:`cheapest_plan` (its first round tries mostly these scenarios); one of its own by default.
    ``workers``: scenarios simulated at once (:func:`cashsim.levers.memo.scenario_workers`; same table).
    """
    memo = memo if memo is not None and memo.serves(book, model) else LeverMemo(book, model)
    with engine_session(engine) as opts:
        tables, reasons, base = [], {}, None      # each scenario's rows as it comes (the baseline first)
        for name, run in _run_all(book, model, scenarios, burn, n_paths=n_paths, seed=seed, horizon_end=horizon_end,
                                  actual_past=actual_past, combinations=combinations, engine=opts, memo=memo,
                                  workers=workers):
            base = run if base is None else base
            tables.append(scenario_table(base, run, book, model))
            reasons[name] = nothing_changed(base, run)
    return flag_changes_nothing(pd.concat(tables, ignore_index=True), reasons)


def summary(table: pd.DataFrame, month: str | None = None) -> pd.DataFrame:
    """One row per scenario (baseline left out) at one month, shaped for :func:`cashsim.plots.levers_waterfall` and
    :func:`cashsim.plots.lever_cost_scatter`: ``lever`` (the scenario), ``extra_cash`` (cumulative extra cash to the
    end of the month, mean) and its split into ``recovered`` (otherwise lost) and ``brought_forward`` (the same
    cash, earlier), ``cost`` (cumulative to the month), ``cost_per_euro``, ``annualised_cost_rate`` (blank where it
    means nothing), ``p_target_met``, ``delta_p_target_met``, ``risk``, ``financing``. ``month`` defaults to the
    baseline's weakest month (lowest P(target met)): the month at risk.
    """
    base = table[table["scenario"] == BASELINE]
    if month is None:
        month = str(base.loc[base["p_target_met"].idxmin(), "month"]) if len(base) else str(table["month"].iloc[0])
    rows = table[(table["month"] == month) & (table["scenario"] != BASELINE)]
    out = rows.rename(columns={"scenario": "lever", "extra_cash_cum": "extra_cash", "cost": "month_cost",
                               "cumulative_cost": "cost"})
    out = out.assign(month=month)
    return out[["lever", "month", "extra_cash", "recovered", "brought_forward", "cost", "cost_per_euro",
                "annualised_cost_rate", "p_target_met", "delta_p_target_met", "risk", "financing"]
               ].reset_index(drop=True)


def _target_setup(book: Book, burn: Any, horizon_end: Any, actual_past: pd.Series | None) -> TargetSetup:
    """The target reports' :class:`~cashsim.targets.TargetSetup` of every run on ``book`` to ``horizon_end`` (the
    engine's days: as_of + 1 to the horizon's end), worked out once for a comparison or a plan search."""
    return target_setup(burn, simulation_days(book.as_of, horizon_end), actual_past)


def _merge(scenarios: dict[str, list[LeverSpec]], names: list[str]) -> list[LeverSpec]:
    merged: dict[str, LeverSpec] = {lv.kind: lv for n in names for lv in scenario_levers(scenarios, n)}
    return list(merged.values())


def _run_all(book, model, scenarios, burn, *, n_paths, seed, horizon_end, actual_past, combinations, engine, memo,
             workers=None):
    plans = {BASELINE: scenario_levers(scenarios, BASELINE)}
    plans.update({n: scenario_levers(scenarios, n) for n in scenarios if n != BASELINE})
    plans.update({n: _merge(scenarios, names) for n, names in (combinations or {}).items()})
    setup = _target_setup(book, burn, horizon_end, actual_past)
    runs = map_scenarios(lambda item: run_scenario(book, model, item[0], item[1], burn, horizon_end=horizon_end,
                                                   n_paths=n_paths, seed=seed, actual_past=actual_past,
                                                   engine=engine, memo=memo, setup=setup),
                         plans.items(), workers)     # the table reads the months' figures only
    return zip(plans, progress.bar(runs, desc="simulating scenarios", total=len(plans)), strict=True)


# ------------------------------------------------------------------------------------------------------ the plan

def intensities(lever: LeverSpec) -> list[LeverSpec]:
    """The intensities the plan search tries for a lever: its own and a lighter / heavier one where that means
    something (discount and rebate rates x 0.5; calls x 0.5 and x 2; direct-debit adoption and deposit share
    x 0.5)."""
    if isinstance(lever, EarlyPaymentDiscount | PaymentRebate):
        return [lever.model_copy(update={"rate": lever.rate / 2}), lever]
    if isinstance(lever, PromiseCalls):
        return [lever.model_copy(update={"n_calls": max(1, lever.n_calls // 2)}), lever,
                lever.model_copy(update={"n_calls": lever.n_calls * 2})]
    if isinstance(lever, DirectDebit) and lever.segments is None and lever.customers is None:
        return [lever.model_copy(update={"adoption": lever.adoption / 2}), lever]
    if isinstance(lever, Deposit):
        return [lever.model_copy(update={"share": lever.share / 2}), lever]
    return [lever]


#: Columns of :attr:`Plan.months`, one row per month of the horizon.
PLAN_MONTH_COLUMNS = ["month", "status", "p_target_met_baseline", "p_target_met", "required", "met", "gap",
                      "expected_shortfall_baseline", "expected_shortfall", "financing_needed", "bridge_advance",
                      "extra_cash", "recovered", "brought_forward"]


@dataclass(frozen=True)
class Plan:
    """The cheapest plan found: its levers, its verdict month by month, the financing that would bridge what it
    leaves short, the actions, and the search's trace.

    ``levers`` are the changes to the current practice; ``scenario`` is everything applied to the book (the
    baseline's levers, a new dunning plan made relative to the current one, and the changes).

    ``months`` (:data:`PLAN_MONTH_COLUMNS`), every month of the horizon: ``status`` — "met" (met with the plan and
    already without it), "met with the plan" (met thanks to it) or "short"; P(target met) without and with the
    plan, the ``required`` probability, ``met`` and the probability ``gap``; the ``expected_shortfall`` (euros,
    mean over paths of the month's shortfall to its target) without and with the plan; ``financing_needed`` — the
    amount needed at the
    required probability (the ``required`` quantile of the path shortfall; 0 when met); ``bridge_advance`` — the
    advance the bridge financing (:attr:`bridge`) brings that month; the plan's ``extra_cash`` over the baseline,
    cumulative to the month's end, and its split into ``recovered`` and ``brought_forward``
    (:func:`scenario_table`)."""

    levers: list[LeverSpec]
    months: pd.DataFrame     # PLAN_MONTH_COLUMNS
    cost: float              # expected cost over the horizon (euros)
    meets_target: bool
    actions: pd.DataFrame    # lever, customer_id, invoice_id, amount, action (+ lever-specific columns)
    trace: pd.DataFrame      # round, candidate, gain, extra_cost, cost_per_gain, chosen
    bridge: Financing | None = None
    scenario: list[LeverSpec] = field(default_factory=list)

    @property
    def levers_tried(self) -> int:
        """How many distinct candidates (lever and intensity) the search tried: 0 when the scenarios gave it none."""
        return int(self.trace["candidate"].nunique()) if len(self.trace) else 0

    @property
    def short_months(self) -> list[str]:
        """The months still short of the required probability with the plan."""
        return self.months.loc[~self.months["met"].astype(bool), "month"].astype(str).tolist()

    def to_dict(self) -> dict[str, Any]:
        short = ~self.months["met"].astype(bool)
        return {"meets_target": self.meets_target, "cost": self.cost,
                "levers": [lv.model_dump(mode="json") for lv in self.levers],
                "months_met": self.months.loc[~short, "month"].astype(str).tolist(),
                "months_short": self.short_months,
                "financing_needed": float(self.months["financing_needed"].sum()),
                "bridge": None if self.bridge is None else self.bridge.model_dump(mode="json"),
                "months": json_records(self.months), "actions": json_records(self.actions.head(200)),
                "trace": json_records(self.trace)}


def _shortfall_score(p: np.ndarray, required: float) -> float:
    """How far the months are from the requirement: sum over months of max(0, required - P(met))."""
    return float(np.maximum(required - p, 0.0).sum())


def _total_cost(run: ScenarioRun, base: ScenarioRun, months: list[str]) -> float:
    engine = (run.sim.daily_cost.sum(axis=1) - base.sim.daily_cost.sum(axis=1)).mean()
    return float(engine + _lever_costs_by_month(run, months).sum())


def cheapest_plan(book: Book, model: Any, scenarios: dict[str, list[LeverSpec]], burn: Any, *, n_paths: int,
                  seed: int, horizon_end: Any, actual_past: pd.Series | None = None, max_levers: int = 4,
                  max_risk: str = "high", engine: Mapping[str, Any] | None = None,
                  memo: LeverMemo | None = None, workers: int | None = None) -> Plan:
    """The cheapest combination of levers (and intensities) that brings P(target met) to
    ``burn.required_probability`` in every month of the horizon, or the closest one, with the gap left.

    Search (greedy on cost per unit of requirement gained, all runs on common random numbers):
    candidates = every non-financing lever of the non-baseline scenarios, at the intensities of
    :func:`intensities`. From the baseline, each round tries adding each candidate (one per kind: a candidate of a
    kind already in the plan replaces it) and scores gain = sum_m max(0, req - P_m(before)) - (same after);
    it keeps the candidate with the lowest cost per unit of gain (a free lever with any gain first; between
    equals the larger gain), until every month meets the requirement, nothing gains, or ``max_levers`` rounds have
    run. ``max_risk`` (none / low / medium / high) leaves out levers riskier for the relationship. Greedy, not
    exhaustive: a knapsack over a handful of levers whose effects interact; its trace is returned so the choice
    can be checked. Relationship risk is not priced in the cost; filter it with ``max_risk``.

    When the plan falls short, ``financing_needed`` per month is the ``required`` quantile of the path shortfall
    (the cash which, added that month, brings P(met) to the requirement — an upper bound, since earlier cash also
    lowers later targets of the window), and ``bridge`` the factoring of not-yet-due invoices that would advance
    it (share of the book = need / (advance rate x eligible amount), capped at 1). ``engine``: where the trials
    run (``Params.simulation.engine_options()``; with dask and no address, one LocalCluster serves them all).
    ``memo``: lever applications already made on ``book`` (:class:`~cashsim.levers.memo.LeverMemo`, e.g. by
    :func:`compare_levers`); each trial applies only the levers it has not seen (the plan's own are applied once).
    ``workers``: a round's trials run at once (:func:`cashsim.levers.memo.scenario_workers`; the same plan).
    """
    progress.step("searching the cheapest plan")
    if max_risk not in RISK_LEVELS:
        raise ParamsError(f"max_risk must be one of {', '.join(RISK_LEVELS)}, got {max_risk!r}")
    with engine_session(engine) as opts:
        memo = memo if memo is not None and memo.serves(book, model) else LeverMemo(book, model)
        common = dict(horizon_end=horizon_end, n_paths=n_paths, seed=seed, actual_past=actual_past, engine=opts,
                      memo=memo, setup=_target_setup(book, burn, horizon_end, actual_past))
        return _search_plan(book, model, scenarios, burn, common, max_levers, max_risk, workers)


def _search_plan(book: Book, model: Any, scenarios: dict[str, list[LeverSpec]], burn: Any, common: dict[str, Any],
                 max_levers: int, max_risk: str, workers: int | None = None) -> Plan:
    required = float(burn.required_probability)
    base_levers = scenario_levers(scenarios, BASELINE)
    base = run_scenario(book, model, BASELINE, base_levers, burn, **common)
    months = base.sim.months
    p_base = base.month_rows["p_target_met"]
    candidates: list[LeverSpec] = []
    for name in scenarios:
        if name == BASELINE:
            continue
        for lv in scenario_levers(scenarios, name):
            if lv.is_financing() or lv in base_levers or RISK_LEVELS.index(lv.risk) > RISK_LEVELS.index(max_risk):
                continue
            for variant in intensities(lv):
                if variant not in candidates:
                    candidates.append(variant)
    plan: list[LeverSpec] = list(base_levers)
    current, score = base, _shortfall_score(p_base, required)
    trace = []
    for rnd in range(1, max_levers + 1):
        if score <= 0:
            break
        best = None
        current_cost = _total_cost(current, base, months)        # changes only between rounds
        trials = [(cand, trial) for cand in candidates
                  if (trial := [lv for lv in plan if lv.kind != cand.kind] + [cand]) != plan]
        runs = map_scenarios(lambda t, name=f"trial {rnd}": run_scenario(book, model, name, t[1], burn, **common),
                             trials, workers)
        for (cand, trial), run in zip(trials, runs, strict=True):
            p = run.month_rows["p_target_met"]
            gain = score - _shortfall_score(p, required)
            cost = _total_cost(run, base, months) - current_cost
            ratio = np.inf if gain <= 1e-12 else max(cost, 0.0) / gain
            trace.append({"round": rnd, "candidate": _describe(cand), "gain": gain, "extra_cost": cost,
                          "cost_per_gain": ratio, "chosen": False})
            # cheapest per unit of gain first; between equals (free levers), the larger gain
            if gain > 1e-12 and (best is None or (ratio, -gain) < (best[0], -best[3])):
                best = (ratio, trial, run, gain, len(trace) - 1)
        if best is None:
            break
        _, plan, current, gain, idx = best
        trace[idx]["chosen"] = True
        score -= gain
        common["memo"].keep(plan)     # the next round's trials start from this plan; the other chains go
    bridge = _bridge(current.book, float(_need(current, required).sum()))
    table = _plan_months(base, current, required, bridge)
    return Plan(levers=_active(plan), scenario=plan, months=table, cost=_total_cost(current, base, months),
                meets_target=bool(table["met"].all()), actions=_actions(current, model),
                trace=pd.DataFrame(trace, columns=["round", "candidate", "gain", "extra_cost", "cost_per_gain",
                                                   "chosen"]),
                bridge=bridge)


def _need(run: ScenarioRun, required: float) -> np.ndarray:
    """Per month, the cash which, added that month, brings P(met) to ``required``: the ``required`` quantile of the
    path shortfall where the month falls short, else 0."""
    p = run.month_rows["p_target_met"]
    short = run.paths.shortfall[:, ~run.paths.is_past]
    return np.where(p < required, np.quantile(short, required, axis=0), 0.0)


def _plan_months(base: ScenarioRun, run: ScenarioRun, required: float, bridge: Financing | None) -> pd.DataFrame:
    """The plan's verdict for every month of the horizon (:data:`PLAN_MONTH_COLUMNS`)."""
    months = run.sim.months
    t_base, t_run = base.month_rows, run.month_rows
    p_base, p_plan = t_base["p_target_met"], t_run["p_target_met"]
    need = _need(run, required)
    advance = pd.Series(0.0, index=months) if bridge is None else _advance_by_month(bridge, run.book, months)
    effect = scenario_table(base, run, run.book, None)
    met = p_plan >= required
    return pd.DataFrame({
        "month": months, "status": np.where(~met, "short", np.where(p_base >= required, "met", "met with the plan")),
        "p_target_met_baseline": p_base, "p_target_met": p_plan, "required": required, "met": met,
        "gap": np.maximum(required - p_plan, 0.0),
        "expected_shortfall_baseline": t_base["expected_shortfall"],
        "expected_shortfall": t_run["expected_shortfall"], "financing_needed": need,
        "bridge_advance": advance.to_numpy(), "extra_cash": effect["extra_cash_cum"].to_numpy(),
        "recovered": effect["recovered"].to_numpy(), "brought_forward": effect["brought_forward"].to_numpy(),
    }, columns=PLAN_MONTH_COLUMNS)


def _bridge(book: Book, need: float) -> Financing | None:
    """The factoring of not-yet-due invoices that advances ``need`` (share capped at 1), or None (no need)."""
    if need <= 0:
        return None
    probe = Financing(method="factoring", label="bridge financing")
    eligible = probe.terms(book)["financed"].sum()
    if eligible <= 0:
        return None
    share = min(1.0, need / (probe.advance_rate * eligible))
    return probe.model_copy(update={"share": share}) if share > 0 else None


def _actions(run: ScenarioRun, model: Any) -> pd.DataFrame:
    """The actions of the run's levers that change something, each on the book it was applied to."""
    frames = [lv.actions(lever_book, model)
              for lv, lever_book in zip(run.levers, run.inputs, strict=True)
              if not lv.changes_nothing()]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["lever", "customer_id", "invoice_id", "amount", "action"])


def _describe(lever: LeverSpec) -> str:
    fields = lever.model_dump(exclude={"kind", "label", "current"}, exclude_defaults=True)
    inner = ", ".join(f"{k}={v}" for k, v in fields.items() if k != "steps")
    if isinstance(lever, DunningPlan):
        inner = " / ".join(f"{s.day:+d} {s.channel}" + ("" if s.tone == DEFAULT_TONE[s.channel] else f" ({s.tone})")
                           for s in lever.steps)
    return f"{lever.kind}({inner})"


def lever_summary(scenarios: dict[str, list[LeverSpec]], book: Book, borrowing_rate: float) -> pd.DataFrame:
    """One row per lever of each scenario: kind, description, risk and its note; for a discount, its nominal
    annualised rate d/(1-d) x 365/(N-D) at the book's median terms N, against ``borrowing_rate``."""
    inv = book.invoices
    terms = float(np.median((inv["due_date"] - inv["issue_date"]).dt.days.dropna())) if len(inv) else 30.0
    rows = []
    for name in scenarios:
        for lv in _active(scenario_levers(scenarios, name)):
            rate = lv.annualised_rate(terms) if isinstance(lv, EarlyPaymentDiscount) else np.nan
            rows.append({"scenario": name, "lever": lv.name, "description": _describe(lv), "risk": lv.risk,
                         "risk_note": lv.risk_note, "nominal_annual_rate": rate, "borrowing_rate": borrowing_rate,
                         "dearer_than_borrowing": bool(rate > borrowing_rate) if np.isfinite(rate) else None})
    return pd.DataFrame(rows, columns=["scenario", "lever", "description", "risk", "risk_note",
                                       "nominal_annual_rate", "borrowing_rate", "dearer_than_borrowing"])


def to_json(table: pd.DataFrame, plan: Plan | None = None, levers: pd.DataFrame | None = None, **meta: Any) -> str:
    """The comparison (and the plan) as JSON: ``{**meta, "scenarios": [...rows], "levers": [...], "plan": {...}}``."""
    payload = {**meta, "scenarios": json_records(table)}
    if levers is not None:
        payload["levers"] = json_records(levers)
    if plan is not None:
        payload["plan"] = plan.to_dict()
    return json.dumps(payload, indent=1, ensure_ascii=False, default=str)


__all__ = ["BASELINE", "COLUMNS", "MAX_ANNUAL_RATE", "PLAN_MONTH_COLUMNS", "RATE_RECOVERY_SHARE", "Plan",
           "ScenarioRun", "cheapest_plan", "compare_levers", "cost_table", "intensities", "lever_summary",
           "payment_terms", "run_scenario", "scenario_levers", "scenario_table", "side_by_side", "summary", "to_json"]
