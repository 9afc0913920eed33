"""``cashsim targets``: the smoothed monthly target, its chance of being met, and the weekly cash position.

Runs the forecast from the parameter file (:func:`cashsim.pipeline.run_from_params`: ledger -> payer behaviour ->
book -> Monte Carlo -> :func:`cashsim.targets.target_report`); prints the months and weeks and writes them, with
the windows, as JSON with ``--json``.

    cashsim targets --params params/demo.yml --json reports/targets.json
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from cashsim import commands
from cashsim.commands import SUMMARIES, _, check_writable, write_output
from cashsim.params import with_overrides

if TYPE_CHECKING:
    from cashsim.targets import TargetReport


def _print(report: TargetReport) -> None:
    num, pct = commands.num, commands.pct
    m = report.months
    cols = {"month": "month", "required": "required", "target_p50": "target p50", "target_p10": "target p10",
            "target_p90": "target p90", "collections_p10": "collections p10", "collections_p50": "collections p50",
            "collections_p90": "collections p90", "p_target_met": "P(target met)",
            "expected_shortfall": "expected shortfall", "shortfall_p10_worst": "shortfall, worst 10%",
            "at_risk": "at risk"}
    formats = {c: num for c in cols if c not in ("month", "p_target_met", "at_risk")}
    formats.update(month=commands.month, p_target_met=pct, at_risk=lambda v: _("yes") if v else _("no"))
    print(commands.colon(_("Smoothed collection target (windows of {n} months), as of {date}").format(
        n=report.window, date=commands.day(report.as_of))))
    print(commands.text_table(m.loc[~m["is_past"], list(cols)], formats, cols))
    w = report.shown_weekly   # the first week from the day after as_of, as the report
    wcols = {"week_start": "week of", "collections_mean": "collections (mean)", "outflows": "outflows",
             "position_p10": "position p10", "position_p50": "position p50", "position_p90": "position p90",
             "p_under_minimum": "P(under minimum)"}
    wformats = {c: num for c in list(wcols)[1:-1]}
    wformats.update(week_start=commands.day, p_under_minimum=pct)
    print("\n" + commands.colon(_("Weekly cash position (end of week) and P(under the minimum balance on some day)")))
    print(commands.text_table(w[list(wcols)], wformats, wcols))


def run(args: argparse.Namespace) -> int:
    from cashsim.pipeline import run_from_params  # imported on use: `cashsim --help` stays light

    if args.json:
        check_writable(args.json, "--json")
    params = with_overrides(commands.load(args.params), {"simulation.n_paths": ("--paths", args.paths),
                                                       "simulation.seed": ("--seed", args.seed)})
    run_ = run_from_params(params, n_paths=args.paths, seed=args.seed, cache=not args.no_cache)
    report = run_.targets
    _print(report)
    from cashsim.report.views import no_sales_plan_text  # (after the run: the report's words, not its figures)

    said = no_sales_plan_text(run_, commands.locale())    # the later months without future sales: why they are low
    if said:
        print("\n" + said)
    if args.json:
        payload = {"params": str(args.params), "company": params.company, **report.to_dict()}
        text = json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=True)
        print("\n" + commands.colon(_("written")), write_output(args.json, text, "--json"))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("targets", help=_(SUMMARIES["targets"]),
                              description=_("The smoothed monthly cash target, its chance of being met, and the "
                                          "weekly cash position, from a parameter file."))
    p.add_argument("--params", required=True, help=_("parameter file (YAML), e.g. params/demo.yml"))
    p.add_argument("--json", metavar="OUT", help=_("write the months, windows and weeks to this JSON file"))
    p.add_argument("--paths", type=int, default=None, help=_("Monte Carlo paths (default: simulation.n_paths)"))
    p.add_argument("--seed", type=int, default=None, help=_("random seed (default: simulation.seed)"))
    p.add_argument("--no-cache", action="store_true", help=_("fit payer behaviour again instead of reading the "
                                                              "fit cache (see README, Fit cache)"))
    p.set_defaults(func=run)
