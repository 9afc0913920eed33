"""Receivables seen as the collection guides ask (*plan de bataille*): the split not due / overdue x reliable / less
reliable payers, the call list per customer account with its owner, promises and disputes, and KPIs per account.

Rules (amounts in euros incl. VAT, as the books stood at the end of ``as_of``):

- **split**: every open invoice with a positive outstanding amount is *not due* when ``due_date >= as_of``, else
  *overdue*; its payer is *reliable* when the fitted model says so (``PayerModel.customers.reliable``; a customer the
  model has not seen is less reliable). What the forecast expects from a quadrant in a month is the sum over its
  invoices of ``outstanding x P(paid in that month)``, with P from the simulation's per-invoice probabilities
  (``sim.invoice_probs``: ``p_paid_by_<month>`` differenced month to month).
- **account**: one row per customer with an open balance: open, overdue, the oldest days past due, the next step of
  its most advanced invoice (:func:`cashsim.kpi.next_action`), its **owner** (the customers' ``owner`` column -
  collector or sales rep - else *unassigned*), promises pending / broken and the keep rate, disputes past their
  service level. Sorted by overdue amount, then open amount, largest first.
- **promise**: kept when the invoice was fully paid, or at least the promised amount was paid since the promise, by
  ``promised_date + 3 days`` (the rule of :mod:`cashsim.behaviour.rates`); broken when that deadline has passed
  without it; pending otherwise (deadline still ahead and the invoice still open).

Example (in a notebook)::

    >>> split_view(run)                                             # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim import fmt
from cashsim.report.views import forecast_months
from cashsim.report.words import bucket_labels, next_step, run_locale, tr, translate_values

#: Days after the promised date a payment still counts as the promise kept (as in cashsim.behaviour.rates).
PROMISE_GRACE_DAYS = 3
QUADRANTS = ("not_due_reliable", "not_due_less_reliable", "overdue_reliable", "overdue_less_reliable")


def owners(ledger, default: str | None = None) -> pd.Series:
    """customer_id -> owner (collector or sales rep) from the customers' ``owner`` column, blanks as ``default``
    (French *non attribué*, English *unassigned* when ``default`` is None and the ledger has no column)."""
    cust = ledger.customers.drop_duplicates("customer_id").set_index("customer_id")
    fallback = default if default is not None else "unassigned"
    if "owner" not in cust:
        return pd.Series(fallback, index=cust.index, dtype=object)
    own = cust["owner"].astype(object).where(cust["owner"].notna(), fallback)
    return own.map(lambda x: str(x).strip() or fallback)


def _open(run) -> pd.DataFrame:
    from cashsim.ledger.columns import OPEN_STATUSES

    st = run.ledger.status(run.as_of)
    op = st.loc[st["status"].isin(OPEN_STATUSES) & (st["outstanding"] > 0)].copy()
    op["days_overdue"] = (run.as_of - op["due_date"]).dt.days
    return op


def _reliable(run) -> pd.Series:
    cust = run.model.customers
    return cust["reliable"].fillna(False).astype(bool) if "reliable" in cust else pd.Series(dtype=bool)


def split_table(run, n_months: int = 2) -> pd.DataFrame:
    """The guides' split: one row per quadrant (:data:`QUADRANTS`) with n_invoices, n_customers, amount and the
    collections the forecast expects from it in each of the first ``n_months`` forecast months (``expected_<YYYY-MM>``),
    plus a ``total`` row."""
    op = _open(run)
    rel = op["customer_id"].map(_reliable(run)).fillna(False).astype(bool)
    op["quadrant"] = np.where(op["days_overdue"] <= 0, "not_due", "overdue")
    op["quadrant"] = op["quadrant"] + np.where(rel, "_reliable", "_less_reliable")
    months = forecast_months(run)["month"].astype(str).tolist()[:n_months]
    probs = run.sim.invoice_probs
    ids = probs["invoice_id"] if "invoice_id" in probs else run.sim.book.invoices["invoice_id"].to_numpy()
    probs = probs.assign(invoice_id=np.asarray(ids)).drop_duplicates("invoice_id").set_index("invoice_id")
    before = pd.Series(0.0, index=op.index)
    for month in months:
        col = f"p_paid_by_{month}"
        p_by = op["invoice_id"].map(probs[col]).astype(float).fillna(before) if col in probs else before
        op[f"expected_{month}"] = op["outstanding"] * (p_by - before).clip(lower=0.0)
        before = p_by
    agg = {"n_invoices": ("invoice_id", "size"), "n_customers": ("customer_id", "nunique"),
           "amount": ("outstanding", "sum")}
    agg |= {f"expected_{m}": (f"expected_{m}", "sum") for m in months}
    out = op.groupby("quadrant").agg(**agg).reindex(list(QUADRANTS)).fillna(0.0)
    total = out.sum().to_frame("total").T
    total["n_customers"] = op["customer_id"].nunique()
    out = pd.concat([out, total])
    out["share"] = out["amount"] / max(float(op["outstanding"].sum()), 1e-9)
    return out.rename_axis("quadrant").reset_index()


def no_reliable_payer(run) -> str | None:
    """The sentence saying why the reliable-payer rows of the split are all zero when no customer reaches the
    reliability threshold (``behaviour.reliable_threshold``), in the run's language; None when one does."""
    if _reliable(run).any():
        return None
    b = run.params.behaviour
    return tr(run).ngettext(
        "No customer reaches the reliability threshold of {threshold} (the chance of paying at most {days} day "
        "after the due date; behaviour.reliable_threshold in the parameters): every open invoice counts among the "
        "less reliable payers.",
        "No customer reaches the reliability threshold of {threshold} (the chance of paying at most {days} days "
        "after the due date; behaviour.reliable_threshold in the parameters): every open invoice counts among the "
        "less reliable payers.", b.grace_days).format(
        threshold=fmt.percent(b.reliable_threshold, locale=run.params.report.locale), days=b.grace_days)


def split_view(run, n_months: int = 2):
    """:func:`split_table` labelled for the reader: amounts, shares and the forecast of this month and the next;
    its caption says why the reliable-payer rows are zero when no customer reaches the threshold."""
    _ = tr(run)
    loc = run.params.report.locale
    frame = split_table(run, n_months)
    names = {"not_due_reliable": _("not yet due, reliable payers"),
             "not_due_less_reliable": _("not yet due, less reliable payers"),
             "overdue_reliable": _("overdue, reliable payers"),
             "overdue_less_reliable": _("overdue, less reliable payers"), "total": _("total")}
    frame["quadrant"] = frame["quadrant"].map(names)
    expected = [c for c in frame.columns if c.startswith("expected_")]
    labels = {"quadrant": _("open receivables"), "n_customers": _("customers"), "n_invoices": _("invoices"),
              "amount": _("amount"), "share": _("share")}
    labels |= {c: _("expected in {month}").format(month=fmt.month_name(c.removeprefix("expected_"), locale=loc))
               for c in expected}
    return fmt.table(frame[list(labels)], money_cols=["amount", *expected], percent_cols=["share"],
                     number_cols=["n_customers", "n_invoices"], labels=labels, caption=no_reliable_payer(run),
                     **run_locale(run))


def promises_table(run) -> pd.DataFrame:
    """Every promise to pay (*promesse de règlement*) with its state: invoice_id, customer_id, made_date,
    promised_date, amount, state (``pending``, ``kept``, ``broken``)."""
    pr = run.ledger.promises.copy()
    cols = ["invoice_id", "customer_id", "made_date", "promised_date", "amount", "state"]
    if pr.empty:
        return pd.DataFrame(columns=cols)
    st = run.ledger.status(run.as_of).set_index("invoice_id")
    pr = pr.loc[pr["invoice_id"].isin(st.index)].reset_index(drop=True)
    pr["customer_id"] = pr["invoice_id"].map(st["customer_id"])
    deadline = pr["promised_date"] + pd.Timedelta(days=PROMISE_GRACE_DAYS)
    paid_date = pr["invoice_id"].map(st["paid_date"])
    pay = run.ledger.payments[["invoice_id", "payment_date", "amount"]]
    pay = pay.loc[pay["payment_date"] <= run.as_of]
    merged = pr.reset_index(names="pid")[["pid", "invoice_id", "made_date"]].assign(deadline=deadline.to_numpy())
    merged = merged.merge(pay, on="invoice_id", how="left")
    inside = (merged["payment_date"] >= merged["made_date"]) & (merged["payment_date"] <= merged["deadline"])
    got = merged["amount"].where(inside, 0.0).groupby(merged["pid"]).sum().reindex(pr.index).fillna(0.0)
    promised = pr["amount"].fillna(0.0)
    kept = (paid_date.notna() & (paid_date <= deadline)) | ((promised > 0) & (got >= promised - 0.01))
    is_open = pr["invoice_id"].map(st["status"]).isin(("open_not_due", "overdue"))
    pr["state"] = np.select([kept, deadline < run.as_of, is_open], ["kept", "broken", "pending"], "kept")
    return pr[cols]


def accounts_table(run) -> pd.DataFrame:
    """The call list per customer account (see the module docstring): rank, customer_id, customer_name, segment,
    owner, open, overdue, n_overdue, max_days_overdue, next_action (reader's words), action_amount (what the next
    step is about: the overdue amount, else the invoices due soon a courtesy call is for, 0 with no step),
    promises_pending, promises_broken, keep_rate, disputes_past_sla, claimable."""
    from cashsim import kpi

    _ = tr(run)
    loc = run.params.report.locale
    op = _open(run)
    calls = kpi.call_list(run.ledger, run.as_of, reliability=run.model.customers)
    urgent = calls.sort_values(["dunning_level", "days_overdue"], ascending=False).drop_duplicates("customer_id")
    overdue = op.loc[op["days_overdue"] > 0]
    out = op.groupby("customer_id").agg(customer_name=("customer_name", "first"), segment=("segment", "first"),
                                        open=("outstanding", "sum"))
    out["overdue"] = overdue.groupby("customer_id")["outstanding"].sum().reindex(out.index).fillna(0.0)
    out["n_overdue"] = overdue.groupby("customer_id").size().reindex(out.index).fillna(0).astype(int)
    out["max_days_overdue"] = overdue.groupby("customer_id")["days_overdue"].max().reindex(out.index)
    default = _("unassigned")
    out["owner"] = out.index.map(owners(run.ledger, default)).fillna(default)
    nxt = urgent.set_index("customer_id")["next_action"]
    out["next_action"] = [next_step(nxt[c], loc) if c in nxt.index else _("no action: nothing overdue")
                          for c in out.index]
    # what the step is about: the overdue amount; with nothing overdue, the invoices due soon that the call list
    # holds for a courtesy call (a less reliable payer's); an account with no step, nothing
    per_call = calls.groupby("customer_id")[["outstanding", "claimable"]].sum().reindex(out.index).fillna(0.0)
    out["action_amount"] = out["overdue"].where(out["overdue"] > 0, per_call["outstanding"])
    pr = promises_table(run)
    counts = pr.groupby(["customer_id", "state"]).size().unstack(fill_value=0) if len(pr) else pd.DataFrame()
    for state in ("pending", "kept", "broken"):
        out[f"promises_{state}"] = (counts[state] if state in counts else pd.Series(dtype=float)
                                    ).reindex(out.index).fillna(0).astype(int)
    decided = out["promises_kept"] + out["promises_broken"]
    out["keep_rate"] = (out["promises_kept"] / decided).where(decided > 0)
    disp = kpi.dispute_table(run.ledger, run.as_of, run.params.alerts.dispute_sla_days)
    late = disp.loc[disp["is_open"] & disp["past_sla"]].groupby("customer_id").size()
    out["disputes_past_sla"] = late.reindex(out.index).fillna(0).astype(int)
    out["claimable"] = per_call["claimable"]
    out = out.sort_values(["overdue", "open"], ascending=False).reset_index()
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.drop(columns=["promises_kept"])


def accounts_view(run, top: int = 25):
    """The first ``top`` accounts of :func:`accounts_table`, labelled for the reader."""
    _ = tr(run)
    cols = {"rank": "#", "customer_name": _("customer"), "owner": _("owner"), "open": _("open"),
            "overdue": _("overdue"), "max_days_overdue": _("days overdue (oldest)"), "next_action": _("next step"),
            "promises_pending": _("promises pending"), "promises_broken": _("promises broken"),
            "keep_rate": _("promises kept"), "disputes_past_sla": _("disputes past SLA")}
    frame = accounts_table(run).head(top)[list(cols)]
    return fmt.table(frame, money_cols=["open", "overdue"], percent_cols=["keep_rate"],
                     number_cols=["max_days_overdue", "promises_pending", "promises_broken", "disputes_past_sla"],
                     labels=cols, caption=" ".join(call_list_notes(run, frame)) or None, **run_locale(run))


def call_list_notes(run, frame: pd.DataFrame) -> list[str]:
    """The sentences under a call list (``frame``: rows of :func:`accounts_table`): :func:`promises_note` and
    :func:`dunning_note`, those that apply."""
    return [t for t in (promises_note(run, frame), dunning_note(run, frame)) if t]


def dunning_note(run, calls: pd.DataFrame) -> str | None:
    """Why every overdue line of a call list (``calls``: rows with ``max_days_overdue`` or ``days_overdue``) starts
    from the first reminder however late it is, in one sentence of the reader's language
    (:func:`cashsim.kpi.no_dunning_note`): the ledger records no dunning action; None otherwise."""
    from cashsim import kpi

    days = calls["max_days_overdue"] if "max_days_overdue" in calls else calls.get("days_overdue")
    said = kpi.no_dunning_note(run.ledger, days)
    return tr(run)(said) if said else None


def promises_note(run, accounts: pd.DataFrame) -> str | None:
    """Why the call list's promise columns show zeros or a dash, in one sentence of the reader's language: the
    ledger records no promise at all, or some accounts shown (``accounts``, rows of :func:`accounts_table`) have no
    promise whose deadline has passed, so no keep rate; None when every keep rate shown is a figure."""
    _ = tr(run)
    if run.ledger.promises.empty:
        return _("The ledger records no promise to pay: the promise columns are zero and there is no keep rate "
                 "(the section “Promises to pay” says how to record them).")
    if accounts["keep_rate"].isna().any():
        return _("A dash under “promises kept”: the account has no promise whose deadline has passed (none recorded, "
                 "or all still pending).")
    return None


def promises_view(run):
    """Promises by state: how many, how much, and the keep rate of those whose deadline has passed; a sentence
    saying the ledger records none, and how to give them, when it holds no promise (instead of a table of zeros)."""
    _ = tr(run)
    if run.ledger.promises.empty:
        from cashsim.report.texts import Sentence

        return Sentence(_("The ledger records no promise to pay, so there is none to follow up. To track them, give "
                          "their file in the parameters: `data.promises`, one row per promise with the columns "
                          "`invoice_id`, `made_date`, `promised_date` and, if only part is promised, `amount` "
                          "(`data.mapping.promises` names your own columns)."))
    pr = promises_table(run)
    frame = pr.groupby("state")["amount"].agg(["size", "sum"]).reindex(["pending", "kept", "broken"]).fillna(0)
    decided = frame.loc[["kept", "broken"], "size"].sum()
    rate = frame.loc["kept", "size"] / decided if decided else np.nan
    frame = frame.rename(index={"pending": _("pending (deadline ahead)"), "kept": _("kept"),
                                "broken": _("broken")}).reset_index()
    frame.columns = ["state", "n", "amount"]
    due_soon = pr.loc[(pr["state"] == "pending")
                      & (pr["promised_date"] <= run.as_of + pd.Timedelta(days=14)), "amount"].sum()
    caption = _("keep rate of promises whose deadline has passed: {rate}; pending and due within 14 days: "
                "{amount}").format(rate=fmt.percent(rate, locale=run.params.report.locale),
                                   amount=fmt.money(due_soon, **run_locale(run), decimals=0))
    labels = {"state": _("promises to pay"), "n": _("number"), "amount": _("amount")}
    return fmt.table(frame, money_cols=["amount"], number_cols=["n"], labels=labels, caption=caption,
                     **run_locale(run))


def account_kpis(run, by: str = "customer_id") -> pd.DataFrame:
    """KPIs per account (``by="customer_id"``) or client group (``"segment"``) from :mod:`cashsim.kpi`: countback
    DSO, aged balance by bucket, late rate (count, amount) over the last year, median dispute resolution (days).

    Computed once per run and ``by``, kept with what the report holds for the run (``report.ahead``): the report's
    views, built ahead, and its workbook, after the lever study, show the same tables (half a second on the demo);
    each call gets its own copy."""
    from cashsim.report.ahead import _ahead

    kpis = _ahead(run, create=True).kpis
    table = kpis.get(by)
    if table is None:
        table = kpis.setdefault(by, _account_kpis(run, by))  # two threads that both missed keep one table
    return table.copy()


def _account_kpis(run, by: str) -> pd.DataFrame:
    from cashsim import kpi

    dso = kpi.dso_at(run.ledger, run.as_of, by=by).set_index("group")[["ar", "dso_countback"]]
    from cashsim.report.ledger_views import aged_wide

    aged = aged_wide(kpi.aged_balance(run.ledger, run.as_of, by=by))
    late = kpi.payment_behaviour(run.ledger, run.as_of, by=by).set_index("group")[["late_rate_count",
                                                                                   "late_rate_amount"]]
    disp = kpi.dispute_summary(run.ledger, run.as_of, run.params.alerts.dispute_sla_days, by=by)
    res = disp.groupby("group")["median_resolution_days"].median() if len(disp) else pd.Series(dtype=float)
    out = dso.join(aged, how="left").join(late, how="left")
    out["dispute_days"] = res.reindex(out.index)
    out = out.loc[out["ar"].fillna(0) > 0].sort_values("ar", ascending=False).rename_axis("group").reset_index()
    if by == "customer_id":
        out.insert(1, "customer_name", out["group"].map(kpi.customer_names(run.ledger)))
    return out


def account_kpis_view(run, by: str = "customer_id", top: int = 20):
    """:func:`account_kpis` labelled for the reader (the ``top`` largest receivables)."""
    from cashsim import kpi

    _ = tr(run)
    frame = translate_values(account_kpis(run, by).head(top), run, ["group"] if by == "segment" else [])
    buckets = bucket_labels(run)
    labels = {"group": _("client group") if by == "segment" else _("customer id")}
    if by == "customer_id":
        labels["customer_name"] = _("customer")
    labels |= {"ar": _("receivables"), "dso_countback": _("DSO (countback, days)")} | buckets
    labels |= {"late_rate_count": _("late (count)"), "late_rate_amount": _("late (amount)"),
               "dispute_days": _("median days to resolve a dispute")}
    return fmt.table(frame[list(labels)], money_cols=["ar", *kpi.AGE_BUCKETS],
                     percent_cols=["late_rate_count", "late_rate_amount"],
                     number_cols=["dso_countback", "dispute_days"], labels=labels, **run_locale(run))


def burn_view(run):
    """What must be paid out each forecast month, by category (salaries and social charges, external charges,
    taxes and VAT, loan repayments), the requirement with the safety margin, and the shortfall the forecast leaves
    unrecovered at the end of the window (expected shortfall of the last month, after the smoothed catch-up)."""
    from cashsim.targets import CATEGORIES, burn_table

    _ = tr(run)
    months = forecast_months(run)
    every = run.targets.months["month"].astype(str)
    table = burn_table(run.params.burn, pd.PeriodIndex(every, freq="M"), pd.Period(every.iloc[0], freq="M"))
    table = table.loc[pd.PeriodIndex(months["month"].astype(str), freq="M")]
    cats = {"salaries_and_social": _("salaries and social charges"), "external_charges": _("external charges"),
            "taxes_and_vat": _("taxes and VAT"), "loan_repayments": _("loan repayments")}
    frame = pd.DataFrame({"month": [fmt.month_name(m, locale=run.params.report.locale) for m in months["month"]]})
    for key in CATEGORIES:
        frame[cats[key]] = table[key].to_numpy(float)
    frame[_("required")] = months["required"].to_numpy(float)
    unrecovered = float(months["expected_shortfall"].iloc[-1])
    caption = _("shortfall still unrecovered at the end of the window (expected, {month}): {amount}").format(
        month=fmt.month_name(months["month"].iloc[-1], locale=run.params.report.locale),
        amount=fmt.money(unrecovered, **run_locale(run), decimals=0))
    money_cols = [c for c in frame.columns if c != "month"]
    return fmt.table(frame, money_cols=money_cols, labels={"month": _("month")}, caption=caption, **run_locale(run))


def claims_period(run) -> dict:
    """The span of the claimable late-payment penalties: first due date, as-of date, years between (one decimal)."""
    from cashsim import kpi

    claims = kpi.late_payment_claims(run.ledger, run.as_of)
    if claims.empty:
        return {"start": None, "end": run.as_of, "years": 0.0, "claimable": 0.0}
    start = claims["due_date"].min()
    return {"start": start, "end": run.as_of, "years": round((run.as_of - start).days / 365.25, 1),
            "claimable": float(claims["claimable"].sum())}
