"""The command line: a thin layer over functions the tests call directly.

Each sub-command lives in ``cashsim.commands.<name>`` and exposes ``register(subparsers)``, which adds its parser
and sets ``func(args) -> int`` (the exit code).

Rule for failures: a problem with the user's input or environment is one line on standard error,
``cashsim <command>: error: <message>``, and exit code 2 - a cashsim error (:class:`~cashsim.errors.CashsimError`),
a bad option (argparse), an OS refusal on a path (missing file, permission, a folder where a file is expected: the
line names the path), memory exhausted. Ctrl-C exits with 130 and one line. Only a bug in cashsim shows a traceback.
Long commands (report, levers, backtest) say what they are doing on standard error when it is a terminal, or
always with ``--progress`` anywhere on the line (:mod:`cashsim.progress`).

Language: what the commands print (sentences, table headers, verdicts, progress, error lines, argparse's own
messages) is in the language of ``report.locale`` of the params file, French by default, or of ``--locale CODE``
given anywhere on the line (``--locale en_GB`` for English); numbers, amounts, percentages and dates follow the
same locale (:mod:`cashsim.commands`). JSON and CSV outputs keep their English machine keys.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from cashsim import __version__, commands, progress
from cashsim.commands import _
from cashsim.errors import CashsimError

#: Sub-command modules, in the order ``cashsim --help`` lists them (``commands.SUMMARIES``, with their one line).
COMMANDS = tuple(commands.SUMMARIES)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (``cashsim forecast: error: argument --paths: invalid int value: 'x'``) and
    the hint to ``--help`` instead of the usage block; sub-command parsers are of the same class. ``commands``:
    the sub-command parsers by name."""

    commands: dict[str, argparse.ArgumentParser]  # set by build_parser

    def error(self, message: str):  # argparse's signature: never returns
        self.exit(2, _("{prog}: error: {message} (see {prog} --help)").format(prog=self.prog, message=message)
                  + "\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``cashsim`` parser. ``command``: the one sub-command whose module (``cashsim.commands.<name>``) is imported
    to give its parser its options, description and ``func``; every other one is declared by name and its line of
    ``cashsim --help`` only (``commands.SUMMARIES``), so the command that runs does not wait for the others' imports
    (pandera, pydantic, the panel's). ``""``: none is imported (``cashsim --help``, a bad command name); None: all
    are (tests, documentation)."""
    parser = _Parser(
        prog="cashsim",
        description=_("How much cash the customers will pay, whether it covers the smoothed cash target, and "
                      "which collection lever closes the gap at the lowest cost."))
    parser.add_argument("--version", action="version", version=f"cashsim {__version__}",
                        help=_("show program's version number and exit"))
    parser.add_argument("--locale", metavar="CODE",
                        help=_("language and number formats of what cashsim prints, anywhere on the line: fr_FR "
                               "(French), en_GB (English)...; default: report.locale of the params file, else "
                               "fr_FR. JSON and CSV files keep English keys"))
    parser.add_argument("--progress", action="store_true",
                        help=_("say what long commands are doing on standard error (anywhere on the line)"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        if command is None or name == command:
            importlib.import_module(f"cashsim.commands.{name}").register(sub)
        else:
            sub.add_parser(name, help=_(commands.SUMMARIES[name]))
    parser.commands = sub.choices
    return parser


def _os_message(exc: OSError) -> str:
    """``/data/factures.csv: No such file or directory``: the path(s) and the system's reason (translated)."""
    paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
    reason = _(exc.strerror) if exc.strerror else str(exc)
    return f"{paths}: {reason}" if paths else reason


def _take_locale(argv: list[str]) -> tuple[list[str], str | None]:
    """``argv`` without ``--locale CODE`` / ``--locale=CODE`` (accepted anywhere on the line), and the code."""
    out, code, i = [], None, 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--locale" and i + 1 < len(argv):
            code, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--locale="):
            code = arg.split("=", 1)[1]
        else:
            out.append(arg)
        i += 1
    return out, code


def _translated_argparse():
    """argparse's own words (usage, options, its error messages) looked up in cashsim's catalogue: argparse calls
    the module globals ``_`` and ``ngettext`` of :mod:`argparse` when it builds a message. Returns the originals."""
    from cashsim import i18n

    saved = (argparse._, argparse.ngettext)
    tr = i18n.translator(commands.locale())
    argparse._, argparse.ngettext = tr.gettext, tr.ngettext
    return saved


def _printable_streams() -> None:
    """A terminal or log whose encoding cannot write French typography (``’``, ``€``, the narrow no-break space of
    ``1 234``) gets a replacement character instead of a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        try:
            "\u202f\u00a0€’éû".encode(stream.encoding or "ascii")
        except (UnicodeEncodeError, LookupError, AttributeError):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="replace")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _printable_streams()
    progress.enable(True if "--progress" in argv else None)   # shown on a terminal, or when asked
    argv, code = _take_locale([a for a in argv if a != "--progress"])
    try:
        commands.set_locale(code)
    except CashsimError:
        commands.set_locale(None)
        print(_("{prog}: error: {message}").format(prog="cashsim", message=_(
            "--locale {code}: not a locale Babel knows; use a language_TERRITORY code such as fr_FR, en_GB or "
            "de_DE").format(code=repr(code))), file=sys.stderr)
        return 2
    saved = _translated_argparse()
    try:
        return _run(argv)
    finally:
        argparse._, argparse.ngettext = saved


def command_of(argv: list[str]) -> str:
    """The sub-command ``argv`` runs: its first word that is no option (``--locale`` and ``--progress`` are taken out
    before; the other global options take no value), when it names one; else ``""``.

    >>> command_of(["--version"]), command_of(["report", "--params", "x.yml"]), command_of(["nope"])
    ('', 'report', '')
    """
    first = next((a for a in argv if not a.startswith("-")), "")
    return first if first in COMMANDS else ""


def _run(argv: list[str]) -> int:
    parser = build_parser(command_of(argv))
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # named by the sub-command that did not expect them
            parser.commands[args.command].error(_("unrecognized arguments: %s") % " ".join(unknown))
    except SystemExit as exc:  # --help, --version, or a bad option (already printed on one line)
        return exc.code if isinstance(exc.code, int) else 2
    prog = f"cashsim {args.command}"
    try:
        return int(args.func(args) or 0)
    except CashsimError as exc:
        message = exc.translated(_, commands.figure)
    except OSError as exc:
        message = _os_message(exc)
    except MemoryError:
        message = _("out of memory; lower --paths (or simulation.n_paths) or the horizon")
    except KeyboardInterrupt:
        print(f"{prog}: {_('interrupted')}", file=sys.stderr)
        return 130
    print(_("{prog}: error: {message}").format(prog=prog, message=message), file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
