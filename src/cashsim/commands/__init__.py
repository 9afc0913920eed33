"""Sub-commands of the ``cashsim`` command line, one module each (see cashsim.cli)."""

from __future__ import annotations

from pathlib import Path


def write_output(path: str | Path, text: str) -> Path:
    """Write a command's output file (UTF-8), creating its folder; returns the path for the "written:" line."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
