"""Tables written for people to open in a spreadsheet (CSV, Excel), safe from formula injection.

Rule (OWASP "CSV injection"): a text cell - or column name - starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is written with a single quote ``'`` in front, so Excel or LibreOffice shows it as text instead of
running it as a formula (``=HYPERLINK(...)`` in a customer name taken from a ledger would otherwise be a live link
in the CFO's spreadsheet). Numbers, dates and missing values are written as they are: only text is touched. Every
CSV or workbook cashsim writes for a user goes through :func:`write_csv` or :func:`write_xlsx`.

Example::

    >>> import pandas as pd
    >>> neutralise(pd.DataFrame({"name": ["=1+1", "ACME", "-2"], "amount": [-2.0, 3.0, 4.0]}))
        name  amount
    0  '=1+1    -2.0
    1   ACME     3.0
    2    '-2     4.0
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from cashsim.errors import InputError

#: First characters a spreadsheet reads as the start of a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is text starting a formula; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name passed through :func:`neutralise_cell`."""
    out = frame.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if col.dtype == object or isinstance(col.dtype, pd.CategoricalDtype | pd.StringDtype):
            out.isetitem(i, col.astype(object).map(neutralise_cell))
    out.columns = [neutralise_cell(c) for c in out.columns]
    if out.index.dtype == object and not isinstance(out.index, pd.MultiIndex):
        out.index = out.index.map(neutralise_cell)
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, *, index: bool = False) -> Path:
    """Write ``frame`` as CSV (UTF-8, comma-separated) after :func:`neutralise`, creating the folder; returns the
    path. Lines end with CRLF (RFC 4180): the csv writer then quotes a text cell holding a carriage return or a line
    break, so it stays one cell (with pandas' default ``\\n`` a bare ``\\r`` would split the row)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    neutralise(frame).to_csv(out, index=index, lineterminator="\r\n")
    return out


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path, *, index: bool = False) -> Path:
    """Write one worksheet per ``sheets`` item (name -> table, in order) to an .xlsx workbook (openpyxl) after
    :func:`neutralise`, creating the folder; returns the path. Sheet names: at most 31 characters, none of
    ``[]:*?/\\`` (Excel's rule; a ValueError otherwise). Control characters a workbook cannot hold (``\\x00`` to
    ``\\x1f`` but tab and line breaks) are written as the visible text ``\\x01``. A table's ``attrs["notes"]``
    (sentences) are written below it, after a blank row, one a row in column A."""
    for name in sheets:
        if not name or len(name) > 31 or any(c in name for c in "[]:*?/\\"):
            raise InputError(f"sheet name {name!r}: 1 to 31 characters, none of []:*?/\\")
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def visible(value: Any) -> Any:
        return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", value) if isinstance(value, str) \
            else value

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            table = neutralise(frame)
            for i in range(table.shape[1]):
                if table.iloc[:, i].dtype == object:
                    table.isetitem(i, table.iloc[:, i].map(visible))
            table.to_excel(writer, sheet_name=name, index=index)
            sheet = writer.sheets[name]
            below = sheet.max_row + 2          # a blank row, then one sentence a row in column A
            for k, note in enumerate(frame.attrs.get("notes") or ()):
                sheet.cell(row=below + k, column=1, value=visible(neutralise_cell(str(note))))
    return out
