"""Progress of long commands on standard error: what they are doing (reading, fitting, scenario k/n, origin k/n).

Off by default, so the library, the notebooks and the tests print nothing. ``cashsim`` turns it on when standard
error is a terminal, or always with ``--progress`` (anywhere on the command line): :func:`enable`. Messages are one
line each (:func:`step`); loops show a tqdm bar on standard error (:func:`bar`), never on standard output, so
``--json -`` stays clean. Messages and bar labels are English msgids with ``str.format`` fields, shown in the
language of :func:`set_locale` (``cashsim`` sets the output's locale; French by default): a date field is written
the locale's way (``fitting payer behaviour as of 31 oct. 2026`` -> ``ajustement du comportement des payeurs au
31 oct. 2026``).

    >>> list(bar([1, 2], desc="origins"))    # off: the iterable itself
    [1, 2]

:func:`quiet` hides progress in the calling thread only, for the length of a block: ``cashsim report`` computes its
lever study in a thread of its own while papermill's bar runs in the main thread; the study's steps stay off the
console, the other threads' messages and bars are shown as before.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_STATE: dict = {"on": False, "locale": "fr_FR"}
#: Per thread: how many :func:`quiet` blocks the thread is in.
_LOCAL = threading.local()


def set_locale(locale: str) -> None:
    """The language and formats of the messages (``fr_FR``, ``en_GB``...)."""
    _STATE["locale"] = locale


def _text(message: str, fields: dict) -> str:
    """``message`` translated, its fields filled in (dates and numbers in the locale's format)."""
    import datetime as dt

    from cashsim import fmt, i18n

    loc = _STATE["locale"]

    def shown(value):
        if isinstance(value, dt.date):  # datetime and pandas Timestamp too
            return fmt.date(value, locale=loc)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return fmt.number(value, locale=loc)
        return value

    return i18n.translator(loc).gettext(message).format(**{k: shown(v) for k, v in fields.items()})


def enable(on: bool | None = None) -> None:
    """Show progress (True), hide it (False), or show it when standard error is a terminal (None)."""
    _STATE["on"] = bool(sys.stderr.isatty()) if on is None else bool(on)


def enabled() -> bool:
    """Whether progress is shown in the calling thread: turned on (:func:`enable`) and not in a :func:`quiet`
    block of this thread."""
    return _STATE["on"] and not getattr(_LOCAL, "quiet", 0)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Within the block, the calling thread shows no progress; other threads, and this one afterwards, are as
    :func:`enable` set them (blocks nest).

    >>> enable(True)
    >>> with quiet():
    ...     enabled()
    False
    >>> enabled()
    True
    >>> enable(False)
    """
    _LOCAL.quiet = getattr(_LOCAL, "quiet", 0) + 1
    try:
        yield
    finally:
        _LOCAL.quiet -= 1


def step(message: str, **fields: object) -> None:
    """One line ``cashsim: <message>`` on standard error when progress is shown; ``message`` is a msgid whose
    ``{fields}`` are filled after translation."""
    if enabled():
        print(f"cashsim: {_text(message, fields)}", file=sys.stderr, flush=True)


def bar(iterable: Iterable[T], *, desc: str, total: int | None = None) -> Iterator[T] | Iterable[T]:
    """``iterable`` with a tqdm bar on standard error (``desc``, a msgid, then k/n) when progress is shown, else
    unchanged."""
    if not enabled():
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=f"cashsim: {_text(desc, {})}", total=total, file=sys.stderr, leave=True,
                dynamic_ncols=True)
