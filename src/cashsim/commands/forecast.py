"""``cashsim forecast``: the Monte Carlo collection forecast (*prévision d'encaissements*) as JSON, for scripts.

It forecasts the cash collected from the invoices open at the as-of date and the params' sales plan (the same book
as the monthly report and ``cashsim levers``' baseline; ``--invoices``/``--payments`` have no plan) in each
calendar month after it, the first being the month of ``as_of + 1``, and in each week (weeks start on
Monday; the first and last may be partial). Output, exactly::

    {"as_of": "YYYY-MM-DD",
     "months": [{"month": "YYYY-MM", "mean": ..., "p05": ..., "p10": ..., "p25": ..., "p50": ..., "p75": ...,
                 "p90": ..., "p95": ...}, ...],
     "weeks":  [{"week": "YYYY-MM-DD", "mean": ..., "p05": ..., ..., "p95": ...}, ...]}

Amounts are euros incl. VAT, rounded to the cent. Chain: ``read_ledger`` -> ``fit_behaviour(ledger, as_of)`` ->
``model.book(open_book, sales_plan)`` -> :func:`cashsim.simulate.simulate` (:func:`cashsim.pipeline.prepare`).

    cashsim forecast --invoices invoices.csv --payments payments.csv --as-of 2026-10-31 --months 3 \\
        --paths 2000 --seed 42 --json forecast.json
    cashsim forecast --params params/demo.yml --json -          # JSON on standard output
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pandas as pd

from cashsim import commands
from cashsim.commands import SUMMARIES, _, check_writable, write_output
from cashsim.errors import ParamsError
from cashsim.params import Params, with_overrides
from cashsim.params import Simulation as SimulationParams

# cashsim.pipeline and cashsim.simulate (numba, scipy) are imported on use: `cashsim --help` stays light.


def forecast(ledger, params: Params, *, cache: bool = True):
    """Fit payer behaviour on what ``ledger`` knew at ``params.as_of`` and simulate the collection of the invoices
    open then and of the sales plan over ``params.horizon_months`` calendar months, as the monthly report does: a
    :class:`cashsim.simulate.Simulation`. ``cache``: read the fit from the fit cache when stored there
    (:mod:`cashsim.cache`)."""
    from cashsim import pipeline

    base = pipeline.prepare(params, ledger=ledger, cache=cache)
    return pipeline.simulate_only(base, base.book)


def summary(sim) -> dict[str, Any]:
    """The JSON contract of ``cashsim forecast`` from a Simulation: as_of, months, weeks (cents)."""
    from cashsim.simulate import QUANTILES, quantile_name

    def rows(freq: str, key: str, label) -> list[dict[str, Any]]:
        q = sim.quantiles(freq, QUANTILES)
        cols = ["mean"] + [quantile_name(x) for x in QUANTILES]
        return [{key: label(r["period"]), **{c: round(float(r[c]), 2) for c in cols}} for _, r in q.iterrows()]

    return {"as_of": sim.as_of.strftime("%Y-%m-%d"),
            "months": rows("M", "month", str),
            "weeks": rows("W", "week", lambda d: pd.Timestamp(d).strftime("%Y-%m-%d"))}


def run(args: argparse.Namespace) -> int:
    from cashsim import pipeline
    from cashsim.ledger import read_ledger

    if args.params and (args.invoices or args.payments):
        raise ParamsError.of("give either --params FILE or --invoices and --payments, not both")
    if args.json and args.json != "-":
        check_writable(args.json, "--json")
    if args.params:
        from cashsim.sources import ledger_from_params

        params = commands.load(args.params)
    elif args.invoices and args.payments:
        params = Params(horizon_months=3, simulation=SimulationParams(n_paths=2000, seed=42))
    else:
        raise ParamsError.of("give --invoices FILE and --payments FILE (CSV or .xlsx), or --params FILE")
    # the options obey the params file's rules (limits, dates, memory) before the ledger is read
    params = with_overrides(params, {"simulation.n_paths": ("--paths", args.paths),
                                     "simulation.seed": ("--seed", args.seed),
                                     "horizon_months": ("--months", args.months), "as_of": ("--as-of", args.as_of)})
    ledger = ledger_from_params(params) if args.params else read_ledger(args.invoices, args.payments)
    as_of = pd.Timestamp(pipeline.resolve_as_of(params, ledger))
    params = params.model_copy(update={"as_of": as_of.date()})
    sim = forecast(ledger, params, cache=not args.no_cache)
    payload = summary(sim)
    text = json.dumps(payload, indent=1)
    if args.json == "-":
        sys.stdout.write(text + "\n")
        return 0
    table = pd.DataFrame(payload["months"])
    what = _("open invoices and the sales plan") if params.sales_plan else _("open invoices (no sales plan)")
    print(commands.colon(_("Collections forecast as of {date} ({paths} paths, seed {seed}), euros incl. VAT, from "
                           "{what}").format(date=commands.day(as_of), paths=commands.num(sim.n_paths), seed=sim.seed,
                                            what=what)))
    figures = {c: commands.num for c in table.columns if c != "month"}
    print(commands.text_table(table, {"month": commands.month, **figures}))
    if args.json:
        out = write_output(args.json, text + "\n", "--json")
        print(commands.colon(_("written")), out)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("forecast", help=_(SUMMARIES["forecast"]),
                              description=_("The Monte Carlo collection forecast, as JSON for scripts."))
    p.add_argument("--invoices", metavar="FILE", help=_("invoices (CSV or .xlsx, ledger columns)"))
    p.add_argument("--payments", metavar="FILE", help=_("payments (CSV or .xlsx, ledger columns)"))
    p.add_argument("--params", metavar="FILE", help=_("a parameter file instead of the two files (data, as_of, "
                                                    "horizon_months, simulation)"))
    p.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                   help=_("standing date (default: params as_of, else the latest date in the data)"))
    p.add_argument("--months", type=int, metavar="N", help=_("calendar months to forecast (default 3 or params)"))
    p.add_argument("--paths", type=int, metavar="N", help=_("Monte Carlo paths (default 2000 or params)"))
    p.add_argument("--seed", type=int, metavar="N", help=_("random seed (default 42 or params)"))
    p.add_argument("--json", metavar="OUT", help=_("write the JSON here ('-' = standard output only)"))
    p.add_argument("--no-cache", action="store_true", help=_("fit payer behaviour again instead of reading the "
                                                              "fit cache (see README, Fit cache)"))
    p.set_defaults(func=run)
