"""``cashsim forecast``: the Monte Carlo collection forecast (*prévision d'encaissements*) as JSON, for scripts.

It forecasts the cash collected from the invoices known at the as-of date (open invoices only: no sales plan) in
each calendar month after it, the first being the month of ``as_of + 1``, and in each week (weeks start on
Monday; the first and last may be partial). Output, exactly::

    {"as_of": "YYYY-MM-DD",
     "months": [{"month": "YYYY-MM", "mean": ..., "p05": ..., "p10": ..., "p25": ..., "p50": ..., "p75": ...,
                 "p90": ..., "p95": ...}, ...],
     "weeks":  [{"week": "YYYY-MM-DD", "mean": ..., "p05": ..., ..., "p95": ...}, ...]}

Amounts are euros incl. VAT, rounded to the cent. Chain: ``read_ledger`` -> ``fit_behaviour(ledger, as_of)`` ->
``model.book(open_book)`` -> :func:`cashsim.simulate.simulate`.

    cashsim forecast --invoices invoices.csv --payments payments.csv --as-of 2026-10-31 --months 3 \\
        --paths 2000 --seed 42 --json forecast.json
    cashsim forecast --params params/demo.yml --json -          # JSON on standard output
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from cashsim.errors import ParamsError
from cashsim.params import Behaviour

QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def horizon_end(as_of: pd.Timestamp, months: int) -> pd.Timestamp:
    """End of the ``months``-th calendar month, counting the month of ``as_of + 1`` as the first.

    >>> horizon_end(pd.Timestamp("2026-10-31"), 3).date(), horizon_end(pd.Timestamp("2026-10-15"), 1).date()
    (datetime.date(2027, 1, 31), datetime.date(2026, 10, 31))
    """
    first = (as_of + pd.Timedelta(days=1)).to_period("M")
    return (first + (int(months) - 1)).end_time.normalize()


def forecast(ledger, as_of: Any, *, months: int, n_paths: int, seed: int, behaviour: Behaviour | None = None,
             chunk_paths: int = 1000, backend: str = "local", dask_address: str | None = None):
    """Fit payer behaviour on what ``ledger`` knew at ``as_of`` and simulate the collection of its open invoices
    over ``months`` calendar months. Returns the :class:`cashsim.simulate.Simulation`."""
    from cashsim.behaviour import fit_behaviour
    from cashsim.simulate import simulate

    as_of = pd.Timestamp(as_of).normalize()
    b = behaviour or Behaviour()
    model = fit_behaviour(ledger, as_of, half_life_days=b.half_life_days, grace_days=b.grace_days,
                          reliable_threshold=b.reliable_threshold, prior_never_paid=b.prior_never_paid)
    known = ledger.known_at(as_of)
    end = horizon_end(as_of, months)
    book = model.book(known.open_book(as_of), None, horizon_end=end, promises=known.promises)
    return simulate(book, horizon_end=end, n_paths=n_paths, seed=seed, rho_month=model.rho_month,
                    rho_customer=model.rho_customer, chunk_paths=chunk_paths, backend=backend,
                    dask_address=dask_address)


def summary(sim) -> dict[str, Any]:
    """The JSON contract of ``cashsim forecast`` from a Simulation: as_of, months, weeks (cents)."""
    def rows(freq: str, key: str, label) -> list[dict[str, Any]]:
        q = sim.quantiles(freq, QUANTILES)
        cols = ["mean"] + [f"p{round(x * 100):02d}" for x in QUANTILES]
        return [{key: label(r["period"]), **{c: round(float(r[c]), 2) for c in cols}} for _, r in q.iterrows()]

    return {"as_of": sim.as_of.strftime("%Y-%m-%d"),
            "months": rows("M", "month", str),
            "weeks": rows("W", "week", lambda d: pd.Timestamp(d).strftime("%Y-%m-%d"))}


def _latest_date(ledger) -> pd.Timestamp:
    latest = [ledger.invoices["issue_date"].max(), ledger.payments["payment_date"].max()]
    return pd.Timestamp(max(d for d in latest if pd.notna(d))).normalize()


def _date(text: str, flag: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(text).normalize()
    except (ValueError, TypeError):
        raise ParamsError(f"{flag} {text!r} is not a date; write it YYYY-MM-DD, e.g. 2026-10-31") from None


def run(args: argparse.Namespace) -> int:
    from cashsim.ledger import read_ledger

    if args.params and (args.invoices or args.payments):
        raise ParamsError("give either --params FILE or --invoices and --payments, not both")
    settings: dict[str, Any] = {"months": 3, "n_paths": 2000, "seed": 42}
    behaviour, as_of, extra = Behaviour(), None, {}
    if args.params:
        from cashsim.params import load_params
        from cashsim.sources import ledger_from_params

        params = load_params(args.params)
        ledger = ledger_from_params(params)
        sp = params.simulation
        settings = {"months": params.horizon_months, "n_paths": sp.n_paths, "seed": sp.seed}
        extra = {"chunk_paths": sp.chunk_paths, "backend": sp.backend, "dask_address": sp.dask_address}
        behaviour = params.behaviour
        as_of = pd.Timestamp(params.as_of) if params.as_of is not None else None
    elif args.invoices and args.payments:
        ledger = read_ledger(args.invoices, args.payments)
    else:
        raise ParamsError("give --invoices FILE and --payments FILE (CSV or .xlsx), or --params FILE")
    if args.as_of:
        as_of = _date(args.as_of, "--as-of")
    as_of = _latest_date(ledger) if as_of is None else as_of
    for flag, key, value in (("--months", "months", args.months), ("--paths", "n_paths", args.paths)):
        if value is not None:
            if value < 1:
                raise ParamsError(f"{flag} must be at least 1, got {value}")
            settings[key] = value
    if args.seed is not None:
        settings["seed"] = args.seed
    sim = forecast(ledger, as_of, behaviour=behaviour, **settings, **extra)
    payload = summary(sim)
    text = json.dumps(payload, indent=1)
    if args.json == "-":
        sys.stdout.write(text + "\n")
        return 0
    table = pd.DataFrame(payload["months"]).set_index("month")
    print(f"Collections forecast as of {payload['as_of']} ({sim.n_paths} paths, seed {sim.seed}), euros incl. VAT:")
    print(table.to_string(float_format="{:,.0f}".format))
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
        print(f"written: {out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("forecast", help="Monte Carlo forecast of collections by month and week, as JSON",
                              description=__doc__.splitlines()[0])
    p.add_argument("--invoices", metavar="FILE", help="invoices (CSV or .xlsx, ledger columns)")
    p.add_argument("--payments", metavar="FILE", help="payments (CSV or .xlsx, ledger columns)")
    p.add_argument("--params", metavar="FILE", help="a parameter file instead of the two files (data, as_of, "
                                                    "horizon_months, simulation)")
    p.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                   help="standing date (default: params as_of, else the latest date in the data)")
    p.add_argument("--months", type=int, metavar="N", help="calendar months to forecast (default 3 or params)")
    p.add_argument("--paths", type=int, metavar="N", help="Monte Carlo paths (default 2000 or params)")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (default 42 or params)")
    p.add_argument("--json", metavar="OUT", help="write the JSON here ('-' = standard output only)")
    p.set_defaults(func=run)
