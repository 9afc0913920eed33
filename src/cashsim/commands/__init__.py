"""Sub-commands of the ``cashsim`` command line, one module each (see cashsim.cli).

Shared checks, run before the long computation so a bad option fails in a second with its name: counts below their
minimum (:func:`check_counts`) and output paths that cannot be written (:func:`check_writable`).

Language: every sentence, table header and verdict a command prints is an English msgid looked up in the gettext
catalogue (:mod:`cashsim.i18n`) through :func:`_`, and every figure goes through :mod:`cashsim.fmt`
(:func:`num`, :func:`money`, :func:`pct`, :func:`day`). The locale is the global ``--locale`` option when given
(:func:`set_locale`), else ``report.locale`` of the params file once a command has read it (:func:`load`), else
French (``fr_FR``). JSON and CSV files keep English machine keys.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from pathlib import Path

from cashsim import fmt, i18n, progress
from cashsim.errors import OutputError, ParamsError
from cashsim.i18n import N_

_LANG: dict[str, str | None] = {"explicit": None, "locale": fmt.DEFAULT_LOCALE}

#: The sub-commands in the order ``cashsim --help`` lists them, each with the one line it lists (a msgid). The
#: command line declares every sub-command from this table and imports a command's module only when that command
#: runs (:func:`cashsim.cli.build_parser`); the module's ``register`` gives the same line to its parser.
SUMMARIES: dict[str, str] = {
    "demo": N_("run the monthly report of the embedded demo company and print its path"),
    "validate": N_("check a params file and its ledger; print the ledger summary"),
    "forecast": N_("Monte Carlo forecast of collections by month and week, as JSON"),
    "backtest": N_("rolling-origin backtest of the forecast vs baselines"),
    "targets": N_("monthly smoothed cash target, P(met), weekly cash position"),
    "levers": N_("collection levers side by side against the target; cheapest plan"),
    "report": N_("run the monthly report into reports/<company>/YYYY-MM/ (HTML, notebook, summary)"),
    "panel": N_("serve the scenario panel (Voilà) on localhost"),
}


def set_locale(explicit: str | None) -> None:
    """The locale of the command's output: ``explicit`` (the ``--locale`` option, checked by Babel) or, when None,
    French until a params file says otherwise (:func:`use_params`)."""
    if explicit is not None:
        explicit = str(fmt.parse_locale(explicit)).replace("-", "_")
    _LANG["explicit"] = explicit
    _LANG["locale"] = explicit or fmt.DEFAULT_LOCALE
    progress.set_locale(_LANG["locale"])


def use_params(params):
    """Take ``params.report.locale`` as the output's locale unless ``--locale`` was given; returns ``params``."""
    if _LANG["explicit"] is None:
        _LANG["locale"] = params.report.locale
        progress.set_locale(params.report.locale)
    return params


def load(path):
    """:func:`cashsim.params.load_params`, and its ``report.locale`` for the output (:func:`use_params`)."""
    from cashsim.params import load_params

    return use_params(load_params(path))


def locale() -> str:
    """The locale of the command's output (``fr_FR``, ``en_GB``...)."""
    return _LANG["locale"] or fmt.DEFAULT_LOCALE


def _(message: str) -> str:
    """``message`` (an English msgid) in the output's language."""
    return i18n.translator(locale()).gettext(message)


def n_(singular: str, plural: str, n: int) -> str:
    """The singular or plural msgid for the count ``n``, in the output's language."""
    return i18n.translator(locale()).ngettext(singular, plural, n)


def num(x, decimals: int = 0) -> str:
    """A number in the output's locale (``1 234`` in French, with a narrow no-break space); never ``-0``
    (:func:`cashsim.fmt.number`)."""
    return fmt.number(x, locale=locale(), decimals=decimals)


def figure(value, spec: str = "") -> str:
    """A number field of an error message (:meth:`cashsim.errors.CashsimError.translated`) in the output's locale
    when its template formats it (``{paths:,}``, ``{needed:,.1f}``); as written (a line, a port) otherwise."""
    if not spec:
        return str(value)
    decimals = re.search(r"\.(\d+)f", spec)
    return num(value, int(decimals.group(1)) if decimals else 0)


def money(x, decimals: int = 0, currency: str = "EUR") -> str:
    """An amount in the output's locale (``1 234 €`` in French)."""
    return fmt.money(x, locale=locale(), decimals=decimals, currency=currency)


def pct(x, decimals: int = 0) -> str:
    """A share as a percentage in the output's locale (``82 %`` in French)."""
    return fmt.percent(x, locale=locale(), decimals=decimals)


def day(d) -> str:
    """A date in the output's locale (``31 oct. 2026`` in French)."""
    return fmt.date(d, locale=locale())


def month(m) -> str:
    """A month as the reader says it (``novembre 2026``)."""
    return fmt.month_name(m, locale=locale())


def colon(label: str) -> str:
    """``label`` followed by a colon as the language writes it (``Plan :`` with a no-break space in French)."""
    return _("{label}:").format(label=label)


def text_table(frame, formats: dict | None = None, labels: dict[str, str] | None = None, *,
               translate: tuple[str, ...] = ()) -> str:
    """A table for the terminal: ``formats`` maps a column to a function writing its cells (the helpers above),
    ``translate`` lists the columns whose values are msgids, ``labels`` the header msgid of each column (the
    column name when absent). Every header is translated; missing values show as an en dash."""
    import pandas as pd

    shown = pd.DataFrame(index=range(len(frame)))
    for col in frame.columns:
        values = list(frame[col])
        if col in (formats or {}):
            cells = [formats[col](v) for v in values]
        elif col in translate:
            cells = [_(str(v)) if isinstance(v, str) else fmt.MISSING for v in values]
        else:
            cells = [fmt.MISSING if v is None or (isinstance(v, float) and v != v) else str(v) for v in values]
        shown[_((labels or {}).get(col, col))] = cells
    return shown.to_string(index=False)


def check_counts(args: argparse.Namespace, *flags: str, minimum: int = 1) -> None:
    """Refuse a count option given below ``minimum`` (``--paths 0``), by its flag, before anything is read or run."""
    for flag in flags:
        value = getattr(args, flag.replace("-", "_"))
        if value is not None and value < minimum:
            raise ParamsError.of("{option} must be at least {minimum}, got {value}", option=f"--{flag}",
                                 minimum=minimum, value=value, fields={"option": f"--{flag}"})


def _refuse(option: str, path: Path, why: str, **values) -> OutputError:
    """``why`` is a msgid filled with ``values``: the line is translated as a whole (:meth:`CashsimError.of`)."""
    return OutputError.of("{option} {path}: cannot write there: " + why, option=option, path=path, **values,
                          fields={"file": str(path), "option": option})


def check_writable(path: str | Path, option: str, *, folder: bool = False) -> Path:
    """Refuse an output ``path`` that cannot be written, naming ``option``, before the run: a folder where a file
    is asked (or the reverse), a file in the way of a folder to create, a folder without write permission or on a
    read-only disk. Nothing is created: the deepest existing folder is probed with a nameless temporary file.
    ``folder=True``: ``path`` is a folder the command fills. Returns ``path`` as a Path."""
    path = Path(path)
    if path.exists():
        if folder and not path.is_dir():
            raise _refuse(option, path, "it is a file, not a folder")
        if not folder and path.is_dir():
            raise _refuse(option, path, "it is a folder; give a file name")
        if not folder and not os.access(path, os.W_OK):
            raise _refuse(option, path, "the file is read-only")
    existing = path if folder else path.parent
    existing = existing.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise _refuse(option, path, "{existing} is a file, not a folder", existing=existing)
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise _refuse(option, path, "cannot create a file in {existing} ({reason})", existing=existing,
                      reason=exc.strerror) from None
    return path


def write_output(path: str | Path, text: str, option: str = "output") -> Path:
    """Write a command's output file (UTF-8), creating its folder; returns the path for the "written:" line.

    An OS refusal (permission, disk full, a file in the way) is an :class:`OutputError` naming the path."""
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _refuse(option, out, "{reason}", reason=exc.strerror or str(exc)) from None
    return out
