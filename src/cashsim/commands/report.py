"""``cashsim report --params FILE --month YYYY-MM [--paths N] [--seed N] [--as-of DATE] [--output DIR] [--force]``.

Runs the monthly report notebook through papermill (see :mod:`cashsim.report`) and prints where it went. Exit code
0 when the report is complete; 2 (with the failing cell and the kept ``*.failed.ipynb`` named) when a cell failed,
the month is locked by another run, or the params file is invalid - so cron's MAILTO or systemd's ``OnFailure=``
see it.

Example::

    cashsim report --params params/demo.yml --month 2026-11 --paths 1000
    # reports/atelier-demo-sas/2026-11/cashsim-report-2026-11.html  (or .../2026-11-v2/... when 2026-11 exists)

The report goes to ``<output>/<company>/YYYY-MM/``, ``<company>`` the params' ``company`` as a folder name
(:func:`cashsim.report.company_slug`: "Atelier Démo SAS" -> ``atelier-demo-sas``), so two companies never mix.

Speed (the command's own share, ``python -m benchmarks.report_timeline``):

- the report's kernel starts as early as the params file allows (:func:`cashsim.report.run_monthly_report`): this
  command does not import :mod:`cashsim.cache` before (it loads scipy, a second); ``--no-cache`` is passed to the
  kernel through :data:`NO_CACHE_ENV` instead of :func:`cashsim.cache.store.cache_off`;
- once the report is written, the interpreter's exit does not garbage-collect the million objects pandas, scipy,
  numba, plotly and nbconvert left (0.6 s): ``gc.freeze`` runs as the last exit handler. Nothing is skipped: other
  exit handlers, buffers and files are as before; the objects are simply freed without a cycle search.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import time
from pathlib import Path

from cashsim import commands
from cashsim.commands import SUMMARIES, _, check_writable
from cashsim.memory import COMPARISON_ARRAYS
from cashsim.params import Params, with_overrides

#: The environment variable that turns the fit cache off (``cashsim.cache.store.ENV_OFF``: not imported here, see the
#: module docstring; tests/test_cli_report.py checks they agree).
NO_CACHE_ENV = "CASHSIM_NO_CACHE"


def check_options(params_path: str | Path, *, month: str | None = None, paths: int | None = None,
                  seed: int | None = None, as_of: str | None = None, output: str | Path | None = None) -> Params:
    """Everything that can be checked before the notebook starts, so a bad option fails in a second, naming it:
    the params file, ``--month`` (YYYY-MM), ``--paths``, ``--seed`` and ``--as-of`` under the params file's rules
    (the memory check for a lever study), and the output folder (``--output``, else ``report.output_dir``)."""
    from cashsim.report import check_month

    if month is not None:
        check_month(month)
    params = commands.load(params_path)
    with_overrides(params, {"simulation.n_paths": ("--paths", paths), "simulation.seed": ("--seed", seed),
                            "as_of": ("--as-of", as_of)}, arrays=COMPARISON_ARRAYS)
    if output is not None:
        check_writable(output, "--output", folder=True)
    else:
        check_writable(params.report.output_dir, _("report.output_dir of {path}").format(path=params_path),
                       folder=True)
    return params


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", description=_("Run the monthly report notebook and print where it went."),
                              help=_(SUMMARIES["report"]))
    p.add_argument("--params", required=True, metavar="FILE", help=_("parameter file (YAML), e.g. params/demo.yml"))
    p.add_argument("--month", required=True, metavar="YYYY-MM", help=_("month the report is about, e.g. 2026-11"))
    p.add_argument("--paths", type=int, default=None, metavar="N",
                   help=_("Monte Carlo paths (default: simulation.n_paths of the params file)"))
    p.add_argument("--seed", type=int, default=None, metavar="N", help=_("seed (default: simulation.seed)"))
    p.add_argument("--as-of", default=None, metavar="YYYY-MM-DD",
                   help=_("date the forecast stands on (default: the params' as_of, else the day before the month)"))
    p.add_argument("--output", default=None, metavar="DIR",
                   help=_("folder holding the company folders <company>/YYYY-MM (default: report.output_dir of the "
                        "params)"))
    p.add_argument("--force", action="store_true",
                   help=_("replace <company>/YYYY-MM instead of writing a new version YYYY-MM-v2"))
    p.add_argument("--no-cache", action="store_true", help=_("fit payer behaviour again instead of reading the "
                                                              "fit cache (see README, Fit cache)"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported on use (papermill, nbconvert): `cashsim --help` stays light
    from cashsim.report import html_path, run_monthly_report
    from cashsim.report.runner import kernel_environment

    atexit.unregister(gc.freeze)  # once, however many reports this process runs
    atexit.register(gc.freeze)  # registered first, runs last (module docstring)
    check_options(args.params, month=args.month, paths=args.paths, seed=args.seed, as_of=args.as_of,
                  output=args.output)
    started = time.perf_counter()
    # a ReportError of the runner is built from its msgid (CashsimError.of): cashsim.cli shows it in the reader's
    # language
    with kernel_environment({NO_CACHE_ENV: "1"} if args.no_cache else {}):  # the notebook's kernel inherits it
        folder = run_monthly_report(args.params, args.month, n_paths=args.paths, seed=args.seed,
                                    as_of=args.as_of, output_root=args.output, force=args.force)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    print(_("report for {month} written to {folder} in {seconds} s (run {run})").format(
        month=commands.month(args.month), folder=folder, seconds=commands.num(time.perf_counter() - started),
        run=summary["run_uuid"]))
    print(html_path(folder))
    return 0
