"""What the report notebooks call for the levers: the study of ``cashsim levers`` on the report's run, the
cheapest plan, the lever comparison of one month as tables and figures, and the plan's first actions.

``extra_cash`` is the cash a lever brings in the month beyond the baseline (euros incl. VAT); ``cost`` its cost to
date; P(target met) the share of paths whose collections reach the month's requirement.

Example (in a notebook)::

    >>> table, plan = levers(run)                                   # doctest: +SKIP
    >>> levers_view(table, "2026-11", run)                          # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cashsim import fmt
from cashsim.report.words import action_text, labels_of, lever_name, run_locale, tr, translate_values

#: the lever table's scenario columns and their labels (msgids), in their order: the report's table
#: (:func:`levers_view`, then ``financing``) and ``cashsim levers`` (``month`` after ``scenario``) print these
LEVER_COLUMNS = {"scenario": "scenario", "extra_cash_mean": "extra cash in the month", "extra_cash_p10": "p10",
                 "extra_cash_p90": "p90", "recovered": "recovered to date",
                 "brought_forward": "brought forward to date", "p_target_met": "P(target met)",
                 "delta_p_target_met": "change", "cumulative_cost": "cost to date",
                 "cost_per_euro": "cost per euro to date", "annualised_cost_rate": "annual rate",
                 "risk": "relationship risk"}


def study_of(run):
    """The run's lever study: :func:`cashsim.pipeline.study_levers` on the run's baseline, paths and seed."""
    from cashsim.pipeline import study_levers

    return study_levers(run.base, n_paths=int(run.sim.n_paths), seed=int(run.sim.seed))


def levers(run):
    """Every scenario of the params against the baseline and the cheapest plan, on the run's paths and seed: the
    study ``cashsim levers`` prints, number for number (:func:`cashsim.pipeline.study_levers`: scenarios adapted to
    the company, the book annotated with disputes and payment methods, the sales plan booked two months past the
    horizon so that deposits asked at order count). Returns ``(table, plan)``. The study
    :func:`cashsim.report.ahead.start_levers` started for this run in the background is collected (the same call),
    else it is run now."""
    from cashsim.report.ahead import started_study

    started = started_study(run)
    study = started.result() if started is not None else study_of(run)
    return study.table, study.plan


def plan_summary(plan, month: str) -> dict[str, Any]:
    """The plan's headline for the month's answer and summary.json: levers, cost, P(target met), gap to bridge, and
    how many levers the search tried (0: the parameters gave it none, :func:`cashsim.report.words.plan_levers_text`)."""
    months = plan.months.set_index(plan.months["month"].astype(str))
    row = months.loc[month] if month in months.index else None
    return {"levers": [lv.name for lv in plan.levers], "cost": float(plan.cost),
            "meets_target": bool(plan.meets_target), "levers_tried": plan.levers_tried,
            "p_target_met": None if row is None else float(row["p_target_met"]),
            "p_target_met_baseline": None if row is None else float(row["p_target_met_baseline"]),
            "gap": None if row is None or bool(row["met"]) else float(row["financing_needed"]),
            "bridge": None if plan.bridge is None else plan.bridge.model_dump(mode="json")}


def levers_month(table: pd.DataFrame, month: str) -> pd.DataFrame:
    """The comparison's rows of one month, baseline first then by extra cash; ``cost`` = cost to date."""
    rows = table.loc[table["month"].astype(str) == month].copy()
    rows["order"] = (rows["scenario"] != "baseline").astype(int)
    return rows.sort_values(["order", "extra_cash_mean"], ascending=[True, False]).drop(columns="order")


def levers_figures(table: pd.DataFrame, month: str, run):
    """(waterfall of the extra cash each collection lever brings in the month, cost vs P(target met) scatter).

    Financing is left out of the waterfall (it advances cash, it does not collect it) but is in the scatter, and so
    are combinations (their levers are already there one by one); the waterfall's last bar adds the levers up as if
    they did not interact, and says so.
    """
    from cashsim import plots

    loc = run_locale(run)
    rows = levers_month(table, month)
    single = ~rows["levers"].astype(str).str.contains(",")  # a combination would count its levers twice
    collecting = rows.loc[~rows["financing"].astype(bool) & (rows["scenario"] != "baseline") & single]
    _ = tr(run)

    def named(frame: pd.DataFrame) -> pd.DataFrame:  # the charts name the scenarios in the reader's words
        return frame.assign(scenario=[lever_name(x, loc["locale"]) for x in frame["scenario"]])

    waterfall = plots.levers_waterfall(named(collecting), lever_col="scenario", gain_col="extra_cash_mean",
                                       total_label=_("levers added up (no interactions)"), **loc,
                                       title=f"{_('extra cash')}, {fmt.month_name(month, locale=loc['locale'])}")
    scatter = plots.lever_cost_scatter(named(rows), run.targets.required_probability, lever_col="scenario",
                                       cost_col="cumulative_cost", size_col="extra_cash_mean", **loc)
    return waterfall, scatter


def levers_view(table: pd.DataFrame, month: str, run):
    """Levers side by side for the month: the month's extra cash (mean, p10, p90), what is recovered and brought
    forward to the month's end, P(target met), cost to date and cost per euro to date (cumulative cost / cumulative
    extra cash, ``cashsim.compare``), rates, risk."""
    cols = {**LEVER_COLUMNS, "financing": "financing"}
    frame = levers_month(table, month)[list(cols)]
    frame["scenario"] = [lever_name(x, run.params.report.locale) for x in frame["scenario"]]
    frame = translate_values(frame, run, ["risk", "financing"])
    return fmt.table(frame, money_cols=["extra_cash_mean", "extra_cash_p10", "extra_cash_p90", "recovered",
                                        "brought_forward", "cumulative_cost"],
                     percent_cols=["p_target_met", "delta_p_target_met", "cost_per_euro",
                                   "annualised_cost_rate"],
                     labels=labels_of(run, cols), percent_decimals=1, **run_locale(run))


def study_note(run) -> str:
    """Where the plan's figures come from, in one sentence: the lever study's own simulation (its book holds the
    sales plan's invoices two months past the horizon, :func:`cashsim.pipeline.study_levers`), whose figures without
    any lever differ from the forecast's by simulation noise alone (the messy company's February: 86 % in the
    forecast, 88 % in the study)."""
    from cashsim.pipeline import PLAN_PATHS

    loc = run.params.report.locale
    return tr(run)("The lever study's figures, on {paths} simulated paths of a book that also holds the sales plan's "
                   "invoices two months past the horizon (so that deposits asked at order count): without any lever "
                   "they differ from the forecast's (the window table, the month's answer) by simulation noise alone; "
                   "the expected shortfall here is the one left with the plan.").format(
        paths=fmt.number(min(int(run.sim.n_paths), PLAN_PATHS), locale=loc))


def plan_view(plan, run):
    """The plan month by month: P(target met) without and with it, the requirement, and the financing to bridge;
    every figure from the lever study (:func:`study_note`, the caption), the expected shortfall with the plan."""
    cols = {"month": "month", "status": "status", "p_target_met_baseline": "P(met) without levers (lever study)",
            "p_target_met": "P(met) with the plan", "required": "required",
            "expected_shortfall": "expected shortfall with the plan", "recovered": "recovered",
            "brought_forward": "brought forward", "financing_needed": "financing to bridge"}
    frame = plan.months[[c for c in cols if c in plan.months]].copy()
    frame["month"] = [fmt.month_name(m, locale=run.params.report.locale) for m in frame["month"]]
    frame = translate_values(frame, run, ["status"])
    return fmt.table(frame, percent_cols=["p_target_met_baseline", "p_target_met", "required"],
                     money_cols=[c for c in ("expected_shortfall", "recovered", "brought_forward", "financing_needed")
                                 if c in frame],
                     labels=labels_of(run, {c: v for c, v in cols.items() if c in frame}), caption=study_note(run),
                     **run_locale(run))


def actions_view(plan, run, per_lever: int = 8):
    """The plan's first actions, ``per_lever`` for each of its levers: whom to offer a discount, whom to call."""
    from cashsim import kpi

    acts = plan.actions.groupby("lever", sort=False).head(per_lever) if len(plan.actions) else plan.actions
    acts = acts.dropna(axis=1, how="all")
    acts = acts.loc[:, [c for c in acts.columns if not (acts[c].astype(str).str.strip() == "").all()]]
    loc = run.params.report.locale
    if "customer_id" in acts:
        acts = acts.assign(customer=acts["customer_id"].map(kpi.customer_names(run.ledger)).fillna(""))
    if "lever" in acts:
        acts = acts.assign(lever=[lever_name(x, loc) for x in acts["lever"]])
    if "action" in acts:
        acts = acts.assign(action=[action_text(x, loc) for x in acts["action"]])
    cols = {"lever": "lever", "customer_id": "customer id", "invoice_id": "invoice", "amount": "amount",
            "action": "action", "p_taken": "P(taken)", "expected_cost": "expected cost", "customer": "customer"}
    return fmt.table(acts, money_cols=[c for c in ("amount", "expected_cost") if c in acts.columns],
                     percent_cols=[c for c in ("p_taken",) if c in acts.columns],
                     labels=labels_of(run, {c: cols.get(c, c) for c in acts.columns}), **run_locale(run))
