"""``cashsim demo [--paths N] [--output DIR] [--force]``: the monthly report of the embedded demo company.

Uses ``params/demo.yml`` of the repository when cashsim runs from a checkout (or the working directory holds
``params/demo.yml``), else the copy shipped inside the wheel (``cashsim/notebooks/demo.yml``), so ``cashsim demo``
also works from a plain ``pip install``. It validates the parameters, runs the report for the month after the
demo's as-of date (2026-11 for an as-of of 2026-10-31) into ``reports/atelier-demo-sas/2026-11/`` (the company
folder: :func:`cashsim.report.company_slug` of the params' ``company``) and prints the path of the HTML to open.

Example::

    cashsim demo --paths 500
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from cashsim import commands
from cashsim.commands import SUMMARIES, _, check_writable
from cashsim.memory import COMPARISON_ARRAYS
from cashsim.params import with_overrides

DEMO_PARAMS = Path("params") / "demo.yml"


def demo_params_path() -> Path:
    """``params/demo.yml`` in the working directory, else in the repository checkout, else the packaged copy."""
    repo = Path(__file__).resolve().parents[3]  # src/cashsim/commands/demo.py -> repository root
    for candidate in (Path.cwd() / DEMO_PARAMS, repo / DEMO_PARAMS):
        if candidate.is_file():
            return candidate
    from cashsim.report.resources import packaged_params  # imported on use: `cashsim --help` stays light

    return packaged_params()


def default_output(params_path: Path) -> Path:
    """``reports/`` beside the ``params/`` folder of a checkout; ``./reports`` for the packaged params."""
    if params_path.parent.name == "params":
        return params_path.parent.parent / "reports"
    return Path.cwd() / "reports"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help=_(SUMMARIES["demo"]),
                              description=_("The monthly report of the embedded demo company."))
    p.add_argument("--paths", type=int, default=None, metavar="N",
                   help=_("Monte Carlo paths (default: simulation.n_paths of params/demo.yml)"))
    p.add_argument("--output", default=None, metavar="DIR",
                   help=_("folder holding the company folders (default: reports/ of the repo)"))
    p.add_argument("--force", action="store_true", help=_("replace an existing report of the month"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported on use (papermill, nbconvert): `cashsim --help` stays light
    from cashsim.report import html_path, run_monthly_report

    path = demo_params_path()
    params = commands.load(path)  # validation first: a broken demo.yml fails here, naming the key
    with_overrides(params, {"simulation.n_paths": ("--paths", args.paths)}, arrays=COMPARISON_ARRAYS)
    month = str(pd.Period(pd.Timestamp(params.as_of) + pd.Timedelta(days=1), freq="M"))
    output = Path(args.output) if args.output else default_output(path)
    check_writable(output, "--output" if args.output else _("the reports folder (give --output DIR)"), folder=True)
    n_paths = args.paths if args.paths is not None else params.simulation.n_paths
    print(_("{company}: data as of {date}, forecast of {months} months from {month}, {paths} paths (params {path})")
          .format(company=params.company, date=commands.day(params.as_of), months=params.horizon_months,
                  month=commands.month(month), paths=commands.num(n_paths), path=path))
    started = time.perf_counter()
    folder = run_monthly_report(path, month, n_paths=args.paths, output_root=output, force=args.force)
    print(_("monthly report for {month} written in {seconds} s to {folder}").format(
        month=commands.month(month), seconds=commands.num(time.perf_counter() - started), folder=folder))
    print(html_path(folder))
    return 0
