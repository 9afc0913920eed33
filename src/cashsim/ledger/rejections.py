"""Rejected rows: the :class:`Reason` vocabulary and the sink that moves bad rows out of a working table (and
collects the notes of :mod:`cashsim.ledger.notes` on the rows it keeps).

A rejection row is (table, file, row, column, header, value, reason, detail): ``row`` is the spreadsheet row
(header = 1), ``column`` cashsim's name of the column and ``header`` the file's own (the params' mapping undone),
``value`` the raw cell text as the user sees it, ``reason`` one :class:`Reason`, ``detail`` what the cell should
look like or which other row it conflicts with. A row is rejected once; :meth:`_Sink.take` removes it from the
working table so it takes no part in later checks.

>>> str(Reason.DUPLICATE_ID)
'duplicate id'
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from cashsim.ledger.columns import REJECTION_COLUMNS, TABLES
from cashsim.ledger.files import _Raw
from cashsim.ledger.notes import NoteReason, _note_rows


class Reason(StrEnum):
    """Why a row was rejected: the fixed vocabulary of ``ledger.rejections.reason`` (details go in ``detail``)."""

    EMPTY_ROW = "empty row"
    BAD_LINE = "wrong number of fields"
    MISSING_VALUE = "missing value"
    BAD_DATE = "unparseable date"
    DATE_ORDER = "date contradicts the column's day/month order"
    BAD_NUMBER = "not a number"
    BAD_VALUE = "value not allowed"
    ZERO_AMOUNT = "zero amount"
    DUE_BEFORE_ISSUE = "due date before issue date"
    RESOLVED_BEFORE_OPENED = "dispute resolved before it was opened"
    PROMISED_BEFORE_MADE = "promised date before the promise was made"
    DUPLICATE_ID = "duplicate id"
    MINORITY_CURRENCY = "minority currency"
    UNKNOWN_INVOICE = "unknown invoice"
    REJECTED_INVOICE = "invoice rejected"
    BEFORE_ISSUE = "dated before the invoice was issued"
    OPPOSITE_SIGN = "sign opposite to the invoice"
    OVERPAYMENT = "payments exceed the amount"
    UNKNOWN_CUSTOMER = "unknown customer"
    OTHER_CUSTOMER = "invoice of another customer"
    NOT_AN_INVOICE = "names a credit note, not an invoice"
    REFUND_ON_ACCOUNT = "negative payment on no invoice"


def _rejections(raw: _Raw, pos: np.ndarray, column: str, reason: str, detail: Any = "") -> pd.DataFrame:
    """Rejection rows for the rows at ``pos`` of ``raw``."""
    pos = np.asarray(pos, dtype=np.int64)
    return pd.DataFrame({
        "table": raw.table, "file": raw.label, "row": raw.rows[pos], "column": column, "header": raw.header(column),
        "value": raw.cells(column, pos).to_numpy(), "reason": str(reason),
        "detail": np.asarray(detail, dtype=object) if not isinstance(detail, str) else detail,
    }, index=range(len(pos)))


def as_in_the_file(table: pd.DataFrame) -> pd.DataFrame:
    """A rejections or notes table for the reader: its ``column`` named as in the user's file (``header``: the
    params' mapping undone), the ``header`` column folded into it. Tables without ``header`` are returned as is."""
    if "header" not in table.columns:
        return table
    header = table["header"].astype(str)
    return table.assign(column=header.where(header != "", table["column"].astype(str))).drop(columns="header")


def _empty_rejections() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "str") for c in REJECTION_COLUMNS})


class _Sink:
    """Collects rejection frames; ``take`` moves the masked rows of a working table into the rejections; ``note``
    records a replaced or redirected cell of a row that stays."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []
        self.notes: list[pd.DataFrame] = []

    def note(self, raw: _Raw, pos: np.ndarray, column: str, used: Any, reason: NoteReason) -> None:
        """Note the cells of ``column`` at frame positions ``pos`` of ``raw``: ``used`` replaced them."""
        pos = np.asarray(pos, dtype=np.int64)
        if len(pos):
            self.notes.append(_note_rows(raw.table, raw.label, raw.rows[pos], column, raw.header(column),
                                         raw.cells(column, pos).to_numpy(), used, reason))

    def take(self, raw: _Raw, work: pd.DataFrame, mask: Any, column: str, reason: Reason,
             detail: Any = "") -> pd.DataFrame:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            if not isinstance(detail, str):
                detail = np.asarray(detail, dtype=object)[mask]
            self.parts.append(_rejections(raw, work["_pos"].to_numpy()[mask], column, reason, detail))
            return work[~mask].reset_index(drop=True)
        return work

    def frame(self) -> pd.DataFrame:
        parts = [p for p in self.parts if len(p)]
        if not parts:
            return _empty_rejections()
        out = pd.concat(parts, ignore_index=True)
        order = pd.Series(out["table"]).map({t: i for i, t in enumerate(TABLES)})
        out = out.assign(_t=order).sort_values(["_t", "row"], kind="stable").drop(columns="_t")
        return out.reset_index(drop=True).astype({"row": "int64"})


def _sparse_detail(mask: np.ndarray, make: Any) -> np.ndarray:
    """A detail column that is '' except where ``mask``, filled by ``make(indices)`` (only the few bad rows)."""
    detail = np.full(len(mask), "", dtype=object)
    idx = np.flatnonzero(mask)
    if len(idx):
        detail[idx] = np.asarray(make(idx), dtype=object)
    return detail
