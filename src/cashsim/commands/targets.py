"""``cashsim targets``: the smoothed monthly target, its chance of being met, and the weekly cash position.

Runs the forecast from the parameter file (ledger -> payer behaviour -> book -> Monte Carlo), then
:func:`cashsim.targets.target_report`; prints the months and weeks and writes them as JSON with ``--json``.

    cashsim targets --params params/demo.yml --json reports/targets.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from cashsim.errors import ParamsError
from cashsim.params import Params, load_params
from cashsim.targets import TargetReport, target_report


def horizon_end(as_of: pd.Timestamp, horizon_months: int) -> pd.Timestamp:
    """Last day of the horizon: ``horizon_months`` calendar months, the first being the month of ``as_of + 1``.

    >>> horizon_end(pd.Timestamp("2026-10-31"), 4).date()
    datetime.date(2027, 2, 28)
    """
    first = (pd.Timestamp(as_of) + pd.Timedelta(days=1)).to_period("M")
    return (first + (horizon_months - 1)).end_time.normalize()


def _latest_date(ledger) -> pd.Timestamp:
    dates = [pd.to_datetime(ledger.invoices["issue_date"]).max(), pd.to_datetime(ledger.payments["payment_date"]).max()]
    return max(d for d in dates if pd.notna(d)).normalize()


def forecast_report(params: Params, *, n_paths: int | None = None, seed: int | None = None) -> TargetReport:
    """The target report of a parameter file: fit behaviour on the ledger as of ``params.as_of``, simulate, report."""
    from cashsim.behaviour import fit_behaviour
    from cashsim.simulate import simulate
    from cashsim.sources import ledger_from_params

    ledger = ledger_from_params(params)
    as_of = pd.Timestamp(params.as_of) if params.as_of is not None else _latest_date(ledger)
    b = params.behaviour
    model = fit_behaviour(ledger, as_of, half_life_days=b.half_life_days, grace_days=b.grace_days,
                          reliable_threshold=b.reliable_threshold, prior_never_paid=b.prior_never_paid)
    end = horizon_end(as_of, params.horizon_months)
    known = ledger.known_at(as_of)
    book = model.book(known.open_book(as_of), params.sales_plan, horizon_end=end, promises=known.promises)
    s = params.simulation
    sim = simulate(book, horizon_end=end, n_paths=n_paths or s.n_paths, seed=s.seed if seed is None else seed,
                   rho_month=model.rho_month, rho_customer=model.rho_customer, chunk_paths=s.chunk_paths,
                   backend=s.backend, dask_address=s.dask_address)
    return target_report(sim, params.burn, known)


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
    params = load_params(args.params)
    if args.paths is not None and args.paths < 1:
        raise ParamsError(f"--paths must be at least 1, got {args.paths}")
    report = forecast_report(params, n_paths=args.paths, seed=args.seed)
    _print(report)
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"params": str(args.params), "company": params.company, **report.to_dict()}
        out.write_text(json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=True), encoding="utf-8")
        print(f"\nwritten: {out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("targets", help="monthly smoothed cash target, P(met), weekly cash position",
                              description=__doc__.splitlines()[0])
    p.add_argument("--params", required=True, help="parameter file (YAML), e.g. params/demo.yml")
    p.add_argument("--json", metavar="OUT", help="write the months, windows and weeks to this JSON file")
    p.add_argument("--paths", type=int, default=None, help="Monte Carlo paths (default: simulation.n_paths)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: simulation.seed)")
    p.set_defaults(func=run)
