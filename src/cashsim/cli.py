"""The command line: a thin layer over functions the tests call directly.

Each sub-command lives in ``cashsim.commands.<name>`` and exposes ``register(subparsers)``, which adds its parser
and sets ``func(args) -> int`` (the exit code).

Rule for failures: a problem with the user's input or environment is one line on standard error,
``cashsim <command>: error: <message>``, and exit code 2 - a cashsim error (:class:`~cashsim.errors.CashsimError`),
a bad option (argparse), an OS refusal on a path (missing file, permission, a folder where a file is expected: the
line names the path), memory exhausted. Ctrl-C exits with 130 and one line. Only a bug in cashsim shows a traceback.
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


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (``cashsim forecast: error: argument --paths: invalid int value: 'x'``) and
    the hint to ``--help`` instead of the usage block; sub-command parsers are of the same class. ``commands``:
    the sub-command parsers by name."""

    commands: dict[str, argparse.ArgumentParser]  # set by build_parser

    def error(self, message: str):  # argparse's signature: never returns
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cashsim",
        description="How much cash the customers will pay, whether it covers the smoothed cash target, and which "
                    "collection lever closes the gap at the lowest cost.")
    parser.add_argument("--version", action="version", version=f"cashsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"cashsim.commands.{name}").register(sub)
    parser.commands = sub.choices
    return parser


def _os_message(exc: OSError) -> str:
    """``/data/factures.csv: No such file or directory``: the path(s) and the system's reason."""
    paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    reason = exc.strerror or str(exc)
    return f"{paths}: {reason}" if paths else reason


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    progress.enable(True if "--progress" in argv else None)   # shown on a terminal, or when asked
    argv = [a for a in argv if a != "--progress"]
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # named by the sub-command that did not expect them
            parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as exc:  # --help, --version, or a bad option (already printed on one line)
        return exc.code if isinstance(exc.code, int) else 2
    prefix = f"cashsim {args.command}"
    try:
        return int(args.func(args) or 0)
    except CashsimError as exc:
        print(f"{prefix}: error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"{prefix}: error: {_os_message(exc)}", file=sys.stderr)
    except MemoryError:
        print(f"{prefix}: error: out of memory; lower --paths (or simulation.n_paths) or the horizon",
              file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
