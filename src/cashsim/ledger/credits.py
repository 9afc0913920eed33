"""Credit notes and cash on account: what settles invoices without being a payment of that invoice.

Read from the rows:

* **Cash on account** (*règlement non lettré, acompte*): a payment row with no ``invoice_id`` but a
  ``customer_id``. Rejected when the customer is unknown (``Reason.UNKNOWN_CUSTOMER``) or the amount negative
  (``Reason.REFUND_ON_ACCOUNT``: a refund names the credit note it refunds). A payment naming an invoice and a
  customer other than the invoice's is rejected (``Reason.OTHER_CUSTOMER``); its customer defaults to the invoice's.
* **Credit notes** (*avoirs*, negative amounts) are allocated when the invoices table has an ``applies_to`` column
  (mapped, even if mostly empty): ``applies_to`` names the invoice a credit note settles (*facture d'origine*); empty,
  the credit note is unallocated. Rejected (on ``applies_to``) when that invoice is unknown, rejected, a credit note,
  another customer's, or issued after the credit note. ``applies_to`` on a positive invoice is ignored, with a note.
  Without the column the export says nothing of how its credit notes were used: they stay open negative items netted
  in the customer's balance (the rule before allocation existed; the demo company's case), and a credit note
  refunded by a negative payment is settled by its refunds, never allocated.

Allocated (:func:`cashsim.ledger.allocation.allocate_oldest_due_first`, per customer, in date order): a credit note
with ``applies_to`` goes to its invoice up to what it still owes; cash on account, credit notes naming no invoice and
whatever a stated payment or credit note brought beyond what its invoice still owed (an earlier credit note or
allocation had settled part of it; noted ``NoteReason.MORE_THAN_OWED``) go to the customer's open invoices oldest due
first, or wait for its next invoices; what is left at the end is the customer's credit balance
(``Ledger.customer_credits``). The payments of customers without such credits are untouched.

What it becomes:

* cash given to an invoice is a **payment** of that invoice on the allocation date (it is real cash: it counts in
  ``paid_to_date``, days late and collections); a lettered payment that brought more than its invoice still owed
  keeps only what it owed on its invoice;
* a credit note given to an invoice is **not cash**: it raises the invoice's ``credited`` and lowers the credit
  note's (``Ledger.status``);
* ``Ledger.credits`` lists each amount that entered the allocation (CREDIT_COLUMNS) and ``Ledger.allocations`` every
  piece given to an invoice (ALLOCATION_COLUMNS, rule ``applies_to`` or ``oldest_due_first``), with the file and row
  it came from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim.ledger import wording as W
from cashsim.ledger.allocation import allocate_oldest_due_first
from cashsim.ledger.columns import ALLOCATION_COLUMNS, CREDIT_COLUMNS
from cashsim.ledger.files import _Raw
from cashsim.ledger.notes import NoteReason
from cashsim.ledger.rejections import Reason, _Sink, _sparse_detail


def _link_credit_notes(raw: _Raw, inv: pd.DataFrame, raw_ids: pd.Series, rejected_why: pd.Series,
                       sink: _Sink) -> pd.DataFrame:
    """Check ``applies_to`` (module docstring): reject credit notes naming no usable invoice, ignore (with a note)
    ``applies_to`` on positive invoices. ``raw_ids``: every invoice id read, to tell rejected from unknown."""
    positive = inv["applies_to"].notna().to_numpy() & (inv["amount"].to_numpy() > 0)
    if positive.any():
        sink.note(raw, inv["_pos"].to_numpy()[positive], "applies_to", "", NoteReason.APPLIES_TO_IGNORED)
        inv = inv.assign(applies_to=inv["applies_to"].where(~positive))
    named = inv["applies_to"].notna().to_numpy()
    if not named.any():
        return inv
    target = pd.Index(inv["invoice_id"]).get_indexer(inv["applies_to"])
    known = named & (target >= 0)
    t = np.where(known, target, 0)
    checks = [  # (rows, reason, detail) in the order they are reported
        (named & ~known & inv["applies_to"].isin(raw_ids).to_numpy(), Reason.REJECTED_INVOICE, None),
        (named & ~known, Reason.UNKNOWN_INVOICE, W.NO_SUCH_INVOICE),
        (known & (inv["amount"].to_numpy()[t] < 0), Reason.NOT_AN_INVOICE,
         W.NAMES_A_CREDIT_NOTE),
        (known & (inv["customer_id"].to_numpy(dtype=object)[t] != inv["customer_id"].to_numpy(dtype=object)),
         Reason.OTHER_CUSTOMER, W.ANOTHER_CUSTOMERS),
        (known & (inv["issue_date"].to_numpy()[t] > inv["issue_date"].to_numpy()), Reason.BEFORE_ISSUE,
         W.ISSUED_AFTER_NOTE),
    ]
    why = np.full(len(inv), -1)
    for k, (rows, _, _) in reversed(list(enumerate(checks))):
        why[rows] = k  # the first check that fails wins
    inv = inv.assign(_why=why)
    for k, (_, reason, detail) in enumerate(checks):
        mask = (inv["_why"] == k).to_numpy()
        if detail is None:  # the invoice row that was rejected, and why
            why_rejected = rejected_why.reindex(inv["applies_to"].to_numpy(dtype=object)).fillna("").to_numpy()
            detail = np.where(mask, why_rejected, "").astype(object)
        inv = sink.take(raw, inv, mask, "applies_to", reason, detail)
    return inv.drop(columns="_why")


def _on_account(raw: _Raw, work: pd.DataFrame, known_customers: pd.Index,
                sink: _Sink) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split parsed payments into lettered ones (naming an invoice) and cash on account (a customer, no invoice),
    rejecting on-account rows of an unknown customer or a negative amount."""
    on_account = work["invoice_id"].isna().to_numpy()
    cash = work[on_account].reset_index(drop=True)
    cash = sink.take(raw, cash, (cash["amount"] < 0).to_numpy(), "amount", Reason.REFUND_ON_ACCOUNT,
                     W.REFUND_NAMES_NOTE)
    cash = sink.take(raw, cash, ~cash["customer_id"].isin(known_customers).to_numpy(), "customer_id",
                     Reason.UNKNOWN_CUSTOMER, W.NO_SUCH_CUSTOMER)
    return work[~on_account].reset_index(drop=True), cash


def _payment_customers(raw: _Raw, lettered: pd.DataFrame, invoices: pd.DataFrame, sink: _Sink) -> pd.DataFrame:
    """Lettered payments (linked: ``_inv``) take their invoice's customer; one naming another is rejected."""
    theirs = invoices["customer_id"].to_numpy(dtype=object)[lettered["_inv"].to_numpy()]
    given = lettered["customer_id"].to_numpy(dtype=object)
    other = lettered["customer_id"].notna().to_numpy() & (given != theirs)
    detail = _sparse_detail(other, lambda i: [W.say(W.INVOICE_OF, customer=c) for c in theirs[i]])
    lettered = sink.take(raw, lettered, other, "customer_id", Reason.OTHER_CUSTOMER, detail)
    theirs = invoices["customer_id"].to_numpy(dtype=object)[lettered["_inv"].to_numpy()]
    return lettered.assign(customer_id=pd.Series(theirs, dtype="str"))


def _settle_credits(inv_raw: _Raw, pay_raw: _Raw | None, invoices: pd.DataFrame, lettered: pd.DataFrame,
                    cash: pd.DataFrame, allocate_credit_notes: bool,
                    sink: _Sink) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Allocate cash on account and credit notes (module docstring): ``(payments, credits, allocations)``.

    ``invoices`` (with ``_pos``) are the used invoices; ``lettered`` the used payments naming them (``_pos``,
    ``_inv``); ``cash`` the used payments on account. ``payments`` keeps each payment's ``_pos`` (several rows for
    one payment split between invoices).
    """
    amount = invoices["amount"].to_numpy()
    refunded = invoices["invoice_id"].isin(lettered.loc[lettered["amount"] < 0, "invoice_id"]).to_numpy()
    notes = invoices[(amount < 0) & ~refunded & allocate_credit_notes]
    customers = pd.Index(cash["customer_id"]).union(pd.Index(notes["customer_id"]))
    if customers.empty:
        return lettered, _empty(CREDIT_COLUMNS), _empty(ALLOCATION_COLUMNS)
    items = invoices[(amount > 0) & invoices["customer_id"].isin(customers).to_numpy()]
    stated = lettered[lettered["customer_id"].isin(customers).to_numpy() & (amount[lettered["_inv"].to_numpy()] > 0)]
    sources = pd.concat([
        pd.DataFrame({"credit_id": "i" + notes["_pos"].astype(str), "customer_id": notes["customer_id"],
                      "date": notes["issue_date"], "amount": -notes["amount"], "item_id": notes["applies_to"]}),
        pd.DataFrame({"credit_id": "p" + stated["_pos"].astype(str), "customer_id": stated["customer_id"],
                      "date": stated["payment_date"], "amount": stated["amount"], "item_id": stated["invoice_id"]}),
        pd.DataFrame({"credit_id": "p" + cash["_pos"].astype(str), "customer_id": cash["customer_id"],
                      "date": cash["payment_date"], "amount": cash["amount"], "item_id": pd.NA}),
    ], ignore_index=True)
    sources = sources.assign(item_id=sources["item_id"].astype(object).where(sources["item_id"].notna(), None))
    out = allocate_oldest_due_first(items.rename(columns={"invoice_id": "item_id", "write_off_date": "closed_from"}),
                                    sources)
    alloc = out.allocations
    from_payment = alloc["credit_id"].str.startswith("p").to_numpy()
    kept = alloc[from_payment & (alloc["rule"] == "stated").to_numpy()].groupby("credit_id")["amount"].sum()
    payments = _payments_after(lettered, cash, alloc[from_payment & (alloc["rule"] != "stated").to_numpy()], kept,
                               stated["_pos"])
    excess = stated.assign(_kept=kept.reindex("p" + stated["_pos"].astype(str)).fillna(0.0).to_numpy())
    excess = excess[(excess["amount"] - excess["_kept"]).round(2) > 0]
    _note_excess(inv_raw, pay_raw, notes, excess, alloc, sink)
    credits = _credit_rows(inv_raw, pay_raw, notes, excess, cash)
    pieces = _allocation_rows(alloc[~(from_payment & (alloc["rule"] == "stated").to_numpy())], credits)
    return payments, credits.drop(columns="_id"), pieces


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    dtypes = {"row": "int64", "date": "datetime64[ns]", "amount": float}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "str")) for c in columns})


def _payments_after(lettered: pd.DataFrame, cash: pd.DataFrame, given: pd.DataFrame, kept: pd.Series,
                    stated_pos: pd.Series) -> pd.DataFrame:
    """Payments once allocated: lettered ones keep what their invoice still owed (all of it, but for the few that
    brought more), and each piece of cash given to an invoice by the rule is a payment of it on that date."""
    source = pd.concat([lettered, cash], ignore_index=True)
    source.index = "p" + source["_pos"].astype(str)
    pieces = source.loc[given["credit_id"].to_numpy()].reset_index(drop=True).assign(
        invoice_id=given["item_id"].to_numpy(), payment_date=given["date"].to_numpy(),
        amount=given["amount"].to_numpy())
    key = "p" + lettered["_pos"].astype(str)
    keep_amount = np.where(lettered["_pos"].isin(stated_pos).to_numpy(), kept.reindex(key).fillna(0.0).to_numpy(),
                           lettered["amount"].to_numpy())
    lettered = lettered.assign(amount=keep_amount)
    lettered = lettered[lettered["amount"].round(2) != 0]
    out = pd.concat([lettered.assign(_piece=0), pieces.assign(_piece=np.arange(1, len(pieces) + 1))],
                    ignore_index=True)
    out = out.sort_values(["_pos", "_piece"], kind="stable").reset_index(drop=True)
    return out.drop(columns=[c for c in ("_piece", "_inv") if c in out.columns])


def _note_excess(inv_raw: _Raw, pay_raw: _Raw | None, notes: pd.DataFrame, excess: pd.DataFrame,
                 alloc: pd.DataFrame, sink: _Sink) -> None:
    """Note the payments and credit notes naming an invoice that owed less than they brought."""
    if len(excess) and pay_raw is not None:
        used = [W.say(W.KEPT_ON_ACCOUNT, kept=float(k), rest=float(a - k))
                for a, k in zip(excess["amount"], excess["_kept"], strict=True)]
        sink.note(pay_raw, excess["_pos"].to_numpy(), "invoice_id", used, NoteReason.MORE_THAN_OWED)
    stated = notes[notes["applies_to"].notna()]
    if stated.empty:
        return
    on_it = alloc[(alloc["rule"] == "stated").to_numpy()].groupby("credit_id")["amount"].sum()
    kept = on_it.reindex("i" + stated["_pos"].astype(str)).fillna(0.0).to_numpy()
    more = (-stated["amount"].to_numpy() - kept).round(2) > 0
    used = [W.say(W.KEPT_TO_ON_ACCOUNT, kept=float(k), invoice=t, rest=float(a - k)) for a, k, t in
            zip(-stated["amount"].to_numpy()[more], kept[more], stated["applies_to"].to_numpy()[more], strict=True)]
    sink.note(inv_raw, stated["_pos"].to_numpy()[more], "applies_to", used, NoteReason.MORE_THAN_OWED)


def _credit_rows(inv_raw: _Raw, pay_raw: _Raw | None, notes: pd.DataFrame, excess: pd.DataFrame,
                 cash: pd.DataFrame) -> pd.DataFrame:
    """CREDIT_COLUMNS: the credit notes allocated, the excess of stated payments, the cash on account."""
    parts = [pd.DataFrame({"table": "invoices", "file": inv_raw.label, "row": inv_raw.rows[notes["_pos"].to_numpy()],
                           "source_id": notes["invoice_id"].to_numpy(dtype=object), "kind": "credit",
                           "customer_id": notes["customer_id"].to_numpy(dtype=object),
                           "date": notes["issue_date"].to_numpy(), "amount": -notes["amount"].to_numpy(),
                           "_id": ("i" + notes["_pos"].astype(str)).to_numpy()})]
    for frame, value in ((excess, (excess["amount"] - excess["_kept"]).round(2) if len(excess) else None),
                         (cash, cash["amount"])):
        if pay_raw is None or frame.empty:
            continue
        parts.append(pd.DataFrame({"table": "payments", "file": pay_raw.label,
                                   "row": pay_raw.rows[frame["_pos"].to_numpy()], "source_id": "", "kind": "cash",
                                   "customer_id": frame["customer_id"].to_numpy(dtype=object),
                                   "date": frame["payment_date"].to_numpy(), "amount": np.asarray(value, float),
                                   "_id": ("p" + frame["_pos"].astype(str)).to_numpy()}))
    out = pd.concat([p for p in parts if len(p)] or [parts[0]], ignore_index=True)
    return out.astype({"row": "int64", "date": "datetime64[ns]", "amount": float}).sort_values(
        ["date", "table", "row"], kind="stable").reset_index(drop=True)


def _allocation_rows(alloc: pd.DataFrame, credits: pd.DataFrame) -> pd.DataFrame:
    """ALLOCATION_COLUMNS: each piece with the file and row of its credit (stated cash pieces are plain payments)."""
    src = credits.set_index("_id")
    at = src.loc[alloc["credit_id"].to_numpy()]
    rule = np.where(alloc["rule"].to_numpy() == "stated", "applies_to", alloc["rule"].to_numpy())
    out = pd.DataFrame({"table": at["table"].to_numpy(), "file": at["file"].to_numpy(), "row": at["row"].to_numpy(),
                        "source_id": at["source_id"].to_numpy(), "kind": at["kind"].to_numpy(),
                        "customer_id": alloc["customer_id"].to_numpy(dtype=object),
                        "invoice_id": alloc["item_id"].to_numpy(dtype=object), "date": alloc["date"].to_numpy(),
                        "amount": alloc["amount"].to_numpy(), "rule": rule})
    return out.astype({"row": "int64", "date": "datetime64[ns]", "amount": float})
