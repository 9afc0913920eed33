"""Settlement of each invoice: what cash and credit notes paid, and when it was settled (*soldée*).

Per invoice at a date: ``paid_to_date`` = sum of its payments (cash, signed like the invoice); ``credited`` = the
credit notes given to it (:mod:`cashsim.ledger.credits`), signed like the invoice too: positive on an invoice, and on
a credit note minus what of it went to invoices; ``outstanding = amount - paid_to_date - credited``.

It is **settled** on the first date ``|paid| + |credited|``, accumulated in date order, reaches ``|amount| - tol``
(``tol = max(0.01, 0.5 % x |amount|)``), that date being ``paid_date``. On one day credit notes count before cash,
so cash that completes an invoice reduced by a credit note the same day is its payment. ``settled_by`` says which
event closed it: ``payment`` (cash) or ``credit`` (a credit note given to it; for a credit note, its last part used
on invoices). An invoice closed by a credit note was not paid by the customer on that day: its ``days_late`` is NaN
and it counts in no payment-delay statistic; cash it had received before stays in ``paid_to_date`` and in the
collections on their own dates.

>>> inv = pd.DataFrame({"invoice_id": ["F1"], "amount": [1000.0]})
>>> pay = pd.DataFrame({"invoice_id": ["F1"], "payment_date": pd.to_datetime(["2026-02-10"]), "amount": [800.0]})
>>> cred = pd.DataFrame({"invoice_id": ["F1"], "date": pd.to_datetime(["2026-02-20"]), "amount": [200.0]})
>>> s = _settlement(inv, pay, cred)
>>> s.paid.tolist(), s.credited.tolist(), str(s.paid_date[0])[:10], s.by_credit.tolist()
([800.0], [200.0], '2026-02-20', [True])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cashsim.ledger.linking import _group_cumsum, payment_tolerance


@dataclass(frozen=True)
class _Settled:
    """Per invoice: cash paid, credit given (both signed like the amount), the settling date (NaT if not settled)
    and whether a credit note settled it."""

    paid: np.ndarray
    credited: np.ndarray
    paid_date: np.ndarray
    by_credit: np.ndarray


def _settlement(invoices: pd.DataFrame, payments: pd.DataFrame, credits: pd.DataFrame | None = None) -> _Settled:
    """Settlement of each invoice (module docstring) from its payments and its credit events.

    ``credits``: invoice_id, date, amount (> 0: credit given to that invoice, or used from that credit note).
    Vectorised: events sorted by (invoice, date, credit first), cumulative sums within invoice, first crossing.
    """
    n = len(invoices)
    by_credit = np.zeros(n, dtype=bool)
    if credits is None or credits.empty:
        paid, paid_date = _cash_settlement(invoices, payments)
        return _Settled(paid, np.zeros(n), paid_date, by_credit)
    ids = pd.Index(invoices["invoice_id"])
    sign = np.sign(invoices["amount"].to_numpy(dtype=float))
    pay_pos, cred_pos = ids.get_indexer(payments["invoice_id"]), ids.get_indexer(credits["invoice_id"])
    pay_keep, cred_keep = pay_pos >= 0, cred_pos >= 0
    pay_amount = payments["amount"].to_numpy(dtype=float)[pay_keep]
    cred_amount = credits["amount"].to_numpy(dtype=float)[cred_keep]
    pay_pos, cred_pos = pay_pos[pay_keep], cred_pos[cred_keep]
    paid = np.bincount(pay_pos, weights=pay_amount, minlength=n)
    credited = np.bincount(cred_pos, weights=cred_amount, minlength=n) * sign + 0.0  # no -0.0
    pos = np.concatenate([cred_pos, pay_pos])
    dates = np.concatenate([credits["date"].to_numpy(dtype="datetime64[ns]")[cred_keep],
                            payments["payment_date"].to_numpy(dtype="datetime64[ns]")[pay_keep]])
    value = np.abs(np.concatenate([cred_amount, pay_amount]))
    is_credit = np.r_[np.ones(len(cred_pos), bool), np.zeros(len(pay_pos), bool)]
    order = np.lexsort((~is_credit, dates, pos))
    pos_s, dates_s = pos[order], dates[order]
    cum = _group_cumsum(value[order], pos_s)
    target = np.abs(invoices["amount"].to_numpy(dtype=float))
    target = (target - payment_tolerance(target))[pos_s]
    reached = np.flatnonzero(cum >= target - 1e-9)
    first_inv, first_at = np.unique(pos_s[reached], return_index=True)
    paid_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    paid_date[first_inv] = dates_s[reached[first_at]]
    by_credit[first_inv] = is_credit[order][reached[first_at]]
    return _Settled(paid, credited, paid_date, by_credit)


def _cash_settlement(invoices: pd.DataFrame, payments: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per invoice: sum of payments, and the date cumulative payments first reach ``|amount| - tol`` (else NaT).

    Vectorised: payments sorted by (invoice, date), cumulative sums within invoice, first crossing per invoice.
    """
    n = len(invoices)
    paid_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if payments.empty or n == 0:
        return np.zeros(n), paid_date
    pos = pd.Index(invoices["invoice_id"]).get_indexer(payments["invoice_id"])
    keep = pos >= 0
    pos = pos[keep]
    amount = payments["amount"].to_numpy(dtype=float)[keep]
    dates = payments["payment_date"].to_numpy(dtype="datetime64[ns]")[keep]
    paid = np.bincount(pos, weights=amount, minlength=n)
    order = np.lexsort((dates, pos))
    pos_s, dates_s = pos[order], dates[order]
    cum = _group_cumsum(np.abs(amount[order]), pos_s)
    target = np.abs(invoices["amount"].to_numpy(dtype=float))
    target = (target - payment_tolerance(target))[pos_s]
    reached = np.flatnonzero(cum >= target - 1e-9)
    first_inv, first_at = np.unique(pos_s[reached], return_index=True)
    paid_date[first_inv] = dates_s[reached[first_at]]
    return paid, paid_date
