"""Per-row validation of one table: typed canonical columns (+ the company's extra columns as text) of the rows
that pass, and one rejection per failing row, for its first problem.

Problems in priority order: empty row, unreadable cell (date, number, yes/no) or date contradicting its column's
day/month order (:mod:`cashsim.ledger.dates`), missing required cell, value not allowed / zero amount, dates out of
order; each rejection's ``detail`` says what the cell should look like. A coded label matching nothing is no
problem: the row keeps the column's fallback and the sink notes it (:mod:`cashsim.ledger.notes`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim.ledger import wording as W
from cashsim.ledger.cells import _as_str, _distinct, _parse_bools, _parse_choices, _parse_currency, _parse_ids, _text
from cashsim.ledger.dates import DATE_ORDERS, DATE_PATTERNS, _DateRead, _read_dates
from cashsim.ledger.fields import FIELDS, _Field
from cashsim.ledger.files import _Raw
from cashsim.ledger.notes import NoteReason
from cashsim.ledger.numbers import parse_numbers
from cashsim.ledger.rejections import Reason, _rejections, _Sink
from cashsim.ledger.schema import _schema_problems


def _parse_field(raw: pd.DataFrame, f: _Field) -> tuple[pd.Series, np.ndarray]:
    """Parse one canonical column (or build its default when the column is absent); dates: :func:`_parse_dates`."""
    n = len(raw)
    if f.name not in raw.columns:
        if f.kind == "date":
            return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"), np.zeros(n, bool)
        if f.kind in ("number", "int"):
            return pd.Series(np.nan, index=range(n), dtype=float), np.zeros(n, bool)
        if f.kind == "bool":
            return pd.Series(np.full(n, bool(f.default))), np.zeros(n, bool)
        return pd.Series([f.default] * n, dtype="str"), np.zeros(n, bool)
    col = raw[f.name]
    if f.kind == "id":
        return _parse_ids(col)
    if f.kind in ("number", "int"):
        return parse_numbers(col)
    if f.kind == "bool":
        return _parse_bools(col, bool(f.default))
    if f.kind in ("choice", "channel"):
        return _parse_choices(col, f.synonyms or {}, f.default, f.fallback)[0], np.zeros(n, bool)
    if f.kind == "currency":
        return _parse_currency(col, f.default), np.zeros(n, bool)
    codes, texts = _distinct(col)
    return _as_str(texts, codes), np.zeros(n, bool)


_PARSE_REASON = {"date": Reason.BAD_DATE, "number": Reason.BAD_NUMBER, "int": Reason.BAD_NUMBER,
                 "bool": Reason.BAD_VALUE}


def _parse_table(raw: _Raw, sink: _Sink) -> pd.DataFrame:
    """Typed canonical columns (+ the company's extra columns as text) of the rows that pass the per-row checks.

    Each rejected row is reported once, for its first problem: empty row, unreadable cell, missing required cell,
    value not allowed / zero amount, dates out of order.
    """
    fields = FIELDS[raw.table]
    n = len(raw.frame)
    typed, problems, details = {}, [], {}
    for f in fields:
        if f.kind == "date" and f.name in raw.frame.columns:
            values, bad, order_problems, order_details = _parse_dates(raw, f.name)
            problems += order_problems
            details.update(order_details)
        elif f.kind in ("choice", "channel") and f.name in raw.frame.columns:
            values, unknown = _parse_choices(raw.frame[f.name], f.synonyms or {}, f.default, f.fallback)
            bad = np.zeros(n, bool)
            if f.fallback is not None:
                sink.note(raw, np.flatnonzero(unknown), f.name, f.fallback, NoteReason.LABEL_UNKNOWN)
        else:
            values, bad = _parse_field(raw.frame, f)
        typed[f.name] = values
        if bad.any():
            problems.append(pd.DataFrame({"pos": np.flatnonzero(bad), "column": f.name,
                                          "reason": str(_PARSE_REASON[f.kind]), "priority": 0}))
    work = pd.DataFrame(typed, index=range(n))
    problems.append(_schema_problems(raw.table, work))
    # a blank row has no id: only those candidates are checked cell by cell
    blank = work[fields[0].name].isna().to_numpy(copy=True)
    for c in raw.frame.columns:
        if blank.any():
            blank[blank] = (_text(raw.frame[c][blank]) == "").to_numpy()
    problems.append(pd.DataFrame({"pos": np.flatnonzero(blank), "column": "", "reason": str(Reason.EMPTY_ROW),
                                  "priority": -1}))
    found = pd.concat([p for p in problems if len(p)] or [problems[-1]], ignore_index=True)
    found = found.sort_values(["pos", "priority"], kind="stable").drop_duplicates("pos")
    for (column, reason), grp in found.groupby(["column", "reason"], sort=False):
        detail = details.get((column, reason)) or _why(raw, column, reason)
        sink.parts.append(_rejections(raw, grp["pos"].to_numpy(), column, reason, detail))
    if len(raw.bad_lines):
        sink.parts.append(pd.DataFrame({
            "table": raw.table, "file": raw.label, "row": raw.bad_lines, "column": "", "header": "", "value": "",
            "reason": str(Reason.BAD_LINE), "detail": W.FIELDS_MORE_THAN_HEADER}))
    extras = [c for c in raw.frame.columns if c not in typed]
    work = pd.concat([work, raw.frame[extras].reset_index(drop=True)], axis=1).assign(_pos=np.arange(n))
    return work.drop(index=found["pos"].to_numpy()).reset_index(drop=True)


def _parse_dates(raw: _Raw, column: str) -> tuple[pd.Series, np.ndarray, list[pd.DataFrame], dict[tuple, str]]:
    """A date column read under the table's ``date_order`` (else its own votes): the dates, the unreadable cells,
    the rows contradicting the order as problems, and the ``detail`` of both kinds of rejection."""
    read = _read_dates(raw.frame[column], raw.date_order)
    details = {(column, str(Reason.BAD_DATE)): W.say(W.EXPECTED_DATE, pattern=DATE_PATTERNS[read.order])}
    problems = []
    if read.contradicts.any():
        problems.append(pd.DataFrame({"pos": np.flatnonzero(read.contradicts), "column": column,
                                      "reason": str(Reason.DATE_ORDER), "priority": 0}))
        details[(column, str(Reason.DATE_ORDER))] = _order_detail(raw.table, read)
    return read.dates, read.bad, problems, details


def _order_detail(table: str, read: _DateRead) -> str:
    """Why a date contradicts its column: the order chosen, and how (the mapping, or the column's votes)."""
    other = DATE_ORDERS[1 - DATE_ORDERS.index(read.order)]
    chosen, alternative = DATE_PATTERNS[read.order], DATE_PATTERNS[other]
    if read.given:
        return W.say(W.ORDER_GIVEN, alternative=alternative, table=table, order=read.order, chosen=chosen)
    template = W.ORDER_VOTED_DMY if read.order == "dmy" else W.ORDER_VOTED_MDY
    return W.say(template, alternative=alternative, chosen=chosen, votes=int(read.votes[read.order]),
                 others=int(read.votes[other]), table=table, other=other)


_ALLOWED_HINT = {
    "currency": W.HINT_CURRENCY,
    "disputed": W.HINT_DISPUTED,
    "level": W.HINT_LEVEL,
    "credit_limit": W.HINT_CREDIT_LIMIT,
}


def _why(raw: _Raw, column: str, reason: str) -> str:
    """The ``detail`` of a per-row problem: what the cell should look like (a column named by the file's header)."""
    table = raw.table
    if reason == Reason.BAD_DATE:
        return W.say(W.EXPECTED_DATE, pattern=DATE_PATTERNS["dmy"])
    if reason == Reason.BAD_NUMBER:
        return W.EXPECTED_NUMBER
    if reason == Reason.MISSING_VALUE:
        other = next((f.required_unless for f in FIELDS[table] if f.name == column and f.required_unless), None)
        if other:
            return W.say(W.REQUIRED_UNLESS, column=raw.header(column), table=table, other=raw.header(other))
        return W.say(W.REQUIRED, column=raw.header(column), table=table)
    if reason == Reason.ZERO_AMOUNT:
        return W.ZERO_AMOUNT
    if reason == Reason.BAD_VALUE:
        return _ALLOWED_HINT.get(column, "")
    return ""
