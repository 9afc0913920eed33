"""Exception and warning types, one per stage, under a single root so callers can catch all of cashsim's errors
(or filter all of its warnings) at once.

Every type takes the message and keyword fields saying where the problem is - ``file``, ``row``, ``column``,
``key`` (None when not given), or any other name - stored on the instance, so a caller reads ``exc.key`` instead
of parsing the text; ``exc.fields`` holds the ones given. Errors stop the run; warnings (:class:`CashsimWarning`)
are soft problems: the result is usable, but the message says what was estimated, clipped or skipped.

Example::

    >>> err = ParamsError("company.yml: invalid parameters", file="company.yml", key="simulation.n_paths")
    >>> err.key, err.row, str(err)
    ('simulation.n_paths', None, 'company.yml: invalid parameters')
    >>> err.fields
    {'file': 'company.yml', 'key': 'simulation.n_paths'}
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

_FIELD_SPEC = re.compile(r"\{(\w+):([^{}]*)\}")


class Msg(NamedTuple):
    """A part of an error message: an English ``template`` (a msgid) and its ``values``; written in English by
    ``str()`` / ``format()``, translated with the message that holds it (:meth:`CashsimError.translated`).

    >>> f"{Msg('at least {n}', {'n': 3})}"
    'at least 3'
    """

    template: str
    values: dict

    def __str__(self) -> str:
        return self.template.format(**self.values)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class _Located:
    """Keyword fields stored as attributes; ``file``, ``row``, ``column`` and ``key`` default to None."""

    file: Any = None
    row: Any = None
    column: Any = None
    key: Any = None

    def __init__(self, *args: Any, **fields: Any) -> None:
        super().__init__(*args)
        for name, value in fields.items():
            if name.startswith("_") or name == "fields" or hasattr(BaseException, name):
                raise TypeError(f"{type(self).__name__}: {name!r} cannot be a field (reserved name)")
            setattr(self, name, value)

    @property
    def fields(self) -> dict[str, Any]:
        """The keyword fields given, in the order given."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


class CashsimError(_Located, Exception):
    """Root of every error cashsim raises on purpose.

    :meth:`of` builds one whose message is a template (an English msgid of the gettext catalogue) filled with
    values, so the command line can show it in the reader's language (:meth:`translated`); ``str(exc)`` stays
    the English text.

    >>> err = ParamsError.of("{path}: cannot read the parameter file ({reason})", path="x.yml",
    ...                      reason="No such file or directory", fields={"file": "x.yml"})
    >>> str(err), err.file
    ('x.yml: cannot read the parameter file (No such file or directory)', 'x.yml')
    >>> err.translated({"{path}: cannot read the parameter file ({reason})": "{path} : illisible ({reason})",
    ...                 "No such file or directory": "fichier introuvable"}.get)
    'x.yml : illisible (fichier introuvable)'
    """

    _lines: tuple = ()

    @classmethod
    def of(cls, template: str, *more: tuple[str, dict], fields: dict | None = None, **values: Any):
        """An error reading ``template.format(**values)``, then one line per extra ``(template, values)`` pair of
        ``more``; ``fields`` are its located fields (file, key, ...). A value named ``reason`` is a message too
        (an operating system's reason), and so is a :class:`Msg` value: they are translated with the template."""
        lines = ((template, values), *more)
        exc = cls("\n".join(t.format(**v) for t, v in lines), **(fields or {}))
        exc._lines = lines
        return exc

    def translated(self, gettext, figure=None) -> str:
        """The message in the language of ``gettext`` (a msgid -> text function returning None or the msgid when
        it has no translation); ``str(self)`` when the error was not built by :meth:`of`. ``figure(value, spec)``
        writes a number field the reader's way (``{paths:,}`` -> ``figure(100000000, ",")``)."""
        if not self._lines:
            return str(self)

        def tr(text: str) -> str:
            return gettext(text) or text

        def said(template: str, values: dict) -> str:
            text = tr(template)
            shown = {k: said(*v) if isinstance(v, Msg) else tr(v) if k == "reason" and isinstance(v, str) else v
                     for k, v in values.items()}
            if figure is not None:
                specs = dict(_FIELD_SPEC.findall(text))
                shown = {k: figure(v, specs.get(k, "")) if isinstance(v, int | float) and not isinstance(v, bool)
                         else v for k, v in shown.items()}
                text = _FIELD_SPEC.sub(r"{\1}", text)
            return text.format(**shown)

        return "\n".join(said(template, values) for template, values in self._lines)


class ParamsError(CashsimError):
    """A parameter file or a command-line value is unreadable or invalid; the message names the file (or the
    option), the key and the fix."""


class LedgerError(CashsimError):
    """A ledger input cannot be used at all (missing file or column, bad mapping); names the file and column."""


class ModelError(CashsimError):
    """Payer behaviour cannot be fitted from the history given (for example no closed invoice at all)."""


class ReportError(CashsimError):
    """A monthly report run failed; the message says which cell and where the failed notebook was kept."""


class InputError(CashsimError, ValueError):
    """A table, array or value handed to a cashsim function (not read from a file) lacks what the function needs:
    a missing column, books that do not match, a bad sheet name. Also a ``ValueError``, as Python code expects."""


class OutputError(CashsimError):
    """An output cannot be written where asked (a file in the way of a folder, no permission, a read-only disk);
    names the path (``file``) and the option that gave it (``option``)."""


class CashsimWarning(_Located, UserWarning):
    """Root of the soft problems cashsim reports with :func:`warnings.warn`: the run goes on."""


class DataWarning(CashsimWarning):
    """Input data is usable but questionable (rows skipped, values filled in); names the file, row and column."""


class ModelWarning(CashsimWarning):
    """A fitted figure leans on a prior or a fallback because the history is thin; names the key or segment."""
