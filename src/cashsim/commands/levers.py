"""``cashsim levers``: every collection lever of the params side by side against the target, and the cheapest plan.

Fits payer behaviour as of the params' date (:func:`cashsim.pipeline.prepare`) and runs
:func:`cashsim.pipeline.study_levers`, the study the monthly report shows too: scenarios adapted to the company
(dunning effects estimated from its own log where it has one; the share of late payment held up by disputes; its
hourly cost and gross margin where a lever leaves them unset), compared on common random numbers, and the
cheapest plan.

    cashsim levers --params params/demo.yml --json reports/levers.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from cashsim import commands
from cashsim.commands import SUMMARIES, _, check_counts, check_writable, write_output
from cashsim.errors import ParamsError
from cashsim.memory import COMPARISON_ARRAYS
from cashsim.params import with_overrides


def _print(table: pd.DataFrame, plan) -> None:
    from cashsim.compare import changes_nothing_text
    from cashsim.report.lever_views import LEVER_COLUMNS
    from cashsim.report.words import action_text, lever_name

    loc = commands.locale()
    num, pct = commands.num, commands.pct
    # the month's extra cash, then figures to the month's end: the cost per euro (cumulative cost / cumulative extra
    # cash) beside its numerator, the cost to date, not the month's cost (a month of 0 beside 47.7 % read as a bug)
    cols = {"scenario": "scenario", "month": "month", **LEVER_COLUMNS}   # the report's labels, the month second
    formats = {"scenario": lambda x: lever_name(x, loc), "month": commands.month,
               **{c: num for c in ("extra_cash_mean", "extra_cash_p10", "extra_cash_p90", "recovered",
                                   "brought_forward", "cumulative_cost")},
               **{c: pct for c in ("p_target_met", "delta_p_target_met")},
               "cost_per_euro": lambda x: pct(x, 1), "annualised_cost_rate": lambda x: pct(x, 1)}  # as the report
    print(commands.colon(_("Collection levers against the baseline (common random numbers; euros incl. VAT)")))
    print(commands.text_table(table[list(cols)], formats, cols, translate=("risk",)))
    flagged = changes_nothing_text(table, _, lambda scenario: lever_name(scenario, loc))
    if flagged:
        print(flagged)
    if plan is None:
        return
    verdict = (_("it meets the required probability in every month") if plan.meets_target
               else _("it does NOT meet the required probability in every month"))
    names = ", ".join(lever_name(lv.name, loc) for lv in plan.levers) or _("current practice")
    print("\n" + _("Cheapest plan ({verdict}), expected cost {cost}: {levers}").format(
        verdict=verdict, cost=commands.money(plan.cost), levers=names))
    mcols = {"month": "month", "status": "status", "p_target_met_baseline": "P(met) now",
             "p_target_met": "P(met) with the plan", "required": "required",
             "expected_shortfall": "expected shortfall with the plan", "financing_needed": "financing to bridge",
             "bridge_advance": "bridge advance", "recovered": "recovered", "brought_forward": "brought forward"}
    print(commands.text_table(plan.months[list(mcols)], {
        "month": commands.month, **{c: pct for c in ("p_target_met_baseline", "p_target_met", "required")},
        **{c: num for c in ("expected_shortfall", "financing_needed", "bridge_advance", "recovered",
                            "brought_forward")}}, mcols, translate=("status",)))
    if plan.bridge is not None:
        print(_("Bridge: factor {share} of the not-yet-due invoices ({advance} advance).").format(
            share=pct(plan.bridge.share, 1), advance=pct(plan.bridge.advance_rate)))
    if len(plan.actions):
        print("\n" + commands.colon(_("First actions")))
        acols = {"lever": "lever", "customer_id": "customer id", "invoice_id": "invoice", "amount": "amount",
                 "action": "action"}
        print(commands.text_table(plan.actions.head(15)[list(acols)], {
            "lever": lambda x: lever_name(x, loc), "customer_id": lambda x: _(x) if x == "all" else x,
            "amount": num, "action": lambda x: action_text(x, loc)}, acols))


def run(args: argparse.Namespace) -> int:
    from cashsim.compare import lever_summary, to_json
    from cashsim.pipeline import prepare, study_levers

    check_counts(args, "plan-paths")
    for option, path, folder in (("--json", args.json, False), ("--charts", args.charts, True)):
        if path:
            check_writable(path, option, folder=folder)
    params = with_overrides(commands.load(args.params), {"simulation.n_paths": ("--paths", args.paths),
                                                       "simulation.seed": ("--seed", args.seed)},
                            arrays=COMPARISON_ARRAYS)
    if not params.scenarios:
        raise ParamsError.of("{path}: no `scenarios:` section; add a baseline and at least one scenario of levers "
                             "(see params/demo.yml)", path=args.params, fields={"file": str(args.params)})
    n_paths = params.simulation.n_paths if args.paths is None else args.paths
    seed = params.simulation.seed if args.seed is None else args.seed
    base = prepare(params, cache=not args.no_cache)
    study = study_levers(base, n_paths=n_paths, seed=seed, plan_paths=args.plan_paths, plan=not args.no_plan)
    table, plan, estimates = study.table, study.plan, study.estimates
    summary = lever_summary(study.scenarios, study.book, params.finance.borrowing_rate)
    _print(table, plan)
    if args.json:
        text = to_json(table, plan, summary, params=str(args.params), company=params.company,
                       as_of=base.as_of.strftime("%Y-%m-%d"), n_paths=n_paths, seed=seed,
                       required_probability=params.burn.required_probability,
                       dunning_estimates=estimates.to_dict(orient="records") if len(estimates) else [],
                       recovery_estimates=study.recovery.to_dict(orient="records") if len(study.recovery) else [])
        print("\n" + commands.colon(_("written")), write_output(args.json, text, "--json"))
    if args.charts:
        for path in write_charts(table, Path(args.charts), params.burn.required_probability, params.report.locale):
            print(commands.colon(_("written")), path)
    return 0


def write_charts(table: pd.DataFrame, folder: Path, required_probability: float, locale: str) -> list[Path]:
    """The waterfall of cash each scenario brings forward to the month at risk, and cost against P(target met)."""
    from cashsim import fmt, plots
    from cashsim.compare import summary

    folder.mkdir(parents=True, exist_ok=True)
    s = summary(table)
    month = s["month"].iloc[0] if len(s) else ""
    shown = fmt.month_name(month, locale=locale) if month else ""
    figs = {"levers_waterfall.html": plots.levers_waterfall(
                s[~s["financing"]], total_label=_("levers added up (no interactions)"), locale=locale,
                title=_("Cash brought forward to the end of {month}").format(month=shown)),
            "levers_cost_p_met.html": plots.lever_cost_scatter(
                s, required_probability, locale=locale,
                title=_("Cost against P(target met), {month}").format(month=shown))}
    paths = []
    for name, fig in figs.items():
        fig.write_html(folder / name, include_plotlyjs=True, full_html=True)
        paths.append(folder / name)
    return paths


def register(subparsers) -> None:
    p = subparsers.add_parser("levers", help=_(SUMMARIES["levers"]),
                              description=_("Every scenario of collection levers in the params, simulated on common "
                                          "random numbers against the baseline, and the cheapest plan that brings "
                                          "P(target met) to the required probability."))
    p.add_argument("--params", required=True, help=_("parameter file (YAML) with a `scenarios:` section"))
    p.add_argument("--json", metavar="OUT", help=_("write the comparison and the plan to this JSON file"))
    p.add_argument("--paths", type=int, default=None, help=_("Monte Carlo paths (default: simulation.n_paths)"))
    p.add_argument("--seed", type=int, default=None, help=_("random seed (default: simulation.seed)"))
    p.add_argument("--plan-paths", type=int, default=None,
                   help=_("paths per trial of the plan search (default: min(paths, 500), as the report)"))
    p.add_argument("--no-plan", action="store_true", help=_("skip the cheapest-plan search"))
    p.add_argument("--charts", metavar="DIR", help=_("write the waterfall and cost / P(met) charts (HTML) here"))
    p.add_argument("--no-cache", action="store_true", help=_("fit payer behaviour again instead of reading the "
                                                              "fit cache (see README, Fit cache)"))
    p.set_defaults(func=run)
