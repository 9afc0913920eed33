"""Reading one input table: a path (.csv/.txt/.tsv/.xlsx) or a DataFrame, renamed onto our columns.

Text files are decoded UTF-8 (with or without BOM), else cp1252, else latin-1; the separator is the most frequent of
``; , tab |`` in the header line; every cell is read as text and lines with too many fields are kept apart (they
become rejections, not lost rows). ``mapping`` is ours -> theirs per table. Each parsed row keeps its spreadsheet
row number (header = row 1) so rejections point at the line the user sees. Besides our columns, a table's mapping
may set ``date_order: dmy`` (dd/mm/yyyy) or ``mdy`` (mm/dd/yyyy) for all its dates (default: each date column's
own evidence, see :mod:`cashsim.ledger.dates`). Identifier cells of workbooks are read as displayed
(:mod:`cashsim.ledger.excel`).

>>> _spreadsheet_rows(3, np.array([3])).tolist()
[2, 4, 5]
"""

from __future__ import annotations

import difflib
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cashsim.errors import LedgerError
from cashsim.ledger.cells import _text
from cashsim.ledger.columns import DERIVED_COLUMNS, TABLES
from cashsim.ledger.dates import DATE_ORDERS, DATE_PATTERNS
from cashsim.ledger.excel import EXCEL_SUFFIXES, _displayed_ids, _read_excel
from cashsim.ledger.fields import FIELDS

#: The mapping key, beside our column names, that sets a table's day/month order.
DATE_ORDER_KEY = "date_order"


@dataclass(frozen=True)
class _Raw:
    """One input table as read: cells (our column names), where it came from, and each row's spreadsheet number."""

    table: str
    label: str
    frame: pd.DataFrame
    rows: np.ndarray  # spreadsheet row number of each frame row (header = 1)
    bad_lines: np.ndarray  # CSV lines with the wrong number of fields (not in frame)
    date_order: str | None = None  # "dmy" / "mdy" from the mapping; None: each date column's evidence decides
    headers: dict[str, str] = field(default_factory=dict)  # our column -> the file's header, where they differ

    def header(self, column: str) -> str:
        """The file's own header of our ``column`` (``Échéance`` for ``due_date`` when the params map it)."""
        return self.headers.get(column, column)

    def cells(self, column: str, pos: np.ndarray) -> pd.Series:
        """Raw cell text at positions (as the user sees it in the file), '' when the column is absent."""
        if column not in self.frame.columns:
            return pd.Series([""] * len(pos), dtype="str")
        return _text(self.frame[column].iloc[pos].reset_index(drop=True))


def _decode(data: bytes, label: str) -> str:
    """Text of a file: UTF-8 (BOM or not), else Windows-1252, else latin-1."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LedgerError(f"{label}: cannot decode the file as UTF-8 or latin-1")  # pragma: no cover (latin-1 total)


def _sniff_separator(text: str) -> str:
    """The field separator: the candidate most frequent in the header line (';' beats ',' in French exports,
    where commas are decimal marks and csv.Sniffer is misled)."""
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (";", ",", "\t", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def _read_csv(path: Path, label: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a delimited text file as strings; lines with too many fields are returned apart, not lost."""
    try:
        text = _decode(path.read_bytes(), label)
    except OSError as exc:
        raise LedgerError.of("{label}: cannot read the file ({reason})", label=label, reason=exc.strerror) from None
    if not text.strip():
        raise LedgerError.of("{label}: the file is empty; export the table with its header line", label=label)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(io.StringIO(text), sep=_sniff_separator(text), dtype=str, keep_default_na=False,
                                skip_blank_lines=False, on_bad_lines="warn")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise LedgerError.of("{label}: not a readable CSV file ({problem})", label=label, problem=exc) from None
    bad = [int(m.group(1)) for w in caught if (m := re.search(r"line (\d+)", str(w.message)))]
    return frame, np.array(sorted(bad), dtype=np.int64)


def _load(source: Any, table: str) -> tuple[pd.DataFrame, str, np.ndarray]:
    """Cells of one input (path or DataFrame), its label for messages, and CSV lines that were malformed."""
    if isinstance(source, pd.DataFrame):
        return source.reset_index(drop=True), f"{table} (DataFrame)", np.zeros(0, np.int64)
    if not isinstance(source, str | Path):
        raise LedgerError(f"{table}: expected a file path or a pandas DataFrame, got {type(source).__name__}")
    path = Path(source)
    label = str(path)
    if not path.is_file():
        raise LedgerError.of("{label}: {table} file not found; check the path (relative paths in a params file are "
                             "relative to that file's folder)", label=label, table=table)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(path, label), label, np.zeros(0, np.int64)
    if suffix in (".csv", ".txt", ".tsv", ""):
        frame, bad = _read_csv(path, label)
        return frame, label, bad
    raise LedgerError.of("{label}: cannot read '{suffix}' files; export the {table} as .csv, .txt or .xlsx",
                         label=label, suffix=suffix, table=table)


def _close_match(name: str, options: list[str]) -> str | None:
    """The ``repr`` of the option closest to ``name`` (a typo's likely meaning), None when none is close."""
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    return repr(close[0]) if close else None


def _closest(name: str, options: list[str]) -> str:
    close = _close_match(name, options)
    return f"; did you mean {close}?" if close else ""


def _apply_mapping(frame: pd.DataFrame, table: str, label: str,
                   mapping: dict[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename the company's columns onto ours (mapping is ours -> theirs); check required columns are there.
    Returns the frame and, for each column renamed, its header in the file (our name -> theirs)."""
    frame = frame.rename(columns=lambda c: str(c).strip().lstrip("\ufeff"))
    ours = [f.name for f in FIELDS[table]]
    columns = list(frame.columns)
    for our, their in mapping.items():
        if our not in ours:
            close = _close_match(our, ours)
            values = {"table": table, "our": our, "name": repr(our), "valid": ", ".join(ours)}
            if close:
                raise LedgerError.of("mapping.{table}.{our}: {name} is not a cashsim {table} column; did you mean "
                                     "{close}? (valid: {valid})", **values, close=close)
            raise LedgerError.of("mapping.{table}.{our}: {name} is not a cashsim {table} column (valid: {valid})",
                                 **values)
        if str(their).strip() not in columns:
            close = _close_match(str(their), columns)
            values = {"label": label, "table": table, "our": our, "their": repr(their), "columns": ", ".join(columns)}
            if close:
                raise LedgerError.of("{label}: mapping.{table}.{our} points to column {their}, which is not in the "
                                     "file; did you mean {close}? (columns: {columns})", **values, close=close)
            raise LedgerError.of("{label}: mapping.{table}.{our} points to column {their}, which is not in the file "
                                 "(columns: {columns})", **values)
    rename = {str(their).strip(): our for our, their in mapping.items()}
    # a column of the file that already bears one of our mapped names is kept, renamed out of the way
    clash = {c: f"{c}_unmapped" for c in columns if c in mapping and c not in rename}
    frame = frame.rename(columns={**clash, **rename})
    derived = {c: f"{c}_source" for c in frame.columns if c in DERIVED_COLUMNS}
    frame = frame.rename(columns=derived)
    first = {**clash, **rename}
    headers = {derived.get(first.get(c, c), first.get(c, c)): c for c in columns}
    for f in FIELDS[table]:
        if f.required and f.name not in frame.columns:
            close = _close_match(f.name, columns)
            values = {"label": label, "table": table, "column": repr(f.name), "name": f.name,
                      "columns": ", ".join(columns), "close": close or ""}
            raise LedgerError.of(("{label}: missing required {table} column {column}; did you mean {close}? "
                                  if close else "{label}: missing required {table} column {column} ")
                                 + "(columns: {columns}); rename it or map yours in the params file: "
                                 "data.mapping.{table}.{name}: <your column>", **values)
    return frame, {ours: theirs for ours, theirs in headers.items() if ours != theirs}


def _spreadsheet_rows(n: int, bad_lines: np.ndarray) -> np.ndarray:
    """Row numbers of the parsed rows: lines 2, 3, ... skipping the malformed lines read apart."""
    lines = np.arange(2, 2 + n + len(bad_lines))
    return np.setdiff1d(lines, bad_lines, assume_unique=True) if len(bad_lines) else lines


def _read_raw(source: Any, table: str, mapping: dict[str, str]) -> _Raw:
    columns = {our: their for our, their in mapping.items() if our != DATE_ORDER_KEY}
    frame, label, bad_lines = _load(source, table)
    frame, headers = _apply_mapping(frame, table, label, columns)
    if isinstance(source, str | Path) and Path(source).suffix.lower() in EXCEL_SUFFIXES:
        ids = [f.name for f in FIELDS[table] if f.kind == "id" and f.name in frame.columns]
        frame = _displayed_ids(Path(source), frame, ids)
    return _Raw(table, label, frame, _spreadsheet_rows(len(frame), bad_lines), bad_lines,
                mapping.get(DATE_ORDER_KEY), headers)


def _check_mapping(mapping: dict[str, dict[str, str]] | None) -> dict[str, dict[str, str]]:
    mapping = dict(mapping or {})
    unknown = [t for t in mapping if t not in TABLES]
    if unknown:
        raise LedgerError(f"mapping: unknown table(s) {unknown}{_closest(unknown[0], list(TABLES))}; "
                          f"tables are {', '.join(TABLES)}")
    checked = {t: dict(mapping.get(t) or {}) for t in TABLES}
    for table, columns in checked.items():
        if DATE_ORDER_KEY in columns:
            columns[DATE_ORDER_KEY] = _check_date_order(table, columns[DATE_ORDER_KEY])
    return checked


def _check_date_order(table: str, value: Any) -> str:
    """``mapping.<table>.date_order`` as "dmy" or "mdy" (case and spaces ignored), for a table that has dates."""
    if not any(f.kind == "date" for f in FIELDS[table]):
        raise LedgerError.of("mapping.{table}.date_order: the {table} table has no date column", table=table)
    order = str(value).strip().lower()
    if order not in DATE_ORDERS:
        choices = " or ".join(f"{o} ({DATE_PATTERNS[o]})" for o in DATE_ORDERS)
        raise LedgerError.of("mapping.{table}.date_order: {value} is not a date order; use {choices}", table=table,
                             value=repr(value), choices=choices)
    return order
