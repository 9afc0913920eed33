"""The ledger's vocabulary: canonical columns per table, the tables, statuses and allowed values.

Every table of a :class:`~cashsim.ledger.Ledger` has its canonical columns first, in this order, then the company's
own columns as text. The invoices table holds :data:`INVOICE_COLUMNS` then :data:`INVOICE_LINK_COLUMNS` (the
customer's kind and owner, the invoice a credit note applies to). Statuses move one way only as ``as_of`` advances:
open_not_due -> overdue -> written_off -> paid.

>>> STATUSES.index("overdue") < STATUSES.index("paid")
True
"""

from __future__ import annotations

INVOICE_COLUMNS = ("invoice_id", "customer_id", "customer_name", "segment", "issue_date", "due_date", "amount",
                   "currency", "payment_method", "disputed", "dispute_opened", "dispute_resolved", "dispute_type",
                   "write_off_date")
#: Read after :data:`INVOICE_COLUMNS` on every invoice: customer_type (company | public_body | individual), owner (the
#: collector or sales rep in charge, "" = unassigned), applies_to (a credit note: the invoice it settles, else NA).
INVOICE_LINK_COLUMNS = ("customer_type", "owner", "applies_to")
PAYMENT_COLUMNS = ("invoice_id", "payment_date", "amount", "customer_id")
PROMISE_COLUMNS = ("invoice_id", "made_date", "promised_date", "amount")
DUNNING_COLUMNS = ("invoice_id", "action_date", "level", "channel")
CUSTOMER_COLUMNS = ("customer_id", "customer_name", "segment", "credit_limit", "customer_type", "owner")
#: ``column`` is cashsim's name of the column (``due_date``: the same for every company), ``header`` the file's own
#: header of it (``Échéance`` when the params map it; "" for a whole row): what the reader looks for in the file.
REJECTION_COLUMNS = ("table", "file", "row", "column", "header", "value", "reason", "detail")
#: A cell the reader replaced or redirected (the row is used): what it held, what was used instead, and why.
NOTE_COLUMNS = ("table", "file", "row", "column", "header", "value", "used", "reason")
#: Amounts that settle invoices without naming them, or more than they named (cash on account, credit notes):
#: where each came from (table, file, row; source_id = the credit note's id, "" for a payment), when and how much.
CREDIT_COLUMNS = ("table", "file", "row", "source_id", "kind", "customer_id", "date", "amount")
#: Each piece of a credit given to an invoice: the credit (as in CREDIT_COLUMNS), the invoice, date, amount, rule.
ALLOCATION_COLUMNS = ("table", "file", "row", "source_id", "kind", "customer_id", "invoice_id", "date", "amount",
                      "rule")
TABLES = ("invoices", "payments", "promises", "dunning", "customers")

PAYMENT_METHODS = ("transfer", "direct_debit", "cheque", "card")
CUSTOMER_TYPES = ("company", "public_body", "individual")
DISPUTE_TYPES = ("price", "technical", "delivery", "other")
#: Statuses in the only order an invoice can move through them as ``as_of`` advances.
STATUSES = ("open_not_due", "overdue", "written_off", "paid")
OPEN_STATUSES = ("open_not_due", "overdue")
#: Columns status() adds; a company column with one of these names is kept as ``<name>_source``.
DERIVED_COLUMNS = ("paid_to_date", "outstanding", "paid_date", "status", "days_late", "days_overdue", "age_days",
                   "credited", "settled_by")
