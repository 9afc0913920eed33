"""Sub-commands of the ``cashsim`` command line, one module each (see cashsim.cli)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cashsim.errors import ParamsError


def check_counts(args: argparse.Namespace, *flags: str) -> None:
    """Refuse a count option given below 1 (``--paths 0``), by its flag, before anything is read or run."""
    for flag in flags:
        value = getattr(args, flag.replace("-", "_"))
        if value is not None and value < 1:
            raise ParamsError(f"--{flag} must be at least 1, got {value}")


def write_output(path: str | Path, text: str) -> Path:
    """Write a command's output file (UTF-8), creating its folder; returns the path for the "written:" line."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
