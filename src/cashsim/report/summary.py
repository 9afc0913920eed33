"""The headline figures a report notebook hands to the driver: ``summary.json``'s contract.

The notebook's last cell displays ``summary_bundle(figures)`` - a mime bundle under :data:`SUMMARY_MIMETYPE` (JSON
made plain: dates as ``YYYY-MM-DD``, numpy scalars as numbers) - and the driver reads the last such output back with
:func:`read_summary`, adds the run's metadata and writes ``summary.json``.

Example::

    >>> bundle = summary_bundle({"month": "2026-11", "p_target_met": 0.8})
    >>> sorted(bundle)
    ['application/vnd.cashsim.summary+json', 'text/plain']
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from cashsim.errors import ReportError

if TYPE_CHECKING:  # nbformat is imported by the driver only (the kernel imports this module too)
    import nbformat

#: Mimetype of the headline figures the notebook's last cell displays; the driver reads it into summary.json.
SUMMARY_MIMETYPE = "application/vnd.cashsim.summary+json"


def read_summary(notebook: nbformat.NotebookNode) -> dict[str, Any]:
    """The headline figures the notebook displayed under :data:`SUMMARY_MIMETYPE` (the last such output)."""
    found = None
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if SUMMARY_MIMETYPE in data:
                found = data[SUMMARY_MIMETYPE]
    if found is None:
        raise ReportError.of("the report notebook displayed no {mimetype} output: its last cell must display "
                             "cashsim.report.summary_bundle(...)", mimetype=SUMMARY_MIMETYPE)
    return dict(found)


def summary_bundle(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A mime bundle to ``display(..., raw=True)`` in the notebook: the driver picks it up for summary.json."""
    clean = json.loads(json.dumps(summary, default=_json_default))
    return {SUMMARY_MIMETYPE: clean, "text/plain": json.dumps(clean, ensure_ascii=False, indent=1)}


def _json_default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | dt.date):
        return value.isoformat()[:10] if isinstance(value, dt.date) and not isinstance(value, dt.datetime) \
            else value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
