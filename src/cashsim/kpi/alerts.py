"""What needs attention now: the alerts of ``params.alerts``, the next action per invoice, and the call list.

Rules: an alert is raised by a threshold of ``params.alerts`` (credit limit, balance overdue, DSO increase, dispute
past SLA, reliable customer turning late; see :func:`alerts`). The call list (*relances*) ranks open invoices by
amount at stake x risk (risk 1 once overdue, ``1 - reliability`` before the due date) and gives each the next step
of the dunning ladder (:func:`next_action`: dispute first, courtesy call, first reminder, phone call, formal notice,
collection agency or payment order). Euros incl. VAT, calendar days.

Example::

    >>> next_action([10], [0], [False]).tolist()
    ['first reminder by e-mail (1re relance)']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cashsim import fmt
from cashsim.i18n import N_
from cashsim.kpi._common import _LEVEL_NAMES, _ts, customer_names, status_as_of
from cashsim.kpi.disputes import dispute_table
from cashsim.kpi.dso import dso_at
from cashsim.kpi.lateness import _by_customer, _due_window, _reliability_table, empirical_reliability
from cashsim.ledger import OPEN_STATUSES
from cashsim.legal import FIXED_INDEMNITY_EUR, late_payment_interest
from cashsim.params import Alerts

if TYPE_CHECKING:  # pragma: no cover
    from cashsim.ledger import Ledger

#: Said beside a call list whose ledger records no dunning action (:func:`no_dunning_note`): every overdue invoice's
#: next step is then the first reminder, however late it is (a msgid).
NO_DUNNING = N_("The ledger records no dunning action: the next step of an overdue invoice starts from the first "
                "reminder, however late it is (data.dunning in the parameters records them).")


def no_dunning_note(ledger, days_overdue) -> str | None:
    """:data:`NO_DUNNING` (the English msgid) when ``ledger`` records no dunning action and some of the shown
    ``days_overdue`` (a Series) are past due; else None."""
    if not ledger.dunning.empty or days_overdue is None or not (pd.Series(days_overdue).fillna(0) > 0).any():
        return None
    return NO_DUNNING


def alerts(ledger: Ledger, as_of, thresholds: Alerts, *, reliability: pd.DataFrame | None = None,
           recent_days: int = 90, min_recent: int = 2, locale: str = fmt.DEFAULT_LOCALE,
           currency: str = "EUR") -> pd.DataFrame:
    """Alerts raised by the thresholds of ``params.alerts`` at the end of ``as_of``.

    Kinds: ``over_credit_limit`` (net balance above the limit of ``customers.credit_limit`` or
    ``alerts.credit_limits``, which wins), ``overdue_balance`` (outstanding more than ``overdue_days`` past due),
    ``dso_increase`` (countback DSO up more than ``dso_increase_days`` since the previous month end, for the book
    and each segment), ``dispute_past_sla`` (an open dispute older than its SLA), ``reliable_turning_late`` (a
    customer classed reliable, by ``PayerModel.customers`` or the empirical table of the year before the last
    ``recent_days``, with more than ``turning_late_share`` of its at least ``min_recent`` invoices due in the last
    ``recent_days`` late). Columns: alert, level, group, customer_name, value, threshold, message (amounts in the
    message formatted for ``locale``).
    """
    as_of = _ts(as_of)
    st = status_as_of(ledger, as_of)
    names = customer_names(ledger)
    rows: list[pd.DataFrame] = []

    def money(amount: float) -> str:
        return fmt.money(amount, locale=locale, currency=currency, decimals=0)

    def add(kind, level, group, value, threshold, message):
        rows.append(pd.DataFrame({"alert": kind, "level": level, "group": group, "value": value,
                                  "threshold": threshold, "message": message}))

    op = st.loc[st["status"].isin(OPEN_STATUSES)]
    balance = op.groupby("customer_id")["outstanding"].sum()
    limits = (ledger.customers.drop_duplicates("customer_id").set_index("customer_id")["credit_limit"]
              if "credit_limit" in ledger.customers else pd.Series(dtype=float)).astype(float)
    limits = pd.concat([limits, pd.Series(thresholds.credit_limits, dtype=float)])
    limits = limits[~limits.index.duplicated(keep="last")].dropna()
    over = balance.reindex(limits.index).dropna()
    over = over[over > limits.reindex(over.index)]
    add("over_credit_limit", "customer", over.index, over.to_numpy(), limits.reindex(over.index).to_numpy(),
        [f"balance {money(b)} over credit limit {money(lim)}"
         for b, lim in zip(over, limits.reindex(over.index), strict=True)])

    old = op.loc[(as_of - op["due_date"]).dt.days > thresholds.overdue_days]
    old_bal = old.loc[old["outstanding"] > 0].groupby("customer_id")["outstanding"].sum()
    add("overdue_balance", "customer", old_bal.index, old_bal.to_numpy(), float(thresholds.overdue_days),
        [f"{money(b)} more than {thresholds.overdue_days} days past due" for b in old_bal])

    prev = (as_of.to_period("M") - 1).end_time.normalize()
    for by in (None, "segment"):
        now, before = dso_at(ledger, as_of, by=by), dso_at(ledger, prev, by=by)
        change = now.set_index("group")["dso_countback"] - before.set_index("group")["dso_countback"]
        up = change[change > thresholds.dso_increase_days].dropna()
        add("dso_increase", _LEVEL_NAMES[by], up.index, up.to_numpy(), thresholds.dso_increase_days,
            [f"countback DSO up {c:.1f} days since {prev.date()}" for c in up])

    disp = dispute_table(ledger, as_of, thresholds.dispute_sla_days)
    late_disp = disp.loc[disp["is_open"] & disp["past_sla"]]
    add("dispute_past_sla", "customer", late_disp["customer_id"].to_numpy(), late_disp["age_days"].to_numpy(),
        late_disp["sla_days"].to_numpy(),
        [f"{t} dispute on invoice {i} open {a:.0f} days (SLA {s:.0f})" for t, i, a, s in
         zip(late_disp["dispute_type"], late_disp["invoice_id"], late_disp["age_days"], late_disp["sla_days"],
             strict=True)])

    rel = None if reliability is None else _by_customer(reliability)
    if rel is None:
        rel = empirical_reliability(ledger, as_of, exclude_last_days=recent_days)
    reliable = rel.index[rel["reliable"].fillna(False).astype(bool)]
    recent = _due_window(st, as_of, recent_days)
    share = recent.groupby("customer_id")["late"].agg(["mean", "size"])
    turning = share.loc[share.index.isin(reliable) & (share["size"] >= min_recent)
                        & (share["mean"] > thresholds.turning_late_share)]
    add("reliable_turning_late", "customer", turning.index, turning["mean"].to_numpy(),
        thresholds.turning_late_share,
        [f"reliable customer: {m:.0%} of its {n} invoices due in the last {recent_days} days are late"
         for m, n in zip(turning["mean"], turning["size"], strict=True)])

    out = pd.concat(rows, ignore_index=True)
    out.insert(3, "customer_name", out["group"].map(names).where(out["level"].eq("customer")))
    out.insert(0, "as_of", as_of)
    return out

# --------------------------------------------------------------------------------------------------- call list


def next_action(days_overdue, dunning_level, disputed) -> np.ndarray:
    """Suggested next step for an invoice from its days past due, last dunning level reached and dispute flag.

    disputed -> resolve the dispute first (*litige*); not yet due -> courtesy call before the due date (*relance
    préventive*); overdue with no reminder yet -> first reminder e-mail (*1re relance*); after level 1 -> phone call
    to accounts payable; after level 2 -> formal notice claiming late interest and the 40 EUR indemnity (*mise en
    demeure*); level 3 or more -> collection agency or payment order (*injonction de payer*).

    >>> next_action([-5, 10, 20, 40, 100], [0, 0, 1, 2, 3], [False] * 5).tolist()[1]
    'first reminder by e-mail (1re relance)'
    """
    d = np.asarray(days_overdue, dtype=float)
    lvl = np.asarray(dunning_level, dtype=float)
    dis = np.asarray(disputed, dtype=bool)
    return np.select(
        [dis, d <= 0, lvl <= 0, lvl == 1, lvl == 2],
        ["resolve the dispute first (litige), then ask for payment",
         "courtesy call before the due date: invoice received, payment scheduled? (relance préventive)",
         "first reminder by e-mail (1re relance)",
         "phone call to the customer's accounts payable",
         "formal notice claiming late interest and the 40 EUR indemnity (mise en demeure)"],
        "hand to a collection agency or apply for a payment order (injonction de payer)").astype(object)


def call_list(ledger: Ledger, as_of, *, reliability: pd.DataFrame | None = None, pre_due_days: int = 15
              ) -> pd.DataFrame:
    """Who to call first: overdue invoices, and invoices of less reliable customers due within ``pre_due_days``.

    Priority = outstanding x risk, with risk = 1 for an overdue invoice (the money is already late) and
    ``1 - reliability`` (P(not paid within grace), from ``PayerModel.customers`` or :func:`empirical_reliability`)
    for one not yet due; ties go to the oldest. Columns: rank, invoice_id, customer_id, customer_name, segment,
    outstanding, due_date, days_overdue, dunning_level (last level reached by as_of), disputed, reliability, risk,
    priority, claimable (legal interest + 40 EUR, overdue only), next_action.
    """
    as_of = _ts(as_of)
    st = ledger.status(as_of)
    rel = _reliability_table(reliability, ledger, as_of)
    op = st.loc[st["status"].isin(OPEN_STATUSES) & (st["outstanding"] > 0)].copy()
    op["days_overdue"] = (as_of - op["due_date"]).dt.days
    op["reliability"] = op["customer_id"].map(rel["reliability"]).astype(float)
    unreliable = ~op["customer_id"].map(rel["reliable"]).fillna(False).astype(bool)
    keep = (op["days_overdue"] > 0) | (unreliable & (op["days_overdue"] >= -pre_due_days))
    op = op.loc[keep]
    dun = ledger.dunning
    levels = dun.loc[dun["action_date"] <= as_of].groupby("invoice_id")["level"].max()
    op["dunning_level"] = op["invoice_id"].map(levels).fillna(0).astype(int)
    op["risk"] = np.where(op["days_overdue"] > 0, 1.0, 1.0 - op["reliability"].fillna(0.5))
    op["priority"] = op["outstanding"] * op["risk"]
    overdue = op["days_overdue"] > 0
    op["claimable"] = np.where(
        overdue, late_payment_interest(op["outstanding"], op["due_date"], [as_of] * len(op)) + FIXED_INDEMNITY_EUR,
        0.0)
    op["disputed"] = op["disputed"].fillna(False).astype(bool) & op["dispute_resolved"].isna()
    op["next_action"] = next_action(op["days_overdue"], op["dunning_level"], op["disputed"])
    cols = ["invoice_id", "customer_id", "customer_name", "segment", "outstanding", "due_date", "days_overdue",
            "dunning_level", "disputed", "reliability", "risk", "priority", "claimable", "next_action"]
    out = op.sort_values(["priority", "days_overdue"], ascending=[False, False])[cols].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
