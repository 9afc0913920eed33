"""The aged balance (*balance âgée*): open amounts by days past due, as they stood at any date.

Rule: an open invoice's days past due = as_of - due_date; buckets ``not_due`` (<= 0), ``1-30``, ``31-60``,
``61-90``, ``>90`` (upper bounds inclusive). Open credit notes (negative amounts) are a ``credit_notes`` line, shown
apart and not netted silently; ``total`` is the net. Shares are of the gross positive open amount. Euros incl. VAT.

Example::

    >>> age_bucket([-3, 0, 1, 30, 31, 90, 91]).tolist()
    ['not_due', 'not_due', '1-30', '1-30', '31-60', '61-90', '>90']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cashsim.kpi._common import _group, _tidy, _ts, status_as_of
from cashsim.ledger import OPEN_STATUSES

if TYPE_CHECKING:  # pragma: no cover
    from cashsim.ledger import Ledger

#: Aged-balance buckets (*balance âgée*) by days past due, upper bounds inclusive.
AGE_BUCKETS = ("not_due", "1-30", "31-60", "61-90", ">90")
_AGE_EDGES = np.array([0, 30, 60, 90])


def age_bucket(days_overdue) -> np.ndarray:
    """Bucket name for days past due: <= 0 not_due, 1-30, 31-60, 61-90, > 90.

    >>> age_bucket([-3, 0, 1, 30, 31, 90, 91]).tolist()
    ['not_due', 'not_due', '1-30', '1-30', '31-60', '61-90', '>90']
    """
    d = np.asarray(days_overdue, dtype=float)
    return np.asarray(AGE_BUCKETS, dtype=object)[np.searchsorted(_AGE_EDGES, d, side="left")]


def aged_balance(ledger: Ledger, as_of, *, by: str | None = None) -> pd.DataFrame:
    """Aged balance (*balance âgée*) as it stood at the end of ``as_of``: open amounts by days past due.

    One row per group and bucket (``not_due``, ``1-30``, ``31-60``, ``61-90``, ``>90``), plus a ``credit_notes`` line
    for open negative amounts (shown apart, not netted silently) and a ``total`` line (net). Columns: amount,
    n_invoices, share (of the gross positive open amount).
    """
    as_of = _ts(as_of)
    st = status_as_of(ledger, as_of)
    op = st.loc[st["status"].isin(OPEN_STATUSES) & (st["outstanding"] != 0)]
    g = _group(op, by)
    overdue = (as_of - op["due_date"]).dt.days.to_numpy()
    bucket = np.where(op["outstanding"].to_numpy() < 0, "credit_notes", age_bucket(overdue))
    order = [*AGE_BUCKETS, "credit_notes"]
    frame = pd.DataFrame({"group": g.to_numpy(), "bucket": bucket, "amount": op["outstanding"].to_numpy()})
    groups = pd.Index(pd.unique(g.to_numpy()) if len(g) else (["all"] if by is None else []), name="group")
    full = pd.MultiIndex.from_product([groups, order], names=["group", "bucket"])
    agg = frame.groupby(["group", "bucket"])["amount"].agg(["sum", "size"]).reindex(full, fill_value=0)
    agg.columns = ["amount", "n_invoices"]
    agg = agg.reset_index()
    gross = agg.loc[agg["bucket"] != "credit_notes"].groupby("group")["amount"].transform("sum")
    agg["share"] = (agg["amount"] / gross.reindex(agg.index)).where(agg["bucket"] != "credit_notes")
    tot = agg.groupby("group", sort=False)[["amount", "n_invoices"]].sum().reset_index()
    tot["bucket"], tot["share"] = "total", np.nan
    out = pd.concat([agg, tot], ignore_index=True)
    out["bucket"] = pd.Categorical(out["bucket"], [*order, "total"], ordered=True)
    out = out.sort_values(["group", "bucket"], ignore_index=True)
    out["bucket"] = out["bucket"].astype(str)
    out.insert(0, "as_of", as_of)
    return _tidy(out.set_index("group"), by, ledger)


def aged_balance_wide(aged: pd.DataFrame) -> pd.DataFrame:
    """:func:`aged_balance` as one row per group and one column per bucket (for a stacked bar chart)."""
    wide = aged.pivot_table(index="group", columns="bucket", values="amount", aggfunc="sum", sort=False)
    return wide.reindex(columns=[*AGE_BUCKETS, "credit_notes", "total"]).reset_index()
