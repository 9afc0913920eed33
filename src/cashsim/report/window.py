"""The report's first screen: the whole forecast window at a glance (*la fenêtre en un coup d'œil*).

For every forecast month: the smoothed target, the median forecast, P(target met) without and with the recommended
plan against the required probability, the expected shortfall without the plan (mean of what is missing over all
paths, zero on the paths that make it) and the financing that would bridge what the plan leaves short at the required
probability (``plan.months.financing_needed``, euros incl. VAT); then the plan (levers, cost) and the three actions
that matter most.

The three actions: the largest action of each lever of the plan (customer, amount), in the plan's order, then the
largest accounts of the call list (:func:`cashsim.report.accounts.accounts_table`) that have a next step, with the
amount that step is about (the overdue amount, else the invoices due soon a courtesy call is for), until three; an
account with nothing to do is never one of them.

Example (in a notebook)::

    >>> HTML(window_html(run, plan))                                # doctest: +SKIP
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from cashsim import fmt
from cashsim.i18n import N_
from cashsim.report.views import forecast_months, no_sales_plan_text, zero_target_texts
from cashsim.report.words import action_text, lever_name, plan_levers_text, run_locale, tr

#: Why "With the plan" can differ from "Without the plan" in a month the plan gives no lever.
WITH_PLAN_NOTE = N_("“With the plan” and “Financing to bridge” come from the lever study (the plan's section), "
                    "simulated on a book that also holds the sales plan's invoices two months past the horizon: "
                    "without any lever its probabilities differ from the forecast's (the column before) by "
                    "simulation noise alone.")


def window_frame(run, plan=None) -> pd.DataFrame:
    """One row per forecast month: month, target_p50, collections_p50, p_target_met (now), p_with_plan,
    required_probability, met_now, met_with_plan, expected_shortfall, financing_needed (euros; 0 when the plan
    meets the month; NaN without a plan)."""
    months = forecast_months(run)
    out = pd.DataFrame({"month": months["month"].astype(str).to_numpy(),
                        "target_p50": months["target_p50"].to_numpy(float),
                        "collections_p50": months["collections_p50"].to_numpy(float),
                        "p_target_met": months["p_target_met"].to_numpy(float),
                        "expected_shortfall": months["expected_shortfall"].to_numpy(float)})
    req = float(run.targets.required_probability)
    out["required_probability"] = req
    if plan is not None and getattr(plan, "months", None) is not None and len(plan.months):
        pm = plan.months.assign(month=plan.months["month"].astype(str)).set_index("month")
        out["p_with_plan"] = out["month"].map(pm["p_target_met"]).astype(float)
        out["financing_needed"] = out["month"].map(pm["financing_needed"]).astype(float).fillna(0.0)
    else:
        out["p_with_plan"] = np.nan
        out["financing_needed"] = np.nan
    out["met_now"] = out["p_target_met"] >= req
    out["met_with_plan"] = out["p_with_plan"] >= req
    return out


def top_actions(run, plan=None, n: int = 3) -> pd.DataFrame:
    """The ``n`` actions that matter most: lever, customer, owner, amount (euros), action (reader's words)."""
    from cashsim import kpi
    from cashsim.report.accounts import accounts_table, owners

    loc = run.params.report.locale
    _ = tr(run)
    names = kpi.customer_names(run.ledger)
    who = owners(run.ledger, _("unassigned"))
    rows = []
    acts = getattr(plan, "actions", None)
    if acts is not None and len(acts):
        per = (acts.groupby(["lever", "customer_id", "action"], sort=False)["amount"].sum().reset_index()
               .sort_values("amount", ascending=False))
        for lever in dict.fromkeys(acts["lever"]):
            first = per.loc[per["lever"] == lever].head(1)
            for r in first.itertuples():
                rows.append({"lever": lever_name(lever, loc), "customer": names.get(r.customer_id, r.customer_id),
                             "owner": who.get(r.customer_id, _("unassigned")), "amount": float(r.amount),
                             "action": action_text(r.action, loc)})
    if len(rows) < n:
        accounts = accounts_table(run)
        for r in accounts.loc[accounts["action_amount"] > 0].head(n - len(rows)).itertuples():
            rows.append({"lever": _("call list"), "customer": r.customer_name, "owner": r.owner,
                         "amount": float(r.action_amount), "action": r.next_action})
    return pd.DataFrame(rows[:n], columns=["lever", "customer", "owner", "amount", "action"])


def window_html(run, plan=None, *, print_version: bool = False) -> str:
    """The first screen as HTML: every month's verdict without and with the plan, what is still short, the financing
    to bridge it, the plan and the three actions. Every value from the data is escaped."""
    loc = run_locale(run)
    _ = tr(run)
    frame = window_frame(run, plan)

    def m(x: float) -> str:
        return html.escape(fmt.money(x, locale=loc["locale"], currency=loc["currency"], decimals=0))

    def p(x: float) -> str:
        return html.escape(fmt.percent(x, locale=loc["locale"]))

    def verdict(ok: bool) -> str:
        return (f'<span class="cashsim-met">{html.escape(_("met"))}</span>' if ok
                else f'<span class="cashsim-missed">{html.escape(_("at risk"))}</span>')

    heads = [_("Month"), _("Target"), _("Forecast (median)"), _("Without the plan"), _("With the plan"),
             _("Expected shortfall"), _("Financing to bridge")]
    rows = []
    for r in frame.itertuples():
        with_plan = (f"{p(r.p_with_plan)} {verdict(bool(r.met_with_plan))}" if not np.isnan(r.p_with_plan)
                     else fmt.MISSING)
        rows.append(
            "<tr>"
            f"<th>{html.escape(fmt.month_name(r.month, locale=loc['locale']).capitalize())}</th>"
            f"<td>{m(r.target_p50)}</td><td>{m(r.collections_p50)}</td>"
            f"<td>{p(r.p_target_met)} {verdict(bool(r.met_now))}</td><td>{with_plan}</td>"
            f"<td>{m(r.expected_shortfall)}</td>"
            f"<td>{m(r.financing_needed) if not np.isnan(r.financing_needed) else fmt.MISSING}</td>"
            "</tr>")
    req = p(float(run.targets.required_probability))
    intro = _("P(target met) month by month, without and with the recommended plan, against the required "
              "probability of {required}. Expected shortfall: the average of what is missing over all simulated "
              "paths without the plan. Financing to bridge: what the plan still leaves short at the required "
              "probability.").format(required=req)
    parts = [f'<div class="cashsim-window{" print" if print_version else ""}">',
             f"<h2>{html.escape(_('The whole window at a glance'))}</h2>",
             f"<p>{html.escape(intro)}</p>",
             '<table class="cashsim-window-table"><thead><tr>'
             + "".join(f"<th>{html.escape(h)}</th>" for h in heads) + "</tr></thead><tbody>"
             + "".join(rows) + "</tbody></table>"]
    parts += [f'<p class="cashsim-zero-target">{html.escape(t)}</p>' for t in zero_target_texts(run)]
    no_plan = no_sales_plan_text(run)
    if no_plan:
        parts.append(f'<p class="cashsim-no-sales-plan">{html.escape(no_plan)}</p>')
    if plan is not None:   # the two columns of the plan come from the lever study's own simulation
        parts.append(f'<p class="cashsim-study-note">{html.escape(_(WITH_PLAN_NOTE))}</p>')
        levers = [lever_name(lv.name, loc["locale"]) for lv in plan.levers]
        text = plan_levers_text(levers, plan.meets_target, plan.levers_tried, _)
        still = frame["financing_needed"].fillna(0.0)
        short = still.gt(0)
        line = _("Recommended plan: {levers}, cost {cost}.").format(levers=text, cost=fmt.money(
            plan.cost, locale=loc["locale"], currency=loc["currency"], decimals=0))
        if short.any():
            line += " " + _("Still to finance: {amount} in all ({months}).").format(
                amount=fmt.money(still.sum(), locale=loc["locale"], currency=loc["currency"], decimals=0),
                months=", ".join(fmt.month_name(x, locale=loc["locale"]) for x in frame.loc[short, "month"]))
        else:
            line += " " + _("With it every month reaches the required probability.")
        parts.append(f'<p class="cashsim-plan-line"><b>{html.escape(line)}</b></p>')
    said = _("{label}: {value}")       # the language's colon spacing (French: a no-break space before it)
    acts = top_actions(run, plan)
    if len(acts):
        parts.append(f"<h3>{html.escape(_('The three actions that matter most'))}</h3><ol>")
        for r in acts.itertuples():
            who = said.format(label=f"<b>{html.escape(str(r.customer))}</b> ({m(r.amount)})",
                              value=html.escape(str(r.action)))
            owner = said.format(label=html.escape(_("owner")), value=html.escape(str(r.owner)))
            parts.append(f"<li>{who} <span class='cashsim-owner'>[{owner}, "
                         f"{html.escape(str(r.lever))}]</span></li>")
        parts.append("</ol>")
    parts.append("</div>")
    return "\n".join(parts)


def window_summary(run, plan=None) -> list[dict]:
    """:func:`window_frame` as plain records for ``summary.json`` (month, shares, euros)."""
    frame = window_frame(run, plan)
    frame = frame.astype(object).where(frame.notna(), None)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in frame.to_dict("records")]
