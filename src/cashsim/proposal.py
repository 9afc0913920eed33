"""The scenario panel's tables of a proposal against the baseline (*proposition / référence*), from two simulated
scenarios on common random numbers: months side by side, the proposal's cost per lever and per euro brought.

Rule: everything is a difference proposal - baseline on the same paths; a lever already in the baseline costs
nothing extra. :mod:`cashsim.compare` re-exports these functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cashsim.book import Book
from cashsim.levers import RISK_LEVELS, EarlyPaymentDiscount
from cashsim.targets import TargetReport


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


def cost_table(base: Any, prop: Any, months: list[str]) -> pd.DataFrame:
    """One row per lever the proposal changes, and a total: cost within the horizon, cash brought, their ratio.

    cost = expected costs of the lever in the horizon's months (staff time, fees, lost margin) net of the
    baseline's lever of the same name; a discount's cost is what the engine booked path by path
    (``Simulation.daily_cost``, mean, net of the baseline's). extra_cash = mean over paths of (proposal - baseline)
    collections in the horizon, on common random numbers (total only: the effects of combined levers do not
    split). ``annual_rate``: the discount's annualised cost d / (1 - d) x 365 / (N - deadline), N the book's
    mean payment terms (:func:`payment_terms`), to set against the borrowing rate.

    ``base`` and ``prop``: simulated scenarios with ``levers``, ``book``, ``sim`` and ``costs`` (the panel's
    :class:`cashsim.panel.Outcome`), on common random numbers.
    """
    net_days = payment_terms(base.book)
    rows = []
    sim_discounts = float(prop.sim.daily_cost.sum(axis=1).mean()) - float(base.sim.daily_cost.sum(axis=1).mean())
    def expected(outcome: Any, name: str) -> float:
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


__all__ = ["cost_table", "payment_terms", "side_by_side"]
