"""The panel's controls and the scenario they describe (pure: no widget, no simulation).

:func:`control_specs` lists every control (lever parameters, burn by category, safety margin, horizon) with its
range and its starting value taken from the params' ``baseline`` scenario, so the panel opens on "proposal =
baseline". :func:`scenario_from_values` turns control values into a :class:`Scenario` (a lever list, a
:class:`~cashsim.params.CashBurn`, a horizon).

Rule: a control edits one field of the lever of its kind; a lever the baseline already has keeps its other fields
(segments, fees...); a control at its "off" value (rate 0, share 0, 0 calls, 0 days) removes the lever - unless the
baseline has one: the proposal's levers are merged with the baseline's by :func:`cashsim.compare.scenario_levers`
(the report's rule, :func:`merged_with_baseline`), which keeps the baseline's levers of the kinds the proposal does
not set. The proposal's own levers are kept in :data:`LEVER_ORDER` (:func:`canonical`). The dunning plan (*plan de
relance*) is the baseline's plan moved ``dunning_days_earlier`` days earlier and cut or extended along
:data:`LADDER` to ``dunning_steps`` steps (:func:`dunning_steps`); it acts relative to the baseline's plan
(``DunningPlan.relative_to``), so the current practice, already in the fitted behaviour, is not counted twice.
Then the plan is escalated or softened to the chosen highest rung of :data:`RUNGS` and given one tone
(:func:`up_to_rung`): any rung is reachable from any starting plan. Rates (``unit="%"``) are fractions here and
percent on the panel (:meth:`Control.shown`).
Burn controls are monthly euros incl. VAT (a month-by-month list is shown as its mean over the horizon and keeps its
shape when edited); the safety margin is a share of the burn.

Example::

    >>> from cashsim.params import Params
    >>> specs, start = control_specs(Params())
    >>> scenario_from_values(Params(), [], {**start, "deposit_share": 0.2}).own[0].kind
    'deposit'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cashsim.compare import BASELINE, scenario_levers
from cashsim.errors import ParamsError
from cashsim.i18n import N_
from cashsim.levers import (
    FINANCING_DEFAULTS,
    CutOffThreat,
    Deposit,
    DirectDebit,
    DunningPlan,
    DunningStep,
    EarlyPaymentDiscount,
    Financing,
    LeverSpec,
    PromiseCalls,
    escalate,
    truncate,
)
from cashsim.levers.channels import DUNNING_DEFAULTS, LADDER
from cashsim.params import CashBurn, Params, monthly_values
from cashsim.targets import CATEGORIES

#: Name of the scenario the save button writes into the params file.
PROPOSAL = "proposal"
#: Longest horizon the panel offers (months).
MAX_HORIZON = 12

#: The rungs of the dunning ladder, mildest first (:data:`cashsim.levers.channels.LADDER`: e-mail, letter, phone,
#: manager call, sales rep, formal notice, litigation). The "highest rung" control picks one; "" keeps the plan's top.
RUNGS: tuple[str, ...] = tuple(channel for channel, _ in LADDER)
#: Tones a dunning step can take ("" = each channel's own); a tone a channel does not have leaves that step's own.
TONES: tuple[str, ...] = ("", *dict.fromkeys(tone for _, tone in DUNNING_DEFAULTS))

#: Label of each burn category's control, and their help (English msgids of the catalogue, :mod:`cashsim.i18n`).
BURN_LABELS = {"salaries_and_social": N_("Salaries and social / month"),
               "external_charges": N_("External charges / month"), "taxes_and_vat": N_("Taxes and VAT / month"),
               "loan_repayments": N_("Loan repayments / month")}
BURN_HELP = N_("Monthly outflow incl. VAT (décaissements), euros; a month-by-month list shows its mean over the "
               "horizon and keeps its shape")

#: Canonical order in which the panel's levers are applied: behaviour first, then cash-for-sure levers, financing
#: last (it finances what the other levers leave outstanding). Fixed, so a scenario's result never depends on the
#: order in which sliders were moved.
LEVER_ORDER: tuple[str, ...] = ("dunning_plan", "promise_calls", "cutoff_threat", "direct_debit",
                                "early_payment_discount", "deposit", "financing")


# ================================================================================================ controls


@dataclass(frozen=True)
class Control:
    """One control of the panel: a named value with its range, step, readout and group.

    ``kind`` is "float", "int" or "choice" (one of ``options``); ``readout`` a d3 format; ``off`` the value that
    removes the lever (None for burn and horizon controls). ``unit`` "%" marks a rate: the control's value is a
    fraction (0.02) but the panel shows and accepts percent (2 means 2 %), :meth:`shown` / :meth:`from_shown`.
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
    unit: str = ""
    options: tuple[str, ...] = ()

    @property
    def scale(self) -> float:
        """Shown value / control value: 100 for a rate shown in percent, else 1."""
        return 100.0 if self.unit == "%" else 1.0

    def shown(self, value: Any) -> Any:
        """The value as the panel shows it (percent for a rate): ``shown(0.02) == 2.0``."""
        return value if self.kind == "choice" else (round(value * self.scale, 10) if self.scale != 1 else value)

    def from_shown(self, value: Any) -> Any:
        """The control value of a shown value (2 % -> 0.02); the range is not checked here (see :meth:`check`)."""
        return value if self.kind == "choice" or self.scale == 1 else round(float(value) / self.scale, 12)

    def inside(self, value: float) -> bool:
        """Whether a control value lies in the control's range."""
        return self.lo - 1e-12 <= value <= self.hi + 1e-12

    def check(self, value: Any) -> float | int | str:
        """The value as the control's type, or a ParamsError naming the control, the value and its range."""
        if self.kind == "choice":
            if value not in self.options:
                raise ParamsError(f"panel control {self.name!r}: {value!r} is not one of {list(self.options)}")
            return value
        try:
            v = int(value) if self.kind == "int" else float(value)
        except (TypeError, ValueError):
            raise ParamsError(f"panel control {self.name!r}: {value!r} is not a number") from None
        if self.kind == "int" and v != value and not (isinstance(value, float) and value.is_integer()):
            raise ParamsError(f"panel control {self.name!r}: {value!r} is not a whole number")
        if not self.inside(v):
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
        Control("discount_rate", "Discount rate (%)", "levers", "float", 0.0, 0.05, 0.0025, ".2%",
                "Early-payment discount (escompte) on invoices not yet due; 0 = none", off=0.0, unit="%"),
        Control("discount_deadline_days", "Discount deadline (days)", "levers", "int", 0, 30, 1, "d",
                "Days after the invoice date within which the discount is earned"),
        Control("dunning_steps", "Dunning steps", "levers", "int", 0, max(len(LADDER), n_steps), 1, "d",
                "Steps of the dunning plan (relances): fewer = softer, more = firmer (adds ladder steps)"),
        Control("dunning_days_earlier", "Dunning earlier by (days)", "levers", "int", 0, 21, 1, "d",
                "Every dunning step this many days earlier; past the due date it becomes a pre-due reminder"),
        Control("dunning_rung", "Highest dunning rung", "levers", "choice", 0, 0, 0, "",
                "Firmest action of the plan: steps above it are dropped, missing rungs up to it added after the "
                "plan's last step; '' = the plan as it is", options=("", *RUNGS)),
        Control("dunning_tone", "Dunning tone", "levers", "choice", 0, 0, 0, "",
                "Tone of every dunning step; '' = each channel's own", options=TONES),
        Control("deposit_share", "Deposit share (%)", "levers", "float", 0.0, 0.5, 0.05, ".0%",
                "Share of each new order cashed as a deposit (acompte); 0 = none", off=0.0, unit="%"),
        Control("direct_debit_adoption", "Direct-debit adoption (%)", "levers", "float", 0.0, 1.0, 0.05, ".0%",
                "Share of customers (latest payers first) moved to SEPA B2B direct debit; 0 = none", off=0.0, unit="%"),
        Control("promise_calls", "Promise calls", "levers", "int", 0, 100, 5, "d",
                "Calls to the largest overdue accounts asking for a payment date; 0 = none", off=0),
        Control("cutoff_days", "Cut-off threat (days late)", "levers", "int", 0, 180, 5, "d",
                "Formal notice and suspension threat beyond this many days overdue; 0 = none", off=0),
        Control("financing_share", "Financing share (%)", "levers", "float", 0.0, 1.0, 0.05, ".0%",
                "Share of the receivables financed (affacturage / Dailly); 0 = none", off=0.0, unit="%"),
        Control("financing_fee", "Financing fee (%)", "levers", "float", 0.0, 0.03, 0.001, ".1%",
                "Service fee on financed receivables (incl. VAT amounts), besides interest", unit="%"),
    ]
    start: dict[str, float | int] = {
        "discount_rate": disc.rate if disc else 0.0,
        "discount_deadline_days": disc.deadline_days if disc else 10,
        "dunning_steps": n_steps,
        "dunning_days_earlier": 0,
        "dunning_rung": "",
        "dunning_tone": "",
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
        specs.append(Control(cat, BURN_LABELS[cat], "burn", "float", lo, hi, 5000.0, ",.0f", BURN_HELP))
        start[cat] = value
    margin = _margin_share(params.burn, n)
    specs.append(Control("safety_margin", "Safety margin (%)", "burn", "float", 0.0, max(0.2, margin), 0.005, ".1%",
                         "Extra target on top of the burn, as a share of it (marge de sécurité)", unit="%"))
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
    [(-3, 'email'), (5, 'letter')]
    """
    steps = list(current)[:n_steps]
    last = max((s.day for s in steps), default=-10**6)
    for channel, day in LADDER:
        if len(steps) >= n_steps:
            break
        if day > last:
            steps.append(DunningStep(day=day, channel=channel))
            last = day
    if days_earlier:
        steps = [s.model_copy(update={"day": max(-60, s.day - int(days_earlier))}) for s in steps]
    return steps


def up_to_rung(steps: list[DunningStep], rung: str, tone: str = "") -> list[DunningStep]:
    """A plan escalated (or softened) to the rung ``rung`` of :data:`RUNGS`, every step that can take it in
    ``tone``: :func:`cashsim.levers.truncate` drops the steps above the rung, :func:`cashsim.levers.escalate` adds
    every missing rung up to it at its ladder day. ``rung`` "" keeps the steps, ``tone`` "" keeps each step's tone.
    Any plan reaches any rung.

    >>> s = up_to_rung([DunningStep(day=40, channel="email")], "manager_call", "firm")
    >>> [x.channel for x in s], {x.tone for x in s}
    (['email', 'letter', 'phone', 'manager_call'], {'firm'})
    """
    plan = truncate(list(steps), rung) if rung else DunningPlan(steps=list(steps))
    return list(escalate(plan, rung or None, tone=tone or None).steps)


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
    steps = up_to_rung(steps, values.get("dunning_rung", ""), values.get("dunning_tone", ""))
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

