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

from cashsim.commands import check_counts, check_writable, write_output
from cashsim.errors import ParamsError
from cashsim.memory import COMPARISON_ARRAYS
from cashsim.params import load_params, with_overrides


def _print(table: pd.DataFrame, plan) -> None:
    from cashsim.compare import changes_nothing_text

    cols = ["scenario", "month", "extra_cash_mean", "extra_cash_p10", "extra_cash_p90", "recovered",
            "brought_forward", "p_target_met", "delta_p_target_met", "cost", "cost_per_euro",
            "annualised_cost_rate", "risk"]
    money = {c: "{:,.0f}".format for c in ("extra_cash_mean", "extra_cash_p10", "extra_cash_p90", "recovered",
                                           "brought_forward", "cost")}
    pct = {c: "{:.0%}".format for c in ("p_target_met", "delta_p_target_met")}
    rate = {"cost_per_euro": "{:.3f}".format, "annualised_cost_rate": "{:.1%}".format}
    print("Collection levers against the baseline (common random numbers; euros incl. VAT):")
    print(table[cols].to_string(index=False, formatters={**money, **pct, **rate}, na_rep="-"))
    if changes_nothing_text(table):
        print(changes_nothing_text(table))
    if plan is None:
        return
    verdict = "meets" if plan.meets_target else "does NOT meet"
    print(f"\nCheapest plan ({verdict} the required probability in every month), expected cost "
          f"{plan.cost:,.0f} EUR: " + (", ".join(lv.name for lv in plan.levers) or "current practice"))
    months = plan.months[["month", "status", "p_target_met_baseline", "p_target_met", "required",
                          "expected_shortfall", "financing_needed", "bridge_advance", "recovered", "brought_forward"]]
    print(months.to_string(index=False, formatters={
        **{c: "{:.0%}".format for c in ("p_target_met_baseline", "p_target_met", "required")},
        **{c: "{:,.0f}".format for c in ("expected_shortfall", "financing_needed", "bridge_advance", "recovered",
                                         "brought_forward")}}))
    if plan.bridge is not None:
        print(f"Bridge: factor {plan.bridge.share:.1%} of the not-yet-due invoices "
              f"({plan.bridge.advance_rate:.0%} advance).")
    if len(plan.actions):
        print("\nFirst actions:")
        print(plan.actions.head(15)[["lever", "customer_id", "invoice_id", "amount", "action"]]
              .to_string(index=False, formatters={"amount": "{:,.0f}".format}))


def run(args: argparse.Namespace) -> int:
    from cashsim.compare import lever_summary, to_json
    from cashsim.pipeline import prepare, study_levers

    check_counts(args, "plan-paths")
    for option, path, folder in (("--json", args.json, False), ("--charts", args.charts, True)):
        if path:
            check_writable(path, option, folder=folder)
    params = with_overrides(load_params(args.params), {"simulation.n_paths": ("--paths", args.paths),
                                                       "simulation.seed": ("--seed", args.seed)},
                            arrays=COMPARISON_ARRAYS)
    if not params.scenarios:
        raise ParamsError(f"{args.params}: no `scenarios:` section; add a baseline and at least one scenario of "
                          "levers (see params/demo.yml)")
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
        print(f"\nwritten: {write_output(args.json, text, '--json')}")
    if args.charts:
        for path in write_charts(table, Path(args.charts), params.burn.required_probability, params.report.locale):
            print(f"written: {path}")
    return 0


def write_charts(table: pd.DataFrame, folder: Path, required_probability: float, locale: str) -> list[Path]:
    """The waterfall of cash each scenario brings forward to the month at risk, and cost against P(target met)."""
    from cashsim import plots
    from cashsim.compare import summary

    folder.mkdir(parents=True, exist_ok=True)
    s = summary(table)
    month = s["month"].iloc[0] if len(s) else ""
    figs = {"levers_waterfall.html": plots.levers_waterfall(
                s[~s["financing"]], total_label="levers added up (no interactions)", locale=locale,
                title=f"Cash brought forward to the end of {month}"),
            "levers_cost_p_met.html": plots.lever_cost_scatter(
                s, required_probability, locale=locale, title=f"Cost against P(target met), {month}")}
    paths = []
    for name, fig in figs.items():
        fig.write_html(folder / name, include_plotlyjs=True, full_html=True)
        paths.append(folder / name)
    return paths


def register(subparsers) -> None:
    p = subparsers.add_parser("levers", help="collection levers side by side against the target; cheapest plan",
                              description="Every scenario of collection levers in the params, simulated on common "
                                          "random numbers against the baseline, and the cheapest plan that brings "
                                          "P(target met) to the required probability.")
    p.add_argument("--params", required=True, help="parameter file (YAML) with a `scenarios:` section")
    p.add_argument("--json", metavar="OUT", help="write the comparison and the plan to this JSON file")
    p.add_argument("--paths", type=int, default=None, help="Monte Carlo paths (default: simulation.n_paths)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: simulation.seed)")
    p.add_argument("--plan-paths", type=int, default=None,
                   help="paths per trial of the plan search (default: min(paths, 500), as the report)")
    p.add_argument("--no-plan", action="store_true", help="skip the cheapest-plan search")
    p.add_argument("--charts", metavar="DIR", help="write the waterfall and cost / P(met) charts (HTML) here")
    p.add_argument("--no-cache", action="store_true", help="fit payer behaviour again instead of reading the "
                                                              "fit cache (see README, Fit cache)")
    p.set_defaults(func=run)
