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
credit dated before its item's issue date is applied at the issue date. Amounts are counted in integer cents (a
credit is rounded to the cent once, at the entry), so allocations + leftover add up to each credit to the cent; an
item whose amount is not a whole number of cents is rounded to the cent the first time something is allocated to
it. The replay uses nothing dated after a credit to allocate it, so the allocations dated <= d are those of the
data cut at d (no look-ahead).

The replay (:func:`replay`) sorts once for all customers (numpy), then runs one pass per customer over its credits
in plain Python on integer cents, the customer's open issued items in a heap keyed by their oldest-due rank
(customers without credits cost nothing). :func:`allocate_oldest_due_first` is its table form; the FEC reader calls
:func:`replay` with its amounts already in cents.

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
from heapq import heappop, heappush

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


@dataclass(frozen=True)
class Replay:
    """What :func:`replay` made, as positions in its inputs.

    The pieces, in the order they were made (customer after customer, each in date order): ``credit`` and ``item``
    (positions), ``cents`` given, ``stated`` (rule ``stated``, else ``oldest_due_first``) and ``at_issue`` (given at
    the item's issue date: a credit that waited for it; else at the credit's date). Then, per credit with something
    left at the end, customer after customer: ``left_credit`` (position) and ``left_cents``.
    """

    credit: np.ndarray
    item: np.ndarray
    cents: np.ndarray
    stated: np.ndarray
    at_issue: np.ndarray
    left_credit: np.ndarray
    left_cents: np.ndarray


def _no_nat(*dates: np.ndarray) -> None:
    if any(np.isnat(d).any() for d in dates):
        raise InputError("allocation: every item needs an issue and a due date, every credit a date (NaT given)")


def replay(item_customer: np.ndarray, issue: np.ndarray, due: np.ndarray, closed: np.ndarray, owed: np.ndarray,
           tol: np.ndarray, credit_customer: np.ndarray, date: np.ndarray, cents: np.ndarray, target: np.ndarray,
           raw: np.ndarray | None = None) -> Replay:
    """The rule of the module docstring on arrays; amounts in integer cents.

    Items: ``item_customer`` (int codes; < 0: none, the item takes nothing), ``issue``, ``due``, ``closed``
    (datetime64[ns]; closed NaT = never), ``owed`` (int64 cents owed when issued), ``tol`` (float, euros: the item is
    open while it owes more) and ``raw`` (float euros where the amount is not a whole number of cents, else NaN; None:
    all are). Credits: ``credit_customer`` (int codes; < 0: skipped), ``date`` (datetime64[ns]; a stated credit's no
    earlier than its item's issue), ``cents`` (int64) and ``target`` (the position of the item it states, -1: none).
    """
    _no_nat(issue, due, date)
    n_items, n_credits = len(owed), len(cents)
    stated = np.asarray(target) >= 0
    order = np.lexsort((np.arange(n_credits), ~stated, date))  # by date, stated first, then input order
    order = order[credit_customer[order] >= 0]
    _, first, inverse = np.unique(credit_customer[order], return_index=True, return_inverse=True)
    order = order[np.argsort(first[inverse], kind="stable")]  # customer by customer, in order of their first credit
    codes = credit_customer[order]
    runs = np.r_[np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]), len(codes)] if len(codes) else np.zeros(1, int)
    by_issue = np.lexsort((np.arange(n_items), issue, item_customer))  # sorted position -> input position
    sorted_customer = item_customer[by_issue]
    by_due = np.lexsort((np.arange(n_items), issue[by_issue], due[by_issue], sorted_customer))  # oldest due first
    rank = np.empty(n_items, np.int64)
    rank[by_due] = np.arange(n_items)
    run_codes = codes[runs[:-1]]
    starts = np.searchsorted(sorted_customer, run_codes, "left").tolist()
    ends = np.searchsorted(sorted_customer, run_codes, "right").tolist()
    closed_s = closed[by_issue]
    shut = np.where(np.isnat(closed_s), np.inf, closed_s.view(np.int64).astype(object)).tolist()  # NaT: never
    issue_l, rank_l, due_j = issue[by_issue].view(np.int64).tolist(), rank.tolist(), by_due.tolist()
    owed_l, tol_l = owed[by_issue].tolist(), tol[by_issue].astype(float).tolist()
    raw_l = [None] * n_items if raw is None else [None if r != r else r for r in raw[by_issue].tolist()]
    date_l, cents_l, target_l = date.view(np.int64).tolist(), cents.tolist(), np.asarray(target).tolist()
    where = np.empty(n_items, np.int64)
    where[by_issue] = np.arange(n_items)  # input position -> sorted position
    where_l = where.tolist()

    def owes(j: int) -> bool:
        r = raw_l[j]
        return (owed_l[j] / 100 if r is None else r) > tol_l[j]

    def whole(j: int) -> int:
        """What item ``j`` owes, rounded to the cent."""
        r = raw_l[j]
        return owed_l[j] if r is None else round(r * 100)

    def take_from(j: int, take: int) -> None:
        r = raw_l[j]
        if r is None:
            owed_l[j] -= take
        else:  # the first time: its amount minus the take, rounded to the cent
            owed_l[j], raw_l[j] = round((r - take / 100) * 100), None

    # the pieces (credit, item's sorted position, cents, rule stated, at the item's issue), then what is left
    # (credit, cents): plain lists of ints, so the garbage collector has no container to follow
    p_credit: list[int] = []
    p_item: list[int] = []
    p_cents: list[int] = []
    p_stated: list[bool] = []
    p_issue: list[bool] = []
    l_credit: list[int] = []
    l_cents: list[int] = []

    heap: list[int] = []  # the oldest-due ranks of the customer's issued items, open or not yet seen to be closed
    waiting: deque[int] = deque()  # the customer's credits waiting for an item, oldest first
    left_of: dict[int, int] = {}  # waiting credit -> cents still unallocated

    def issue_until(day: int | None, issued: int, end: int) -> int:
        """Issue the items [issued, end) dated <= ``day`` (None: all); each takes the waiting credits, oldest
        first, at its issue; returns the first item not issued."""
        while issued < end and (day is None or issue_l[issued] <= day):
            j, issued = issued, issued + 1
            on = issue_l[j]
            while waiting and owes(j) and not shut[j] <= on:
                k = waiting[0]
                take = min(left_of[k], whole(j))
                take_from(j, take)
                p_credit.append(k)
                p_item.append(j)
                p_cents.append(take)
                p_stated.append(False)
                p_issue.append(True)
                left_of[k] -= take
                if left_of[k] <= 0:
                    waiting.popleft()
            heappush(heap, rank_l[j])
        return issued

    order_l, runs_l = order.tolist(), runs.tolist()
    for run, issued, end in zip(range(len(runs) - 1), starts, ends, strict=True):
        heap.clear()
        waiting.clear()
        left_of.clear()
        for k in order_l[runs_l[run]:runs_l[run + 1]]:
            day = date_l[k]
            issued = issue_until(day, issued, end)
            left = cents_l[k]
            if target_l[k] >= 0:
                j = where_l[target_l[k]]
                r = raw_l[j]
                take = left if left / 100 <= (owed_l[j] / 100 if r is None else r) + tol_l[j] else max(whole(j), 0)
                if take > 0:
                    take_from(j, take)
                    p_credit.append(k)
                    p_item.append(j)
                    p_cents.append(take)
                    p_stated.append(True)
                    p_issue.append(False)
                left -= take
            back: list[int] = []  # items given to but still open: not again for this credit
            while left > 0 and heap:
                j = due_j[heap[0]]
                if not owes(j) or shut[j] <= day:  # settled, or closed from now on (the days only grow)
                    heappop(heap)
                    continue
                take = min(left, whole(j))
                take_from(j, take)
                p_credit.append(k)
                p_item.append(j)
                p_cents.append(take)
                p_stated.append(False)
                p_issue.append(False)
                left -= take
                if left > 0:
                    back.append(heappop(heap))
            for again in back:
                heappush(heap, again)
            if left > 0:
                waiting.append(k)
                left_of[k] = left
        issue_until(None, issued, end)
        l_credit += waiting
        l_cents += [left_of[k] for k in waiting]
    return Replay(credit=np.array(p_credit, np.int64), item=by_issue[np.array(p_item, np.int64)],
                  cents=np.array(p_cents, np.int64), stated=np.array(p_stated, bool), at_issue=np.array(p_issue, bool),
                  left_credit=np.array(l_credit, np.int64), left_cents=np.array(l_cents, np.int64))


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
    item_ids = items["item_id"].to_numpy(dtype=object)
    issue = items["issue_date"].to_numpy(dtype="datetime64[ns]")
    date = cr["date"].to_numpy(dtype="datetime64[ns]").copy()
    target = np.full(len(cr), -1, np.int64)
    if stated.any():
        owner = pd.Series(items["customer_id"].to_numpy(), index=item_ids)
        at = pd.Index(item_ids)
        named = cr["item_id"].to_numpy(dtype=object)[stated]
        unknown = ~pd.Index(named).isin(at)
        if unknown.any():
            raise InputError(f"credit {cr['credit_id'].to_numpy()[stated][unknown][0]!r} states item "
                             f"{named[unknown][0]!r}, which is not among the open items")
        other = owner.reindex(named).to_numpy() != cr["customer_id"].to_numpy()[stated]
        if other.any():
            raise InputError(f"credit {cr['credit_id'].to_numpy()[stated][other][0]!r} states item "
                             f"{named[other][0]!r} of another customer")
        target[stated] = at.get_indexer(named)
        date[stated] = np.maximum(date[stated], issue[target[stated]])
    ids, cust = cr["credit_id"].to_numpy(dtype=object), cr["customer_id"].to_numpy(dtype=object)
    codes, _ = pd.factorize(np.concatenate([items["customer_id"].to_numpy(dtype=object), cust]))
    amount = items["amount"].to_numpy(dtype=float)
    owed = np.rint(amount * 100)
    raw = np.where(owed / 100 == amount, np.nan, amount)
    tol = np.zeros(len(items)) if exact else payment_tolerance(amount)
    done = replay(codes[:len(items)], issue, items["due_date"].to_numpy("datetime64[ns]"), closed,
                  owed.astype(np.int64), tol, codes[len(items):], date,
                  np.rint(cr["amount"].to_numpy(dtype=float) * 100).astype(np.int64), target,
                  None if np.isnan(raw).all() else raw)
    when = np.where(done.at_issue, issue[done.item], date[done.credit])
    rule = np.where(done.stated, "stated", "oldest_due_first")
    out = list(zip(ids[done.credit], item_ids[done.item], cust[done.credit], when, (done.cents / 100).tolist(),
                   rule.tolist(), strict=True))
    leftover = list(zip(ids[done.left_credit], cust[done.left_credit], date[done.left_credit],
                        (done.left_cents / 100).tolist(), strict=True))
    return Allocation(
        allocations=pd.DataFrame(out, columns=list(ALLOCATED)).astype({"date": "datetime64[ns]", "amount": float}),
        leftover=pd.DataFrame(leftover, columns=list(LEFTOVER)).astype({"date": "datetime64[ns]", "amount": float}))
