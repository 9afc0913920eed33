"""Dunning (*relance*): a plan of steps, each multiplying the daily hazard of paying for some days after it.

Rule: h' = h x M_plan(g) / M_current(g), M(g) = prod_s (1 + effect_s) over the steps whose window
[day_s, day_s + effect_days_s) covers grid day g (calendar days relative to the due date). The book was fitted
under the current plan (the baseline scenario's), so a plan equal to it changes nothing. A reminder earlier than
today's surfaces disputes sooner (see :class:`DunningPlan`). Each channel's default effect, window, cost in euros
per action and relationship risk are in ``CHANNEL_DEFAULTS``.

Example::

    >>> step = DunningStep(day=7, channel="email")
    >>> (step.effect, step.effect_days, step.cost)
    (0.3, 7, 0.5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, model_validator

from cashsim.levers._book import (
    Segments,
    _cost_frame,
    _ensure_columns,
    _min_day,
    _month,
    _p_unpaid_morning,
    _profile_flag,
    _remap,
    _select,
    _start_day,
    _with,
    empty_costs,
)
from cashsim.levers.spec import RISK_LEVELS, LeverSpec, Probability, Risk, SpecModel
from cashsim.levers.transforms import scale_hazard, shift_days, window_multiplier

if TYPE_CHECKING:
    from cashsim.behaviour import PayerModel
    from cashsim.simulate import Book


#: Default effect of one dunning action (*relance*) by channel: hazard x (1 + effect) for ``effect_days`` days.
#: cost in euros per action; risk for the relationship. Sources: methods.md section 3.
CHANNEL_DEFAULTS: dict[str, dict[str, Any]] = {
    # SMS reminder RCT: +7-9 % on-time payment, -2 days late (Cadena & Schoar, NBER w17020); null on average in
    # Fuente et al. 2024: g = 0.3 over 7 days is an assumption anchored there. Cost: an automated message.
    "email": dict(effect=0.3, effect_days=7, cost=0.5, tone="friendly", relationship_risk="none"),
    "sms": dict(effect=0.3, effect_days=7, cost=0.5, tone="friendly", relationship_risk="none"),
    # a person calling: twice an e-mail (assumption; reminders worked when they named a person, Karlan, Morten &
    # Zinman 2015); 10 minutes at 45 EUR/h.
    "phone": dict(effect=0.6, effect_days=7, cost=7.5, tone="firm", relationship_risk="low"),
    # call to a higher-level contact / the sales rep: assumption, 20 minutes at 45 EUR/h.
    "manager_call": dict(effect=0.8, effect_days=10, cost=15.0, tone="firm", relationship_risk="medium"),
    "sales_rep": dict(effect=0.6, effect_days=10, cost=15.0, tone="friendly", relationship_risk="medium"),
    # formal notice (*mise en demeure*, registered letter): salient threat letter deters beyond a plain mailing
    # (Fellner, Sausgruber & Traxler, JEEA 2013), magnitude assumed g = 1.0 over 14 days; letter + 20 minutes.
    "formal_notice": dict(effect=1.0, effect_days=14, cost=25.0, tone="formal", relationship_risk="high"),
    # litigation (*injonction de payer*): assumption g = 1.0 over 30 days; court and lawyer fees assumed 500 EUR.
    "litigation": dict(effect=1.0, effect_days=30, cost=500.0, tone="legal", relationship_risk="high"),
}
Channel = Literal["email", "sms", "phone", "manager_call", "sales_rep", "formal_notice", "litigation"]


class DunningStep(SpecModel):
    """One step of a dunning plan (*plan de relance*): on ``day`` (relative to the due date, negative = before)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    day: int = Field(ge=-60, le=365)
    channel: Channel
    tone: Literal["friendly", "firm", "formal", "legal"] | None = None
    #: Hazard multiplier minus one for ``effect_days`` days after the step (None = the channel's default).
    effect: float | None = Field(None, ge=0, le=10)
    effect_days: int | None = Field(None, ge=1, le=120)
    #: Euros per action (staff time, letters, fees).
    cost: float | None = Field(None, ge=0)
    relationship_risk: Risk | None = None

    @classmethod
    def _spec_name(cls, data: Any) -> str:
        return "dunning step"

    @model_validator(mode="after")
    def _defaults(self) -> DunningStep:
        for key, value in CHANNEL_DEFAULTS[self.channel].items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)  # frozen: fill the channel defaults once, at validation
        return self


def _plan_arrays(steps: list[DunningStep]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([s.day for s in steps], dtype=float), np.array([s.effect_days for s in steps], dtype=float),
            np.array([s.effect for s in steps], dtype=float))


class DunningPlan(LeverSpec):
    """A dunning plan (*plan de relance*): graduated steps, each a hazard multiplier for some days after it.

    The baseline book was fitted on history under the company's current plan, so a proposed plan acts through the
    **ratio** of multipliers, h' = h x M_plan(g) / M_current(g), with M(g) = prod_s (1 + effect_s) over the steps
    whose window [day_s, day_s + effect_days_s) covers day g: the current plan is not counted twice, and a plan
    equal to the current one changes nothing. ``current`` is set by :mod:`cashsim.compare` from the baseline
    scenario (``relative_to``). A reminder before the due date surfaces disputes early: on invoices not yet at
    that reminder and not already in dispute, the share ``dispute_share_of_late`` of the late mass (days > 0) —
    the payments a dispute held up — moves earlier by the days between the current plan's first pre-due reminder
    (or the due date) and this plan's, never before the reminder: the dispute is raised, and so resolved, that
    much sooner. Disputes already open are left alone. Steps already past for an overdue invoice are not
    replayed. Effects default by channel (``CHANNEL_DEFAULTS``); estimate your own with
    :func:`estimate_dunning_effects` where the ledger has a dunning log.
    """

    kind: Literal["dunning_plan"] = "dunning_plan"
    steps: list[DunningStep] = Field(default_factory=list)
    segments: Segments = None
    #: The current plan this one replaces (set from the baseline scenario; empty = no dunning today).
    current: list[DunningStep] | None = None
    #: Share of late payment that is due to a dispute raised late (assumption; from a ledger:
    #: :func:`dispute_share_of_late`).
    dispute_share_of_late: Probability = 0.25

    @property
    def risk(self) -> Risk:
        levels = [RISK_LEVELS.index(s.relationship_risk) for s in self.steps] or [0]
        return RISK_LEVELS[max(levels)]

    @property
    def risk_note(self) -> str:  # type: ignore[override]
        firm = [s.channel for s in self.steps if s.relationship_risk in ("medium", "high")]
        return ("firm steps (" + ", ".join(firm) + ") strain the relationship of good customers") if firm else \
            "reminders only: little relationship risk"

    def relative_to(self, current: DunningPlan | list[DunningStep] | None) -> DunningPlan:
        steps = current.steps if isinstance(current, DunningPlan) else (current or [])
        return self.model_copy(update={"current": list(steps)})

    def _first_pre_due(self, steps: list[DunningStep]) -> int:
        pre = [s.day for s in steps if s.day < 0]
        return min(pre) if pre else 0

    def changes_nothing(self) -> bool:
        return self.steps == (self.current or [])

    def apply(self, book: Book, model: PayerModel | None = None) -> Book:
        inv = _ensure_columns(book)
        current = self.current or []
        if self.changes_nothing():
            return _with(book, invoices=inv)
        sel = np.flatnonzero(_select(inv, self.segments, None) & (inv["amount"].to_numpy() > 0))
        grid = book.grid
        ratio = (window_multiplier(grid, *(a[None, :] for a in _plan_arrays(self.steps)))
                 / window_multiplier(grid, *(a[None, :] for a in _plan_arrays(current))))[0]
        lead = self._first_pre_due(current) - self._first_pre_due(self.steps)
        known = _profile_flag(inv, model, "disputed", True)
        min_day = _min_day(inv)
        reminder = self._first_pre_due(self.steps)
        surfaced = ~known[sel] & (min_day[sel] <= reminder) & (lead > 0) & (self.dispute_share_of_late > 0)
        acting = np.flatnonzero(ratio != 1.0)
        lo, hi = (int(grid[acting[0]]), int(grid[acting[-1]]) + 1) if len(acting) else (0, 0)
        start = np.clip(_start_day(book, inv, sel), lo, hi)   # the plan acts only from the invoice's start day
        keys = np.column_stack([surfaced.astype(np.int64), np.maximum(min_day[sel], reminder) - grid[0], start])
        keys[~surfaced, 1] = 0
        late = grid > 0
        phi = self.dispute_share_of_late

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            out = scale_hazard(rows, np.where(grid[None, :] >= k[:, 2:3], ratio[None, :], 1.0))
            moved = k[:, 0] == 1
            if moved.any():
                part = out[moved] * late * phi
                out[moved] += shift_days(part, np.full(moved.sum(), -lead), floor_idx=k[moved, 1]) - part
            return out

        return _remap(book, inv, sel, keys, transform)

    def _step_costs(self, book: Book, steps: list[DunningStep]) -> tuple[np.ndarray, np.ndarray]:
        inv = book.invoices
        sel = np.flatnonzero(_select(inv, self.segments, None) & (inv["amount"].to_numpy() > 0))
        if not steps or len(sel) == 0:
            return np.array([]), np.array([])
        unpaid = _p_unpaid_morning(book, sel)
        min_day = _min_day(inv)[sel]
        due = inv["due_date"].astype("datetime64[ns]").to_numpy()[sel]
        as_of = np.datetime64(pd.Timestamp(book.as_of).normalize(), "ns")
        months, amounts = [], []
        for s in steps:  # loop over a plan's few steps, vectorised over invoices
            idx = int(np.clip(s.day - book.grid[0], 0, len(book.grid) - 1))
            when = due + np.timedelta64(s.day, "D")
            live = (s.day >= min_day) & (when > as_of)
            months.append(_month(when[live]))
            amounts.append(s.cost * unpaid[live, idx])
        return np.concatenate(months), np.concatenate(amounts)

    def costs(self, book: Book, model: PayerModel | None = None, after: Book | None = None) -> pd.DataFrame:
        """Expected cost of the plan's actions minus the current plan's, each on its own law (by month)."""
        if self.changes_nothing():
            return empty_costs()
        m1, a1 = self._step_costs(self.apply(book, model) if after is None else after, self.steps)
        m0, a0 = self._step_costs(book, self.current or [])
        return _cost_frame(self.name, np.concatenate([m1, m0]).astype(str), "dunning actions (net of current plan)",
                           np.concatenate([a1, -a0]))

    def actions(self, book: Book, model: PayerModel | None = None) -> pd.DataFrame:
        rows = [{"lever": self.name, "customer_id": "all" if self.segments is None else ",".join(self.segments),
                 "invoice_id": "", "amount": np.nan,
                 "action": f"day {s.day:+d}: {s.channel} ({s.tone}), cost {s.cost:.2f} EUR"} for s in self.steps]
        return pd.DataFrame(rows, columns=["lever", "customer_id", "invoice_id", "amount", "action"])
