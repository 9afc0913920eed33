"""The engine's :class:`cashsim.book.Book` from a fitted payer model: the open invoices (*créances clients*,
*balance âgée*) and the sales plan, each with its pmf row and its payment calendar.

Rules (units: calendar days relative to due, euros incl. VAT):

* Open invoices: positive outstanding amounts (credit notes are netted in balances, not simulated);
  ``min_day = as_of + 1 - due``: an invoice already ``a`` days overdue starts at ``a + 1``.
* An invoice open at ``as_of`` has its natural day after the customer's last payment day ``p`` on or before
  ``as_of``, not after ``as_of``: every natural day of ``(p, as_of]`` is paid on the first payment day after
  ``as_of`` (:func:`~cashsim.behaviour.laws.hold_unpaid_window`).
* Dated disputes, pending promises and invoices more than a year overdue get rows already conditioned on "not paid
  by ``as_of``": an open dispute is paid after the rest of its resolution time plus the delay after resolution, a
  resolved one after the rest of that delay; a promise puts the invoice on the promised day with the customer's
  keep rate, otherwise back to its law after that day; the never-paid share becomes
  ``pi_a = pi / (pi + (1 - pi) S(a))`` (:mod:`cashsim.behaviour.rates`).
* Sales plan: each month's amount split into ``round(amount / average_invoice)`` equal invoices issued evenly over
  the month, spread over the segment's customers in proportion to their last 12 months of invoicing; their law
  mixes in the segment's law of disputed invoices at its recent dispute rate (:mod:`cashsim.behaviour.disputes`).
* Copula loadings per invoice (columns ``load_month``, ``load_customer``, :meth:`PayerModel.loadings`): the share
  of its predictive variance that is its due month's still-unknown effect (about 0 for a month already estimated,
  ``tau_month^2 / s^2`` for a month to come) and its customer's (the estimated effect's variance, drawn once per
  path, plus the residual customer co-movement).

>>> book = model.book(ledger.open_book("2026-10-31"), horizon_end="2027-01-31")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cashsim.behaviour.disputes import UNDATED
from cashsim.behaviour.history import _channel_of, _ts
from cashsim.behaviour.laws import DAYS, GRID, _condition_after, _place_on_grid, hold_unpaid_window
from cashsim.behaviour.paydays import _calendar_index, calendar_rows
from cashsim.behaviour.rates import BOOK_KEY
from cashsim.book import Book
from cashsim.errors import ModelError

if TYPE_CHECKING:
    from cashsim.behaviour.model import PayerModel


def build_book(model: PayerModel, open_book: pd.DataFrame, sales_plan: list | None = None, *,
               horizon_end: Any = None, promises: pd.DataFrame | None = None):
    """:meth:`PayerModel.book <cashsim.behaviour.model.PayerModel.book>`: the engine's
    :class:`cashsim.book.Book` of ``model`` for ``open_book`` and ``sales_plan`` (arguments: that method)."""
    horizon_end = _ts(horizon_end) if horizon_end is not None else model.as_of + pd.offsets.MonthEnd(4)
    if horizon_end <= model.as_of:
        raise ModelError(f"horizon_end {horizon_end.date()} must be after as_of {model.as_of.date()}")
    open_rows = _open_rows(open_book, model.as_of)
    future = _future_invoices(model, sales_plan or [], horizon_end)
    inv = pd.concat([open_rows, future], ignore_index=True) if len(future) else open_rows
    pmfs, profile = _book_pmfs(model, inv, model._promises if promises is None else promises)
    run_sets, cal_idx = _calendar_index(model.payment_runs, inv["customer_id"].to_numpy(str))
    calendars = calendar_rows(run_sets, pd.date_range(model.as_of + pd.Timedelta(days=1), horizon_end, freq="D"))
    load_month, load_customer = model.loadings(inv["customer_id"].to_numpy(str), inv["segment"].to_numpy(str),
                                               inv["due_date"].dt.strftime("%Y-%m").to_numpy(str))
    inv = inv.assign(profile=profile, calendar=cal_idx,
                     upfront_amount=0.0, upfront_date=pd.NaT, discount_rate=0.0, discount_day=np.nan,
                     load_month=load_month, load_customer=load_customer)
    inv["upfront_date"] = inv["upfront_date"].astype("datetime64[ns]")
    cols = ["invoice_id", "customer_id", "segment", "is_future", "issue_date", "due_date", "amount", "profile",
            "min_day", "calendar", "upfront_amount", "upfront_date", "discount_rate", "discount_day",
            "load_month", "load_customer"]
    return Book(as_of=model.as_of, grid=model.grid, pmfs=pmfs, invoices=inv[cols].reset_index(drop=True),
                calendars=calendars)


def _future_invoices(model: PayerModel, plan: list, horizon_end: pd.Timestamp) -> pd.DataFrame:
    """Sales plan -> invoices: each month's amount split into ``round(amount / average_invoice)`` equal invoices
    issued evenly over the month (pro rata for the part of a month after ``as_of``), spread over the segment's
    customers in proportion to their last 12 months of invoicing (systematic sampling)."""
    from cashsim.params import monthly_values

    rows = []
    start = model.as_of + pd.Timedelta(days=1)
    months = pd.period_range(start, horizon_end, freq="M")
    for line in plan:
        amounts = monthly_values(line.monthly_amount, len(months))
        mix = model._plan_mix[model._plan_mix["segment"] == line.segment] if len(model._plan_mix) else model._plan_mix
        for period, amount in zip(months, amounts, strict=False):
            first, last = max(period.start_time, start), min(period.end_time.normalize(), horizon_end)
            share = ((last - first).days + 1) / period.days_in_month
            total = amount * share
            n = int(max(1, round(total / line.average_invoice))) if total > 0 else 0
            if n == 0:
                continue
            span = (last - first).days + 1
            issue = first + pd.to_timedelta(np.floor((np.arange(n) + 0.5) * span / n), unit="D")
            due = issue + pd.Timedelta(days=line.terms_days)
            if line.end_of_month:
                due = due + pd.offsets.MonthEnd(0)
            if len(mix):
                pos = (np.arange(n) + 0.5) / n
                who = np.searchsorted(mix["cum_share"].to_numpy(), pos, side="right")
                who = np.minimum(who, len(mix) - 1)
                cust = mix["customer_id"].to_numpy(str)[who]
                method = mix["method"].to_numpy(str)[who]
            else:
                cust = np.array([f"plan:{line.segment}:{i % 50}" for i in range(n)])
                method = np.full(n, "transfer")
            rows.append(pd.DataFrame({
                "invoice_id": [f"plan:{line.segment}:{period}:{i}" for i in range(n)],
                "customer_id": cust, "segment": line.segment, "is_future": True,
                "issue_date": issue, "due_date": due, "amount": total / n, "payment_method": method,
                "disputed": False, "dispute_type": "", "dispute_opened": pd.NaT, "dispute_resolved": pd.NaT,
            }))
    if not rows:
        return pd.DataFrame()
    out = pd.concat(rows, ignore_index=True)
    for c in ("issue_date", "due_date", "dispute_opened", "dispute_resolved"):
        out[c] = out[c].astype("datetime64[ns]")
    out["min_day"] = (model.as_of + pd.Timedelta(days=1) - out["due_date"]).dt.days.clip(model.grid[0], None)
    return out

def _book_pmfs(model: PayerModel, inv: pd.DataFrame, promises: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """One pmf row per distinct law: regular rows deduplicated by (customer, segment, terms, method, future);
    disputed, promised and >365-days-overdue invoices get rows conditioned on what is known at ``as_of``."""
    n = len(inv)
    terms = (inv["due_date"] - inv["issue_date"]).dt.days.clip(0, None).to_numpy(float)
    cust = inv["customer_id"].to_numpy(str)
    seg = inv["segment"].to_numpy(str)
    method = inv["payment_method"].fillna("transfer").to_numpy(str)
    future = inv["is_future"].to_numpy(bool)
    min_day = inv["min_day"].to_numpy(int)
    flagged = inv["disputed"].fillna(False).to_numpy(bool) & ~future
    disputed_open = flagged & inv["dispute_opened"].notna().to_numpy()
    undated = flagged & ~disputed_open
    dtype = np.where(undated, UNDATED, "")
    special_row = disputed_open | (min_day > model.grid[-1])
    promise_day = _pending_promises(model, inv, promises)
    special_row |= ~np.isnan(promise_day)
    # open invoices: natural days between the last payment day and as_of are held to the next payment day
    last_day = np.where(future, min_day - 1, model.last_payment_day(cust, inv["due_date"]))
    window = np.where(~future & (last_day < min_day - 1), last_day, min_day - 1)

    # regular rows: future invoices use the customer's "new invoice" law (dispute mix of its segment)
    due_month = inv["due_date"].dt.strftime("%Y-%m").to_numpy(str)
    chan = _channel_of(inv)
    channel = model._channels(cust, chan)
    channel = np.full(n, "") if channel is None else channel
    held = np.where(window < min_day - 1, np.char.add(np.char.add(window.astype(str), ":"), min_day.astype(str)),
                    "")
    key = pd.DataFrame({"c": cust, "s": seg, "t": terms, "m": method, "f": future, "a": due_month,
                        "d": dtype, "w": held, "b": channel})[~special_row]
    uniq, inverse = np.unique(key.astype(str).agg("|".join, axis=1).to_numpy(), return_inverse=True)
    first = pd.Series(np.arange(len(key))).groupby(inverse).first().to_numpy()
    kk = key.iloc[first]
    reg = _new_invoice_law(model, kk["c"].to_numpy(str), kk["s"].to_numpy(str), kk["t"].to_numpy(float),
                                kk["m"].to_numpy(str), kk["f"].to_numpy(bool), kk["a"].to_numpy(str),
                                kk["d"].to_numpy(str), kk["b"].to_numpy(str))
    g0 = int(model.grid[0])
    pos = np.flatnonzero(~special_row)[first]
    reg = hold_unpaid_window(reg, window[pos] + 1 - g0, min_day[pos] - g0)
    profile = np.empty(n, int)
    profile[~special_row] = inverse
    rows = [reg]
    idx = np.flatnonzero(special_row)
    if len(idx):
        special = _special_rows(model, inv.iloc[idx], terms[idx], promise_day[idx], window[idx], channel[idx])
        profile[idx] = len(reg) + np.arange(len(idx))
        rows.append(special)
    pmfs = np.vstack(rows)
    # identical special rows collapse too
    pmfs_u, inv2 = np.unique(np.round(pmfs, 15), axis=0, return_inverse=True)
    return pmfs_u, inv2.ravel()[profile]

def _new_invoice_law(model: PayerModel, cust: np.ndarray, seg: np.ndarray, terms: np.ndarray, method: np.ndarray,
                     future: np.ndarray, due_month: np.ndarray, dispute_type: np.ndarray,
                     channel: np.ndarray | None = None) -> np.ndarray:
    """Open undisputed invoices: the customer's law. Future invoices: mixed with the segment's law of disputed
    invoices in proportion to its recent dispute rate (a plan invoice may still become disputed)."""
    pmf, _ = model.law(cust, seg, terms, dispute_type, method, due_month, channel)
    if future.any() and len(model._dispute_share):
        f = np.flatnonzero(future)
        share = model._dispute_share.reindex(seg[f]).fillna(0.0).to_numpy()[:, None]
        pooled = model._disputed_law.get("__all__", np.zeros(len(model.grid)))
        disputed = np.vstack([model._disputed_law.get(x, pooled) for x in seg[f]])
        pmf[f] = (1 - share) * pmf[f] + share * disputed
    return pmf

def _special_rows(model: PayerModel, inv: pd.DataFrame, terms: np.ndarray, promise_day: np.ndarray,
                  last_day: np.ndarray, channel: np.ndarray | None = None) -> np.ndarray:
    """Rows already conditioned on "not paid by as_of": disputes (rest of the resolution time + delay after
    resolution), promises (kept with the customer's keep rate, else back to the law after the promised day).
    ``last_day``: the customer's last payment day on or before ``as_of`` (relative to due), see
    :func:`hold_unpaid_window`."""
    as_of = model.as_of
    G = len(model.grid)
    out = np.zeros((len(inv), G))
    cust = inv["customer_id"].to_numpy(str)
    seg = inv["segment"].to_numpy(str)
    method = inv["payment_method"].fillna("transfer").to_numpy(str)
    min_day = inv["min_day"].to_numpy(int)
    due = inv["due_date"]
    flagged = inv["disputed"].fillna(False).to_numpy(bool)
    disputed = flagged & inv["dispute_opened"].notna().to_numpy()
    base, _ = model.law(cust, seg, terms, np.where(flagged & ~disputed, UNDATED, ""), method,
                       due.dt.strftime("%Y-%m").to_numpy(str), channel)
    base = hold_unpaid_window(base, np.asarray(last_day) + 1 - model.grid[0], min_day - model.grid[0])
    pi = model._pi(cust, seg)
    dtype = inv["dispute_type"].astype(object).where(inv["dispute_type"].notna(), "other").to_numpy(str)
    opened = inv["dispute_opened"].fillna(due).to_numpy("datetime64[ns]")
    resolved = inv["dispute_resolved"].to_numpy("datetime64[ns]")
    due_np = due.to_numpy("datetime64[ns]")
    as_np = np.datetime64(as_of, "ns")
    day = np.timedelta64(1, "D")
    for i in range(len(inv)):  # only disputed / promised / very old open invoices: a short list
        start = int(min_day[i] - model.grid[0])
        if start >= G:
            continue  # more than a year overdue: never paid within the grid
        # survival of a payer at as_of, which turns the never-paid share pi into pi_a
        s_a = max(1.0 - base[i, :start].sum() / max(1 - pi[i], 1e-12), 1e-12) if start > 0 else 1.0
        if disputed[i]:
            if np.isnat(resolved[i]):
                res = model.dispute_resolution.get(dtype[i], model.dispute_resolution.get("all"))
                age = int((as_np - opened[i]) / day)
                rest = _condition_after(res, age + 1, total=1.0)
                total = np.convolve(rest, model.post_resolution)[: len(DAYS) * 2]
                shift = int((opened[i] - due_np[i]) / day)
                s_a = 1.0  # nobody pays before the dispute ends: being unpaid says nothing of never paying
            else:  # paid after its natural delay, known to exceed the last payment day (not as_of)
                held = int(last_day[i])
                since = int((as_np - resolved[i]) / day) - (int(min_day[i]) - 1 - held)
                total = _condition_after(model.post_resolution, max(since, -1) + 1, total=1.0)
                shift = int((resolved[i] - due_np[i]) / day)
                s_a = max(1.0 - model.post_resolution[: max(since, -1) + 1].sum(), 1e-12)
        pi_a = pi[i] / (pi[i] + (1 - pi[i]) * s_a)
        if disputed[i]:
            row = _place_on_grid(total, shift, model.grid)
            if not np.isnat(resolved[i]):
                row = hold_unpaid_window(row[None, :], [int(last_day[i]) + 1 - model.grid[0]], [start])[0]
        else:
            row = _condition_after(base[i], start, total=1.0)
        if not np.isnan(promise_day[i]):
            p = int(promise_day[i])
            keep = float(model.promise_keep.get(cust[i], model.promise_keep.get(BOOK_KEY, 0.5)))
            after = _condition_after(row, p + 1 - model.grid[0], total=1.0)
            spike = np.zeros(G)
            spike[int(np.clip(p - model.grid[0], start, G - 1))] = 1.0
            row = keep * spike + (1 - keep) * after
        row[:start] = 0.0
        s = row.sum()
        out[i] = row / s * (1 - pi_a) if s > 0 else 0.0
    return out

def _pending_promises(model: PayerModel, inv: pd.DataFrame, promises: pd.DataFrame | None) -> np.ndarray:
    """Promised day relative to due of the latest promise made by ``as_of`` for a date after it, else NaN."""
    out = np.full(len(inv), np.nan)
    if promises is None or len(promises) == 0:
        return out
    p = promises[(promises["made_date"] <= model.as_of) & (promises["promised_date"] > model.as_of)]
    if p.empty:
        return out
    latest = p.sort_values("made_date").groupby("invoice_id")["promised_date"].last()
    promised = inv["invoice_id"].map(latest)
    has = promised.notna().to_numpy() & ~inv["is_future"].to_numpy(bool)
    out[has] = (promised[has] - inv["due_date"][has]).dt.days.to_numpy(float)
    return np.clip(out, model.grid[0], model.grid[-1])


def _open_rows(open_book: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Open invoices to collect: positive outstanding amounts (credit notes are netted in balances, not simulated)."""
    need = {"invoice_id", "customer_id", "due_date", "issue_date"}
    missing = need - set(open_book.columns)
    if missing:
        raise ModelError(f"open_book lacks column(s) {sorted(missing)}; pass ledger.open_book(as_of)")
    ob = open_book.copy()
    amount = ob["outstanding"] if "outstanding" in ob else ob["amount"]
    ob["amount"] = amount.astype(float)
    ob = ob[ob["amount"] > 0]
    for c, default in (("segment", "all"), ("payment_method", "transfer"), ("disputed", False),
                       ("dispute_type", ""), ("dispute_opened", pd.NaT), ("dispute_resolved", pd.NaT)):
        if c not in ob:
            ob[c] = default
    for c in ("issue_date", "due_date", "dispute_opened", "dispute_resolved"):
        ob[c] = ob[c].astype("datetime64[ns]")
    ob["invoice_id"] = ob["invoice_id"].astype(str)
    ob["customer_id"] = ob["customer_id"].astype(str)
    ob["segment"] = ob["segment"].astype(str)
    ob["disputed"] = ob["disputed"].fillna(False).astype(bool)
    ob["is_future"] = False
    ob["min_day"] = (as_of + pd.Timedelta(days=1) - ob["due_date"]).dt.days.clip(GRID[0], None)
    return ob.reset_index(drop=True)


def _plan_mix(hist: pd.DataFrame, usual_method: pd.Series) -> pd.DataFrame:
    """Each segment's customers with their cumulative share of the last 12 months' invoicing (sales plan split)."""
    recent = hist[hist["age"] <= 365]
    if recent.empty:
        recent = hist
    amt = recent.groupby(["segment", "customer_id"])["amount"].sum().reset_index()
    amt["share"] = amt["amount"] / amt.groupby("segment")["amount"].transform("sum")
    amt["cum_share"] = amt.groupby("segment")["share"].cumsum()
    amt["method"] = amt["customer_id"].map(usual_method).fillna("transfer")
    return amt
