"""Dunning (*relance*): a plan of steps, each speeding payment for some days after it; formal steps also recover.

Timing rule: h' = h x M_plan(g) / M_current(g), M(g) = prod_s (1 + effect_s) over the steps whose window
[day_s, day_s + effect_days_s) covers grid day g (calendar days relative to the due date). Recovery rule: the
never-paid mass pi of an invoice becomes pi x K_plan / K_current, K = prod_s (1 - recovery_s) over the steps not
yet past for it (only formal notice and litigation recover by default); what is recovered is paid evenly over
each recovering step's window. The book was fitted under the current plan (the baseline scenario's), so a plan
equal to it changes nothing. Invoices in an open dispute are not dunned (*on ne relance pas une facture en
litige*): the plan neither speeds nor recovers them and costs nothing on them; once resolved they are dunned again.
Each (channel, tone)'s default effect, window, cost, relationship risk and recovery are in
:data:`cashsim.levers.channels.DUNNING_DEFAULTS`.

Example::

    >>> step = DunningStep(day=7, channel="email")
    >>> (step.tone, step.effect, step.effect_days, step.cost)
    ('friendly', 0.3, 7, 0.5)
    >>> DunningStep(day=7, channel="email", tone="firm").effect
    0.45
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, model_validator

from cashsim.levers._book import (
    Segments,
    _book_min_day,
    _cost_frame,
    _ensure_columns,
    _month,
    _open_dispute,
    _p_unpaid_at,
    _profile_flag,
    _remap,
    _select,
    _start_day,
    _with,
    empty_costs,
    per_book,
)
from cashsim.levers.channels import CHANNEL_DEFAULTS, Channel, Tone, step_defaults
from cashsim.levers.memo import lever_key
from cashsim.levers.spec import RISK_LEVELS, LeverSpec, Probability, Risk, SpecModel
from cashsim.levers.transforms import forfeit, recover, scale_hazard, shift_days, window_multiplier

if TYPE_CHECKING:
    from cashsim.behaviour import PayerModel
    from cashsim.simulate import Book

__all__ = ["CHANNEL_DEFAULTS", "Channel", "DunningPlan", "DunningStep"]


class DunningStep(SpecModel):
    """One step of a dunning plan (*plan de relance*): on ``day`` (relative to the due date, negative = before),
    an action on ``channel`` in ``tone``; unset figures take the (channel, tone) defaults (``DUNNING_DEFAULTS``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    day: int = Field(ge=-60, le=365)
    channel: Channel
    #: friendly / firm for reminders and calls, formal for a formal notice, legal for litigation (None: the
    #: channel's usual tone, ``DEFAULT_TONE``).
    tone: Tone | None = None
    #: Hazard multiplier minus one for ``effect_days`` days after the step (None = the default).
    effect: float | None = Field(None, ge=0, le=10)
    effect_days: int | None = Field(None, ge=1, le=120)
    #: Euros per action (staff time, letters, fees).
    cost: float | None = Field(None, ge=0)
    relationship_risk: Risk | None = None
    #: Share of the never-paid mass the step recovers (a formal notice, a court order), paid evenly over
    #: ``recovery_window`` = (first, last) day after the step.
    recovery: Probability | None = None
    recovery_window: tuple[int, int] | None = None

    @classmethod
    def _spec_name(cls, data: Any) -> str:
        return "dunning step"

    @model_validator(mode="after")
    def _defaults(self) -> DunningStep:
        try:
            defaults = step_defaults(self.channel, self.tone)
        except ValueError as exc:
            raise ValueError(f"dunning step: {exc}") from None
        for key, value in defaults.items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)  # frozen: fill the (channel, tone) defaults once, at validation
        lo, hi = self.recovery_window
        if not 0 <= lo < hi <= 365:
            raise ValueError(f"dunning step: recovery_window must be (first, last) days after the step with "
                             f"0 <= first < last <= 365, got ({lo}, {hi})")
        return self


def _plan_arrays(steps: list[DunningStep]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([s.day for s in steps], dtype=float), np.array([s.effect_days for s in steps], dtype=float),
            np.array([s.effect for s in steps], dtype=float))


def _recovering(steps: list[DunningStep]) -> list[DunningStep]:
    return sorted((s for s in steps if s.recovery > 0), key=lambda s: s.day)


def _recover_rows(rows: np.ndarray, reach: np.ndarray, plan: list[DunningStep], current: list[DunningStep],
                  g0: int) -> np.ndarray:
    """Never-paid mass pi -> pi x K_plan / K_current per row, K = prod (1 - recovery) over the recovering steps on
    or after ``reach`` (the invoice's first possible pay day); recovered mass goes to the plan's steps' windows in
    proportion to what each recovers in turn, forfeited mass leaves the days after the current plan's first one."""
    out = rows.copy()
    for r in np.unique(reach):   # a plan's few step days: one pass per distinct set of steps reached
        at = np.flatnonzero(reach == r)
        mine = [s for s in plan if s.day >= r]
        theirs = [s for s in current if s.day >= r]
        k = np.prod([1 - s.recovery for s in mine]) / max(np.prod([1 - s.recovery for s in theirs]), 1e-12)
        rows_at = out[at]                    # the group's rows taken once, changed step by step, put back once
        lost = 1.0 - rows_at.sum(axis=1)
        if k < 1:
            left = np.cumprod([1.0] + [1 - s.recovery for s in mine])[:-1]
            weights = np.array([s.recovery for s in mine]) * left
            for s, w in zip(mine, weights / weights.sum(), strict=True):
                lo, hi = s.recovery_window
                n = len(at)
                rows_at = recover(rows_at, np.full(n, s.day + lo - g0), np.full(n, s.day + hi - g0),
                                  (1 - k) * lost * w)
            out[at] = rows_at
        elif k > 1:
            out[at] = forfeit(rows_at, np.full(len(at), theirs[0].day - g0), (k - 1) * lost)
    return out


class DunningPlan(LeverSpec):
    """A dunning plan (*plan de relance*): graduated steps, each a hazard multiplier for some days after it; formal
    notice and litigation steps also recover part of what would otherwise never be paid.

    The baseline book was fitted on history under the company's current plan, so a proposed plan acts through the
    **ratio** of multipliers, h' = h x M_plan(g) / M_current(g), with M(g) = prod_s (1 + effect_s) over the steps
    whose window [day_s, day_s + effect_days_s) covers day g: the current plan is not counted twice, and a plan
    equal to the current one changes nothing. Recovery likewise: an invoice's never-paid mass pi becomes
    pi x K_plan / K_current, K = prod_s (1 - recovery_s) over the steps on or after its first possible pay day (a
    step already past is not replayed); the recovered mass is paid evenly over the recovering steps' windows, a
    plan without the current formal steps forfeits what they recovered. ``current`` is set by
    :mod:`cashsim.compare` from the baseline scenario (``relative_to``).

    A reminder before the due date surfaces disputes early: on invoices not yet at that reminder and not already
    in dispute, the share ``dispute_share_of_late`` of the late mass (days > 0) — the payments a dispute held up —
    moves earlier by the days between the current plan's first pre-due reminder (or the due date) and this
    plan's, never before the reminder: the dispute is raised, and so resolved, that much sooner. Invoices in an
    open dispute (``disputed`` without ``dispute_resolved``, see :func:`annotate_book`) are left out altogether:
    dunning waits for the resolution, which only :class:`DisputeResolution` speeds up. Effects default by
    (channel, tone) (``DUNNING_DEFAULTS``); estimate your own with :func:`estimate_dunning_effects` and
    :func:`estimate_recovery` where the ledger has a dunning log.
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
        firm = [f"{s.channel} ({s.tone})" for s in self.steps if s.relationship_risk in ("medium", "high")]
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

    def _sel(self, inv: pd.DataFrame) -> np.ndarray:
        """The invoices the plan reaches: its segments, an amount to collect, not in an open dispute."""
        return np.flatnonzero(_select(inv, self.segments, None) & (inv["amount"].to_numpy() > 0)
                              & ~_open_dispute(inv))

    def apply(self, book: Book, model: PayerModel | None = None) -> Book:
        inv = _ensure_columns(book)
        current = self.current or []
        if self.changes_nothing():
            return _with(book, invoices=inv)
        sel = self._sel(inv)
        grid = book.grid
        ratio = (window_multiplier(grid, *(a[None, :] for a in _plan_arrays(self.steps)))
                 / window_multiplier(grid, *(a[None, :] for a in _plan_arrays(current))))[0]
        lead = self._first_pre_due(current) - self._first_pre_due(self.steps)
        known = _profile_flag(inv, model, "disputed", True)
        min_day = _book_min_day(book)
        reminder = self._first_pre_due(self.steps)
        surfaced = ~known[sel] & (min_day[sel] <= reminder) & (lead > 0) & (self.dispute_share_of_late > 0)
        acting = np.flatnonzero(ratio != 1.0)
        lo, hi = (int(grid[acting[0]]), int(grid[acting[-1]]) + 1) if len(acting) else (0, 0)
        start = np.clip(_start_day(book, inv, sel), lo, hi)   # the plan acts only from the invoice's start day
        mine, theirs = _recovering(self.steps), _recovering(current)
        days = [s.day for s in mine + theirs]
        # the recovering steps an invoice still reaches depend on its first possible pay day, clipped to their span
        reach = np.clip(min_day[sel], min(days), max(days) + 1) if days else np.zeros(len(sel), dtype=np.int64)
        keys = np.column_stack([surfaced.astype(np.int64), np.maximum(min_day[sel], reminder) - grid[0], start,
                                reach])
        keys[~surfaced, 1] = 0
        late = grid > 0
        phi = self.dispute_share_of_late

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            out = scale_hazard(rows, np.where(grid[None, :] >= k[:, 2:3], ratio[None, :], 1.0))
            moved = k[:, 0] == 1
            if moved.any():
                part = out[moved] * late * phi
                out[moved] += shift_days(part, np.full(moved.sum(), -lead), floor_idx=k[moved, 1]) - part
            if days:
                out = _recover_rows(out, k[:, 3], mine, theirs, int(grid[0]))
            return out

        return _remap(book, inv, sel, keys, transform)

    def _step_costs(self, book: Book, steps: list[DunningStep]) -> tuple[np.ndarray, np.ndarray]:
        inv = book.invoices
        sel = self._sel(inv)
        if not steps or len(sel) == 0:
            return np.array([]), np.array([])
        at = np.clip(np.array([s.day for s in steps]) - book.grid[0], 0, len(book.grid) - 1)
        unpaid = _p_unpaid_at(book, sel, np.repeat(at[:, None], len(sel), axis=1))   # (steps, invoices)
        min_day = _book_min_day(book)[sel]
        due = inv["due_date"].astype("datetime64[ns]").to_numpy()[sel]
        as_of = np.datetime64(pd.Timestamp(book.as_of).normalize(), "ns")
        dates, amounts = [], []
        for k, s in enumerate(steps):  # loop over a plan's few steps, vectorised over invoices
            when = due + np.timedelta64(s.day, "D")
            live = (s.day >= min_day) & (when > as_of)
            dates.append(when[live])
            amounts.append(s.cost * unpaid[k, live])
        return _month(np.concatenate(dates)), np.concatenate(amounts)     # every step's months at once

    def costs(self, book: Book, model: PayerModel | None = None, after: Book | None = None) -> pd.DataFrame:
        """Expected cost of the plan's actions minus the current plan's, each on its own law (by month)."""
        if self.changes_nothing():
            return empty_costs()
        m1, a1 = self._step_costs(self.apply(book, model) if after is None else after, self.steps)
        current = self.current or []     # the current plan's, on the input book: the same for every plan tried on it
        m0, a0 = per_book(book, ("dunning step costs", lever_key(self.segments), lever_key(current)),
                          lambda: self._step_costs(book, current))
        return _cost_frame(self.name, np.concatenate([m1, m0]).astype(str), "dunning actions (net of current plan)",
                           np.concatenate([a1, -a0]))

    def actions(self, book: Book, model: PayerModel | None = None) -> pd.DataFrame:
        rows = [{"lever": self.name, "customer_id": "all" if self.segments is None else ",".join(self.segments),
                 "invoice_id": "", "amount": np.nan,
                 "action": f"day {s.day:+d}: {s.channel} ({s.tone}), cost {s.cost:.2f} EUR"
                           + (f", recovers {s.recovery:.0%} of the otherwise lost" if s.recovery else "")}
                for s in self.steps]
        return pd.DataFrame(rows, columns=["lever", "customer_id", "invoice_id", "amount", "action"])
