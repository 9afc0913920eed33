"""The scenario panel for meetings (*tableau de bord de trésorerie*): ipywidgets over the live simulation.

The CFO moves a slider; the panel re-applies the levers to the book, re-simulates on a small number of paths and
redraws, within a blink. Three layers, each testable on its own:

1. **Controls → scenario** (pure): :func:`control_specs` lists every control (lever parameters, burn by category,
   safety margin, horizon) with its range and its starting value taken from the params' ``baseline`` scenario, so
   the panel opens on "proposal = baseline". :func:`scenario_from_values` turns control values into a
   :class:`Scenario` (a lever list, a :class:`~cashsim.params.CashBurn`, a horizon). Rule: a control edits one field
   of the lever of its kind; a lever the baseline already has keeps its other fields (segments, fees...); a control
   at its "off" value (rate 0, share 0, 0 calls, 0 days) removes the lever - unless the baseline has one: the
   proposal's levers are merged with the baseline's by :func:`cashsim.compare.scenario_levers` (the report's rule),
   which keeps the baseline's levers of the kinds the proposal does not set. The dunning plan (*plan de relance*)
   is the baseline's plan moved ``dunning_days_earlier`` days earlier and cut or extended along :data:`LADDER` to
   ``dunning_steps`` steps; it acts relative to the baseline's plan (``DunningPlan.relative_to``), so the current
   practice, already in the fitted behaviour, is not counted twice.
2. **Engine** (:class:`PanelEngine`, no widgets): the expensive parts - ledger, fit, base Book - are computed
   ONCE by :func:`cashsim.pipeline.prepare`. A change only re-applies levers (prefix-cached: changing the
   k-th lever of the canonical order re-applies levers k...n only) and re-simulates with the **same seed**: common
   random numbers, so a difference between baseline and proposal is the lever's, not noise, and moving a slider
   back returns the same picture bit for bit (results are also memoised by scenario).
3. **Widgets** (:class:`ScenarioPanel`): sliders with ``continuous_update=False`` (computed on release, so a drag
   costs one update), a busy/status line, ``go.FigureWidget`` charts updated inside ``batch_update()`` (one message
   to the browser per chart), HTML tables; buttons to save the proposal as a params YAML (next month's report
   scenario) and to export the charts. Errors inside callbacks are shown in the status line and kept in
   ``panel.last_error``; they are never swallowed (ipywidgets#2612).

Outside a kernel the widgets get a ``DummyComm``: tests set ``panel.controls["discount_rate"].value = 0.02`` and
read figure data, labels and tables; :meth:`ScenarioPanel.update` is the same code path, callable directly.

Example::

    >>> panel = ScenarioPanel("params/demo.yml", n_paths=500)          # doctest: +SKIP
    >>> result = panel.update(discount_rate=0.02, discount_deadline_days=10)   # doctest: +SKIP
    >>> result.months[["month", "p_met_baseline", "p_met_proposal"]]   # doctest: +SKIP
    >>> panel.save_proposal("params/demo-2026-11.yml")                 # doctest: +SKIP

Latency (:func:`benchmark_update`: median of 7 discount steps on the demo company, each a value not seen before)
measured on 2 cores shared with other jobs (load average 4.3-4.6): 0.27-0.44 s at 500 paths, 0.23-0.31 s at 250-300
paths; the time is mostly fixed costs, not paths - per update about 65 ms simulate (engine set-up and the exact
invoice probabilities, which the panel does not use, included), 60 ms levers, 55 ms target report, 45 ms redraw.
Charts are redrawn by changing trace data only (:func:`chart_data`); a burn change does not re-simulate.
"""

from __future__ import annotations

import html
import importlib.util
import statistics
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cashsim import fmt, plots
from cashsim.book import Book
from cashsim.compare import BASELINE, scenario_levers
from cashsim.errors import CashsimError, ParamsError
from cashsim.kpi import call_list
from cashsim.ledger import TABLES
from cashsim.levers import (
    FINANCING_DEFAULTS,
    RISK_LEVELS,
    CutOffThreat,
    Deposit,
    DirectDebit,
    DunningPlan,
    DunningStep,
    EarlyPaymentDiscount,
    Financing,
    LeverSpec,
    PromiseCalls,
    apply_levers,
    empty_costs,
)
from cashsim.params import CashBurn, Params, dump_params, load_params, monthly_values
from cashsim.pipeline import Baseline, horizon_end, prepare
from cashsim.simulate import Simulation, simulate
from cashsim.targets import CATEGORIES, TargetReport, target_report

#: Default Monte Carlo paths per update: enough for stable medians and 10-90 % bands, small enough to be live.
PANEL_PATHS = 500
#: Name of the scenario the save button writes into the params file.
PROPOSAL = "proposal"
#: Longest horizon the panel offers (months).
MAX_HORIZON = 12
#: Rows of the call list shown.
CALL_ROWS = 12

#: A graduated dunning ladder (*relances graduées*): the steps a firmer plan adds after the current plan's last.
#: Days relative to the due date; effects and costs are the channels' documented defaults (cashsim.levers).
LADDER: tuple[tuple[int, str], ...] = (
    (-5, "email"),           # reminder before the due date: surfaces disputes early
    (3, "email"),            # first reminder (*1re relance*)
    (10, "phone"),           # call to accounts payable
    (20, "manager_call"),    # call to a higher-level contact
    (30, "sales_rep"),       # the sales rep gets involved
    (45, "formal_notice"),   # *mise en demeure*
    (75, "litigation"),      # *injonction de payer*
)

#: Canonical order in which the panel's levers are applied: behaviour first, then cash-for-sure levers, financing
#: last (it finances what the other levers leave outstanding). Fixed, so a scenario's result never depends on the
#: order in which sliders were moved.
LEVER_ORDER: tuple[str, ...] = ("dunning_plan", "promise_calls", "cutoff_threat", "direct_debit",
                                "early_payment_discount", "deposit", "financing")

TEXT = {
    "fr": {"baseline": "référence", "proposal": "proposition", "baseline_median": "référence (médiane)",
           "collections": "Encaissements mensuels : référence et proposition face à l'objectif lissé",
           "cash": "Trésorerie hebdomadaire (proposition) et solde minimum", "p_met": "P(objectif atteint) par mois",
           "computing": "Calcul en cours…", "ready": "À jour", "error": "Erreur",
           "columns": {"month": "mois", "required": "besoin", "target_baseline": "objectif réf.",
                       "target_proposal": "objectif prop.", "collections_baseline": "encaissé réf.",
                       "collections_proposal": "encaissé prop.", "p_met_baseline": "P(atteint) réf.",
                       "p_met_proposal": "P(atteint) prop.", "shortfall_baseline": "manque réf.",
                       "shortfall_proposal": "manque prop.", "lever": "levier", "cost": "coût",
                       "annual_rate": "taux annualisé", "risk": "risque", "extra_cash": "encaissé en plus",
                       "cost_per_euro": "coût par euro", "rank": "rang", "customer_name": "client",
                       "segment": "segment", "outstanding": "restant dû", "days_overdue": "jours de retard",
                       "next_action": "action suivante", "proposal_action": "dans la proposition"}},
    "en": {"baseline": "baseline", "proposal": "proposal", "baseline_median": "baseline (median)",
           "collections": "Monthly collections: baseline and proposal against the smoothed target",
           "cash": "Weekly cash position (proposal) and minimum balance", "p_met": "P(target met) per month",
           "computing": "Computing…", "ready": "Up to date", "error": "Error",
           "columns": {"target_baseline": "target base", "target_proposal": "target prop.",
                       "collections_baseline": "collected base", "collections_proposal": "collected prop.",
                       "p_met_baseline": "P(met) base", "p_met_proposal": "P(met) prop.",
                       "shortfall_baseline": "shortfall base", "shortfall_proposal": "shortfall prop.",
                       "proposal_action": "in the proposal"}},
}


def _text(locale: str) -> dict[str, Any]:
    return TEXT.get(fmt.parse_locale(locale).language, TEXT["en"])


# ================================================================================================ controls


@dataclass(frozen=True)
class Control:
    """One control of the panel: a named value with its range, step, readout and group.

    ``kind`` is "float" or "int"; ``readout`` a d3 format (".1%" shows 0.02 as 2.0 %); ``off`` the value that
    removes the lever (None for burn and horizon controls).
    """

    name: str
    label: str
    group: str
    kind: str
    lo: float
    hi: float
    step: float
    readout: str
    help: str
    off: float | None = None

    def check(self, value: Any) -> float | int:
        """The value as the control's type, or a ParamsError naming the control, the value and its range."""
        try:
            v = int(value) if self.kind == "int" else float(value)
        except (TypeError, ValueError):
            raise ParamsError(f"panel control {self.name!r}: {value!r} is not a number") from None
        if self.kind == "int" and v != value and not (isinstance(value, float) and value.is_integer()):
            raise ParamsError(f"panel control {self.name!r}: {value!r} is not a whole number")
        if not (self.lo - 1e-12 <= v <= self.hi + 1e-12):
            raise ParamsError(f"panel control {self.name!r}: {value!r} is outside its range "
                              f"[{self.lo:g}, {self.hi:g}]; choose a value inside it")
        return v


def _find(levers: list[LeverSpec] | tuple[LeverSpec, ...], kind: str) -> LeverSpec | None:
    return next((lv for lv in levers if lv.kind == kind), None)


def _mean_amount(amount: float | list[float], n: int) -> float:
    return float(np.mean(monthly_values(amount, n)))


def _margin_share(burn: CashBurn, n: int) -> float:
    """The safety margin as a share of the burn (a '5%' string, or an amount over the mean monthly burn)."""
    pct = burn.margin_percent
    if pct is not None:
        return pct / 100.0
    total = sum(_mean_amount(getattr(burn, c), n) for c in CATEGORIES)
    return float(burn.safety_margin) / total if total > 0 else 0.0


def _money_range(value: float) -> tuple[float, float]:
    """Slider range for a monthly amount: 0 to twice the params figure (at least 100 000), in steps of 5 000."""
    hi = max(100_000.0, float(np.ceil(2 * value / 50_000.0) * 50_000.0))
    return 0.0, hi


def control_specs(params: Params, baseline: list[LeverSpec] | tuple[LeverSpec, ...] = ()
                  ) -> tuple[list[Control], dict[str, float | int]]:
    """Every control of the panel and its starting value (the baseline scenario, the params' burn and horizon).

    >>> from cashsim.params import Params
    >>> specs, start = control_specs(Params())
    >>> start["discount_rate"], start["horizon_months"]
    (0.0, 4)
    """
    n = params.horizon_months
    disc = _find(baseline, "early_payment_discount")
    plan = _find(baseline, "dunning_plan")
    dep = _find(baseline, "deposit")
    dd = _find(baseline, "direct_debit")
    calls = _find(baseline, "promise_calls")
    cut = _find(baseline, "cutoff_threat")
    fin = _find(baseline, "financing")
    fin_fee = (fin.service_fee if fin is not None and fin.service_fee is not None
               else FINANCING_DEFAULTS["factoring"]["service_fee"])
    n_steps = len(plan.steps) if plan is not None else 0
    specs = [
        Control("discount_rate", "Discount rate", "levers", "float", 0.0, 0.05, 0.0025, ".2%",
                "Early-payment discount (escompte) on invoices not yet due; 0 = none", off=0.0),
        Control("discount_deadline_days", "Discount deadline (days)", "levers", "int", 0, 30, 1, "d",
                "Days after the invoice date within which the discount is earned"),
        Control("dunning_steps", "Dunning steps", "levers", "int", 0, max(len(LADDER), n_steps), 1, "d",
                "Steps of the dunning plan (relances): fewer = softer, more = firmer (adds ladder steps)"),
        Control("dunning_days_earlier", "Dunning earlier by (days)", "levers", "int", 0, 21, 1, "d",
                "Every dunning step this many days earlier; past the due date it becomes a pre-due reminder"),
        Control("deposit_share", "Deposit share", "levers", "float", 0.0, 0.5, 0.05, ".0%",
                "Share of each new order cashed as a deposit (acompte); 0 = none", off=0.0),
        Control("direct_debit_adoption", "Direct-debit adoption", "levers", "float", 0.0, 1.0, 0.05, ".0%",
                "Share of customers (latest payers first) moved to SEPA B2B direct debit; 0 = none", off=0.0),
        Control("promise_calls", "Promise calls", "levers", "int", 0, 100, 5, "d",
                "Calls to the largest overdue accounts asking for a payment date; 0 = none", off=0),
        Control("cutoff_days", "Cut-off threat (days late)", "levers", "int", 0, 180, 5, "d",
                "Formal notice and suspension threat beyond this many days overdue; 0 = none", off=0),
        Control("financing_share", "Financing share", "levers", "float", 0.0, 1.0, 0.05, ".0%",
                "Share of the receivables financed (affacturage / Dailly); 0 = none", off=0.0),
        Control("financing_fee", "Financing fee", "levers", "float", 0.0, 0.03, 0.001, ".1%",
                "Service fee on financed receivables (incl. VAT amounts), besides interest"),
    ]
    start: dict[str, float | int] = {
        "discount_rate": disc.rate if disc else 0.0,
        "discount_deadline_days": disc.deadline_days if disc else 10,
        "dunning_steps": n_steps,
        "dunning_days_earlier": 0,
        "deposit_share": dep.share if dep else 0.0,
        "direct_debit_adoption": dd.adoption if dd else 0.0,
        "promise_calls": calls.n_calls if calls else 0,
        "cutoff_days": cut.overdue_days if cut else 0,
        "financing_share": fin.share if fin else 0.0,
        "financing_fee": float(min(fin_fee, 0.03)),
    }
    for cat in CATEGORIES:
        value = _mean_amount(getattr(params.burn, cat), n)
        lo, hi = _money_range(value)
        specs.append(Control(cat, cat.replace("_", " ").capitalize() + " / month", "burn", "float", lo, hi, 5000.0,
                             ",.0f", f"Monthly {cat.replace('_', ' ')} incl. VAT (décaissements), euros; a "
                             "month-by-month list shows its mean over the horizon and keeps its shape"))
        start[cat] = value
    margin = _margin_share(params.burn, n)
    specs.append(Control("safety_margin", "Safety margin", "burn", "float", 0.0, max(0.2, margin), 0.005, ".1%",
                         "Extra target on top of the burn, as a share of it (marge de sécurité)"))
    start["safety_margin"] = margin
    specs.append(Control("horizon_months", "Horizon (months)", "horizon", "int", 1, max(MAX_HORIZON, n), 1, "d",
                         "Months forecast after the as-of date"))
    start["horizon_months"] = n
    return specs, start


# ================================================================================================ scenario


@dataclass(frozen=True)
class Scenario:
    """What the controls describe: the levers applied (the proposal's merged with the baseline's), the burn and
    the horizon."""

    levers: tuple[LeverSpec, ...]
    burn: CashBurn
    horizon_months: int
    #: the proposal's own levers, as saved in the params' scenarios (``levers`` = these merged with the baseline's)
    own: tuple[LeverSpec, ...] = ()


def dunning_steps(current: list[DunningStep], n_steps: int, days_earlier: int) -> list[DunningStep]:
    """The plan the dunning controls describe: the current plan cut or extended to ``n_steps`` steps, then moved.

    Extension takes the :data:`LADDER` steps later than the current plan's last step (a firmer escalation);
    then every step moves ``days_earlier`` days earlier (never before day -60, the lever's floor).

    >>> s = dunning_steps([DunningStep(day=7, channel="email")], 2, 10)
    >>> [(x.day, x.channel) for x in s]
    [(-3, 'email'), (0, 'phone')]
    """
    steps = list(current)[:n_steps]
    last = max((s.day for s in steps), default=-10**6)
    for day, channel in LADDER:
        if len(steps) >= n_steps:
            break
        if day > last:
            steps.append(DunningStep(day=day, channel=channel))
            last = day
    if days_earlier:
        steps = [s.model_copy(update={"day": max(-60, s.day - int(days_earlier))}) for s in steps]
    return steps


def _with_field(baseline: list[LeverSpec], cls: type[LeverSpec], **values: Any) -> LeverSpec:
    """The baseline's lever of this kind with ``values`` changed (other fields kept), else a new one."""
    kind = cls.model_fields["kind"].default
    old = _find(baseline, kind)
    data = old.model_dump() if old is not None else {}
    data.update(values)
    return cls.model_validate(data)


def canonical(levers: list[LeverSpec] | tuple[LeverSpec, ...]) -> tuple[LeverSpec, ...]:
    """Levers in :data:`LEVER_ORDER` (stable for several levers of one kind)."""
    rank = {k: i for i, k in enumerate(LEVER_ORDER)}
    return tuple(sorted(levers, key=lambda lv: rank.get(lv.kind, len(rank))))


def merged_with_baseline(own: list[LeverSpec] | tuple[LeverSpec, ...], baseline: list[LeverSpec] | tuple
                         ) -> tuple[LeverSpec, ...]:
    """The levers a scenario applies: :func:`cashsim.compare.scenario_levers`, the rule the report uses (a lever
    replaces the baseline's of its kind, the baseline's others stay, a dunning plan acts relative to the current
    one). The panel applies exactly this list, so a saved proposal reproduces in next month's report."""
    return tuple(scenario_levers({BASELINE: list(baseline), PROPOSAL: list(own)}, PROPOSAL))


def scenario_from_values(params: Params, baseline: list[LeverSpec] | tuple[LeverSpec, ...],
                         values: dict[str, Any]) -> Scenario:
    """The :class:`Scenario` a set of control values describes (see the module docstring for the rules)."""
    baseline = list(baseline)
    levers: list[LeverSpec] = []
    if values["discount_rate"] > 0:
        levers.append(_with_field(baseline, EarlyPaymentDiscount, rate=values["discount_rate"],
                                  deadline_days=int(values["discount_deadline_days"])))
    plan = _find(baseline, "dunning_plan")
    current = list(plan.steps) if plan is not None else []
    steps = dunning_steps(current, int(values["dunning_steps"]), int(values["dunning_days_earlier"]))
    if steps != current:
        levers.append(_with_field(baseline, DunningPlan, steps=[s.model_dump() for s in steps], current=None))
    if values["deposit_share"] > 0:
        levers.append(_with_field(baseline, Deposit, share=values["deposit_share"]))
    if values["direct_debit_adoption"] > 0:
        levers.append(_with_field(baseline, DirectDebit, adoption=values["direct_debit_adoption"]))
    if values["promise_calls"] > 0:
        extra = {} if _find(baseline, "promise_calls") else {"hourly_cost": params.finance.hourly_cost}
        levers.append(_with_field(baseline, PromiseCalls, n_calls=int(values["promise_calls"]), **extra))
    if values["cutoff_days"] > 0:
        extra = {} if _find(baseline, "cutoff_threat") else {"gross_margin": params.finance.gross_margin}
        levers.append(_with_field(baseline, CutOffThreat, overdue_days=int(values["cutoff_days"]), **extra))
    if values["financing_share"] > 0:
        levers.append(_with_field(baseline, Financing, share=values["financing_share"],
                                  service_fee=values["financing_fee"]))
    n = int(values["horizon_months"])
    burn_update: dict[str, Any] = {}
    for cat in CATEGORIES:
        old = getattr(params.burn, cat)
        if abs(_mean_amount(old, params.horizon_months) - values[cat]) > 0.5:
            burn_update[cat] = _rescaled(old, values[cat], params.horizon_months)
    if abs(_margin_share(params.burn, params.horizon_months) - values["safety_margin"]) > 1e-9:
        burn_update["safety_margin"] = f"{values['safety_margin'] * 100:.4g}%"
    burn = params.burn.model_copy(update=burn_update) if burn_update else params.burn
    burn = CashBurn.model_validate(burn.model_dump())  # re-validate the edited section
    own = canonical(levers)
    return Scenario(levers=merged_with_baseline(own, baseline), burn=burn, horizon_months=n, own=own)


def _rescaled(amount: float | list[float], mean: float, n: int) -> float | list[float]:
    """A monthly amount with its mean over ``n`` months set to ``mean``: a list keeps its month-by-month shape."""
    if not isinstance(amount, list):
        return float(mean)
    old = _mean_amount(amount, n)
    if old <= 0:
        return float(mean)
    return [float(a) * mean / old for a in amount]


# ================================================================================================ engine


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
            self._books[params.horizon_months] = base.book
        self._known = None

    def base_book(self, months: int) -> Book:
        """The book without levers for a horizon: open invoices + the sales plan's invoices to its end, built as
        :func:`cashsim.pipeline.prepare` builds it (memoised; the params' horizon is the pipeline's own book)."""
        def make() -> Book:
            if self._known is None:
                self._known = self.ledger.known_at(self.as_of)
            return self.model.book(self._known.open_book(self.as_of), self.params.sales_plan,
                                   horizon_end=horizon_end(self.as_of, months), promises=self._known.promises)
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


# ================================================================================================ tables


def _chart_shape(report: TargetReport) -> tuple[tuple, tuple]:
    """The months and weeks a report's charts show: the charts can be redrawn in place while these stay."""
    return tuple(report.forecast_months["month"]), tuple(report.weekly["week_start"])


def side_by_side(base: TargetReport, prop: TargetReport) -> pd.DataFrame:
    """Per forecast month: target and collections (medians) and P(target met), baseline next to proposal."""
    b, p = base.forecast_months, prop.forecast_months
    return pd.DataFrame({
        "month": b["month"].astype(str),
        "required": b["required"],
        "target_baseline": b["target_p50"], "target_proposal": p["target_p50"],
        "collections_baseline": b["collections_p50"], "collections_proposal": p["collections_p50"],
        "p_met_baseline": b["p_target_met"], "p_met_proposal": p["p_target_met"],
        "shortfall_baseline": b["expected_shortfall"], "shortfall_proposal": p["expected_shortfall"],
    })


def payment_terms(book: Book) -> float:
    """Amount-weighted mean payment terms (due - issue, calendar days) of the invoices not yet due: the ``N`` of
    an early-payment discount's annualised rate. 30 when the book has none."""
    inv = book.invoices
    due = inv["due_date"].astype("datetime64[ns]")
    terms = (due - inv["issue_date"].astype("datetime64[ns]")).dt.days.to_numpy(float)
    keep = (due > book.as_of).to_numpy() & np.isfinite(terms) & (inv["amount"].to_numpy(float) > 0)
    weights = inv["amount"].to_numpy(float)[keep]
    return float(np.average(terms[keep], weights=weights)) if weights.sum() > 0 else 30.0


def cost_table(base: Outcome, prop: Outcome, months: list[str]) -> pd.DataFrame:
    """One row per lever the proposal changes, and a total: cost within the horizon, cash brought, their ratio.

    cost = expected costs of the lever in the horizon's months (staff time, fees, lost margin) net of the
    baseline's lever of the same name; a discount's cost is what the engine booked path by path
    (``Simulation.daily_cost``, mean, net of the baseline's). extra_cash = mean over paths of (proposal - baseline)
    collections in the horizon, on common random numbers (total only: the effects of combined levers do not
    split). ``annual_rate``: the discount's annualised cost d / (1 - d) x 365 / (N - deadline), N the book's
    mean payment terms (:func:`payment_terms`), to set against the borrowing rate.
    """
    net_days = payment_terms(base.book)
    rows = []
    sim_discounts = float(prop.sim.daily_cost.sum(axis=1).mean()) - float(base.sim.daily_cost.sum(axis=1).mean())
    def expected(outcome: Outcome, name: str) -> float:
        c = outcome.costs
        if not len(c):
            return 0.0
        keep = c["month"].astype(str).isin(months) & (c["lever"] == name) & ~c["in_simulation"].astype(bool)
        return float(c.loc[keep, "amount"].sum())

    for lv in prop.levers:
        if lv in base.levers:                      # the current practice, unchanged: no extra cost
            continue
        cost = expected(prop, lv.name) - expected(base, lv.name)
        cost += sim_discounts if lv.kind == "early_payment_discount" else 0.0
        rate = lv.annualised_rate(net_days) if isinstance(lv, EarlyPaymentDiscount) else np.nan
        rows.append({"lever": lv.name, "cost": cost, "annual_rate": rate, "risk": lv.risk})
    extra = float((prop.sim.daily.sum(axis=1) - base.sim.daily.sum(axis=1)).mean())
    total_cost = float(sum(r["cost"] for r in rows))
    rows.append({"lever": "total", "cost": total_cost, "annual_rate": np.nan,
                 "risk": max((r["risk"] for r in rows), default="none", key=RISK_LEVELS.index)})
    df = pd.DataFrame(rows, columns=["lever", "cost", "annual_rate", "risk"])
    df["extra_cash"] = np.where(df["lever"] == "total", extra, np.nan)
    df["cost_per_euro"] = np.where(df["lever"] == "total", total_cost / extra if extra > 0 else np.nan, np.nan)
    return df


# ================================================================================================ figures


def _room_for_legend(fig: go.Figure) -> go.Figure:
    """Title at the very top and the legend under it: the panel's charts carry two rows of legend."""
    return fig.update_layout(title={"y": 0.98, "yanchor": "top"}, margin={"t": 120},
                             legend={"y": 1.04, "yanchor": "bottom"})


def collections_figure(base: TargetReport, prop: TargetReport, *, locale: str = fmt.DEFAULT_LOCALE,
                       currency: str = "EUR") -> go.Figure:
    """Fan of the proposal's monthly collections against the smoothed target, with the baseline's median."""
    t = _text(locale)
    m = prop.forecast_months
    fig = plots.fan_chart(m, m, period_col="month", prefix="collections_", target_col="target_p50",
                          title=t["collections"], locale=locale, currency=currency)
    fig.add_trace(go.Scatter(x=fig.data[0].x, y=base.forecast_months["collections_p50"], mode="lines+markers",
                             name=t["baseline_median"], line={"color": "#7f8c8d", "dash": "dot", "width": 2}))
    return _room_for_legend(fig)


def cash_figure(base: TargetReport, prop: TargetReport, minimum_balance: float, *,
                locale: str = fmt.DEFAULT_LOCALE, currency: str = "EUR") -> go.Figure:
    """Weekly cash position of the proposal (fan, P(under minimum)), the minimum balance and the baseline median."""
    t = _text(locale)
    fig = plots.cash_position_fan(prop.weekly, minimum_balance, week_col="week_start", prefix="position_",
                                  p_below_col="p_under_minimum", title=t["cash"], locale=locale, currency=currency)
    fig.add_trace(go.Scatter(x=pd.to_datetime(base.weekly["week_start"]), y=base.weekly["position_p50"],
                             mode="lines", name=t["baseline_median"],
                             line={"color": "#7f8c8d", "dash": "dot", "width": 2}), secondary_y=False)
    return _room_for_legend(fig)


def p_met_figure(base: TargetReport, prop: TargetReport, required_probability: float, *,
                 locale: str = fmt.DEFAULT_LOCALE) -> go.Figure:
    """P(target met) per month: the proposal's bars (green where it reaches the requirement), the baseline's grey."""
    t = _text(locale)
    pm, bm = prop.forecast_months, base.forecast_months
    fig = plots.p_target_met_bars(pd.DataFrame({"period": pm["month"].astype(str), "p_target_met": pm["p_target_met"]}),
                                  required_probability, title=t["p_met"], locale=locale)
    fig.data[0].name = t["proposal"]
    fig.add_trace(go.Bar(x=fig.data[0].x, y=bm["p_target_met"], name=t["baseline"], marker_color="#bdc3c7",
                         hovertemplate=f"{t['baseline']}: %{{y:.1%}}<extra></extra>"))
    fig.update_layout(barmode="group", showlegend=True)
    return fig


def _fan_data(frame: pd.DataFrame, prefix: str) -> list[dict[str, Any]]:
    """Trace data of a :func:`cashsim.plots` fan in its trace order: per band lower y, upper y + customdata; median."""
    out: list[dict[str, Any]] = []
    for lo, hi, _label in plots.BANDS:
        low, high = frame[prefix + lo].to_numpy(float), frame[prefix + hi].to_numpy(float)
        out += [{"y": low}, {"y": high, "customdata": np.column_stack([low, high])}]
    return out + [{"y": frame[prefix + "p50"].to_numpy(float)}]


def chart_data(base: TargetReport, prop: TargetReport, required_probability: float, *,
               locale: str = fmt.DEFAULT_LOCALE) -> dict[str, list[dict[str, Any]]]:
    """The data of the three charts, trace by trace in the order the figure functions draw them.

    An update changes only these arrays (the layout, hover templates and colours of the lines stay), so the panel
    redraws without building plotly figures again; the tests check the result equals a full rebuild.
    """
    m, bm = prop.forecast_months, base.forecast_months
    coll = _fan_data(m, "collections_")
    if not np.allclose(m["target_p10"], m["target_p90"], equal_nan=True):
        coll += [{"y": m["target_p10"].to_numpy(float)}, {"y": m["target_p90"].to_numpy(float)}]
    coll += [{"y": m["burn"].to_numpy(float)}, {"y": m["target_p50"].to_numpy(float)},
             {"y": bm["collections_p50"].to_numpy(float)}]
    p = m["p_target_met"].to_numpy(float)
    p_met = [{"y": p, "marker.color": np.where(p >= required_probability, plots.MET, plots.MISSED).tolist(),
              "text": [fmt.percent(v, locale=locale) for v in p]},
             {"y": bm["p_target_met"].to_numpy(float)}]
    cash = [{"y": prop.weekly["p_under_minimum"].to_numpy(float)}, *_fan_data(prop.weekly, "position_"),
            {"y": base.weekly["position_p50"].to_numpy(float)}]
    return {"collections": coll, "p_target_met": p_met, "cash_position": cash}


#: Style of the panel's tables: figures right-aligned, compact rows (the widget HTML carries it once per table).
TABLE_CSS = ("<style>.cashsim-table{border-collapse:collapse;font-size:12px}"
             ".cashsim-table th{text-align:left;padding:2px 8px;border-bottom:1px solid #999}"
             ".cashsim-table td{text-align:right;padding:2px 8px;white-space:nowrap}</style>")


def html_table(frame: pd.DataFrame, *, money_cols=(), percent_cols=(), labels: dict[str, str] | None = None,
               locale: str = fmt.DEFAULT_LOCALE, currency: str = "EUR") -> str:
    """A table as HTML with the locale's formats (:func:`cashsim.fmt.format_columns`), every cell HTML-escaped.

    ``DataFrame.to_html`` rather than a ``Styler`` (:func:`cashsim.fmt.table`): ten times faster, which a live
    panel needs; customer names are escaped all the same (``escape=True``).
    """
    formatters = fmt.format_columns(frame, money_cols=money_cols, percent_cols=percent_cols, locale=locale,
                                    currency=currency)
    shown = frame.rename(columns=labels or {})
    formatters = {(labels or {}).get(c, c): f for c, f in formatters.items()}
    return TABLE_CSS + shown.to_html(index=False, escape=True, formatters=formatters, na_rep=fmt.MISSING,
                                     classes="cashsim-table", border=0)


def _differs(a: Any, b: Any) -> bool:
    """Whether two plotly JSON values differ (arrays compared by value, NaN equal to NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() != b.keys() or any(_differs(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple | np.ndarray) or isinstance(b, list | tuple | np.ndarray):
        try:
            x, y = np.asarray(a), np.asarray(b)
        except ValueError:
            return True
        if x.shape != y.shape:
            return True
        if x.dtype.kind in "fc" and y.dtype.kind in "fc":
            return not np.array_equal(x, y, equal_nan=True)
        return not np.array_equal(x, y)
    return a != b


def _sync_figure(widget: go.FigureWidget, new: go.Figure) -> bool:
    """Make a displayed ``widget`` show ``new``: only the changed properties, in one ``batch_update`` message.

    Returns False (nothing done) when the traces differ in number or type: the caller then shows a new widget
    (traces added to a FigureWidget after it was created are not drawn by a view created later).
    """
    if len(widget.data) != len(new.data) or any(a.type != b.type for a, b in zip(widget.data, new.data)):
        return False
    changes = []
    for old, trace in zip(widget.data, new.data):
        was, now = old.to_plotly_json(), trace.to_plotly_json()
        delta = {k: v for k, v in now.items() if k not in was or _differs(was[k], v)}
        delta.update({k: None for k in was if k not in now})
        if delta:
            changes.append((old, delta))
    was, now = widget.layout.to_plotly_json(), new.layout.to_plotly_json()
    layout = {k: v for k, v in now.items() if k not in was or _differs(was[k], v)}
    layout.update({k: None for k in was if k not in now})
    if changes or layout:
        with widget.batch_update():
            for old, delta in changes:
                old.update(delta, overwrite=True)
            if layout:
                widget.layout.update(layout, overwrite=True)
    return True


# ================================================================================================ panel


@dataclass(frozen=True)
class PanelResult:
    """Everything one update shows: the scenario, both outcomes and reports, the tables, and the time it took."""

    values: dict[str, Any]
    scenario: Scenario
    baseline: Outcome
    proposal: Outcome
    baseline_report: TargetReport
    proposal_report: TargetReport
    months: pd.DataFrame
    costs: pd.DataFrame
    call_list: pd.DataFrame
    seconds: float = field(default=0.0)


class ScenarioPanel:
    """Sliders over the live simulation: baseline and proposal side by side against the smoothed target.

    ``params``: a :class:`~cashsim.params.Params` or the path of a params YAML. ``n_paths``: paths per update
    (common random numbers with ``seed``, default the params' seed). ``base``: an already fitted
    :class:`~cashsim.pipeline.Baseline` (else :func:`cashsim.pipeline.prepare` runs). ``output_dir``: default
    folder of the chart export. Display it as the last expression of a cell (or ``panel.widget``).
    """

    def __init__(self, params: Params | str | Path, *, n_paths: int = PANEL_PATHS, seed: int | None = None,
                 base: Baseline | None = None, output_dir: str | Path | None = None):
        self.params_path = None if isinstance(params, Params) else Path(params).resolve()
        self.params = params if isinstance(params, Params) else load_params(params)
        #: where "Export charts" writes: ``report.output_dir`` from the working directory, as ``cashsim report``
        self.output_dir = Path(output_dir if output_dir is not None else self.params.report.output_dir).resolve()
        self.locale = self.params.report.locale
        self.currency = self.params.currency
        self.baseline_levers = tuple(self.params.scenarios.get("baseline", []))
        self.engine = PanelEngine(prepare(self.params) if base is None else base, self.params, n_paths=n_paths,
                                  seed=seed)
        self.specs, self.start = control_specs(self.params, self.baseline_levers)
        self._spec = {s.name: s for s in self.specs}
        self.values: dict[str, Any] = dict(self.start)
        self.last_error: BaseException | None = None
        self.last_traceback = ""
        self.result: PanelResult | None = None
        self._syncing = False
        self._chart_shape: tuple = ()
        self._calls_key: tuple | None = None
        self._call_list = self._base_call_list()
        self._build_widgets()
        self.update()

    # -- computations --------------------------------------------------------------------------------------------
    def _base_call_list(self) -> pd.DataFrame:
        """The KPI call list (*relances*) at as_of, ranked by amount at stake x risk: it does not move with levers."""
        return call_list(self.engine.ledger, self.engine.as_of, reliability=self.engine.model.customers)

    def scenario(self, values: dict[str, Any] | None = None) -> Scenario:
        """The scenario of the given (default: current) control values."""
        return scenario_from_values(self.params, self.baseline_levers, values or self.values)

    def _checked(self, values: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(values) - set(self._spec))
        if unknown:
            raise ParamsError(f"unknown panel control(s) {unknown}; the controls are {sorted(self._spec)}")
        return {k: self._spec[k].check(v) for k, v in values.items()}

    def compute(self, values: dict[str, Any]) -> PanelResult:
        """Everything the panel shows for control values (no widget touched): the testable core of an update."""
        t0 = time.perf_counter()
        scen = self.scenario(values)
        months = scen.horizon_months
        base = self.engine.outcome(months, tuple(scenario_levers({BASELINE: list(self.baseline_levers)},
                                                                 BASELINE)))
        prop = self.engine.outcome(months, scen.levers)
        rb, rp = self.engine.report(base, scen.burn), self.engine.report(prop, scen.burn)
        horizon = list(base.sim.months)
        table = cost_table(base, prop, horizon)
        calls = self._proposal_call_list(prop)
        return PanelResult(values=dict(values), scenario=scen, baseline=base, proposal=prop, baseline_report=rb,
                           proposal_report=rp, months=side_by_side(rb, rp), costs=table, call_list=calls,
                           seconds=time.perf_counter() - t0)

    def _proposal_call_list(self, prop: Outcome) -> pd.DataFrame:
        """The KPI call list with the proposal's action per customer (promise call, formal notice) beside it."""
        calls = self._call_list.head(CALL_ROWS).copy()
        tags = [[] for _ in range(len(calls))]
        for lv in prop.levers:
            if isinstance(lv, PromiseCalls | CutOffThreat):
                who = set(lv.actions(prop.book, self.engine.model)["customer_id"].astype(str))
                tag = "promise call" if isinstance(lv, PromiseCalls) else "cut-off notice"
                for i in np.flatnonzero(calls["customer_id"].astype(str).isin(who).to_numpy()):
                    tags[i].append(tag)
        calls["proposal_action"] = [", ".join(t) for t in tags]
        return calls

    def update(self, **values: Any) -> PanelResult:
        """Set controls (by name, in their units: shares as fractions, days, euros) and redraw everything.

        Returns the :class:`PanelResult` shown; raises :class:`~cashsim.errors.ParamsError` for an unknown control
        or a value outside its range (the widgets are left unchanged then). ``result.seconds`` is the compute
        time; the redraw is included in the time :func:`benchmark_update` measures.
        """
        new = {**self.values, **self._checked(values)}
        result = self.compute(new)
        self.values = new
        self._set_widgets(new)
        self._render(result)
        self.result = result
        return result

    # -- widgets ---------------------------------------------------------------------------------------------
    def _make_control(self, spec: Control) -> w.Widget:
        style = {"description_width": "190px"}
        layout = w.Layout(width="420px")
        cls = w.IntSlider if spec.kind == "int" else w.FloatSlider
        kw: dict[str, Any] = {}
        if spec.kind == "float":
            kw["readout_format"] = spec.readout
        ctl = cls(value=self.start[spec.name], min=spec.lo, max=spec.hi, step=spec.step,
                  description=spec.label, continuous_update=False, style=style, layout=layout, **kw)
        ctl.tooltip = spec.help
        return ctl

    def _build_widgets(self) -> None:
        t = _text(self.locale)
        self.controls: dict[str, w.Widget] = {s.name: self._make_control(s) for s in self.specs}
        for name, ctl in self.controls.items():
            ctl.observe(self._guard(self._on_control), names="value")
        self.status = w.HTML(value="", layout=w.Layout(min_height="24px"))
        self.status.add_class("cashsim-status")
        self.busy = w.Label(value="")
        #: one box per chart: a chart whose traces change in number is replaced by a new FigureWidget
        self.chart_boxes = {k: w.Box(layout=w.Layout(width="100%")) for k in ("collections", "p_target_met",
                                                                           "cash_position")}
        self.months_html = w.HTML()
        self.costs_html = w.HTML()
        self.calls_html = w.HTML()
        default_yaml = ((self.params_path.parent if self.params_path else Path.cwd())
                        / f"{(self.params_path.stem if self.params_path else 'params')}-{PROPOSAL}.yml")
        self.save_path = w.Text(value=str(default_yaml), description="Save as", layout=w.Layout(width="420px"))
        self.save_button = w.Button(description="Save proposal as params YAML", icon="save",
                                    layout=w.Layout(width="260px"))
        self.save_button.on_click(self._guard(lambda _b: self._on_save()))
        self.export_dir = w.Text(value=str(self.output_dir),
                                 description="Export to", layout=w.Layout(width="420px"))
        self.export_button = w.Button(description="Export charts", icon="download", layout=w.Layout(width="260px"))
        self.export_button.on_click(self._guard(lambda _b: self._on_export()))
        self.reset_button = w.Button(description="Back to baseline", icon="undo", layout=w.Layout(width="260px"))
        self.reset_button.on_click(self._guard(lambda _b: self._on_reset()))

        def box(group: str, title: str) -> w.VBox:
            items = [self.controls[s.name] for s in self.specs if s.group == group]
            return w.VBox([w.HTML(f"<b>{html.escape(title)}</b>"), *items])

        controls = w.VBox([box("levers", "Levers (proposal)"), box("burn", "Cash burn and safety margin"),
                           box("horizon", "Horizon"),
                           w.HTML("<b>Scenario</b>"), self.reset_button, self.save_path, self.save_button,
                           self.export_dir, self.export_button],
                          layout=w.Layout(width="440px", flex="0 0 440px"))
        boxes = self.chart_boxes
        outputs = w.VBox([w.HBox([self.busy, self.status]), boxes["collections"],
                          w.HTML(f"<b>{html.escape(t['baseline'])} / {html.escape(t['proposal'])}</b>"),
                          self.months_html, boxes["p_target_met"], boxes["cash_position"], w.HTML("<b>Costs</b>"),
                          self.costs_html,
                          w.HTML("<b>Call list</b>"), self.calls_html], layout=w.Layout(flex="1 1 auto"))
        self.widget = w.HBox([controls, outputs], layout=w.Layout(width="100%"))

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _set_widgets(self, values: dict[str, Any]) -> None:
        self._syncing = True
        try:
            for name, v in values.items():
                if self.controls[name].value != v:
                    self.controls[name].value = v
        finally:
            self._syncing = False

    def _fast_render(self, r: PanelResult) -> bool:
        """Redraw by changing trace data only (see :func:`chart_data`); False when the charts' shape changed."""
        if _chart_shape(r.proposal_report) != self._chart_shape:
            return False
        data = chart_data(r.baseline_report, r.proposal_report, r.scenario.burn.required_probability,
                          locale=self.locale)
        for key, traces in data.items():
            box = self.chart_boxes[key]
            fig = box.children[0] if box.children else None
            if fig is None or len(fig.data) != len(traces):
                return False
        for key, traces in data.items():
            fig = self.chart_boxes[key].children[0]
            with fig.batch_update():
                for trace, values in zip(fig.data, traces):
                    for prop, value in values.items():
                        if _differs(trace[prop], value):
                            trace[prop] = value
        return True

    def _show(self, key: str, fig: go.Figure) -> None:
        box = self.chart_boxes[key]
        if not box.children or not _sync_figure(box.children[0], fig):
            box.children = (go.FigureWidget(fig),)

    @property
    def fig_collections(self) -> go.FigureWidget:
        """The chart of monthly collections against the smoothed target (as shown)."""
        return self.chart_boxes["collections"].children[0]

    @property
    def fig_p_met(self) -> go.FigureWidget:
        """The chart of P(target met) per month (as shown)."""
        return self.chart_boxes["p_target_met"].children[0]

    @property
    def fig_cash(self) -> go.FigureWidget:
        """The chart of the weekly cash position (as shown)."""
        return self.chart_boxes["cash_position"].children[0]

    def _full_render(self, r: PanelResult) -> None:
        """Build the three charts with :mod:`cashsim.plots` (first draw, or a new horizon)."""
        loc, cur = self.locale, self.currency
        burn = r.scenario.burn
        self._show("collections", collections_figure(r.baseline_report, r.proposal_report, locale=loc,
                                                     currency=cur))
        self._show("p_target_met", p_met_figure(r.baseline_report, r.proposal_report, burn.required_probability,
                                                locale=loc))
        self._show("cash_position", cash_figure(r.baseline_report, r.proposal_report, burn.minimum_balance,
                                                locale=loc, currency=cur))
        self._chart_shape = _chart_shape(r.proposal_report)

    def _render(self, r: PanelResult) -> None:
        loc, cur = self.locale, self.currency
        if not self._fast_render(r):
            self._full_render(r)
        labels = _text(loc)["columns"]
        self.months_html.value = html_table(
            r.months, locale=loc, currency=cur, labels=labels,
            money_cols=[c for c in r.months.columns if c.startswith(("required", "target", "collections", "short"))],
            percent_cols=["p_met_baseline", "p_met_proposal"])
        self.costs_html.value = html_table(r.costs, money_cols=["cost", "extra_cash"],
                                           percent_cols=["annual_rate", "cost_per_euro"], locale=loc, currency=cur,
                                           labels=labels)
        cols = ["rank", "customer_name", "segment", "outstanding", "days_overdue", "next_action", "proposal_action"]
        calls = r.call_list[cols]
        key = tuple(calls["proposal_action"])        # the rest of the call list does not move with the controls
        if key != self._calls_key:
            self.calls_html.value = html_table(calls, money_cols=["outstanding"], locale=loc, currency=cur,
                                               labels=labels)
            self._calls_key = key

    # -- callbacks -------------------------------------------------------------------------------------------
    def _guard(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Run a callback with a busy state; show its message (a str it returns) or any error in the status line.

        An error is never swallowed: its message goes to the status line, the exception to ``last_error`` and the
        traceback to ``last_traceback`` (callback output is invisible in JupyterLab, ipywidgets#2612).
        """
        def wrapped(*args: Any) -> Any:
            if self._syncing:
                return None
            t = _text(self.locale)
            self.busy.value = "●"
            self.status.value = f"<span>{html.escape(t['computing'])}</span>"
            t0 = time.perf_counter()
            try:
                out = fn(*args)
            except Exception as exc:  # shown to the user, kept for the caller: never swallowed
                self.last_error = exc
                self.busy.value = "⚠"
                kind = "" if isinstance(exc, CashsimError) else f"{type(exc).__name__}: "
                self.status.value = (f"<span style='color:#c0392b'><b>{html.escape(t['error'])}</b>: "
                                     f"{html.escape(kind + str(exc))}</span>")
                self.last_traceback = traceback.format_exc()
                return None
            self.last_error = None
            self.busy.value = "✓"
            message = out if isinstance(out, str) else t["ready"]
            self.status.value = (f"<span style='color:#2e8b57'>{html.escape(message)} "
                                 f"({(time.perf_counter() - t0) * 1000:.0f} ms)</span>")
            return out
        return wrapped

    def _on_control(self, change: dict[str, Any]) -> None:
        name = next(k for k, c in self.controls.items() if c is change["owner"])
        try:
            self.update(**{name: change["new"]})
        except Exception:
            self._set_widgets(self.values)  # the slider goes back to what is shown
            raise

    def _on_reset(self) -> None:
        self.update(**self.start)

    def _on_save(self) -> str:
        return f"Saved {self.save_proposal(self.save_path.value)}"

    def _on_export(self) -> str:
        return "Exported " + ", ".join(str(p) for p in self.export_charts(self.export_dir.value))

    # -- save / export -------------------------------------------------------------------------------------------
    def proposal_params(self, name: str = PROPOSAL) -> Params:
        """The params with the proposal saved as scenario ``name`` (burn and horizon as on the panel)."""
        scen = self.scenario()
        scenarios = {**self.params.scenarios, name: list(scen.own)}
        update: dict[str, Any] = {"scenarios": scenarios, "burn": scen.burn, "horizon_months": scen.horizon_months}
        data = self.params.data
        if data.source == "files":  # the new file may live elsewhere: keep its data paths valid
            update["data"] = data.model_copy(update={k: self.params.resolve(getattr(data, k)) for k in TABLES})
        return self.params.model_copy(update=update)

    def save_proposal(self, path: str | Path | None = None, *, name: str = PROPOSAL) -> Path:
        """Write the params with the proposal as scenario ``name`` to a YAML that :func:`load_params` reads back.

        Next month's report runs that scenario; loading the file and simulating ``scenarios[name]`` on the same
        seed reproduces the panel's proposal exactly.
        """
        path = Path(path or self.save_path.value).expanduser()
        if path.suffix.lower() not in (".yml", ".yaml"):
            raise ParamsError(f"{path}: save the proposal as a .yml file (a params file)")
        text = dump_params(self.proposal_params(name))
        header = (f"# cashsim parameters with the scenario '{name}' saved by the scenario panel on "
                  f"{pd.Timestamp.now():%Y-%m-%d %H:%M}\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + text, encoding="utf-8")
        load_params(path)  # fail here, not next month, if it does not read back
        return path

    def figures(self) -> dict[str, go.Figure]:
        """The current charts as static figures (what the export writes)."""
        return {"collections": go.Figure(self.fig_collections), "p_target_met": go.Figure(self.fig_p_met),
                "cash_position": go.Figure(self.fig_cash)}

    def export_charts(self, directory: str | Path | None = None) -> list[Path]:
        """Write the current charts and tables as one self-contained HTML page (plotly.js embedded) and, only when
        kaleido is installed, one PNG per chart. Returns the paths written."""
        out = Path(directory or self.export_dir.value).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        stamp = pd.Timestamp.now().strftime("%Y%m%d-%H%M%S")
        figs = self.figures()
        parts = [fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figs.values())]
        title = html.escape(f"{self.params.company} — scenario panel, as of {self.engine.as_of:%Y-%m-%d}")
        page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
                f"<h1>{title}</h1>{parts[0]}<h2>Baseline / proposal</h2>{self.months_html.value}{parts[1]}"
                f"{parts[2]}<h2>Costs</h2>{self.costs_html.value}<h2>Call list</h2>{self.calls_html.value}"
                "</body></html>")
        page_path = out / f"scenario-panel-{stamp}.html"
        page_path.write_text(page, encoding="utf-8")
        paths = [page_path]
        if importlib.util.find_spec("kaleido") is not None:
            for name, fig in figs.items():
                png = out / f"scenario-panel-{stamp}-{name}.png"
                fig.write_image(png, width=1100, height=450)
                paths.append(png)
        return paths


# ================================================================================================ benchmark


def benchmark_update(params_path: str | Path, *, n_paths: int = PANEL_PATHS, repeats: int = 7) -> float:
    """Median seconds a control change takes to be shown on the panel (levers, simulation, tables, redraw).

    The panel is built once (fit not timed); each timed change is to a value not seen before (the discount rate
    moves 0.25 % at a time), so no memo answers it. Goal: under 0.3 s on the demo company.
    """
    panel = ScenarioPanel(params_path, n_paths=n_paths)
    spec = panel._spec["discount_rate"]
    times = []
    for i in range(1, repeats + 1):
        value = min(spec.hi, panel.start["discount_rate"] + i * spec.step)
        t0 = time.perf_counter()
        panel.update(discount_rate=value)
        times.append(time.perf_counter() - t0)
    return float(statistics.median(times))
