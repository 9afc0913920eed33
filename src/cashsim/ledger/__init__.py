"""The receivables ledger (*créances clients*): invoices, payments, promises, dunning, read without losing a row.

:func:`read_ledger` reads CSV/.txt/.xlsx files or DataFrames into a :class:`Ledger` whose tables have our canonical
columns. Every input row ends up in exactly one place: the table it belongs to, or ``ledger.rejections`` with the
file, the spreadsheet row (1-based, header = row 1), the column, the raw value and a reason from :class:`Reason`.
``ledger.accounting()`` shows ``rows read = rows used + rows rejected`` per table.

French exports read as they come: ``;`` separators (sniffed from the header line), decimal commas, spaces,
no-break spaces (U+00A0) and narrow no-break spaces (U+202F) as thousands separators, ``dd/mm/yyyy`` dates, ISO dates,
UTF-8 with or without BOM, cp1252/latin-1 as fallbacks; identifiers of Excel files as displayed (``00123``).

Dates: the day/month order is the mapping's ``date_order`` (``dmy`` or ``mdy``) for the table, else decided per
column by its rows: each ``a/b/yyyy`` date valid day-first votes day-first (``05/03/2025`` too, valid both ways),
each date valid only month-first (``03/13/2025``) votes month-first; month-first needs more votes. A date valid only
under the other order is rejected (``Reason.DATE_ORDER``), so one typo never moves the whole column.

Semantics (money in euros incl. VAT, or the ledger's single currency; days are calendar days)

* **Tolerance** ``tol = max(0.01, 0.5 % x |amount|)`` (:func:`payment_tolerance`).
* **Partial payments** (*règlements partiels*): several payment rows per invoice. ``paid_to_date`` is their sum;
  the invoice is **fully paid** (*soldée*) on the date cumulative payments first reach ``|amount| - tol``.
* **Overpayments**: payments are taken in date order; a payment that takes the cumulative total above
  ``|amount| + tol`` is rejected (``Reason.OVERPAYMENT``), as is every later payment of that invoice. Within the
  tolerance the payment is kept and ``outstanding`` is slightly negative.
* **Credit notes** (*avoirs*): negative amounts. Their payments (refunds) are negative too; a payment of the other
  sign is rejected. A credit note is never late nor overdue (``days_late`` / ``days_overdue`` are NaN): until it is
  refunded or used it stays ``open_not_due`` in the open book with a negative ``outstanding``, so customer balances
  net it. Downstream stages must not simulate it as an inflow. When the invoices table has an ``applies_to`` column
  a credit note is **used**: on the invoice it names (closing it when credits + payments reach its amount; that is
  not cash: no payment, no days late, ``settled_by = "credit"``), else on the customer's open invoices oldest due
  first (:mod:`cashsim.ledger.credits`, :mod:`cashsim.ledger.settlement`).
* **Cash on account** (*acompte, règlement non lettré*): a payment row with a ``customer_id`` and no ``invoice_id``
  is allocated to the customer's open invoices oldest due first, or to its next ones
  (:func:`allocate_oldest_due_first`); each piece is a payment of that invoice on the allocation date. What no
  invoice takes is the customer's credit balance (``Ledger.customer_credits``).
* **Write-offs** (*passage en perte*, *créance irrécouvrable*): from ``write_off_date`` on, an invoice not fully paid
  is ``written_off`` and its ``outstanding`` is 0 (the loss is ``amount - paid_to_date``). Later recoveries still
  count in ``paid_to_date``; if they pay it in full the invoice becomes ``paid``.
* **Status** at ``as_of`` (end of that day): ``paid`` if fully paid by ``as_of``, else ``written_off`` if written off
  by then, else ``overdue`` (*échue*) if ``as_of > due_date`` (and not a credit note), else ``open_not_due``.
  Statuses only move forward in time: open_not_due -> overdue -> written_off -> paid (:data:`STATUSES`).
* ``disputed`` (*litige*) is True when the flag says so or a dispute opening date or type is given.
* Coded labels (payment method, dispute type, dunning channel, customer type) are matched by keyword
  (:mod:`cashsim.ledger.labels`: "Virement bancaire" -> transfer, "LCR" -> direct_debit, "facturation" -> other,
  "Collectivité" -> public_body); a label matching nothing keeps its row with the column's fallback and is listed in
  ``ledger.notes`` (:mod:`cashsim.ledger.notes`), like every other replaced or redirected cell.

Validation, in this order; a rejected row is reported once, for its first problem, and takes no part in later
checks (a duplicate of a row rejected for a bad date is therefore kept):

1. per row (parsers + a pandera schema per table): empty row, CSV line with too many fields, unreadable date or
   number or yes/no, date contradicting its column's day/month order, missing required cell (a payment needs an
   invoice_id or a customer_id), value not allowed (currency code, dunning level, credit limit), zero amount, due
   date before issue date, dispute resolved before opened, promise due before it was made;
2. invoices: duplicate ``invoice_id`` (the first row is kept), then currencies other than the most frequent one,
   then a credit note's ``applies_to`` naming an invoice rejected, unknown, a credit note, another customer's or
   issued after it;
3. payments on account: negative, unknown customer; payments, promises, dunning: invoice rejected, invoice unknown,
   dated before the invoice's issue date; payments also: sign opposite to the invoice, overpayment beyond the
   tolerance (rule above), a customer_id other than the invoice's; customers: duplicate id.

Numbers: the decimal mark is decided per column by majority (``1 234,56`` votes ',', ``1,234.56`` votes '.';
``1,234`` alone is ambiguous and does not vote); a value contradicting it (``12.50`` among ``1 234,56``) is rejected
rather than guessed. Defaults: segment from the customers table else "all", customer_name from the customers table
else the id, customer_type from the customers table else "company", owner from the customers table else ""
(unassigned), currency "EUR", payment_method "transfer", disputed False, dunning level = rank of the action among
the invoice's actions, dunning channel "other", a payment's customer_id its invoice's. Columns the company has
beyond ours are kept, as text, after ours.

``rejections`` has the design's columns (file, row, column, value, reason) plus ``table`` first, ``header`` (the
column as the user's file names it, ``Échéance`` where the params map it to ``due_date``: what
:func:`as_in_the_file` shows the reader) and ``detail`` last (what the cell should look like, the first row of a
duplicate, the invoice row that was rejected, ...). ``notes`` has ``header`` too.

Example::

    >>> import pandas as pd
    >>> inv = pd.DataFrame({"invoice_id": ["F1"], "customer_id": ["C1"], "issue_date": ["01/03/2026"],
    ...                     "due_date": ["31/03/2026"], "amount": ["1 200,00"]})
    >>> pay = pd.DataFrame({"invoice_id": ["F1"], "payment_date": ["2026-04-03"], "amount": [1200.0]})
    >>> led = read_ledger(inv, pay)
    >>> st = led.status("2026-04-30")
    >>> st.loc[0, "status"], float(st.loc[0, "days_late"])
    ('paid', 3.0)
"""

from __future__ import annotations

from cashsim.ledger.allocation import Allocation, allocate_oldest_due_first
from cashsim.ledger.columns import (
    ALLOCATION_COLUMNS,
    CREDIT_COLUMNS,
    CUSTOMER_COLUMNS,
    CUSTOMER_TYPES,
    DERIVED_COLUMNS,  # noqa: F401
    DISPUTE_TYPES,
    DUNNING_COLUMNS,
    INVOICE_COLUMNS,
    INVOICE_LINK_COLUMNS,
    NOTE_COLUMNS,
    OPEN_STATUSES,
    PAYMENT_COLUMNS,
    PAYMENT_METHODS,
    PROMISE_COLUMNS,
    REJECTION_COLUMNS,
    STATUSES,
    TABLES,
)
from cashsim.ledger.dates import END_YEAR, FIRST_YEAR, parse_dates  # noqa: F401
from cashsim.ledger.fields import FIELDS  # noqa: F401
from cashsim.ledger.labels import match_label
from cashsim.ledger.linking import TOLERANCE_FLOOR, TOLERANCE_SHARE, payment_tolerance  # noqa: F401
from cashsim.ledger.model import Ledger
from cashsim.ledger.notes import NoteReason
from cashsim.ledger.numbers import parse_numbers
from cashsim.ledger.read import read_ledger
from cashsim.ledger.rejections import Reason, as_in_the_file

# DERIVED_COLUMNS, END_YEAR, FIELDS, FIRST_YEAR, TOLERANCE_FLOOR and TOLERANCE_SHARE stay importable from here, as
# before the package split, without being part of the public API.
__all__ = [
    "ALLOCATION_COLUMNS", "CREDIT_COLUMNS", "CUSTOMER_COLUMNS", "CUSTOMER_TYPES", "DISPUTE_TYPES", "DUNNING_COLUMNS",
    "INVOICE_COLUMNS", "INVOICE_LINK_COLUMNS", "NOTE_COLUMNS", "OPEN_STATUSES", "PAYMENT_COLUMNS", "PAYMENT_METHODS",
    "PROMISE_COLUMNS", "REJECTION_COLUMNS", "STATUSES", "TABLES", "Allocation", "Ledger", "NoteReason", "Reason",
    "allocate_oldest_due_first", "as_in_the_file", "match_label", "payment_tolerance", "parse_dates", "parse_numbers",
    "read_ledger",
]
