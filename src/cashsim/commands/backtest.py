"""``cashsim backtest``: rolling-origin backtest of the collection forecast against three baselines.

    cashsim backtest --params params/demo.yml --json reports/backtest.json --html reports/backtest.html
    cashsim backtest --invoices invoices.csv --payments payments.csv --paths 500
    cashsim backtest --ibm ../shared/data/ibm-late-payment/WA_Fn-UseC_-Accounts-Receivable.csv

Prints the model's scores by horizon (month 1, 2, 3, pooled, and the cumulative months 1..h: WAPE, bias, CRPS
skill against the best baseline, cover50 / cover80 read on the randomised PIT with a bootstrap band over origins,
Winkler80), every method's point scores (WAPE, bias, MAE, CRPS, MAPE over the months with cash), and the goals
(MET / MISSED, with their figures; definitions in :mod:`cashsim.backtest`), in the output's language and number
formats (:meth:`BacktestResult.summary_text`; the JSON and the HTML page keep the English text). ``--oracle``
(demo only) adds the truth-knowing forecaster of :mod:`cashsim.backtest.ceiling`. Exit code 0 even when a goal is
missed (the figures are the result), 2 on unusable input.
"""

from __future__ import annotations

import argparse

from cashsim import commands
from cashsim.commands import SUMMARIES, _, check_counts, check_writable, write_output
from cashsim.errors import ParamsError

#: Months each backtest origin forecasts (``run_backtest``'s ``horizons``), for the memory check of ``--paths``.
BACKTEST_MONTHS = 3


def _ledger(args: argparse.Namespace, params=None):
    """(ledger, behaviour settings, paths, seed) from ``params`` (the ``--params`` file, loaded once by :func:`run`),
    else from ``--ibm`` or ``--invoices`` / ``--payments``."""
    from cashsim.ledger import read_ledger
    from cashsim.params import Params, with_overrides

    # the options obey the params file's rules (a horizon of BACKTEST_MONTHS for the memory check)
    overrides = {"simulation.n_paths": ("--paths", args.paths), "simulation.seed": ("--seed", args.seed)}
    if params is not None:
        from cashsim.sources import ledger_from_params

        with_overrides(params.model_copy(update={"horizon_months": BACKTEST_MONTHS}), overrides)
        behaviour = params.behaviour.model_dump()
        return ledger_from_params(params), behaviour, (args.paths or min(params.simulation.n_paths, 500)), \
            (params.simulation.seed if args.seed is None else args.seed)
    with_overrides(Params(horizon_months=BACKTEST_MONTHS), overrides)
    if args.ibm:
        from cashsim.adapters.ibm import read_ibm_late_payments

        return read_ibm_late_payments(args.ibm), {}, args.paths or 500, args.seed or 0
    if not (args.invoices and args.payments):
        raise ParamsError.of("give --params FILE, or --invoices FILE and --payments FILE (or --ibm FILE)")
    return read_ledger(args.invoices, args.payments), {}, args.paths or 500, args.seed or 0


def _oracle(args: argparse.Namespace, params=None):
    """``--oracle``: the demo's truth-knowing forecaster (only with a params file, ``params``, whose data source is
    the demo)."""
    if not args.oracle:
        return None
    if params is None or params.data.source != "demo":
        raise ParamsError.of("--oracle needs --params FILE with data.source: demo (the oracle knows the demo's "
                             "true law, nothing else)")
    from cashsim.demo.oracle import DemoOracle

    return DemoOracle(params.data.demo_seed)


def run(args: argparse.Namespace) -> int:
    from cashsim.backtest import backtest_html, run_backtest

    check_counts(args, "warmup", minimum=0)
    check_counts(args, "max-origins")
    for option, path in (("--json", args.json), ("--html", args.html)):
        if path:
            check_writable(path, option)
    params = commands.load(args.params) if args.params else None
    oracle = _oracle(args, params)
    ledger, behaviour, n_paths, seed = _ledger(args, params)
    result = run_backtest(ledger, warmup_months=args.warmup, n_paths=n_paths, seed=seed,
                          max_origins=args.max_origins, behaviour=behaviour, oracle=oracle)
    print(result.summary_text(commands.locale()))
    if args.json:
        print(commands.colon(_("written")), result.to_json(args.json))
    if args.html:
        print(commands.colon(_("written")), write_output(args.html, backtest_html(result, commands.locale()), "--html"))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("backtest", help=_(SUMMARIES["backtest"]),
                              description=_("Refit at every month end, forecast the next 1-3 months of collections "
                                          "of the open invoices, and score against what was actually paid."))
    src = p.add_mutually_exclusive_group()
    src.add_argument("--params", help=_("parameter file (YAML): its data source and behaviour settings"))
    src.add_argument("--invoices", help=_("invoices file (CSV / Excel, ledger columns)"))
    src.add_argument("--ibm", help=_("the IBM late-payment sample CSV (read through cashsim.adapters)"))
    p.add_argument("--payments", help=_("payments file (with --invoices)"))
    p.add_argument("--paths", type=int, default=None, help=_("Monte Carlo paths per origin (default 500)"))
    p.add_argument("--seed", type=int, default=None, help=_("random seed (default: the params' seed, else 0)"))
    p.add_argument("--warmup", type=int, default=9, help=_("months of history before the first origin (default 9)"))
    p.add_argument("--max-origins", type=int, default=None, help=_("keep only the last N origins (quick runs)"))
    p.add_argument("--oracle", action="store_true",
                   help=_("demo only: also score a forecaster that knows the demo's true law (the ceiling)"))
    p.add_argument("--json", metavar="OUT", help=_("write settings, metrics (by month and cumulative), goals, "
                                                  "PIT histogram and the per-origin rows"))
    p.add_argument("--html", metavar="OUT", help=_("write the scores by horizon, goals and metrics as an HTML page"))
    p.set_defaults(func=run)
