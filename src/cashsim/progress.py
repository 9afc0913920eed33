"""Progress of long commands on standard error: what they are doing (reading, fitting, scenario k/n, origin k/n).

Off by default, so the library, the notebooks and the tests print nothing. ``cashsim`` turns it on when standard
error is a terminal, or always with ``--progress`` (anywhere on the command line): :func:`enable`. Messages are one
line each (:func:`step`); loops show a tqdm bar on standard error (:func:`bar`), never on standard output, so
``--json -`` stays clean.

    >>> list(bar([1, 2], desc="origins"))    # off: the iterable itself
    [1, 2]
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_STATE = {"on": False}


def enable(on: bool | None = None) -> None:
    """Show progress (True), hide it (False), or show it when standard error is a terminal (None)."""
    _STATE["on"] = bool(sys.stderr.isatty()) if on is None else bool(on)


def enabled() -> bool:
    """Whether progress is shown."""
    return _STATE["on"]


def step(message: str) -> None:
    """One line ``cashsim: <message>`` on standard error when progress is shown."""
    if _STATE["on"]:
        print(f"cashsim: {message}", file=sys.stderr, flush=True)


def bar(iterable: Iterable[T], *, desc: str, total: int | None = None) -> Iterator[T] | Iterable[T]:
    """``iterable`` with a tqdm bar on standard error (``desc`` k/n) when progress is shown, else unchanged."""
    if not _STATE["on"]:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=f"cashsim: {desc}", total=total, file=sys.stderr, leave=True, dynamic_ncols=True)
