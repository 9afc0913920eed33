"""Oldest due first: how amounts that name no invoice settle a customer's open invoices (*imputation des règlements
et avoirs non lettrés sur les factures les plus anciennes*).

:func:`allocate_oldest_due_first` takes the items a customer owes (invoices) and the amounts that settle them
(payments, credit notes), and replays them in date order, per customer:

* an item is **open** from its issue date while what it still owes exceeds the payment tolerance
  ``max(0.01, 0.5 % x amount)`` (:func:`cashsim.ledger.linking.payment_tolerance`), and not from ``closed_from``
  on (a write-off);
* a credit that **states** its item (a lettered payment, a credit note with ``applies_to``) goes to it, up to what
  the item still owes (all of it when within the tolerance); the rest is unallocated, as below (rule ``stated``);
* an **unallocated** credit (cash on account, a credit note naming no invoice) goes, at its date, to the customer's
  open items issued on or before that date, **oldest due date first** (ties: earlier issue, then input order), each
  up to what it still owes (rule ``oldest_due_first``);
* what no open item can take waits, and goes to the customer's **later items at their issue date**, oldest credit
  first; what still waits at the end is ``leftover``: the customer's **credit balance**.

On one day: items issued that day first, then stated credits, then unallocated ones, each in input order. A stated
credit dated before its item's issue date is applied at the issue date. Amounts are rounded to the cent at each
step, so allocations + leftover add up to each credit to the cent. The replay uses nothing dated after a credit to
allocate it, so the allocations dated <= d are those of the data cut at d (no look-ahead).

Pure pandas/numpy; one pass per customer over its credits (customers without credits cost nothing).

The one allocation of cashsim: :func:`cashsim.ledger.read_ledger` allocates cash on account and credit notes with it
(:mod:`cashsim.ledger.credits`), and the FEC reader the payments of each lettering group and of each customer's
unlettered lines (:mod:`cashsim.adapters.fec.settle`, to the cent: ``exact``).

>>> items = pd.DataFrame({"item_id": ["F1", "F2", "F3"], "customer_id": "C1", "amount": [100.0, 200.0, 300.0],
...                       "issue_date": pd.to_datetime(["2026-01-01", "2026-01-10", "2026-02-01"]),
...                       "due_date": pd.to_datetime(["2026-01-31", "2026-02-09", "2026-03-03"])})
>>> credits = pd.DataFrame({"credit_id": ["P1"], "customer_id": "C1", "date": pd.to_datetime(["2026-02-15"]),
...                         "amount": [450.0]})
>>> out = allocate_oldest_due_first(items, credits)
>>> out.allocations[["item_id", "amount"]].values.tolist()
[['F1', 100.0], ['F2', 200.0], ['F3', 150.0]]
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cashsim.errors import InputError
from cashsim.ledger.linking import payment_tolerance

#: Columns of ``allocations`` and ``leftover``.
ALLOCATED = ("credit_id", "item_id", "customer_id", "date", "amount", "rule")
LEFTOVER = ("credit_id", "customer_id", "date", "amount")


@dataclass(frozen=True)
class Allocation:
    """The result of :func:`allocate_oldest_due_first`.

    ``allocations``: one row per piece of a credit given to an item (credit_id, item_id, customer_id, date, amount
    > 0, rule ``stated`` | ``oldest_due_first``), in the order they were made. ``leftover``: per credit, what no item
    took (credit_id, customer_id, date of the credit, amount > 0): the customers' credit balances.
    """

    allocations: pd.DataFrame
    leftover: pd.DataFrame


def _cents(x: float) -> float:
    return float(np.round(x, 2))


class _Customer:
    """One customer's items during the replay: what each still owes, which are issued, the oldest-due order."""

    def __init__(self, ids: np.ndarray, issue: np.ndarray, due: np.ndarray, amount: np.ndarray,
                 closed: np.ndarray, exact: bool = False) -> None:
        by_issue = np.lexsort((np.arange(len(ids)), issue))
        self.ids, self.issue, self.closed = ids[by_issue], issue[by_issue], closed[by_issue]
        self.owed = amount[by_issue].astype(float).copy()
        self.tol = np.zeros(len(ids)) if exact else payment_tolerance(self.owed)
        self.by_due = np.lexsort((np.arange(len(ids)), self.issue, due[by_issue]))  # oldest due first
        self.where = {k: i for i, k in enumerate(self.ids.tolist())}
        self.issued = 0  # items [0, issued) are issued

    def open_at(self, day: np.datetime64) -> np.ndarray:
        """Positions, oldest due first, of the items open at ``day``."""
        pos = self.by_due[self.by_due < self.issued]
        still = (self.owed[pos] > self.tol[pos]) & ~(self.closed[pos] <= day)
        return pos[still]


def allocate_oldest_due_first(open_items: pd.DataFrame, credits: pd.DataFrame, *, exact: bool = False
                              ) -> Allocation:
    """Allocate credits to items by the rule of the module docstring; ``exact``: an item stays open until it owes
    nothing, to the cent, instead of the payment tolerance (the FEC's lettered lines settle to the cent).

    ``open_items``: item_id, customer_id, issue_date, due_date, amount (> 0, what the item owes when issued) and
    optionally closed_from (date from which it takes no unallocated credit, e.g. its write-off; NaT = never).
    ``credits``: credit_id, customer_id, date, amount (> 0) and optionally item_id (the item it states it settles;
    NA = unallocated). A credit stating an item of another customer, or no known item, raises ``ValueError``.
    """
    items = open_items.reset_index(drop=True)
    cr = credits.reset_index(drop=True)
    stated = cr["item_id"].notna().to_numpy() if "item_id" in cr else np.zeros(len(cr), bool)
    closed = (items["closed_from"] if "closed_from" in items else pd.Series(pd.NaT, index=items.index))
    closed = closed.to_numpy(dtype="datetime64[ns]")
    owner = pd.Series(items["customer_id"].to_numpy(), index=items["item_id"].to_numpy())
    item_issue = pd.Series(items["issue_date"].to_numpy(dtype="datetime64[ns]"), index=items["item_id"].to_numpy())
    date = cr["date"].to_numpy(dtype="datetime64[ns]").copy()
    if stated.any():
        target = cr["item_id"].to_numpy(dtype=object)[stated]
        unknown = ~pd.Index(target).isin(owner.index)
        if unknown.any():
            raise InputError(f"credit {cr['credit_id'].to_numpy()[stated][unknown][0]!r} states item "
                             f"{target[unknown][0]!r}, which is not among the open items")
        other = owner.reindex(target).to_numpy() != cr["customer_id"].to_numpy()[stated]
        if other.any():
            raise InputError(f"credit {cr['credit_id'].to_numpy()[stated][other][0]!r} states item "
                             f"{target[other][0]!r} of another customer")
        date[stated] = np.maximum(date[stated], item_issue.reindex(target).to_numpy())
    out: list[tuple] = []
    leftover: list[tuple] = []
    order = np.lexsort((np.arange(len(cr)), ~stated, date))  # by date, stated first, then input order
    groups = pd.Series(np.arange(len(items))).groupby(items["customer_id"].to_numpy(), sort=False).indices
    amount = cr["amount"].to_numpy(dtype=float)
    ids, cust = cr["credit_id"].to_numpy(dtype=object), cr["customer_id"].to_numpy(dtype=object)
    columns = (items["item_id"].to_numpy(dtype=object), items["issue_date"].to_numpy("datetime64[ns]"),
               items["due_date"].to_numpy("datetime64[ns]"), items["amount"].to_numpy(float), closed)
    for customer, idx in pd.Series(order).groupby(cust[order], sort=False).indices.items():
        rows = order[idx]
        at = groups.get(customer, np.zeros(0, np.int64))
        book = _Customer(*(c[at] for c in columns), exact=exact)
        waiting: deque[list] = deque()  # [credit row, amount still unallocated]
        for k in rows:
            _issue_until(book, date[k], waiting, ids, customer, out)
            left = _cents(amount[k])
            if stated[k]:
                j = book.where[cr["item_id"].iat[k]]
                take = left if left <= book.owed[j] + book.tol[j] else max(_cents(book.owed[j]), 0.0)
                if take > 0:
                    book.owed[j] = _cents(book.owed[j] - take)
                    out.append((ids[k], book.ids[j], customer, date[k], take, "stated"))
                left = _cents(left - take)
            left = _oldest_due_first(book, k, left, date[k], ids, customer, out)
            if left > 0:
                waiting.append([k, left])
        _issue_until(book, None, waiting, ids, customer, out)
        leftover += [(ids[k], customer, date[k], left) for k, left in waiting]
    return Allocation(
        allocations=pd.DataFrame(out, columns=list(ALLOCATED)).astype({"date": "datetime64[ns]", "amount": float}),
        leftover=pd.DataFrame(leftover, columns=list(LEFTOVER)).astype({"date": "datetime64[ns]", "amount": float}))


def _oldest_due_first(book: _Customer, k: int, left: float, day: np.datetime64, ids: np.ndarray, customer: object,
                      out: list[tuple]) -> float:
    """Give ``left`` of credit ``k`` to the items open at ``day``, oldest due first; returns what is left."""
    if left <= 0:
        return 0.0
    for j in book.open_at(day):
        take = min(left, _cents(book.owed[j]))
        book.owed[j] = _cents(book.owed[j] - take)
        out.append((ids[k], book.ids[j], customer, day, take, "oldest_due_first"))
        left = _cents(left - take)
        if left <= 0:
            return 0.0
    return left


def _issue_until(book: _Customer, day: np.datetime64 | None, waiting: deque, ids: np.ndarray, customer: object,
                 out: list[tuple]) -> None:
    """Issue the items dated <= ``day`` (None: all); each takes the waiting credits, oldest first, at its issue."""
    while book.issued < len(book.ids) and (day is None or book.issue[book.issued] <= day):
        j = book.issued
        book.issued += 1
        issued_on = book.issue[j]
        while waiting and book.owed[j] > book.tol[j] and not book.closed[j] <= issued_on:
            k, left = waiting[0]
            take = min(left, _cents(book.owed[j]))
            book.owed[j] = _cents(book.owed[j] - take)
            out.append((ids[k], book.ids[j], customer, issued_on, take, "oldest_due_first"))
            waiting[0][1] = _cents(left - take)
            if waiting[0][1] <= 0:
                waiting.popleft()
