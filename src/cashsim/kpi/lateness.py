"""How late customers pay: payment behaviour, usual delay, reliability, and the money late on each invoice.

Rules: ``days_late = paid_date - due_date`` (calendar days, negative = early). An invoice due in the lookback is late
when paid after its due date, still open past it, or written off; for an open one the days late so far are a lower
bound. A customer is reliable when at least ``threshold`` of its invoices due in the lookback were paid within
``grace_days`` of the due date, on at least ``min_invoices`` invoices (:func:`empirical_reliability`, the fallback
when no ``PayerModel.customers`` table is given). Money late (:func:`_late_pieces`, for claims and the cost of a
customer): each payment received after the due date is late from the due date to its payment, the open remainder
from the due date to as_of. Amounts in euros incl. VAT.

Example::

    >>> payment_behaviour(ledger, "2026-03-31", by="segment")[["group", "late_rate_amount"]]   # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cashsim.errors import ParamsError
from cashsim.kpi._common import _group, _tidy, _ts, status_as_of
from cashsim.ledger import OPEN_STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from cashsim.ledger import Ledger


def _due_window(st: pd.DataFrame, as_of: pd.Timestamp, lookback_days: int | None) -> pd.DataFrame:
    """Invoices (amount > 0) that fell due in the lookback window, with ``late`` and ``days_late_obs`` columns.

    Late = paid after the due date, or still open past it, or written off. For open invoices ``days_late_obs`` is
    the days overdue so far (a lower bound).
    """
    due = st.loc[(st["amount"] > 0) & (st["due_date"] < as_of)]
    if lookback_days is not None:
        due = due.loc[due["due_date"] > as_of - pd.Timedelta(days=lookback_days)]
    paid = due["status"].eq("paid")
    late = np.where(paid, due["days_late"] > 0, True)
    obs = np.where(paid, due["days_late"], (as_of - due["due_date"]).dt.days)
    return due.assign(late=late, days_late_obs=obs.astype(float), is_paid=paid.to_numpy())


def payment_behaviour(ledger: Ledger, as_of, *, by: str | None = None, lookback_days: int | None = 365
                      ) -> pd.DataFrame:
    """Late rate by count and by amount, and days late weighted by amount, over invoices due in the lookback.

    Columns: n_due, amount_due, late_rate_count, late_rate_amount (late = paid after due, open past due or written
    off), n_paid, avg_days_late (of paid invoices, signed), avg_days_late_weighted (same, weighted by amount),
    avg_days_late_of_late_weighted (paid late invoices only), avg_days_to_pay (paid_date - issue_date, weighted).
    """
    as_of = _ts(as_of)
    d = _due_window(status_as_of(ledger, as_of), as_of, lookback_days)
    g = _group(d, by)
    amt = d["amount"]
    paid = d["is_paid"]
    dl = d["days_late"].where(paid)
    late_paid = paid & (d["days_late"] > 0)
    to_pay = (d["paid_date"] - d["issue_date"]).dt.days.where(paid)
    frame = pd.DataFrame({
        "n": 1.0, "amt": amt, "late": d["late"].astype(float), "late_amt": amt.where(d["late"], 0.0),
        "paid": paid.astype(float), "dl": dl.fillna(0.0), "w": amt.where(paid, 0.0),
        "wdl": (amt * dl).fillna(0.0), "wl": amt.where(late_paid, 0.0), "wdll": (amt * dl).where(late_paid, 0.0),
        "wtp": (amt * to_pay).fillna(0.0),
    }, index=d.index).groupby(g).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame({
            "n_due": frame["n"].astype(int),
            "amount_due": frame["amt"],
            "late_rate_count": frame["late"] / frame["n"],
            "late_rate_amount": frame["late_amt"] / frame["amt"],
            "n_paid": frame["paid"].astype(int),
            "avg_days_late": frame["dl"] / frame["paid"],
            "avg_days_late_weighted": frame["wdl"] / frame["w"],
            "avg_days_late_of_late_weighted": frame["wdll"] / frame["wl"],
            "avg_days_to_pay": frame["wtp"] / frame["w"],
        })
    out.insert(0, "as_of", as_of)
    return _tidy(out, by, ledger)


def usual_delay(ledger: Ledger, as_of, *, lookback_days: int | None = 365, min_invoices: int = 3) -> pd.DataFrame:
    """How each client usually pays: median days late of its invoices paid in the lookback, and a sentence.

    When a client has fewer than ``min_invoices`` paid in the lookback, its whole history is used. Columns:
    customer_id, customer_name, n_paid, median_days_late, p25_days_late, p75_days_late, median_days_to_pay,
    sentence ("usually pays around 12 days late", "usually pays on time" within +/- 2 days, "... days early").
    """
    as_of = _ts(as_of)
    st = status_as_of(ledger, as_of)
    paid = st.loc[st["status"].eq("paid") & (st["amount"] > 0)].copy()
    paid["recent"] = True if lookback_days is None else paid["paid_date"] > as_of - pd.Timedelta(days=lookback_days)
    n_recent = paid.groupby("customer_id")["recent"].transform("sum")
    use = paid.loc[paid["recent"] | (n_recent < min_invoices)]
    use = use.assign(to_pay=(use["paid_date"] - use["issue_date"]).dt.days.astype(float),
                     days_late=use["days_late"].astype(float))
    grp = use.groupby("customer_id")
    out = pd.DataFrame({
        "n_paid": grp.size(),
        "median_days_late": grp["days_late"].median(),
        "p25_days_late": grp["days_late"].quantile(0.25),
        "p75_days_late": grp["days_late"].quantile(0.75),
        "median_days_to_pay": grp["to_pay"].median(),
    })
    n = out["median_days_late"].round().astype(int)
    out["sentence"] = np.select(
        [n.abs() <= 2, n > 0], ["usually pays on time", "usually pays around " + n.astype(str) + " days late"],
        "usually pays around " + (-n).astype(str) + " days early")
    out.index.name = "customer_id"
    return _tidy(out, "customer_id", ledger).drop(columns="level").rename(columns={"group": "customer_id"})


# --------------------------------------------------------------------------------------------------- reliability


def empirical_reliability(ledger: Ledger, as_of, *, grace_days: int = 5, lookback_days: int = 365,
                          threshold: float = 0.8, min_invoices: int = 3, exclude_last_days: int = 0
                          ) -> pd.DataFrame:
    """Per customer: share of invoices due in the lookback paid within ``grace_days`` of the due date.

    The fallback when no ``PayerModel.customers`` table is given. ``exclude_last_days`` leaves out the most recent
    days (to compare a customer's past with its recent behaviour). Columns: customer_id (index), n, reliability,
    reliable (reliability >= threshold and n >= min_invoices).
    """
    as_of = _ts(as_of)
    st = status_as_of(ledger, as_of)
    end = as_of - pd.Timedelta(days=exclude_last_days)
    d = st.loc[(st["amount"] > 0) & (st["due_date"] <= end - pd.Timedelta(days=grace_days))
               & (st["due_date"] > end - pd.Timedelta(days=lookback_days))]
    ok = d["status"].eq("paid") & (d["days_late"] <= grace_days) & (d["paid_date"] <= end)
    grp = ok.groupby(d["customer_id"])
    out = pd.DataFrame({"n": grp.size(), "reliability": grp.mean()})
    out["reliable"] = (out["reliability"] >= threshold) & (out["n"] >= min_invoices)
    out.index.name = "customer_id"
    return out


def _by_customer(table: pd.DataFrame) -> pd.DataFrame:
    """A per-customer table (``PayerModel.customers``) indexed by customer_id, from its column when it has one."""
    return table.set_index("customer_id") if "customer_id" in table.columns else table


def _reliability_table(reliability: pd.DataFrame | None, ledger: Ledger, as_of) -> pd.DataFrame:
    """PayerModel.customers (indexed by customer_id or with that column) or the empirical fallback."""
    if reliability is None:
        return empirical_reliability(ledger, as_of)
    rel = _by_customer(reliability)
    missing = {"reliability", "reliable"} - set(rel.columns)
    if missing:
        raise ParamsError(f"the customer reliability table lacks column(s) {sorted(missing)}; pass "
                          "PayerModel.customers (columns reliability, reliable) or None for the empirical table")
    return rel


# --------------------------------------------------------------------------------------------------- late segments


def _late_pieces(ledger: Ledger, as_of: pd.Timestamp, st: pd.DataFrame) -> pd.DataFrame:
    """Money late on each invoice (amount > 0): one piece per payment received after the due date, and the open
    remainder up to ``as_of``. Columns: invoice_id, customer_id, amount, start (= due_date), end (payment date or
    as_of). Partial payments therefore stop the clock on the part they pay. Written-off invoices stop at write-off.
    """
    inv = st.loc[st["amount"] > 0, ["invoice_id", "customer_id", "due_date", "status", "outstanding",
                                     "write_off_date"]]
    pay = ledger.known_at(as_of).payments
    pay = pay.loc[pay["payment_date"] <= as_of, ["invoice_id", "payment_date", "amount"]]
    p = pay.merge(inv[["invoice_id", "customer_id", "due_date"]], on="invoice_id", how="inner")
    p = p.loc[p["payment_date"] > p["due_date"]]
    paid_pieces = pd.DataFrame({"invoice_id": p["invoice_id"], "customer_id": p["customer_id"],
                                "amount": p["amount"].astype(float), "start": p["due_date"],
                                "end": p["payment_date"]})
    op = inv.loc[inv["status"].isin(OPEN_STATUSES) & (inv["outstanding"] > 0) & (inv["due_date"] < as_of)]
    open_pieces = pd.DataFrame({"invoice_id": op["invoice_id"], "customer_id": op["customer_id"],
                                "amount": op["outstanding"].astype(float), "start": op["due_date"],
                                "end": as_of})
    return pd.concat([paid_pieces, open_pieces], ignore_index=True)
