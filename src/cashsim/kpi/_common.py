"""What every KPI shares: the status as of a date, the grouping, the tidy output, customer names.

Rule: a KPI "as of" a date works on :func:`status_as_of` only (``ledger.known_at(as_of).status(as_of)``), so it is
what the books said that evening, never a re-statement with later payments. Groups are the whole book (``by=None``,
group ``all``), a ``segment`` or a ``customer_id``; tidy outputs carry a ``level`` column (``all``, ``segment`` or
``customer``) and a ``group`` column, plus ``customer_name`` for customers, so one table can stack all three
(:func:`by_levels`).

Example::

    >>> _LEVEL_NAMES["customer_id"]
    'customer'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from cashsim.errors import ParamsError

if TYPE_CHECKING:  # pragma: no cover
    from cashsim.ledger import Ledger

_LEVEL_NAMES = {None: "all", "segment": "segment", "customer_id": "customer"}


def _ts(date) -> pd.Timestamp:
    return pd.Timestamp(date).normalize()


def status_as_of(ledger: Ledger, as_of) -> pd.DataFrame:
    """The invoice status as known at the end of ``as_of``: ``ledger.known_at(as_of).status(as_of)``, which is
    ``ledger.status(as_of)`` (status works on what was known at the end of that day)."""
    return ledger.status(_ts(as_of))


def _group(df: pd.DataFrame, by: str | None) -> pd.Series:
    if by is None:
        return pd.Series("all", index=df.index, dtype=object)
    if by not in ("segment", "customer_id"):
        raise ParamsError(f"by={by!r}: group KPIs by None (whole book), 'segment' or 'customer_id'")
    return df[by].astype(object)


def _tidy(frame: pd.DataFrame, by: str | None, ledger: Ledger | None = None) -> pd.DataFrame:
    """Index (the groups) -> columns level, group (+ customer_name for customers), then the figures."""
    out = frame.reset_index()
    out = out.rename(columns={out.columns[0]: "group"})
    out.insert(0, "level", _LEVEL_NAMES[by])
    if by == "customer_id" and ledger is not None and "customer_name" in ledger.customers:
        out.insert(2, "customer_name", out["group"].map(customer_names(ledger)))
    return out


def by_levels(fn: Callable[..., pd.DataFrame], *args, **kwargs) -> pd.DataFrame:
    """``fn(..., by=b)`` for the whole book, each segment and each customer, stacked in one tidy table."""
    frames = [fn(*args, by=b, **kwargs) for b in (None, "segment", "customer_id")]
    return pd.concat(frames, ignore_index=True)


def customer_names(ledger: Ledger) -> pd.Series:
    """customer_id -> customer_name from ``ledger.customers`` (first row of an id; empty without a name column)."""
    cust = ledger.customers
    if "customer_name" in cust:
        return cust.drop_duplicates("customer_id").set_index("customer_id")["customer_name"]
    return pd.Series(dtype=object)
