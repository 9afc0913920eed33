"""Receivables KPIs as of any date: DSO, aged balance, lateness, disputes, alerts, call list, cost of a customer.

Every function takes a :class:`cashsim.ledger.Ledger` and an ``as_of`` date and works on
``ledger.known_at(as_of).status(as_of)`` only, so a KPI "as of" a past date is what the books said that evening
(the aged balance and the DSO as they stood then), never a re-statement with later payments.

Conventions: euros incl. VAT (*TTC*) on both sides of every ratio; calendar days; ``days_late = paid_date -
due_date`` (negative = early). Receivables (AR, *encours clients*) = outstanding of open invoices, credit notes
netted, written-off invoices excluded; credit sales = invoices issued (credit notes netted). Tidy outputs carry a
``level`` column (``all``, ``segment`` or ``customer``) and a ``group`` column (the segment or customer id), so the
same table holds the global figure, the client groups and the clients: use ``by=None | "segment" | "customer_id"``
or :func:`by_levels` for all three at once.

Example::

    >>> dso_standard(30_000, 60_000, 90)        # AR 30 000, sales 60 000 over 90 days
    45.0
    >>> round(float(dso_countback(212_000, [100_000, 80_000, 70_000], [30, 30, 30])), 1)
    73.7
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cashsim import fmt
from cashsim.errors import LedgerError, ParamsError
from cashsim.ledger import OPEN_STATUSES
from cashsim.legal import FIXED_INDEMNITY_EUR, late_payment_interest, late_payment_rate
from cashsim.params import Alerts, Finance

if TYPE_CHECKING:  # pragma: no cover
    from cashsim.ledger import Ledger
    from cashsim.simulate import Simulation
    from cashsim.targets import TargetReport

#: Aged-balance buckets (*balance âgée*) by days past due, upper bounds inclusive.
AGE_BUCKETS = ("not_due", "1-30", "31-60", "61-90", ">90")
_AGE_EDGES = np.array([0, 30, 60, 90])
#: Staff minutes per dunning action by channel (assumption; used with finance.hourly_cost).
EFFORT_MINUTES = {"email": 5.0, "sms": 2.0, "letter": 15.0, "phone": 15.0, "formal_notice": 30.0}
_DEFAULT_EFFORT_MINUTES = 10.0
_LEVEL_NAMES = {None: "all", "segment": "segment", "customer_id": "customer"}


# --------------------------------------------------------------------------------------------------- helpers


def _ts(date) -> pd.Timestamp:
    return pd.Timestamp(date).normalize()


def status_as_of(ledger: Ledger, as_of) -> pd.DataFrame:
    """The invoice status as known at the end of ``as_of``: ``ledger.known_at(as_of).status(as_of)``, which is
    ``ledger.status(as_of)`` (status works on what was known at the end of that day)."""
    return ledger.status(_ts(as_of))


def _group(df: pd.DataFrame, by: str | None) -> pd.Series:
    if by is None:
        return pd.Series("all", index=df.index, dtype=object)
    if by not in ("segment", "customer_id"):
        raise ParamsError(f"by={by!r}: group KPIs by None (whole book), 'segment' or 'customer_id'")
    return df[by].astype(object)


def _tidy(frame: pd.DataFrame, by: str | None, ledger: Ledger | None = None) -> pd.DataFrame:
    """Index (the groups) -> columns level, group (+ customer_name for customers), then the figures."""
    out = frame.reset_index()
    out = out.rename(columns={out.columns[0]: "group"})
    out.insert(0, "level", _LEVEL_NAMES[by])
    if by == "customer_id" and ledger is not None and "customer_name" in ledger.customers:
        out.insert(2, "customer_name", out["group"].map(customer_names(ledger)))
    return out


def by_levels(fn: Callable[..., pd.DataFrame], *args, **kwargs) -> pd.DataFrame:
    """``fn(..., by=b)`` for the whole book, each segment and each customer, stacked in one tidy table."""
    frames = [fn(*args, by=b, **kwargs) for b in (None, "segment", "customer_id")]
    return pd.concat(frames, ignore_index=True)


def customer_names(ledger: Ledger) -> pd.Series:
    """customer_id -> customer_name from ``ledger.customers`` (first row of an id; empty without a name column)."""
    cust = ledger.customers
    if "customer_name" in cust:
        return cust.drop_duplicates("customer_id").set_index("customer_id")["customer_name"]
    return pd.Series(dtype=object)


# --------------------------------------------------------------------------------------------------- DSO


def dso_standard(ar, credit_sales, days):
    """Standard (accounting) DSO: ``AR / credit sales x days`` of the period, both incl. VAT (*DSO TTC*).

    >>> dso_standard(30_000, 60_000, 90)
    45.0
    """
    ar, sales, days = (np.asarray(x, dtype=float) for x in (ar, credit_sales, days))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sales > 0, ar / sales * days, np.nan)
    return float(out) if out.ndim == 0 else out


def dso_countback(ar, sales_latest_first, days_latest_first):
    """Countback DSO (*méthode par épuisement*): days of the latest months whose sales the receivables exhaust.

    Walk back from the latest month: while the remaining AR covers the month's sales ``S_k``, subtract them and add
    the month's days ``D_k``; in the first month where it does not, add ``D_k x AR_rem / S_k`` and stop. Vectorised
    over rows: ``ar`` shape (N,), sales and days (N, K). A month with no sales adds its days. AR <= 0 gives 0;
    receivables larger than all the sales given give NaN (the history is too short to exhaust them).

    >>> round(float(dso_countback(212_000, [100_000, 80_000, 70_000], [30, 30, 30])), 1)
    73.7
    """
    scalar = np.ndim(ar) == 0
    ar = np.atleast_1d(np.asarray(ar, dtype=float))
    sales = np.atleast_2d(np.asarray(sales_latest_first, dtype=float))
    days = np.broadcast_to(np.atleast_2d(np.asarray(days_latest_first, dtype=float)), sales.shape)
    cum = np.cumsum(sales, axis=1)
    # ">=" with a cent of slack: receivables that exactly exhaust k months (sums of the same invoices, float noise)
    over = cum >= ar[:, None] - 0.005
    k = over.argmax(axis=1)
    found = over.any(axis=1)
    rows = np.arange(len(ar))
    before = np.cumsum(days, axis=1) - days
    prev = cum[rows, k] - sales[rows, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = before[rows, k] + days[rows, k] * (ar - prev) / sales[rows, k]
    out = np.where(found, out, np.nan)
    out = np.where(ar <= 0, 0.0, out)
    return float(out[0]) if scalar else out


def _days_back(as_of: pd.Timestamp, n_months: int) -> np.ndarray:
    """Days of the latest-first periods ending at ``as_of``: the month to date, then full calendar months."""
    months = pd.period_range(end=as_of.to_period("M"), periods=n_months, freq="M")[::-1]
    days = months.days_in_month.to_numpy().astype(float)
    days[0] = as_of.day
    return days


def _sales_by_period(inv: pd.DataFrame, groups: pd.Series, as_of: pd.Timestamp, n_periods: int) -> pd.DataFrame:
    """Credit sales per group (rows) and period (columns 0 = month to date, 1 = previous month, ...)."""
    issue = inv["issue_date"]
    back = (as_of.year * 12 + as_of.month) - (issue.dt.year * 12 + issue.dt.month)     # months back from as_of
    keep = (inv["issue_date"] <= as_of).to_numpy() & (back.to_numpy() < n_periods)
    table = inv.loc[keep, "amount"].groupby([groups[keep], back[keep]]).sum().unstack(fill_value=0.0)
    return table.reindex(columns=range(n_periods), fill_value=0.0)


def dso_at(ledger: Ledger, as_of, *, by: str | None = None, period_months: int = 3,
           max_months: int = 36) -> pd.DataFrame:
    """DSO as it stood at the end of ``as_of``, by the standard and the countback methods, with BPDSO and ADD.

    Columns: ar (open receivables incl. VAT, credit notes netted, write-offs excluded), ar_not_due, sales_period
    (credit sales of the last ``period_months`` periods: the month to date then full months), days_period,
    dso_standard = ar / sales_period x days_period, dso_countback (actual days per month, latest first),
    bpdso_* = the same formulas on ar_not_due (best possible DSO), add_* = DSO - BPDSO (average days delinquent).
    The standard DSO is NaN while its period reaches back before the ledger's first invoice.
    """
    as_of = _ts(as_of)
    st = status_as_of(ledger, as_of)
    inv = st.loc[st["issue_date"] <= as_of]
    open_ = inv["status"].isin(OPEN_STATUSES)
    g = _group(inv, by)
    ar = inv["outstanding"].where(open_, 0.0).groupby(g).sum()
    ar_nd = inv["outstanding"].where(inv["status"].eq("open_not_due"), 0.0).groupby(g).sum()
    days = _days_back(as_of, max_months)
    sales = _sales_by_period(inv, g, as_of, max_months).reindex(ar.index, fill_value=0.0)
    s = sales.to_numpy()
    k = period_months
    out = pd.DataFrame({"as_of": as_of, "ar": ar, "ar_not_due": ar_nd.reindex(ar.index, fill_value=0.0)})
    out["sales_period"] = s[:, :k].sum(axis=1)
    out["days_period"] = days[:k].sum()
    out["dso_standard"] = dso_standard(out["ar"], out["sales_period"], out["days_period"])
    out["dso_countback"] = dso_countback(out["ar"].to_numpy(), s, days)
    out["bpdso_standard"] = dso_standard(out["ar_not_due"], out["sales_period"], out["days_period"])
    out["bpdso_countback"] = dso_countback(out["ar_not_due"].to_numpy(), s, days)
    if len(inv) and (as_of.to_period("M") - (k - 1)) < inv["issue_date"].min().to_period("M"):
        # the period reaches back before the first invoice: its sales are incomplete, the ratio would mislead
        out[["dso_standard", "bpdso_standard"]] = np.nan
    out["add_standard"] = out["dso_standard"] - out["bpdso_standard"]
    out["add_countback"] = out["dso_countback"] - out["bpdso_countback"]
    out.index.name = "group"
    return _tidy(out, by, ledger)


def month_ends(ledger: Ledger, start=None, end=None) -> pd.DatetimeIndex:
    """Month-end dates from the first invoice's month (or ``start``) to ``end`` (default: the last issue date)."""
    issue = pd.to_datetime(ledger.invoices["issue_date"])
    if issue.empty:
        raise LedgerError("the ledger has no invoices: no KPI history can be computed")
    lo = _ts(start) if start is not None else issue.min()
    hi = _ts(end) if end is not None else issue.max()
    ends = pd.period_range(lo.to_period("M"), hi.to_period("M"), freq="M").end_time.normalize()
    return pd.DatetimeIndex(ends[ends <= hi].append(pd.DatetimeIndex([hi]) if hi not in ends else
                                                     pd.DatetimeIndex([])))


def dso_history(ledger: Ledger, start=None, end=None, *, by: str | None = None,
                period_months: int = 3) -> pd.DataFrame:
    """:func:`dso_at` at each month end of the history (and at ``end`` itself): the DSO curve as it stood then.

    Adds ``month`` ("YYYY-MM") and ``dso_change`` (countback DSO minus the previous row's, per group).
    """
    frames = [dso_at(ledger, d, by=by, period_months=period_months) for d in month_ends(ledger, start, end)]
    out = pd.concat(frames, ignore_index=True)
    out.insert(out.columns.get_loc("as_of") + 1, "month", out["as_of"].dt.strftime("%Y-%m"))
    out["dso_change"] = out.groupby("group")["dso_countback"].diff()
    return out


# --------------------------------------------------------------------------------------------------- aged balance


def age_bucket(days_overdue) -> np.ndarray:
    """Bucket name for days past due: <= 0 not_due, 1-30, 31-60, 61-90, > 90.

    >>> age_bucket([-3, 0, 1, 30, 31, 90, 91]).tolist()
    ['not_due', 'not_due', '1-30', '1-30', '31-60', '61-90', '>90']
    """
    d = np.asarray(days_overdue, dtype=float)
    return np.asarray(AGE_BUCKETS, dtype=object)[np.searchsorted(_AGE_EDGES, d, side="left")]


def aged_balance(ledger: Ledger, as_of, *, by: str | None = None) -> pd.DataFrame:
    """Aged balance (*balance âgée*) as it stood at the end of ``as_of``: open amounts by days past due.

    One row per group and bucket (``not_due``, ``1-30``, ``31-60``, ``61-90``, ``>90``), plus a ``credit_notes`` line
    for open negative amounts (shown apart, not netted silently) and a ``total`` line (net). Columns: amount,
    n_invoices, share (of the gross positive open amount).
    """
    as_of = _ts(as_of)
    st = status_as_of(ledger, as_of)
    op = st.loc[st["status"].isin(OPEN_STATUSES) & (st["outstanding"] != 0)]
    g = _group(op, by)
    overdue = (as_of - op["due_date"]).dt.days.to_numpy()
    bucket = np.where(op["outstanding"].to_numpy() < 0, "credit_notes", age_bucket(overdue))
    order = [*AGE_BUCKETS, "credit_notes"]
    frame = pd.DataFrame({"group": g.to_numpy(), "bucket": bucket, "amount": op["outstanding"].to_numpy()})
    groups = pd.Index(pd.unique(g.to_numpy()) if len(g) else (["all"] if by is None else []), name="group")
    full = pd.MultiIndex.from_product([groups, order], names=["group", "bucket"])
    agg = frame.groupby(["group", "bucket"])["amount"].agg(["sum", "size"]).reindex(full, fill_value=0)
    agg.columns = ["amount", "n_invoices"]
    agg = agg.reset_index()
    gross = agg.loc[agg["bucket"] != "credit_notes"].groupby("group")["amount"].transform("sum")
    agg["share"] = (agg["amount"] / gross.reindex(agg.index)).where(agg["bucket"] != "credit_notes")
    tot = agg.groupby("group", sort=False)[["amount", "n_invoices"]].sum().reset_index()
    tot["bucket"], tot["share"] = "total", np.nan
    out = pd.concat([agg, tot], ignore_index=True)
    out["bucket"] = pd.Categorical(out["bucket"], [*order, "total"], ordered=True)
    out = out.sort_values(["group", "bucket"], ignore_index=True)
    out["bucket"] = out["bucket"].astype(str)
    out.insert(0, "as_of", as_of)
    return _tidy(out.set_index("group"), by, ledger)


def aged_balance_wide(aged: pd.DataFrame) -> pd.DataFrame:
    """:func:`aged_balance` as one row per group and one column per bucket (for a stacked bar chart)."""
    wide = aged.pivot_table(index="group", columns="bucket", values="amount", aggfunc="sum", sort=False)
    return wide.reindex(columns=[*AGE_BUCKETS, "credit_notes", "total"]).reset_index()


# --------------------------------------------------------------------------------------------------- lateness


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


# --------------------------------------------------------------------------------------------------- disputes


def dispute_table(ledger: Ledger, as_of, sla_days: dict[str, float]) -> pd.DataFrame:
    """Every dispute (*litige*) opened by ``as_of``: its type, age or resolution time against the service level.

    Columns: invoice_id, customer_id, segment, dispute_type, dispute_opened, dispute_resolved (NaT when still open
    at as_of), is_open, outstanding, age_days (as_of - opened, open disputes), resolution_days (resolved - opened),
    sla_days (by type; a type absent from the params uses ``other``), past_sla (open longer than the SLA, or
    resolved later than it).
    """
    as_of = _ts(as_of)
    st = status_as_of(ledger, as_of)
    d = st.loc[st["disputed"].fillna(False).astype(bool) & st["dispute_opened"].notna()
               & (st["dispute_opened"] <= as_of)].copy()
    resolved = d["dispute_resolved"].where(d["dispute_resolved"] <= as_of)
    typ = d["dispute_type"].astype(object).where(d["dispute_type"].notna(), "other")
    default = sla_days.get("other", np.nan)
    out = pd.DataFrame({
        "invoice_id": d["invoice_id"], "customer_id": d["customer_id"], "segment": d["segment"],
        "dispute_type": typ, "dispute_opened": d["dispute_opened"], "dispute_resolved": resolved,
        "is_open": resolved.isna(), "outstanding": d["outstanding"],
    })
    out["age_days"] = (as_of - out["dispute_opened"]).dt.days.where(out["is_open"])
    out["resolution_days"] = (out["dispute_resolved"] - out["dispute_opened"]).dt.days
    out["sla_days"] = typ.map(lambda t: sla_days.get(t, default)).astype(float)
    out["past_sla"] = np.where(out["is_open"], out["age_days"] > out["sla_days"],
                               out["resolution_days"] > out["sla_days"])
    return out.reset_index(drop=True)


def dispute_summary(ledger: Ledger, as_of, sla_days: dict[str, float], *, by: str | None = None) -> pd.DataFrame:
    """Disputes by type (and group): open count and amount, age of the open ones, resolution time vs SLA.

    Columns: dispute_type, n_disputes, n_open, open_amount, mean_age_open_days, n_open_past_sla, n_resolved,
    median_resolution_days, mean_resolution_days, sla_days, share_resolved_within_sla.
    """
    t = dispute_table(ledger, as_of, sla_days)
    g = _group(t, by)
    res = ~t["is_open"]
    frame = t.assign(grp=g.to_numpy(), open_amount=t["outstanding"].where(t["is_open"], 0.0),
                     open_past=(t["is_open"] & t["past_sla"]).astype(int),
                     within=(res & ~t["past_sla"]).astype(int), res=res.astype(int))
    agg = frame.groupby(["grp", "dispute_type"]).agg(
        n_disputes=("invoice_id", "size"), n_open=("is_open", "sum"), open_amount=("open_amount", "sum"),
        mean_age_open_days=("age_days", "mean"), n_open_past_sla=("open_past", "sum"), n_resolved=("res", "sum"),
        median_resolution_days=("resolution_days", "median"), mean_resolution_days=("resolution_days", "mean"),
        sla_days=("sla_days", "first"), within=("within", "sum"))
    with np.errstate(divide="ignore", invalid="ignore"):
        agg["share_resolved_within_sla"] = agg.pop("within") / agg["n_resolved"].where(agg["n_resolved"] > 0)
    agg = agg.reset_index(level="dispute_type")
    agg.index.name = "group"
    agg.insert(0, "as_of", _ts(as_of))
    return _tidy(agg, by, ledger)


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


# --------------------------------------------------------------------------------------------------- alerts


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


def late_payment_claims(ledger: Ledger, as_of, *, since=None) -> pd.DataFrame:
    """What the law would let the company claim on each late invoice (*pénalités de retard* + 40 EUR indemnity).

    Interest = legal rate (ECB MRO of the half-year + 10 points, :mod:`cashsim.legal`) x days late / 365 on each part
    paid late (up to its payment) and on the open remainder (up to ``as_of``); indemnity = 40 EUR per late invoice.
    Shown as claimable, never assumed collected. ``since``: only invoices due on or after that date.
    Columns: invoice_id, customer_id, customer_name, segment, amount, due_date, days_late (to full payment or
    as_of), interest, indemnity, claimable, rate_beyond_table (a day after the rate table's end used its last rate).
    """
    as_of = _ts(as_of)
    st = status_as_of(ledger, as_of)
    pieces = _late_pieces(ledger, as_of, st)
    if since is not None:
        pieces = pieces.loc[pieces["start"] >= _ts(since)]
    pieces = pieces.assign(interest=late_payment_interest(pieces["amount"], pieces["start"], pieces["end"]),
                           beyond=late_payment_rate(pieces["end"])[1])
    per = pieces.groupby("invoice_id").agg(interest=("interest", "sum"), last=("end", "max"),
                                           beyond=("beyond", "any"))
    inv = st.set_index("invoice_id").loc[per.index]
    out = pd.DataFrame({
        "customer_id": inv["customer_id"], "customer_name": inv["customer_name"], "segment": inv["segment"],
        "amount": inv["amount"], "due_date": inv["due_date"],
        "days_late": (per["last"] - inv["due_date"]).dt.days, "interest": per["interest"],
        "indemnity": FIXED_INDEMNITY_EUR, "rate_beyond_table": per["beyond"],
    }, index=per.index)
    out["claimable"] = out["interest"] + out["indemnity"]
    out.insert(0, "as_of", as_of)
    return out.reset_index().sort_values("claimable", ascending=False, ignore_index=True)


def claims_by_customer(claims: pd.DataFrame) -> pd.DataFrame:
    """:func:`late_payment_claims` summed per client: n_late_invoices, interest, indemnity, claimable."""
    g = claims.groupby(["customer_id", "customer_name"], dropna=False)
    out = g.agg(n_late_invoices=("invoice_id", "size"), interest=("interest", "sum"),
                indemnity=("indemnity", "sum"), claimable=("claimable", "sum"),
                rate_beyond_table=("rate_beyond_table", "any"))
    return out.reset_index().sort_values("claimable", ascending=False, ignore_index=True)


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


# --------------------------------------------------------------------------------------------------- cost


def customer_cost(ledger: Ledger, as_of, finance: Finance, *, reliability: pd.DataFrame | None = None,
                  lookback_days: int = 365, p_never_default: float = 0.013,
                  effort_minutes: dict[str, float] | None = None) -> pd.DataFrame:
    """The true cost of each customer over the lookback (*coût réel d'un client*), euros.

    - financing_cost = borrowing_rate x euro-days late / 365: every euro paid after its due date, from the due
      date to its payment (or to as_of while open), for invoices due in the lookback;
    - collection_effort = dunning actions in the lookback x minutes per channel (``EFFORT_MINUTES``) x
      hourly_cost / 60;
    - expected_bad_debt = open outstanding x p_never (``PayerModel.customers.p_never`` when given, else
      ``p_never_default``, Atradius 2018: 1.3 %); written_off = amounts written off in the lookback (realised,
      ``amount - paid_to_date``);
    - total_cost = the three costs; surcharge = total_cost / sales (the price increase that would pay for it);
    - extra_sales_for_bad_debt = (expected_bad_debt + written_off) / gross_margin: the sales it takes to earn back
      a bad debt at the company's margin (20 % by default: 1 000 EUR lost = 5 000 EUR of extra sales).
    """
    as_of = _ts(as_of)
    start = as_of - pd.Timedelta(days=lookback_days)
    st = ledger.status(as_of)
    pieces = _late_pieces(ledger, as_of, st)
    pieces = pieces.loc[pieces["start"] > start]
    euro_days = (pieces["amount"] * (pieces["end"] - pieces["start"]).dt.days).groupby(pieces["customer_id"]).sum()
    minutes = {**EFFORT_MINUTES, **(effort_minutes or {})}
    dun = ledger.dunning
    dun = dun.loc[(dun["action_date"] > start) & (dun["action_date"] <= as_of)]
    dun = dun.merge(st[["invoice_id", "customer_id"]], on="invoice_id", how="inner")
    mins = dun["channel"].astype(object).map(minutes).fillna(_DEFAULT_EFFORT_MINUTES) if len(dun) else \
        pd.Series(dtype=float)
    effort = mins.groupby(dun["customer_id"]).sum() * finance.hourly_cost / 60.0
    op = st.loc[st["status"].isin(OPEN_STATUSES) & (st["outstanding"] > 0)]
    open_amt = op.groupby("customer_id")["outstanding"].sum()
    p_never = pd.Series(p_never_default, index=open_amt.index)
    if reliability is not None:
        rel = _by_customer(reliability)
        if "p_never" in rel:
            p_never = rel["p_never"].reindex(open_amt.index).fillna(p_never_default)
    wo = st.loc[st["status"].eq("written_off") & (st["write_off_date"] > start)]
    written = (wo["amount"] - wo["paid_to_date"]).groupby(wo["customer_id"]).sum()   # outstanding is 0 once written off
    inv = st.loc[st["issue_date"] > start]
    sales = inv.groupby("customer_id")["amount"].sum()
    ids = sales.index.union(open_amt.index).union(euro_days.index).union(effort.index).union(written.index)
    out = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
    out["sales"] = sales.reindex(ids, fill_value=0.0)
    out["financing_cost"] = euro_days.reindex(ids, fill_value=0.0) * finance.borrowing_rate / 365.0
    out["collection_effort"] = effort.reindex(ids, fill_value=0.0)
    out["open_amount"] = open_amt.reindex(ids, fill_value=0.0)
    out["expected_bad_debt"] = out["open_amount"] * p_never.reindex(ids).fillna(p_never_default)
    out["written_off"] = written.reindex(ids, fill_value=0.0)
    out["total_cost"] = out[["financing_cost", "collection_effort", "expected_bad_debt"]].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["surcharge"] = (out["total_cost"] / out["sales"]).where(out["sales"] > 0)
    margin = finance.gross_margin if finance.gross_margin > 0 else 0.20
    out["extra_sales_for_bad_debt"] = (out["expected_bad_debt"] + out["written_off"]) / margin
    out = out.sort_values("total_cost", ascending=False)
    out.insert(0, "as_of", as_of)
    return _tidy(out, "customer_id", ledger)


# --------------------------------------------------------------------------------------------------- shortfall


def shortfall_contribution(group_monthly: np.ndarray, targets: np.ndarray, months, groups,
                           collected: np.ndarray | None = None) -> pd.DataFrame:
    """Each group's (customer's) contribution to the projected shortfall of each month, with its uncertainty.

    Rule (expected-shortfall allocation, *contribution au manque*): on the paths where month m misses its target
    (collected < target), group c's contribution is ``E[mean_c - cash_c | shortfall]``, where ``mean_c`` is its
    average cash over all paths: how much less than usual it paid on the bad paths. The contributions add up to
    ``E[mean total - total | shortfall]`` when the groups cover all collections. Uncertainty: the Monte Carlo
    standard error of that conditional mean, and the 10th/90th percentiles of ``mean_c - cash_c`` on the bad paths.

    group_monthly: (n_paths, n_groups, n_months) cash per group; targets: (n_paths, n_months) path targets of the
    same months; collected: (n_paths, n_months) total collections (default: the sum over groups).
    Returns one row per month and group, sorted by month then contribution (largest first).
    """
    import warnings

    g = np.asarray(group_monthly, dtype=float)
    total = g.sum(axis=1) if collected is None else np.asarray(collected, dtype=float)
    bad = (total < np.asarray(targets, dtype=float)).astype(float)      # (P, M)
    n_bad = bad.sum(axis=0)                                           # (M,)
    gap = g.mean(axis=0, keepdims=True) - g                           # (P, G, M)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.einsum("pm,pgm->gm", bad, gap) / n_bad
        second = np.einsum("pm,pgm->gm", bad, gap**2) / n_bad
        se = np.sqrt(np.maximum(second - mean**2, 0.0) / np.maximum(n_bad - 1, 1))
    masked = np.where(bad[:, None, :] > 0, gap, np.nan)
    with warnings.catch_warnings():   # a month with no shortfall path has all-NaN gaps: NaN quantiles, by design
        warnings.simplefilter("ignore", RuntimeWarning)
        p10, p90 = np.nanquantile(masked, [0.1, 0.9], axis=0)
    n_groups, n_months = mean.shape
    df = pd.DataFrame({
        "month": np.repeat(pd.PeriodIndex(months, freq="M").astype(str).to_numpy(), n_groups),
        "group": np.tile(np.asarray(groups, dtype=object), n_months),
        "p_shortfall": np.repeat(n_bad / g.shape[0], n_groups),
        "contribution": mean.T.ravel(),
        "contribution_se": se.T.ravel(),
        "gap_p10": p10.T.ravel(),
        "gap_p90": p90.T.ravel(),
    })
    tot = df.groupby("month")["contribution"].transform("sum")
    df["share"] = df["contribution"] / tot.where(tot != 0)
    return df.sort_values(["month", "contribution"], ascending=[True, False], ignore_index=True)


def customer_groups(book) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, labels)`` to simulate per customer: ``simulate(book, ..., group_by=codes)`` then
    ``customer_shortfall(sim, report, labels)``. Codes are 0..n-1 in order of first appearance in ``book.invoices``."""
    codes, labels = pd.factorize(book.invoices["customer_id"])
    return codes.astype(np.int64), np.asarray(labels, dtype=object)


def customer_shortfall(sim: Simulation, report: TargetReport, groups=None) -> pd.DataFrame:
    """:func:`shortfall_contribution` on a Simulation run with ``group_by`` = customer and its target report.

    ``groups``: labels of ``sim.group_monthly``'s group axis (from :func:`customer_groups`; default
    ``sim.groups`` when the engine provides it, else 0..n-1). The shortfall event uses the month's total
    collections incl. the actual cash of the month to date, so it matches the report's P(target met).
    """
    if sim.group_monthly is None:
        raise ParamsError("the simulation has no group_monthly: run simulate(..., group_by='customer_id')")
    labels = groups if groups is not None else getattr(sim, "groups", None)
    if labels is None:
        labels = np.arange(sim.group_monthly.shape[1])
    future = ~report.paths.is_past
    return shortfall_contribution(sim.group_monthly, report.paths.targets[:, future], report.paths.months[future],
                                  labels, collected=report.paths.collected[:, future])
