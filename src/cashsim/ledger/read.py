"""read_ledger: read every input, validate it in the documented order, and account for every row.

Order: per row (parsers + schema), then invoices (duplicates, minority currency, a credit note's ``applies_to``),
then events against the surviving invoices (rejected / unknown invoice, dated before issue; payments: sign,
overpayment, another customer's invoice; cash on account: negative, unknown customer), then credit notes and cash
on account are allocated (:mod:`cashsim.ledger.credits`), then customers. Rows read = rows used + rows rejected, per
table; replaced or redirected cells of used rows are in the notes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cashsim.ledger.cells import _parse_ids
from cashsim.ledger.columns import (
    CUSTOMER_COLUMNS,
    DUNNING_COLUMNS,
    INVOICE_COLUMNS,
    INVOICE_LINK_COLUMNS,
    PAYMENT_COLUMNS,
    PROMISE_COLUMNS,
)
from cashsim.ledger.credits import _link_credit_notes, _on_account, _payment_customers, _settle_credits
from cashsim.ledger.files import _check_mapping, _read_raw
from cashsim.ledger.linking import _check_payments, _default_levels, _link_events, _rejected_invoices
from cashsim.ledger.model import Ledger
from cashsim.ledger.notes import _notes_frame
from cashsim.ledger.rejections import _Sink
from cashsim.ledger.rows import _parse_table
from cashsim.ledger.tables import (
    _customers_table,
    _drop_duplicates,
    _empty_table,
    _final,
    _finish_invoices,
    _note_no_group,
)


def read_ledger(invoices: Any, payments: Any, *, promises: Any = None, dunning: Any = None, customers: Any = None,
                mapping: dict[str, dict[str, str]] | None = None) -> Ledger:
    """Read and validate a receivables history; bad rows go to ``ledger.rejections``, never silently away.

    Each argument is a path (.csv/.txt/.xlsx) or a DataFrame. ``mapping`` renames the company's columns onto ours,
    per table, ours first: ``{"invoices": {"invoice_id": "N° facture", "amount": "Montant TTC"}}``; a table's
    ``date_order`` (``"dmy"`` = dd/mm/yyyy or ``"mdy"`` = mm/dd/yyyy) fixes the day/month order of its dates, which
    is otherwise decided per column by its values (:mod:`cashsim.ledger.dates`).

    Raises :class:`~cashsim.errors.LedgerError` (naming the file and column) for an unreadable file, a missing
    required column, a mapping that points to a column not in the file or a ``date_order`` other than dmy / mdy.

    >>> import pandas as pd
    >>> inv = pd.DataFrame({"invoice_id": ["F1", "F1"], "customer_id": ["C1", "C1"],
    ...                     "issue_date": ["2026-01-05"] * 2, "due_date": ["2026-02-04"] * 2, "amount": [100, 100]})
    >>> led = read_ledger(inv, pd.DataFrame(columns=["invoice_id", "payment_date", "amount"]))
    >>> led.rejections[["row", "column", "reason"]].values.tolist()
    [[3, 'invoice_id', 'duplicate id']]
    """
    maps = _check_mapping(mapping)
    given = {"invoices": invoices, "payments": payments, "promises": promises, "dunning": dunning,
             "customers": customers}
    raws = {t: _read_raw(src, t, maps[t]) for t, src in given.items() if src is not None}
    sink = _Sink()
    work = {t: _parse_table(raw, sink) for t, raw in raws.items()}

    cust = None
    if "customers" in work:
        cust = _drop_duplicates(raws["customers"], work["customers"], "customer_id", sink)
    inv_raw = raws["invoices"]
    inv = _finish_invoices(inv_raw, work["invoices"], cust, sink)
    raw_ids = _parse_ids(inv_raw.frame["invoice_id"])[0]
    inv = _link_credit_notes(inv_raw, inv, raw_ids.dropna(), _rejected_invoices(inv_raw, raw_ids, sink), sink)
    rejected_why = _rejected_invoices(inv_raw, raw_ids, sink)
    _note_no_group(inv_raw, inv, raws.get("customers"), cust, sink)

    tables: dict[str, pd.DataFrame] = {"invoices": _final(inv, INVOICE_COLUMNS + INVOICE_LINK_COLUMNS)}
    known_customers = pd.Index(inv["customer_id"]).union(pd.Index(cust["customer_id"] if cust is not None else []))
    lettered = cash = _empty_table("payments").assign(_pos=pd.Series(dtype="int64"), _inv=pd.Series(dtype="int64"))
    for table, columns in (("payments", PAYMENT_COLUMNS), ("promises", PROMISE_COLUMNS),
                           ("dunning", DUNNING_COLUMNS)):
        if table not in work:
            tables[table] = _empty_table(table)
            continue
        events = work[table]
        if table == "payments":
            events, cash = _on_account(raws[table], events, known_customers, sink)
        events = _link_events(raws[table], events, tables["invoices"], raw_ids.dropna(), rejected_why, sink)
        if table == "payments":
            events = _check_payments(raws[table], events, tables["invoices"], sink)
            lettered = _payment_customers(raws[table], events, tables["invoices"], sink)
            continue
        if table == "dunning":
            events = _default_levels(events)
        tables[table] = _final(events, columns)
    paid, credits, allocations = _settle_credits(inv_raw, raws.get("payments"), inv, lettered, cash,
                                                 "applies_to" in inv_raw.frame.columns, sink)
    if "payments" in work:
        tables["payments"] = _final(paid, PAYMENT_COLUMNS)
    tables["customers"] = _customers_table(_final(cust, CUSTOMER_COLUMNS) if cust is not None else None,
                                           tables["invoices"])
    rows_read = {t: len(raw.frame) + len(raw.bad_lines) for t, raw in raws.items()}
    used = {t: len(tables[t]) for t in raws if t not in ("customers", "payments")}
    if "payments" in raws:
        used["payments"] = len(lettered) + len(cash)
    if cust is not None:
        used["customers"] = len(cust)
    rejections = sink.frame()
    return Ledger(invoices=tables["invoices"], payments=tables["payments"], promises=tables["promises"],
                  dunning=tables["dunning"], customers=tables["customers"], rejections=rejections,
                  source_rows=rows_read, rows_used=used, notes=_notes_frame(sink.notes, rejections),
                  credits=credits, allocations=allocations)
