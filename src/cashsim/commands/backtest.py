"""``cashsim backtest``: rolling-origin backtest of the collection forecast against three baselines.

    cashsim backtest --params params/demo.yml --json reports/backtest.json --html reports/backtest.html
    cashsim backtest --invoices invoices.csv --payments payments.csv --paths 500
    cashsim backtest --ibm ../shared/data/ibm-late-payment/WA_Fn-UseC_-Accounts-Receivable.csv

Prints the model's scores by horizon (month 1, 2, 3, pooled, and the cumulative months 1..h: WAPE, bias, CRPS
skill against the best baseline, cover50 / cover80 read on the randomised PIT with a bootstrap band over origins,
Winkler80), every method's point scores (WAPE, bias, MAE, CRPS, MAPE over the months with cash), and the goals
(MET / MISSED, with their figures; definitions in :mod:`cashsim.backtest`), in the output's language and number
formats (:func:`backtest_text`; the JSON and the HTML page keep the English text). Exit code 0 even when a goal is
missed (the figures are the result), 2 on unusable input.
"""

from __future__ import annotations

import argparse

from cashsim import commands
from cashsim.commands import _, check_counts, check_writable, write_output
from cashsim.errors import ParamsError
from cashsim.ledger import wording

#: The wording of the backtest's goals and their details (:func:`cashsim.backtest.evaluate_goals`) and of its
#: horizons, as msgids: :func:`backtest_text` finds the fields back and shows them in the output's language.
GOAL_TEMPLATES = (
    "80% interval covers {lo}-{hi} of outcomes in every month",
    "{cover} (bootstrap 95% band {lo}-{hi}; a calibrated forecast shows {cal_lo}-{cal_hi} on {n} origins)",
    "pooled WAPE of the median <= {ratio}x the best baseline's",
    "model {wape} vs {best} {best_wape} (ratio {ratio}); bias {bias}; MAE {mae} vs {best_mae}",
    "no baseline to compare with",
    "CRPS skill >= {goal} against the best baseline in every month",
    "CRPS {crps} vs {best} {best_crps} (skill {skill})",
    "model {mae} days vs {best} {best_mae} days on {n} invoices",
    "no paid invoice to score",
    "invoice MAE of the median pay date below the best baseline's",
    "month {h}", "months {first}-{last}", "pooled", "all",
)


def backtest_text(result) -> str:
    """The console view of a :class:`cashsim.backtest.BacktestResult` (the model by horizon, every method's point
    scores, the goals with their figures) in the output's language and number formats."""
    import pandas as pd

    loc = commands.locale()
    pct, num = commands.pct, commands.num

    def words(text) -> str:
        return wording.translate(text, loc, GOAL_TEMPLATES, frozenset({"best"}))

    def signed(v) -> str:
        return fmt_missing(v) or (("+" if v > 0 else "") + pct(v, 1))

    def fmt_missing(v) -> str:
        return "-" if v is None or pd.isna(v) else ""

    def cover(v, lo, hi) -> str:
        return fmt_missing(v) or f"{pct(v)} [{pct(lo)}-{pct(hi)}]"

    s, table, metrics = result.settings, result.horizon_table(), result.metrics
    horizon = pd.DataFrame({
        "horizon": [words(h) for h in table.index], "WAPE": [fmt_missing(v) or pct(v, 1) for v in table["wape"]],
        "bias": [signed(v) for v in table["bias"]],
        "CRPS skill": [fmt_missing(v) or num(v, 2) for v in table["crps_skill"]],
        "best baseline": [_(b) if isinstance(b, str) else "-" for b in table["best_baseline"]],
        "cover50": [cover(*r) for r in table[["cover50", "cover50_lo", "cover50_hi"]].itertuples(index=False)],
        "cover80": [cover(*r) for r in table[["cover80", "cover80_lo", "cover80_hi"]].itertuples(index=False)],
        "Winkler80": [fmt_missing(v) or num(v) for v in table["winkler80"]],
        "CRPS": [fmt_missing(v) or num(v) for v in table["crps"]], "n": [num(v) for v in table["n"]]})
    methods = pd.DataFrame({
        "method": [_(m) for m in metrics["method"]], "horizon": [words(h) for h in metrics["horizon"]],
        "WAPE": [fmt_missing(v) or pct(v, 1) for v in metrics["wape"]], "bias": [signed(v) for v in metrics["bias"]],
        "MAE": [fmt_missing(v) or num(v) for v in metrics["mae"]],
        "CRPS": [fmt_missing(v) or num(v) for v in metrics["crps"]],
        "MAPE": [fmt_missing(v) or pct(v, 1) for v in metrics["mape"]],
        "MAPE n": [f"{num(a)} / {num(b)}" for a, b in zip(metrics["mape_n"], metrics["mape_excluded"], strict=True)],
        "invoice MAE (days)": ["" if pd.isna(v) else num(v, 2) for v in metrics["invoice_mae"]]})
    lines = [_("backtest: {n} origins ({first} .. {last}), {paths} paths").format(
                 n=num(s.get("n_origins", 0)), first=commands.day(s.get("first_origin")),
                 last=commands.day(s.get("last_origin")), paths=num(s.get("n_paths"))),
             _("model by horizon -- WAPE, bias: share of the cash collected; CRPS skill: against the best baseline "
               "of the horizon;"),
             _("  cover50, cover80: read on the randomised PIT, [95% bootstrap band over origins]; Winkler80 (80% "
               "interval score), CRPS: currency units"),
             horizon.rename(columns=_).to_string(index=False), "",
             _("all methods -- MAPE over the months with cash collected (MAPE n: used / zero actuals left out):"),
             methods.rename(columns=_).to_string(index=False), "", commands.colon(_("goals"))]
    for goal, rows in result.goals.groupby("goal", sort=False):
        met = _("MET") if rows["met"].all() else _("MISSED")
        if len(rows) == 1:
            lines.append(f"  [{met}] {commands.colon(words(goal))} {words(rows['detail'].iloc[0])}")
            continue
        lines.append(f"  [{met}] {words(goal)}")
        lines += [f"      {words(f'month {g.horizon}')} [{_('MET') if g.met else _('MISSED')}] {words(g.detail)}"
                  for g in rows.itertuples()]
    return "\n".join(lines)

#: Months each backtest origin forecasts (``run_backtest``'s ``horizons``), for the memory check of ``--paths``.
BACKTEST_MONTHS = 3


def _ledger(args: argparse.Namespace):
    from cashsim.ledger import read_ledger
    from cashsim.params import Params, with_overrides

    # the options obey the params file's rules (a horizon of BACKTEST_MONTHS for the memory check)
    overrides = {"simulation.n_paths": ("--paths", args.paths), "simulation.seed": ("--seed", args.seed)}
    if args.params:
        from cashsim.sources import ledger_from_params

        params = commands.load(args.params)
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


def run(args: argparse.Namespace) -> int:
    from cashsim.backtest import backtest_html, run_backtest

    check_counts(args, "warmup", minimum=0)
    check_counts(args, "max-origins")
    for option, path in (("--json", args.json), ("--html", args.html)):
        if path:
            check_writable(path, option)
    ledger, behaviour, n_paths, seed = _ledger(args)
    result = run_backtest(ledger, warmup_months=args.warmup, n_paths=n_paths, seed=seed,
                          max_origins=args.max_origins, behaviour=behaviour)
    print(backtest_text(result))
    if args.json:
        print(commands.colon(_("written")), result.to_json(args.json))
    if args.html:
        print(commands.colon(_("written")), write_output(args.html, backtest_html(result), "--html"))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("backtest", help=_("rolling-origin backtest of the forecast vs baselines"),
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
    p.add_argument("--json", metavar="OUT", help=_("write settings, metrics (by month and cumulative), goals, "
                                                  "PIT histogram and the per-origin rows"))
    p.add_argument("--html", metavar="OUT", help=_("write the scores by horizon, goals and metrics as an HTML page"))
    p.set_defaults(func=run)
