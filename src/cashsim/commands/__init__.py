"""Sub-commands of the ``cashsim`` command line, one module each (see cashsim.cli).

Shared checks, run before the long computation so a bad option fails in a second with its name: counts below their
minimum (:func:`check_counts`) and output paths that cannot be written (:func:`check_writable`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from cashsim.errors import OutputError, ParamsError


def check_counts(args: argparse.Namespace, *flags: str, minimum: int = 1) -> None:
    """Refuse a count option given below ``minimum`` (``--paths 0``), by its flag, before anything is read or run."""
    for flag in flags:
        value = getattr(args, flag.replace("-", "_"))
        if value is not None and value < minimum:
            raise ParamsError(f"--{flag} must be at least {minimum}, got {value}", option=f"--{flag}")


def _refuse(option: str, path: Path, why: str) -> OutputError:
    return OutputError(f"{option} {path}: cannot write there: {why}", file=str(path), option=option)


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
        raise _refuse(option, path, f"{existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise _refuse(option, path, f"cannot create a file in {existing} ({exc.strerror})") from None
    return path


def write_output(path: str | Path, text: str, option: str = "output") -> Path:
    """Write a command's output file (UTF-8), creating its folder; returns the path for the "written:" line.

    An OS refusal (permission, disk full, a file in the way) is an :class:`OutputError` naming the path."""
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _refuse(option, out, exc.strerror or str(exc)) from None
    return out
