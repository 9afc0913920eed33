"""The command line: a thin layer over functions the tests call directly.

Each sub-command lives in ``cashsim.commands.<name>`` and exposes ``register(subparsers)``, which adds its parser
and sets ``func(args) -> int`` (the exit code). Errors of cashsim's own become a one-line message and exit code 2.
Long commands (report, levers, backtest) say what they are doing on standard error when it is a terminal, or
always with ``--progress`` anywhere on the line (:mod:`cashsim.progress`).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from cashsim import __version__, progress
from cashsim.errors import CashsimError

#: Sub-command modules, in the order ``cashsim --help`` lists them.
COMMANDS = ("demo", "validate", "forecast", "backtest", "targets", "levers", "report", "panel")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cashsim",
        description="How much cash the customers will pay, whether it covers the smoothed cash target, and which "
                    "collection lever closes the gap at the lowest cost.")
    parser.add_argument("--version", action="version", version=f"cashsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"cashsim.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    progress.enable(True if "--progress" in argv else None)   # shown on a terminal, or when asked
    argv = [a for a in argv if a != "--progress"]
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CashsimError as exc:
        print(f"cashsim {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
