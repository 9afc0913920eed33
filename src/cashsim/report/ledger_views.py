"""What the report notebooks call for the ledger and its KPIs: aged balance, lateness, alerts, call list,
disputes, late-payment claims, customer cost, data quality and the fitted payer behaviour, as formatted tables.

Each function takes a Run or Baseline (anything with ``.params``, ``.ledger``, ``.as_of``; ``.model`` for the fitted
behaviour), calls the :mod:`cashsim.kpi` function named in its docstring and labels its columns for a CFO; amounts
are euros incl. VAT.

Example (in a notebook)::

    >>> call_list_view(run, top=25)                                 # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cashsim import fmt
from cashsim.ledger import as_in_the_file, wording
from cashsim.report.accounts import dunning_note
from cashsim.report.words import alert_text, labels_of, next_step, run_locale, tr, translate_values
from cashsim.words import lateness


def aged_wide(aged: pd.DataFrame) -> pd.DataFrame:
    """``kpi.aged_balance`` (tidy: group, bucket, amount) as one row per group and one column per age bucket
    (``kpi.AGE_BUCKETS``; credit notes and totals left out)."""
    from cashsim import kpi

    buckets = list(kpi.AGE_BUCKETS)
    wide = aged.loc[aged["bucket"].isin(buckets)].pivot_table(index="group", columns="bucket", values="amount",
                                                              aggfunc="sum", fill_value=0.0)
    return wide.reindex(columns=buckets, fill_value=0.0)


def kpi_view(run):
    """Lateness by client group over the last year: late rate by count and amount, days late weighted by amount."""
    from cashsim import kpi

    cols = {"group": "client group", "n_due": "invoices due", "amount_due": "amount due",
            "late_rate_count": "late (count)", "late_rate_amount": "late (amount)",
            "avg_days_late_weighted": "days late (weighted)", "avg_days_to_pay": "days to pay"}
    frame = translate_values(kpi.payment_behaviour(run.ledger, run.as_of, by="segment")[list(cols)], run, ["group"])
    return fmt.table(frame, money_cols=["amount_due"], percent_cols=["late_rate_count", "late_rate_amount"],
                     number_cols=["n_due", "avg_days_late_weighted", "avg_days_to_pay"],
                     labels=labels_of(run, cols),
                     **run_locale(run))


def alerts_view(run, top: int = 40):
    """The alerts of ``kpi.alerts`` at the as-of date, largest value first within each kind."""
    from cashsim import kpi

    every = kpi.alerts(run.ledger, run.as_of, run.params.alerts, **run_locale(run))
    per_kind = max(top // max(every["alert"].nunique(), 1), 1)
    frame = every.sort_values(["alert", "value"], ascending=[True, False]).groupby("alert").head(per_kind)
    _ = tr(run)
    loc = run.params.report.locale
    counts = every["alert"].value_counts().sort_index()
    caption = ", ".join(_("{label}: {value}").format(label=_(k), value=n) for k, n in counts.items())
    caption += " " + _("(largest {n} of each shown)").format(n=per_kind)
    frame = frame.assign(message=[alert_text(r, loc, run.params.currency) for _i, r in frame.iterrows()],
                         alert=frame["alert"].map(_), group=frame["group"].map(lambda g: _(str(g))))
    cols = {"alert": "alert", "group": "who", "customer_name": "customer", "message": "detail"}
    return fmt.table(frame[list(cols)],
                     labels=labels_of(run, cols), caption=caption, **run_locale(run))


def call_list_view(run, top: int = 25):
    """The first ``top`` lines of ``kpi.call_list``: who to call, how much is at stake, the next step."""
    from cashsim import kpi

    cols = {"rank": "#", "customer_name": "customer", "invoice_id": "invoice", "outstanding": "outstanding",
            "due_date": "due", "days_overdue": "days overdue", "reliability": "reliability",
            "priority": "amount x risk", "next_action": "next step"}
    frame = kpi.call_list(run.ledger, run.as_of).head(top)[list(cols)]
    frame["next_action"] = [next_step(x, run.params.report.locale) for x in frame["next_action"]]
    note = dunning_note(run, frame)   # on the numbers, before they become words
    frame["days_overdue"] = [lateness(x, run.params.report.locale) for x in frame["days_overdue"]]  # "dans 11 j"
    return fmt.table(frame, money_cols=["outstanding", "priority"], percent_cols=["reliability"],
                     date_cols=["due_date"],
                     labels=labels_of(run, cols), caption=note, **run_locale(run))


def disputes_view(run):
    """Disputes by client group and type against their service levels (``kpi.dispute_summary``)."""
    from cashsim import kpi

    cols = {"group": "client group", "dispute_type": "type", "n_open": "open", "open_amount": "open amount",
            "n_open_past_sla": "open past SLA", "median_resolution_days": "median days to resolve",
            "sla_days": "SLA (days)", "share_resolved_within_sla": "resolved within SLA"}
    frame = kpi.dispute_summary(run.ledger, run.as_of, run.params.alerts.dispute_sla_days, by="segment")
    frame = translate_values(frame, run, ["group", "dispute_type"])
    return fmt.table(frame[list(cols)], money_cols=["open_amount"], percent_cols=["share_resolved_within_sla"],
                     number_cols=["n_open", "n_open_past_sla", "median_resolution_days", "sla_days"],
                     labels=labels_of(run, cols),
                     **run_locale(run))


def claims_view(run, top: int = 15):
    """What the law lets the company claim on late invoices (interest at the ECB rate + 10 points, 40 EUR each),
    largest first: shown as claimable, never assumed collected (``kpi.late_payment_claims``)."""
    from cashsim import kpi

    every = kpi.claims_by_customer(kpi.late_payment_claims(run.ledger, run.as_of))
    cols = {"customer_name": "customer", "n_late_invoices": "late invoices", "interest": "interest",
            "indemnity": "40 € indemnities", "claimable": "claimable"}
    from cashsim.report.accounts import claims_period

    _ = tr(run)
    loc = run.params.report.locale
    span = claims_period(run)
    years = fmt.number(span["years"], locale=loc, decimals=1)
    caption = _("claimable in all: {amount}, on invoices due from {start} to {end} (over {years} years)").format(
        amount=fmt.money(every["claimable"].sum(), **run_locale(run)), start=fmt.date(span["start"], locale=loc),
        end=fmt.date(span["end"], locale=loc), years=years)
    if bool(every["rate_beyond_table"].any()):
        caption += " " + _("(some days use the last half-year of the rate table)")
    return fmt.table(every.nlargest(top, "claimable")[list(cols)], money_cols=["interest", "indemnity", "claimable"],
                     number_cols=["n_late_invoices"],
                     labels=labels_of(run, cols), caption=caption, **run_locale(run))


def customer_cost_view(run, top: int = 15):
    """The true cost of the costliest customers (``kpi.customer_cost``): financing of their delays, collection
    effort, expected bad debt, the price surcharge that would pay for it and the sales needed to make up bad debt."""
    from cashsim import kpi

    every = kpi.customer_cost(run.ledger, run.as_of, run.params.finance, reliability=run.model.customers)
    cols = {"customer_name": "customer", "sales": "sales", "financing_cost": "financing of delays",
            "collection_effort": "collection effort", "expected_bad_debt": "expected bad debt",
            "total_cost": "total cost", "surcharge": "surcharge to cover it",
            "extra_sales_for_bad_debt": "sales to make up bad debt"}
    frame = every.loc[every["level"] == "customer"].nlargest(top, "total_cost")
    return fmt.table(frame[list(cols)], money_cols=[c for c in cols if c not in ("customer_name", "surcharge")],
                     percent_cols=["surcharge"], percent_decimals=1,
                     labels=labels_of(run, cols), **run_locale(run))


def accounting_view(run):
    """Rows read, used and rejected per ledger table (read = used + rejected)."""
    frame = run.ledger.accounting().reset_index()
    _ = tr(run)
    frame[frame.columns[0]] = frame[frame.columns[0]].map(lambda x: _(str(x)))
    frame = translate_values(frame, run, ["balanced"])
    cols = {frame.columns[0]: "table", "rows_read": "rows read", "rows_used": "rows used",
            "rows_rejected": "rows rejected", "balanced": "balanced"}
    return fmt.table(frame, number_cols=["rows_read", "rows_used", "rows_rejected"],
                     labels=labels_of(run, cols),
                     **run_locale(run))


def rejections_view(run, top: int = 30):
    """Rejected rows by reason, then the first ``top`` of them with file, row, column, value and reason."""
    rej = run.ledger.rejections
    if rej.empty:
        _ = tr(run)
        return fmt.table(pd.DataFrame({_("rejected rows"): [_("none: every row read was used")]}), **run_locale(run))
    _ = tr(run)
    counts = rej.groupby(["table", "reason"]).size().rename("rows").reset_index()
    counts["rows"] = [fmt.number(x, locale=run.params.report.locale) for x in counts["rows"]]
    shown = as_in_the_file(rej.head(top))[[c for c in ("table", "file", "row", "column", "value", "reason", "detail")
                                           if c in rej.columns]]  # the column as the user's file names it
    shown["file"] = [Path(str(f)).name for f in shown["file"]]            # where to look, not the whole path
    shown["row"] = [str(int(r)) if pd.notna(r) else "" for r in shown["row"]]
    if "detail" in shown.columns:  # English in the table and CSV, the reader's words and numbers here
        loc = run.params.report.locale
        shown["detail"] = [wording.translate(d, loc) if pd.notna(d) else "" for d in shown["detail"]]
    both = pd.concat([counts, shown], keys=[_("by reason"), _("first rows")]).reset_index(level=0)
    for col in ("table", "reason"):
        both[col] = [_(str(x)) for x in both[col]]
    both = both.rename(columns={"level_0": "view"}).fillna("")
    # a unique index: the Styler refuses to apply formats over a non-unique one (both parts count from 0)
    labels = {c: _(c) for c in both.columns}
    return fmt.table(both.reset_index(drop=True).rename(columns=labels), **run_locale(run))


def ledger_view(base):
    """The ledger at a glance (``Ledger.summary``): counts, open and overdue amounts, date range, rejections."""
    sm = base.ledger.summary(base.as_of)
    loc = base.params.report.locale

    def n(x) -> str:
        return fmt.number(x, locale=loc)

    def m(x) -> str:
        return fmt.money(x, locale=loc, currency=base.params.currency, decimals=0)

    _ = tr(base)
    rows = [("customers", n(sm["customers"])),
            ("invoices (credit notes)", f"{n(sm['invoices'])} ({n(sm['credit_notes'])})"),
            ("payments", n(sm["payments"])),
            ("history", f"{fmt.date(sm['first_date'], locale=loc)} - {fmt.date(sm['last_date'], locale=loc)}"),
            ("invoiced", m(sm["invoiced_amount"])),
            ("open (invoices)", f"{m(sm['open_amount'])} ({n(sm['open_invoices'])})"),
            ("overdue (invoices)", f"{m(sm['overdue_amount'])} ({n(sm['overdue_invoices'])})"),
            ("open disputes", n(sm["disputed_open"])),
            ("rows rejected / read", f"{n(sm['rows_rejected'])} / {n(sm['rows_read'])}")]
    rows = [(_(k), v) for k, v in rows]
    return fmt.table(pd.DataFrame(rows, columns=["", _("as of {date}").format(date=fmt.date(base.as_of, locale=loc))]))


def segments_view(base):
    """Fitted payer behaviour per client group: median days late and share paid late (undisputed, normal month)."""
    seg = base.model.segments.reset_index()
    first = seg.columns[0]
    seg = translate_values(seg, base, [first])
    cols = [c for c in (first, "median_days_late", "share_late") if c in seg.columns]
    labels = labels_of(base, {first: "client group", "median_days_late": "median days late",
                              "share_late": "share paid late"})
    return fmt.table(seg[cols], percent_cols=["share_late"], labels=labels, **run_locale(base))


def customers_view(base, top: int = 20):
    """The ``top`` least reliable customers with enough history: reliability, usual delay and the reasons."""
    cust = base.model.customers.reset_index()
    cust = translate_values(cust.sort_values("reliability").head(top), base, ["segment"])
    cols = [c for c in ("customer_id", "customer_name", "segment", "n_invoices", "median_days_late",
                        "share_late", "reliability", "reasons") if c in cust.columns]
    labels = labels_of(base, {"customer_id": "customer id", "customer_name": "customer", "segment": "client group",
                              "n_invoices": "invoices", "median_days_late": "median days late",
                              "share_late": "share paid late", "reliability": "reliability", "reasons": "reasons"})
    return fmt.table(cust[cols], percent_cols=["share_late", "reliability"], number_cols=["n_invoices"],
                     labels=labels, **run_locale(base))
