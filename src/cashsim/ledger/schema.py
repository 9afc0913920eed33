"""Pandera schema per parsed table: required cells present, allowed values, non-zero amounts, dates in order.

The schema sees typed columns (unreadable cells were caught by the parsers, which know the raw text). Each failure
becomes (pos, column, reason, priority): a missing cell (1) is reported before a value not allowed (2), which is
reported before dates out of order (3, e.g. due date before issue date, reported on the later column). A cell
required unless another is given (a payment's invoice_id, unless its customer_id says it is cash on account) is
missing (1) when both are empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from cashsim.ledger.columns import TABLES
from cashsim.ledger.fields import FIELDS
from cashsim.ledger.rejections import Reason

#: Wide (row-wise) checks: reason -> (later column, earlier column); the later one is reported.
_ORDER_CHECKS: dict[str, tuple[tuple[Reason, str, str], ...]] = {
    "invoices": ((Reason.DUE_BEFORE_ISSUE, "due_date", "issue_date"),
                 (Reason.RESOLVED_BEFORE_OPENED, "dispute_resolved", "dispute_opened")),
    "promises": ((Reason.PROMISED_BEFORE_MADE, "promised_date", "made_date"),),
}


def _iso_currency(codes: pd.Series) -> pd.Series:
    """True where the cell is a 3-letter upper-case code (checked once per distinct value)."""
    valid = [c for c in codes.unique() if isinstance(c, str) and len(c) == 3 and c.isalpha() and c.isupper()]
    return codes.isin(valid)


def _schema(table: str) -> pa.DataFrameSchema:
    """Per-column rules of a parsed table: required cells present, allowed values, non-zero amounts, dates in order.

    Unreadable cells are caught by the parsers before (they know the raw text); this schema sees typed columns.
    """
    columns = {}
    for f in FIELDS[table]:
        checks = []
        if f.kind == "choice":
            allowed = tuple(dict.fromkeys((f.synonyms or {}).values()))     # the canonical values
            checks.append(pa.Check(lambda s, ok=allowed: s.isin(ok), name="allowed"))
        elif f.kind == "currency":
            checks.append(pa.Check(_iso_currency, name="allowed"))
        elif f.kind == "int":
            checks.append(pa.Check(lambda s: (s >= 1) & (s == np.round(s)), name="allowed", ignore_na=True))
        elif f.name == "credit_limit":
            checks.append(pa.Check(lambda s: s >= 0, name="allowed", ignore_na=True))
        elif f.name == "amount":
            checks.append(pa.Check(lambda s: s != 0, name="nonzero", ignore_na=True))
        nullable = not f.required or f.required_unless is not None  # optional cells get their default
        if checks or not nullable:  # a nullable column without checks has nothing to validate
            columns[f.name] = pa.Column(nullable=nullable, checks=checks, required=True)
    wide = [pa.Check(lambda df, a=later, b=earlier: ~(df[a] < df[b]), name=str(reason))
            for reason, later, earlier in _ORDER_CHECKS.get(table, ())]
    wide += [pa.Check(lambda df, a=f.name, b=f.required_unless: df[a].notna() | df[b].notna(), name=_either(f.name))
             for f in FIELDS[table] if f.required_unless]
    return pa.DataFrameSchema(columns, checks=wide, strict=False, coerce=False)


def _either(column: str) -> str:
    """Name of the check that ``column`` or its alternative is filled."""
    return f"{Reason.MISSING_VALUE}: {column}"


_SCHEMAS = {table: _schema(table) for table in TABLES}
_WIDE_COLUMN = {str(r): later for checks in _ORDER_CHECKS.values() for r, later, _ in checks}
_EITHER_COLUMN = {_either(f.name): f.name for fields in FIELDS.values() for f in fields if f.required_unless}


def _schema_problems(table: str, typed: pd.DataFrame) -> pd.DataFrame:
    """Failures of the pandera schema as (pos, column, reason, priority) rows."""
    try:
        _SCHEMAS[table].validate(typed, lazy=True)
        return pd.DataFrame(columns=["pos", "column", "reason", "priority"])
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    fc = fc[fc["index"].notna()]
    check = fc["check"].astype(str)
    wide = check.isin(list(_WIDE_COLUMN))
    either = check.isin(list(_EITHER_COLUMN))
    missing = (check == "not_nullable") | either
    reason = np.select([missing, check == "nonzero", wide],
                       [str(Reason.MISSING_VALUE), str(Reason.ZERO_AMOUNT), check], str(Reason.BAD_VALUE))
    column = np.where(wide, check.map(_WIDE_COLUMN), np.where(either, check.map(_EITHER_COLUMN),
                                                              fc["column"].astype(str)))
    priority = np.select([missing, wide], [1, 3], 2)
    return pd.DataFrame({"pos": fc["index"].astype(np.int64).to_numpy(), "column": column, "reason": reason,
                         "priority": priority})
