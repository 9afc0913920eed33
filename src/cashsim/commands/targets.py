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

from cashsim.commands import check_writable, write_output
from cashsim.params import load_params, with_overrides

if TYPE_CHECKING:
    from cashsim.targets import TargetReport


def _print(report: TargetReport) -> None:
    m = report.months
    cols = ["month", "required", "target_p50", "target_p10", "target_p90", "collections_p10", "collections_p50",
            "collections_p90", "p_target_met", "expected_shortfall", "shortfall_p10_worst", "at_risk"]
    money = {c: "{:,.0f}".format for c in cols if c not in ("month", "p_target_met", "at_risk")}
    print(f"Smoothed collection target (windows of {report.window} months), as of {report.as_of.date()}:")
    print(m.loc[~m["is_past"], cols].to_string(index=False, formatters={**money, "p_target_met": "{:.0%}".format}))
    w = report.weekly
    wcols = ["week_start", "collections_mean", "outflows", "position_p10", "position_p50", "position_p90",
             "p_under_minimum"]
    fm = {c: "{:,.0f}".format for c in wcols[1:-1]}
    print("\nWeekly cash position (end of week) and P(under the minimum balance on some day):")
    print(w[wcols].to_string(index=False, formatters={**fm, "week_start": lambda d: d.strftime("%Y-%m-%d"),
                                                      "p_under_minimum": "{:.0%}".format}))


def run(args: argparse.Namespace) -> int:
    from cashsim.pipeline import run_from_params  # imported on use: `cashsim --help` stays light

    if args.json:
        check_writable(args.json, "--json")
    params = with_overrides(load_params(args.params), {"simulation.n_paths": ("--paths", args.paths),
                                                       "simulation.seed": ("--seed", args.seed)})
    report = run_from_params(params, n_paths=args.paths, seed=args.seed, cache=not args.no_cache).targets
    _print(report)
    if args.json:
        payload = {"params": str(args.params), "company": params.company, **report.to_dict()}
        text = json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=True)
        print(f"\nwritten: {write_output(args.json, text, '--json')}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("targets", help="monthly smoothed cash target, P(met), weekly cash position",
                              description="The smoothed monthly cash target, its chance of being met, and the "
                                          "weekly cash position, from a parameter file.")
    p.add_argument("--params", required=True, help="parameter file (YAML), e.g. params/demo.yml")
    p.add_argument("--json", metavar="OUT", help="write the months, windows and weeks to this JSON file")
    p.add_argument("--paths", type=int, default=None, help="Monte Carlo paths (default: simulation.n_paths)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: simulation.seed)")
    p.add_argument("--no-cache", action="store_true", help="fit payer behaviour again instead of reading the "
                                                              "fit cache (see README, Fit cache)")
    p.set_defaults(func=run)
