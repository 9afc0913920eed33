"""What the report notebooks call for the month's answer and the forecast: the run, the month, the headline
figures, the answer in the report's language and the forecast tables. Short glue over the pipeline, so the
notebooks hold no logic of their own.

Every table goes through :func:`cashsim.fmt.table` in the params' locale and currency (``report.locale``,
``currency``); amounts are euros incl. VAT, probabilities shares in [0, 1].

Example (in a notebook)::

    >>> run = load_run("params/demo.yml", n_paths=500)             # doctest: +SKIP
    >>> month = report_month(run)                                   # doctest: +SKIP
    >>> HTML(answer_html(run, month))                               # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from cashsim import fmt
from cashsim.errors import ReportError
from cashsim.params import Params, load_params
from cashsim.report.runner import check_month
from cashsim.report.words import labels_of, run_locale, tr
from cashsim.words import no_sales_plan_sentence


def params_for(params_path: str | Path, as_of: str | None = "") -> Params:
    """The params file, with ``as_of`` (``YYYY-MM-DD``; empty keeps the file's) overriding its standing date."""
    params = load_params(params_path)
    if as_of:
        params = params.model_copy(update={"as_of": pd.Timestamp(as_of).date()})
    return params


def load_run(params_path: str | Path, *, as_of: str | None = "", n_paths: int | None = None,
             seed: int | None = None):
    """The baseline run of a params file (``cashsim.pipeline.run_from_params``), ``as_of`` overriding the file's."""
    from cashsim.pipeline import run_from_params

    return run_from_params(params_for(params_path, as_of), n_paths=n_paths, seed=seed, by_customer=True)


def forecast_months(run) -> pd.DataFrame:
    """``run.targets.months`` without the months already past (one row per forecast month)."""
    return run.targets.forecast_months


def report_month(run, month: str | None = "") -> str:
    """``month`` checked against the forecast horizon, or the first forecast month when empty."""
    months = forecast_months(run)["month"].astype(str).tolist()
    if not month:
        return months[0]
    check_month(month)
    if month not in months:  # the runner's message (report_as_of): one msgid, translated where it is shown
        raise ReportError.of("month {month} is outside the forecast horizon {first}..{last} of a forecast as of "
                             "{as_of}: choose a month in it, or change as_of / horizon_months in the params file",
                             month=month, first=months[0], last=months[-1], as_of=run.as_of.date().isoformat())
    return month


def month_figures(run, month: str) -> dict[str, float]:
    """Headline figures of one month: required, target, forecast quantiles, P(target met), shortfalls (euros)."""
    row = forecast_months(run).set_index("month").loc[month]
    keys = ["required", "target_p50", "collections_mean", "collections_p10", "collections_p50",
            "collections_p90", "p_target_met", "expected_shortfall", "shortfall_p10_worst"]
    out = {k: float(row[k]) for k in keys if k in row.index}
    out["at_risk"] = bool(row["p_target_met"] < run.targets.required_probability)
    return out


def headline(run, month: str, plan: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The figures ``summary.json`` keeps: the month's answer, every forecast month, and the plan (if any)."""
    months = forecast_months(run)
    cols = ["month", "required", "target_p50", "collections_p10", "collections_p50", "collections_p90",
            "p_target_met", "expected_shortfall"]
    return {
        "company": run.params.company, "month": month, "as_of": run.as_of.date().isoformat(),
        "required_probability": run.targets.required_probability,
        "answer": month_figures(run, month),
        "months": json.loads(months[cols].to_json(orient="records")),
        "plan": dict(plan) if plan is not None else None,
        "n_paths": int(run.sim.n_paths), "seed": int(run.sim.seed),
    }


def no_sales_plan_text(run, locale: str | None = None) -> str | None:
    """:func:`cashsim.words.no_sales_plan_sentence` for ``run`` (its open invoices at as_of, as ``cashsim validate``
    counts them) in ``locale`` (default: the run's report locale); None when the parameters have a sales plan."""
    if run.params.sales_plan:
        return None
    head = run.ledger.summary(run.as_of)
    return no_sales_plan_sentence(head["open_invoices"], head["open_amount"], run.as_of,
                                  locale=locale or run.params.report.locale, currency=run.params.currency)


def zero_target_texts(run, months: list[str] | None = None) -> list[str]:
    """Why a forecast month's smoothed target is 0 while the month requires money: one sentence per target window
    holding such months (of ``months``, default every forecast month), with the window's requirement up to the last
    of them and what the window has already collected before as_of (:mod:`cashsim.targets`: a surplus lowers the
    window's later targets, never below 0). Empty when no month shows a target of 0."""
    loc, cur = run.params.report.locale, run.params.currency
    _ = tr(run)

    def money(x: float) -> str:
        return fmt.money(x, locale=loc, currency=cur, decimals=0)

    every = run.targets.months.assign(month=run.targets.months["month"].astype(str))
    shown = forecast_months(run)
    shown = shown.assign(month=shown["month"].astype(str))
    if months is not None:
        shown = shown.loc[shown["month"].isin(months)]
    zero = shown.loc[(shown["target_p50"].round(2) <= 0) & (shown["required"] > 0)]
    out = []
    for start, rows in zero.groupby("window_start", sort=True):
        last = str(rows["month"].iloc[-1])
        window = every.loc[every["window_start"].astype(str) == str(start)]
        required = float(window.loc[window["month"] <= last, "required"].sum())
        past = window.loc[window["is_past"].astype(bool)]
        got = float(past["collections_p50"].sum())
        said = dict(months=", ".join(fmt.month_name(x, locale=loc) for x in rows["month"]), zero=money(0.0),
                    first=fmt.month_name(window["month"].iloc[0], locale=loc),
                    last=fmt.month_name(window["month"].iloc[-1], locale=loc),
                    required=money(required), month=fmt.month_name(last, locale=loc),
                    collected=money(got), past=", ".join(fmt.month_name(x, locale=loc) for x in past["month"]))
        if len(past) and got >= required:
            text = _("Target {zero} in {months}: the target window from {first} to {last} requires {required} up to "
                     "{month} and has already collected {collected} ({past}); a surplus lowers the window's later "
                     "targets, never below zero, and is not carried into the next window.")
        elif len(past):
            text = _("Target {zero} in {months}: the target window from {first} to {last} requires {required} up to "
                     "{month}; it has already collected {collected} ({past}) and the collections forecast for its "
                     "earlier months cover the rest on at least half of the paths; a surplus lowers the window's later "
                     "targets, never below zero, and is not carried into the next window.")
        else:
            text = _("Target {zero} in {months}: the target window from {first} to {last} requires {required} up to "
                     "{month}, and the collections forecast for its earlier months cover it on at least half of the "
                     "paths; a surplus lowers the window's later targets, never below zero, and is not carried into "
                     "the next window.")
        out.append(text.format(**said))
    return out


def answer_html(run, month: str, plan: Mapping[str, Any] | None = None) -> str:
    """The month's answer as a few lines of HTML in the report's language and number format.

    ``plan`` (optional): ``{"levers": [names], "cost": euros, "p_target_met": share, "gap": euros,
    "meets_target": bool, "levers_tried": n}`` (:func:`cashsim.report.lever_views.plan_summary`).
    Every value from the data is escaped.
    """
    import html

    loc = run.params.report.locale
    cur = run.params.currency
    _ = tr(run)
    f = month_figures(run, month)

    def m(x: float) -> str:
        return f'<span class="figure">{html.escape(fmt.money(x, locale=loc, currency=cur, decimals=0))}</span>'

    p = f"<span class='figure'>{fmt.percent(f['p_target_met'], locale=loc)}</span>"
    verdict = (f'<span class="cashsim-missed">{html.escape(_("target at risk"))}</span>' if f["at_risk"]
               else f'<span class="cashsim-met">{html.escape(_("target met at the required confidence"))}</span>')
    # msgids are trusted text (they carry the language's colon spacing); the figures are escaped above
    lines = [
        "<h2>" + _("{month}: {verdict}").format(
            month=html.escape(fmt.month_name(month, locale=loc).capitalize()), verdict=verdict) + "</h2>",
        "<ul>",
        "<li>" + _("Smoothed target: {amount}").format(amount=m(f["target_p50"]))
        + "".join(f" <em>{html.escape(t)}</em>" for t in zero_target_texts(run, [month])) + "</li>",
        "<li>" + _("Forecast collections (median): {amount} (80% chance between {low} and {high})").format(
            amount=m(f["collections_p50"]), low=m(f["collections_p10"]), high=m(f["collections_p90"])) + "</li>",
        "<li>" + _("Probability of meeting the target: {share} (required: {required})").format(
            share=p, required=fmt.percent(run.targets.required_probability, locale=loc)) + "</li>",
        "<li>" + _("Expected shortfall: {amount} (1 case in 10: at least {worst})").format(
            amount=m(f["expected_shortfall"]), worst=m(f["shortfall_p10_worst"])) + "</li>",
    ]
    if plan is not None:
        from cashsim.report.words import lever_name, plan_levers_text

        levers = [html.escape(lever_name(str(x), loc)) for x in plan.get("levers", [])]
        text = plan_levers_text(levers, bool(plan.get("meets_target", True)), int(plan.get("levers_tried", 1)),
                                lambda t: html.escape(_(t)))
        extra = []
        if plan.get("cost") is not None:
            extra.append(_("cost {amount}").format(amount=m(plan["cost"])))
        if plan.get("p_target_met") is not None:
            extra.append(_("P(target met) with the plan: {share}").format(
                share=fmt.percent(plan["p_target_met"], locale=loc)))
        if plan.get("gap"):
            extra.append(_("remaining gap {amount}").format(amount=m(plan["gap"])))
        said = _("Recommended plan: {plan}").format(plan=f"<b>{text}</b>")
        lines.append(f"<li>{said}{' - ' + '; '.join(extra) if extra else ''}</li>")
    lines.append("</ul>")
    body = "\n".join(lines)
    return f'<div class="cashsim-answer">{body}</div>'


def months_view(run):
    """Table of the forecast months: burn, target, forecast quantiles, P(target met), expected shortfall."""
    cols = {"month": "month", "required": "required", "target_p50": "target", "collections_p10": "forecast p10",
            "collections_p50": "forecast p50", "collections_p90": "forecast p90", "p_target_met": "P(target met)",
            "expected_shortfall": "expected shortfall"}
    frame = forecast_months(run)[list(cols)]
    frame["month"] = [fmt.month_name(m, locale=run.params.report.locale) for m in frame["month"]]
    caption = " ".join(zero_target_texts(run)) or None  # why a month that requires money shows a target of 0
    return fmt.table(frame, money_cols=[c for c in cols if c not in ("month", "p_target_met")],
                     percent_cols=["p_target_met"],
                     labels=labels_of(run, cols), caption=caption, **run_locale(run))


def weekly_caption(run, dropped: pd.Timestamp | None) -> str:
    """The weekly plan's caption: where it starts from, and the first week cut at as_of or left out (``dropped``,
    the start of the week :func:`cashsim.targets.plan_weeks` leaves out, or None)."""
    loc, cur = run.params.report.locale, run.params.currency
    _ = tr(run)
    opening = float(run.params.burn.opening_cash)
    text = _("The plan starts from the opening cash at the end of {as_of} ({opening}): what was collected and paid "
             "up to that day is already in it, so a week that began before counts only its days after it.").format(
        as_of=fmt.date(run.as_of, locale=loc), opening=fmt.money(opening, locale=loc, currency=cur, decimals=0))
    if opening == 0:
        text += " " + _("No opening cash is given (burn.opening_cash in the parameters): the plan starts from 0.")
    if dropped is not None:
        text += " " + _("The week of {week}, in which nothing moves after {as_of}, is not shown.").format(
            week=fmt.date(dropped, locale=loc), as_of=fmt.date(run.as_of, locale=loc))
    return text


def weekly_view(run):
    """Weekly treasury plan (*plan de trésorerie*): collections, outflows, end-of-week cash, P(under minimum); the
    weeks as :func:`cashsim.targets.plan_weeks` shows them, with :func:`weekly_caption`."""
    from cashsim.targets import plan_weeks

    cols = {"week_start": "week of", "collections_mean": "collections (mean)", "outflows": "outflows",
            "position_p10": "cash p10", "position_p50": "cash p50", "position_p90": "cash p90",
            "p_under_minimum": "P(under minimum)"}
    weeks, dropped = plan_weeks(run.targets.weekly, run.as_of)
    return fmt.table(weeks[list(cols)], money_cols=[c for c in cols if c not in ("week_start", "p_under_minimum")],
                     percent_cols=["p_under_minimum"], date_cols=["week_start"],
                     labels=labels_of(run, cols), caption=weekly_caption(run, dropped), **run_locale(run))


def shortfall_view(run, month: str, top: int = 15):
    """Who the month's projected shortfall comes from (``kpi.customer_shortfall``): per customer, how much less than
    expected it pays on the paths where the target is missed, with the standard error and the 10th-90th percentiles
    of that gap. Needs a run simulated per customer (``load_run`` does it). When the target is met on every path,
    a sentence says there is no shortfall to explain (instead of a table of dashes)."""
    from cashsim import kpi
    from cashsim.report.texts import Sentence

    if run.customer_labels is None:
        raise ReportError.of("the run was not simulated per customer: use report.load_run or by_customer=True")
    every = kpi.customer_shortfall(run.sim, run.targets, run.customer_labels)
    frame = every.loc[every["month"].astype(str) == month].nlargest(top, "contribution")
    frame = frame.assign(customer_name=frame["group"].map(kpi.customer_names(run.ledger)).fillna(frame["group"]))
    cols = {"customer_name": "customer", "contribution": "short on bad paths", "contribution_se": "± (s.e.)",
            "gap_p10": "gap p10", "gap_p90": "gap p90", "share": "share of the shortfall"}
    p_short = float(every.loc[every["month"].astype(str) == month, "p_shortfall"].max())
    if not p_short > 0:  # also NaN: no path of the month misses the target
        return Sentence(tr(run)("{month}: the target is met on every path, so there is no shortfall to explain.")
                        .format(month=fmt.month_name(month, locale=run.params.report.locale).capitalize()))
    caption = tr(run)("{month}: the target is missed on {share} of the paths").format(
        month=fmt.month_name(month, locale=run.params.report.locale),
        share=fmt.percent(p_short, locale=run.params.report.locale))
    return fmt.table(frame[list(cols)], money_cols=["contribution", "contribution_se", "gap_p10", "gap_p90"],
                     percent_cols=["share"],
                     labels=labels_of(run, cols), caption=caption, **run_locale(run))
