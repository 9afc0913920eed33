"""Settlement from the lettering (*lettrage*): which invoice each euro of a customer account settles, and when.

Money is counted in integer cents, so every euro of every line ends in exactly one place.

**Groups.** Lines of one customer sharing an ``EcritureLet`` code settle each other. The code is read across files
(some software letters across fiscal years), except when each file's part of the code nets to zero by itself: the
code was then reused by a later year and each file's part is its own group.

**Within a group, then for the customer's pool** (the unlettered lines plus what each group left over), in order:

1. refunds (bank debits) pay back open credit notes, oldest first (a negative payment of the credit note);
2. credit notes (*avoirs*) and opening credits are netted into the open debit items **oldest due first**: they
   reduce the invoice's amount (not cash; ``credited`` says how much), the rest stays an open credit note;
3. refunds left cancel the latest payments (an overpayment sent back);
4. payments settle the open debit items by the ledger's rule (:func:`cashsim.ledger.allocate_oldest_due_first`,
   the one allocation of cashsim, called on the cents: :func:`cashsim.ledger.allocation.replay`): in date order,
   each goes to the items issued by its date, oldest due first, at its own date; what they cannot take waits for the
   next items, at their issue date (an advance, *acompte*, settles the invoice the day it is issued); to the cent
   (``exact``), not within the payment tolerance;
5. write-offs (OD credits against 654) close the open items oldest due first: an item they cover in full gets the
   write-off's date as ``write_off_date``; a part of an item, or a remainder within the ledger's payment tolerance
   (the invoice counts as paid), is netted into its amount.

What the pool still holds at the end: open debit items stay open invoices; credit notes stay open credit notes
(negative invoices, netted in customer balances); **payments become the customer's credit** (``customer_credits``,
"cash on account, nothing open to allocate"); a refund beyond any credit becomes a debit item (money the customer
owes back); a write-off with nothing to write off stays a credit note.

The payment date of an invoice is therefore the date of the bank lines that settle it, never ``DateLet``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import numpy as np
import pandas as pd

from cashsim.ledger import payment_tolerance
from cashsim.ledger.allocation import replay

DEBIT_KINDS = ("invoice", "other_debit", "opening_debit")
NOTE_KINDS = ("credit_note", "opening_credit")
CASH_ON_ACCOUNT = "cash on account, nothing open to allocate"


@dataclass(eq=False, slots=True)
class _Open:
    """A debit item (invoice, other debit, opening item): amounts in cents."""

    line: int
    invoice_id: str
    issue: pd.Timestamp
    due: pd.Timestamp
    gross: int
    rem: int
    credited: int = 0
    write_off: pd.Timestamp | None = None


@dataclass(eq=False, slots=True)
class _Move:
    """A line still to place: a credit note, payment, refund or write-off (``rem`` > 0, cents)."""

    line: int
    kind: str
    date: pd.Timestamp
    rem: int
    invoice_id: str
    issue: pd.Timestamp
    refunded: int = 0


@dataclass(slots=True)
class _Log:
    """The payments and allocations, each with the position of the unit it comes from (``unit``: the one being
    settled): :meth:`in_order` puts them in the order of the units (a customer's groups, then its pool)."""

    payments: list[tuple] = field(default_factory=list)      # invoice_id, date, cents, line
    allocations: list[tuple] = field(default_factory=list)   # line, kind, invoice_id, cents, date, other line
    payment_units: list[int] = field(default_factory=list)
    allocation_units: list[int] = field(default_factory=list)
    unit: int = 0

    def pay(self, invoice_id: str, date: pd.Timestamp, cents: int, line: int) -> None:
        self.payments.append((invoice_id, date, cents, line))
        self.payment_units.append(self.unit)

    def allocate(self, move: _Move, what: str, invoice_id: str, cents: int, date: pd.Timestamp,
                 other: int = -1) -> None:
        self.allocations.append((move.line, what, invoice_id, cents, date, other))
        self.allocation_units.append(self.unit)

    def in_order(self) -> _Log:
        """The entries unit by unit, each unit's in the order they were made."""
        def by_unit(units: list[int]) -> list[int]:
            return sorted(range(len(units)), key=units.__getitem__)

        return _Log([self.payments[i] for i in by_unit(self.payment_units)],
                    [self.allocations[i] for i in by_unit(self.allocation_units)])


def _due_order(items: list[_Open]) -> list[_Open]:
    return sorted((d for d in items if d.rem > 0), key=lambda d: (d.due, d.issue, d.line))


def _by_date(moves: list[_Move], reverse: bool = False) -> list[_Move]:
    return sorted((m for m in moves if m.rem > 0), key=lambda m: (m.date, m.line), reverse=reverse)


def _fill(sources: list, targets: list, book: Callable[[Any, Any, int], None]) -> None:
    """Pour each source's ``rem`` into the targets in order (both already sorted); ``book(source, target, take)``
    records each transfer after both ``rem`` went down by ``take``."""
    i = 0
    for s in sources:
        while s.rem > 0 and i < len(targets):
            t = targets[i]
            take = min(s.rem, t.rem)
            s.rem, t.rem = s.rem - take, t.rem - take
            if take:
                book(s, t, take)
            if t.rem == 0:
                i += 1


@dataclass(slots=True)
class _Units:
    """What settles together, unit by unit: a lettering group, or a customer's pool, as the ranges [d0, d1) and
    [m0, m1) of the lists of every debit item and every move (a customer's pool: all of its own, its unlettered lines
    first, then its groups'); ``key``: its position in the log. Columns of ints rather than an object or lists per
    unit: nothing that lives long for the garbage collector to follow (fewer of its rounds)."""

    d0: list[int] = field(default_factory=list)
    d1: list[int] = field(default_factory=list)
    m0: list[int] = field(default_factory=list)
    m1: list[int] = field(default_factory=list)
    key: list[int] = field(default_factory=list)

    def add(self, d0: int, d1: int, m0: int, m1: int, key: int) -> None:
        for column, value in ((self.d0, d0), (self.d1, d1), (self.m0, m0), (self.m1, m1), (self.key, key)):
            column.append(value)

    def __iter__(self) -> Iterator[tuple[int, int, int, int, int]]:
        return zip(self.d0, self.d1, self.m0, self.m1, self.key, strict=True)


def _settle(units: _Units, debits: list[_Open], moves: list[_Move], log: _Log) -> None:
    """Steps 1-5 of the module docstring for each unit, in place; step 4 in one allocation for all of them."""
    for d0, d1, m0, m1, key in units:
        log.unit = key
        _before_payments(debits[d0:d1], moves[m0:m1], log)
    _payments(units, debits, moves, log)
    for d0, d1, m0, m1, key in units:
        log.unit = key
        _after_payments(debits[d0:d1], moves[m0:m1], log)


def _payments(units: _Units, debits: list[_Open], moves: list[_Move], log: _Log) -> None:
    """Step 4: each unit's payments to its open debit items, one call of the ledger's allocation (a unit is a
    customer there: :func:`cashsim.ledger.allocation.replay`, the replay behind ``allocate_oldest_due_first``, with
    the amounts in cents as they are here)."""
    pays, items, pay_unit, unit = [], [], [], []
    for i, (d0, d1, m0, m1, _) in enumerate(units):
        for m in moves[m0:m1]:
            if m.kind == "payment" and m.rem > 0:
                pays.append(m)
                pay_unit.append(i)
        for d in debits[d0:d1]:
            if d.rem > 0:
                items.append(d)
                unit.append(i)
    if not pays or not items:
        return
    pay_unit, unit = np.array(pay_unit), np.array(unit)
    pay_date, issue = _ns([p.date for p in pays]), _ns([d.issue for d in items])
    # each unit's payments by date then line, its items by line (ties in the allocation go by input order)
    by_date = np.lexsort((np.array([p.line for p in pays]), pay_date, pay_unit))
    by_line = np.lexsort((np.array([d.line for d in items]), unit))
    pays, pay_date, pay_unit = [pays[k] for k in by_date.tolist()], pay_date[by_date], pay_unit[by_date]
    items, issue, unit = [items[j] for j in by_line.tolist()], issue[by_line], unit[by_line]
    n = len(items)
    done = replay(unit, issue, _ns([d.due for d in items]), np.full(n, np.datetime64("NaT"), "datetime64[ns]"),
                  np.array([d.rem for d in items], np.int64), np.zeros(n), pay_unit, pay_date,
                  np.array([p.rem for p in pays], np.int64), np.full(len(pays), -1))   # exact: to the cent
    keys = [units.key[i] for i in pay_unit.tolist()]
    payments, allocations = log.payments, log.allocations
    credit = done.credit.tolist()
    piece_units = [keys[k] for k in credit]
    log.payment_units += piece_units       # each piece logs one payment, one allocation (+= copies the items)
    log.allocation_units += piece_units
    for k, j, take, at_issue in zip(credit, done.item.tolist(), done.cents.tolist(), done.at_issue.tolist(),
                                    strict=True):
        p, d = pays[k], items[j]
        date = d.issue if at_issue else p.date
        p.rem, d.rem = p.rem - take, d.rem - take
        payments.append((d.invoice_id, date, take, p.line))
        allocations.append((p.line, "payment", d.invoice_id, take, date, -1))


def _ns(dates: list[pd.Timestamp]) -> np.ndarray:
    return pd.DatetimeIndex(dates).as_unit("ns").to_numpy()


def _before_payments(debits: list[_Open], moves: list[_Move], log: _Log) -> None:
    """Steps 1-3 of the module docstring, in place."""
    notes = sorted((m for m in moves if m.kind in NOTE_KINDS and m.rem > 0), key=lambda n: (n.issue, n.line))
    refunds = _by_date([m for m in moves if m.kind == "refund"])

    def refund_note(r: _Move, n: _Move, take: int) -> None:
        n.refunded += take
        date = max(r.date, n.issue)
        log.pay(n.invoice_id, date, -take, r.line)
        log.allocate(r, "refund of a credit note", n.invoice_id, -take, date)

    def net(n: _Move, d: _Open, take: int) -> None:
        d.credited += take
        log.allocate(n, "credit netted into the invoice", d.invoice_id, take, n.date)

    def cancel(r: _Move, p: _Move, take: int) -> None:
        log.allocate(r, "refund of a payment", "", -take, r.date, p.line)

    _fill(refunds, notes, refund_note)                                                   # 1
    notes = [n for n in notes if n.rem > 0]
    if notes:   # (steps 2, 3 only where they have something to pour: no sorting of targets for nothing)
        _fill(notes, _due_order(debits), net)                                            # 2
    refunds = _by_date(refunds)
    if refunds:
        _fill(refunds, _by_date([m for m in moves if m.kind == "payment"], reverse=True), cancel)   # 3


def _after_payments(debits: list[_Open], moves: list[_Move], log: _Log) -> None:
    """Step 5 of the module docstring, in place."""
    def write_off(w: _Move, d: _Open, take: int) -> None:
        if d.rem == 0 and take > float(payment_tolerance((d.gross - d.credited) / 100)) * 100:
            d.write_off = max(w.date, d.issue)
            log.allocate(w, "write-off", d.invoice_id, take, d.write_off)
        else:
            d.credited += take
            log.allocate(w, "partial write-off netted into the invoice", d.invoice_id, take, w.date)

    write_offs = _by_date([m for m in moves if m.kind == "write_off"])
    if write_offs:
        _fill(write_offs, _due_order(debits), write_off)                                 # 5


def group_keys(lines: pd.DataFrame) -> pd.Series:
    """The lettering group of each line ('' = unlettered): ``customer|code``, or ``customer|code|file`` when the code
    is in several files and each file's part nets to zero by itself (a code reused by a later year)."""
    lettered = lines["letter"] != ""
    key = lines["customer_id"] + "|" + lines["letter"]
    part = lines[lettered].groupby([key[lettered], lines.loc[lettered, "file"]])["cents"].sum()
    zero = (part == 0).groupby(level=0)
    per_file = zero.all() & (zero.size() > 1)
    split = key.map(per_file).eq(True) & lettered    # a key of no lettered line maps to NaN: not split
    out = key.where(~split, key + "|" + lines["file"])
    return out.where(lettered, "")


@dataclass(frozen=True)
class Settlement:
    """What the customer lines amount to: ledger invoices and payments, where every credit went, the customers'
    unallocated cash and the lettering check."""

    invoices: pd.DataFrame          # invoice_id, customer_id, kind, issue_date, due_date, amount, gross_amount,
                                    # credited, write_off_date, line (position in the lines table)
    payments: pd.DataFrame          # invoice_id, payment_date, amount, line
    allocations: pd.DataFrame       # line, allocation, invoice_id, amount, date, other_line
    customer_credits: pd.DataFrame  # customer_id, line, date, amount, reason
    lettering: pd.DataFrame         # customer_id, letter, group, files, lines, debit, credit, balance, ...


def settle(lines: pd.DataFrame) -> Settlement:
    """Settle the used customer lines.

    ``lines``: one row per used customer line with ``customer_id, kind, letter, file, date, issue_date, due_date,
    amount`` (signed euros) and ``invoice_id`` (a unique candidate id per line); its index is the line key reported
    in ``line`` columns. Lines of kind ``transfer`` and ``opening_skipped`` take part in the lettering check only.
    """
    lines = lines.assign(cents=(lines["amount"] * 100).round().astype("int64"))
    lines = lines.assign(group=group_keys(lines))
    groups, pools = _Units(), _Units()
    customers: list[str] = []   # of the pools
    key = 0   # a customer's groups, then its pool: the order of the logs
    debits: list[_Open] = []
    moves: list[_Move] = []
    active = lines[~lines["kind"].isin(["transfer", "opening_skipped"])].sort_values(["customer_id", "group"],
                                                                                     kind="stable")
    records = zip(active.index.tolist(), *(active[c].tolist() for c in (
        "customer_id", "group", "kind", "invoice_id", "issue_date", "due_date", "date", "cents")), strict=True)
    for customer, of_customer in groupby(records, key=lambda r: r[1]):
        d0, m0 = len(debits), len(moves)
        for group, of_group in groupby(of_customer, key=lambda r: r[2]):
            g0, h0 = len(debits), len(moves)
            for line, _, _, kind, invoice_id, issue, due, date, cents in of_group:
                if kind in DEBIT_KINDS:
                    debits.append(_Open(line, invoice_id, issue, due, cents, cents))
                else:
                    moves.append(_Move(line, kind, date, abs(cents), invoice_id, issue))
            if group:
                groups.add(g0, len(debits), h0, len(moves), key)
                key += 1
        pools.add(d0, len(debits), m0, len(moves), key)
        customers.append(customer)
        key += 1
    log = _Log()
    _settle(groups, debits, moves, log)        # the groups of every customer, then every customer's pool
    _settle(pools, debits, moves, log)
    log = log.in_order()
    leftovers = [(customer, m) for customer, m0, m1 in zip(customers, pools.m0, pools.m1, strict=True)
                 for m in moves[m0:m1] if m.rem > 0 or m.refunded > 0]
    return _outputs(lines, debits, leftovers, log)


def _outputs(lines: pd.DataFrame, debits: list[_Open], leftovers: list[tuple[str, _Move]], log: _Log) -> Settlement:
    customer, kind = lines["customer_id"].to_numpy(), lines["kind"].to_numpy()
    rows = [(d.invoice_id, customer[d.line], kind[d.line], d.issue, d.due, d.gross - d.credited, d.gross, d.credited,
             d.write_off, d.line) for d in debits]
    credits = []
    for cust, m in leftovers:
        if m.kind == "payment":
            credits.append((cust, m.line, m.date, m.rem / 100, CASH_ON_ACCOUNT))
        elif m.kind == "refund":
            rows.append((m.invoice_id, cust, "refund beyond credit", m.date, m.date, m.rem, m.rem, 0,
                         None, m.line))
        else:
            total = m.rem + m.refunded
            rows.append((m.invoice_id, cust, m.kind, m.issue, m.issue, -total, -total, 0, None, m.line))
    columns = ["invoice_id", "customer_id", "kind", "issue_date", "due_date", "amount", "gross_amount", "credited",
               "write_off_date", "line"]
    inv = pd.DataFrame(rows, columns=columns)
    for c in ("amount", "gross_amount", "credited"):
        inv[c] = inv[c].astype("int64") / 100
    for c in ("issue_date", "due_date", "write_off_date"):
        inv[c] = pd.to_datetime(inv[c]).astype("datetime64[ns]")
    pay = pd.DataFrame(log.payments, columns=["invoice_id", "payment_date", "amount", "line"])
    pay = pay.assign(amount=pay["amount"].astype("int64") / 100,
                     payment_date=pd.to_datetime(pay["payment_date"]).astype("datetime64[ns]"))
    alloc = pd.DataFrame(log.allocations, columns=["line", "allocation", "invoice_id", "amount", "date",
                                                   "other_line"])
    alloc = alloc.assign(amount=alloc["amount"].astype("int64") / 100,
                         date=pd.to_datetime(alloc["date"]).astype("datetime64[ns]"))
    cred = pd.DataFrame(credits, columns=["customer_id", "line", "date", "amount", "reason"])
    cred["date"] = pd.to_datetime(cred["date"]).astype("datetime64[ns]")
    return Settlement(invoices=inv, payments=pay, allocations=alloc, customer_credits=cred,
                      lettering=lettering_check(lines))


def _files(let: pd.DataFrame) -> pd.Series:
    """group -> its file, or its files joined by ', ' when it spans several."""
    pairs = let[["group", "file"]].drop_duplicates()
    multi = pairs["group"].duplicated(keep=False)
    joined = pairs[multi].groupby("group")["file"].agg(", ".join)
    return pd.concat([pairs[~multi].set_index("group")["file"], joined]).sort_index()


def lettering_check(lines: pd.DataFrame) -> pd.DataFrame:
    """Per lettering group: Σdebit - Σcredit over its lines (euros). ``complete`` when it is 0, or when adding its
    skipped opening (AN) lines makes it 0 (the earlier year's item the AN line repeats was not lettered there);
    ``partial_code``: the software marked the code as partial (lower case)."""
    let = lines[lines["group"] != ""]
    skipped = let["kind"] == "opening_skipped"
    used = let[~skipped]
    debit = used["cents"].clip(lower=0).groupby(used["group"]).sum()
    credit = (-used["cents"]).clip(lower=0).groupby(used["group"]).sum()
    groups = let.groupby("group", sort=True)
    out = pd.DataFrame({
        "customer_id": groups["customer_id"].first(), "letter": groups["letter"].first(),
        "files": _files(let),
        "lines": used.groupby("group").size(),
    })
    out["debit"] = debit.reindex(out.index).fillna(0).astype("int64")
    out["credit"] = credit.reindex(out.index).fillna(0).astype("int64")
    balance = out["debit"] - out["credit"]
    opening = let[skipped].groupby("group")["cents"].sum().reindex(out.index).fillna(0).astype("int64")
    out["complete"] = (balance == 0) | ((opening != 0) & (balance + opening == 0))
    out["partial_code"] = out["letter"].str.islower()
    out["lines"] = out["lines"].fillna(0).astype("int64")
    for c in ("debit", "credit"):
        out[c] = out[c] / 100
    out.insert(6, "balance", balance / 100)
    out.insert(7, "opening_skipped", opening / 100)
    return out.rename_axis("group").reset_index()
