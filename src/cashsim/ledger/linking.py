"""Linking events (payments, promises, dunning) to their invoices, and the payment rules.

An event is rejected when its invoice was rejected (detail: that invoice row and why), is unknown, or was issued
after the event. Payments must have the invoice's sign (credit notes are refunded by negative payments) and may
not overpay it: taken in (date, file order), the payment that takes the cumulative total above ``|amount| + tol``
and every later payment of the invoice are rejected, with the tolerance ``tol = max(0.01, 0.5 % x |amount|)`` in
currency units. Dunning levels default to the action's rank among the invoice's actions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim.ledger import wording as W
from cashsim.ledger.files import _Raw
from cashsim.ledger.rejections import Reason, _Sink, _sparse_detail

#: Relative payment tolerance (0.5 %) and its floor in currency units (one cent).
TOLERANCE_SHARE, TOLERANCE_FLOOR = 0.005, 0.01
#: The column that dates an event row, per table (checked against the invoice's issue date).
_EVENT_DATE = {"payments": "payment_date", "promises": "made_date", "dunning": "action_date"}


def payment_tolerance(amount: np.ndarray | pd.Series | float) -> np.ndarray:
    """Payment tolerance in currency units: ``max(0.01, 0.5 % x |amount|)``.

    >>> payment_tolerance(np.array([1.0, 1000.0])).tolist()
    [0.01, 5.0]
    """
    return np.maximum(TOLERANCE_FLOOR, TOLERANCE_SHARE * np.abs(np.asarray(amount, dtype=float)))


def _link_events(raw: _Raw, work: pd.DataFrame, invoices: pd.DataFrame, raw_invoice_ids: pd.Series,
                 rejected_why: pd.Series, sink: _Sink) -> pd.DataFrame:
    """Reject events (payments, promises, dunning) whose invoice is rejected, unknown, or issued after them.

    Returns the surviving events with ``_inv``, the position of their invoice in ``invoices``.
    """
    work = work.assign(_inv=pd.Index(invoices["invoice_id"]).get_indexer(work["invoice_id"]))
    missing = (work["_inv"] < 0).to_numpy()
    if missing.any():
        rejected = missing & work["invoice_id"].isin(raw_invoice_ids).to_numpy()
        ids = work["invoice_id"].to_numpy(dtype=object)
        work = sink.take(raw, work, rejected, "invoice_id", Reason.REJECTED_INVOICE,
                         _sparse_detail(rejected, lambda i: rejected_why.reindex(ids[i]).fillna("").to_numpy()))
        work = sink.take(raw, work, (work["_inv"] < 0).to_numpy(), "invoice_id", Reason.UNKNOWN_INVOICE,
                         W.NO_SUCH_INVOICE)
    date_col = _EVENT_DATE[raw.table]
    issued = invoices["issue_date"].to_numpy()[work["_inv"].to_numpy()]
    early = work[date_col].to_numpy() < issued
    return sink.take(raw, work, early, date_col, Reason.BEFORE_ISSUE,
                     _sparse_detail(early, lambda i: [W.say(W.INVOICE_ISSUED, date=d) for d in
                                                     pd.Series(issued[i]).dt.strftime("%Y-%m-%d")]))


def _group_cumsum(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Cumulative sum within runs of equal ``groups`` (already sorted)."""
    if len(values) == 0:
        return values.copy()
    total = np.cumsum(values)
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    offset = np.repeat(total[starts] - values[starts], np.diff(np.r_[starts, len(values)]))
    return total - offset


def _check_payments(raw: _Raw, work: pd.DataFrame, invoices: pd.DataFrame, sink: _Sink) -> pd.DataFrame:
    """Reject payments of the opposite sign to their invoice, then those that overpay it beyond the tolerance.

    Payments are taken in (date, file order); from the first whose cumulative total exceeds ``|amount| + tol``,
    that payment and every later one of the same invoice are rejected.
    """
    amount = invoices["amount"].to_numpy()
    opposite = np.sign(work["amount"].to_numpy()) != np.sign(amount[work["_inv"].to_numpy()])
    work = sink.take(raw, work, opposite, "amount", Reason.OPPOSITE_SIGN,
                     "a refund or reversal must be netted with the payment it cancels")
    inv_pos = work["_inv"].to_numpy()
    order = np.lexsort((work["_pos"].to_numpy(), work["payment_date"].to_numpy(), inv_pos))
    group = inv_pos[order]
    cum = _group_cumsum(np.abs(work["amount"].to_numpy()[order]), group)
    owed = np.abs(amount[group])
    tol = payment_tolerance(owed)
    crossed = cum > owed + tol + 1e-9
    crossed = _group_cumsum(crossed.astype(np.int64), group) > 0  # the crossing payment and every later one
    over = np.zeros(len(work), dtype=bool)
    over[order[crossed]] = True
    at = np.empty(len(work), dtype=np.int64)
    at[order] = np.arange(len(order))  # row -> its place in the sorted order
    detail = _sparse_detail(over, lambda i: [W.say(W.OVERPAID, cumulative=float(cum[k]), amount=float(owed[k]),
                                                   tolerance=float(tol[k])) for k in at[i]])
    return sink.take(raw, work, over, "amount", Reason.OVERPAYMENT, detail)


def _default_levels(dunning: pd.DataFrame) -> pd.DataFrame:
    """Dunning level: as given, else (an empty cell, or no level column: all empty) the rank of the action among
    the invoice's actions (1 = first reminder)."""
    rank = dunning.sort_values(["action_date", "_pos"]).groupby("invoice_id").cumcount() + 1
    level = dunning["level"].fillna(rank.reindex(dunning.index))
    return dunning.assign(level=level.astype(np.int64))


def _rejected_invoices(raw: _Raw, ids: pd.Series, sink: _Sink) -> pd.Series:
    """Invoice id -> 'invoices row N: reason' for rejected invoice rows, to explain their payments' rejection."""
    parts = [p for p in sink.parts if len(p) and p["table"].iat[0] == "invoices" and p["reason"].iat[0] not in (
        Reason.BAD_LINE, Reason.DUPLICATE_ID)]
    if not parts:
        return pd.Series(dtype="str")
    rej = pd.concat(parts, ignore_index=True).sort_values("row", kind="stable")
    pos = np.searchsorted(raw.rows, rej["row"].to_numpy())
    why = pd.Series([W.say(W.REJECTED_ROW, table="invoices", row=str(r), reason=why)
                     for r, why in zip(rej["row"], rej["reason"], strict=True)],
                    index=ids.to_numpy(dtype=object)[pos])
    return why[why.index.notna()].groupby(level=0, sort=False).first()
