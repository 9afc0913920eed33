"""Excel workbooks: the first sheet's cells as Python values, and identifier cells as the user sees them.

Identifiers (``invoice_id``, ``customer_id``) are codes, not quantities: a cell holding the number 123 shown as
``00123`` by a zero-padded number format (``00000``, or ``"F"00000`` with a literal prefix) is read as the text
``00123`` (``F00123``), as typed in the other files; an integer stored as a float (``123.0``) is ``123``. Other
number formats leave the value as it is (and :func:`cashsim.ledger.cells._parse_ids` drops a ``.0``).

>>> _displayed(123, "00000"), _displayed(45.0, '"F"00000'), _displayed(611365.0, "General"), _displayed(1.5, "00")
('00123', 'F00045', '611365', 1.5)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cashsim.errors import LedgerError
from cashsim.ledger.cells import _is_scalar_type

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
#: A zero-padded integer format: literal text in quotes or escaped with a backslash around a run of zeros.
_PADDED_FORMAT = re.compile(r'^((?:"[^"]*"|\\.)*)(0+)((?:"[^"]*"|\\.)*)$')


def _read_excel(path: Path, label: str) -> pd.DataFrame:
    try:
        return pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise LedgerError(f"{label}: cannot read the Excel workbook ({type(exc).__name__}: {exc})") from None


def _literal(text: str) -> str:
    """The text a format's literals display: quotes and escaping backslashes removed."""
    return re.sub(r'"([^"]*)"|\\(.)', lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)


def _displayed(value: Any, number_format: str | None) -> Any:
    """An integral number as its cell shows it (zero-padded formats applied), else the value unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not np.isfinite(value):
        return value
    if value != round(value):
        return value
    digits = str(abs(int(round(value))))
    sign = "-" if value < 0 else ""
    padded = _PADDED_FORMAT.match(number_format or "")
    if padded is None:
        return sign + digits
    prefix, zeros, suffix = padded.groups()
    return sign + _literal(prefix) + digits.zfill(len(zeros)) + _literal(suffix)


def _number_formats(path: Path, columns: list[int], n_rows: int) -> dict[int, list[str | None]]:
    """Number format of the cells of the given 0-based columns, data rows 2 .. n_rows + 1 of the first sheet."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    try:
        sheet = book.worksheets[0]
        first, last = min(columns), max(columns)
        formats: dict[int, list[str | None]] = {j: [] for j in columns}
        rows = sheet.iter_rows(min_row=2, max_row=n_rows + 1, min_col=first + 1, max_col=last + 1)
        for row in rows:
            for j in columns:
                cell = row[j - first] if j - first < len(row) else None
                formats[j].append(getattr(cell, "number_format", None))
        for j in columns:  # rows openpyxl did not return (none in practice) have no format
            formats[j] += [None] * (n_rows - len(formats[j]))
        return formats
    finally:
        book.close()


def _displayed_ids(path: Path, frame: pd.DataFrame, id_columns: list[str]) -> pd.DataFrame:
    """``frame`` (as read by :func:`_read_excel`, our column names) with the numeric cells of ``id_columns`` replaced
    by their displayed text. The workbook is opened again only when some identifier cell holds a number."""
    unique = [c for c in id_columns if isinstance(frame.columns.get_loc(c), int)]
    numeric = {c: _is_scalar_type(frame[c], (int, float, np.number)) for c in unique}
    numeric = {c: mask for c, mask in numeric.items() if mask.any()}
    if not numeric:
        return frame
    position = {c: frame.columns.get_loc(c) for c in numeric}
    formats = _number_formats(path, list(position.values()), len(frame))
    out = frame.copy()
    for c, mask in numeric.items():
        values = out[c].to_numpy(dtype=object, copy=True)
        fmt = formats[position[c]]
        shown: dict[tuple[Any, str | None], Any] = {}  # ids repeat (payments of one invoice): format each once
        for i in np.flatnonzero(mask):
            key = (values[i], fmt[i])
            if key not in shown:
                shown[key] = _displayed(*key)
            values[i] = shown[key]
        out[c] = pd.Series(values, index=out.index, dtype=object)
    return out
