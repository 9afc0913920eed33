"""The ledger's vocabulary: canonical columns per table, the tables, statuses and allowed values.

Every table of a :class:`~cashsim.ledger.Ledger` has its canonical columns first, in this order, then the company's
own columns as text. Statuses move one way only as ``as_of`` advances: open_not_due -> overdue -> written_off ->
paid.

>>> STATUSES.index("overdue") < STATUSES.index("paid")
True
"""

from __future__ import annotations

INVOICE_COLUMNS = ("invoice_id", "customer_id", "customer_name", "segment", "issue_date", "due_date", "amount",
                   "currency", "payment_method", "disputed", "dispute_opened", "dispute_resolved", "dispute_type",
                   "write_off_date")
PAYMENT_COLUMNS = ("invoice_id", "payment_date", "amount")
PROMISE_COLUMNS = ("invoice_id", "made_date", "promised_date", "amount")
DUNNING_COLUMNS = ("invoice_id", "action_date", "level", "channel")
CUSTOMER_COLUMNS = ("customer_id", "customer_name", "segment", "credit_limit")
REJECTION_COLUMNS = ("table", "file", "row", "column", "value", "reason", "detail")
TABLES = ("invoices", "payments", "promises", "dunning", "customers")

PAYMENT_METHODS = ("transfer", "direct_debit", "cheque", "card")
DISPUTE_TYPES = ("price", "technical", "delivery", "other")
#: Statuses in the only order an invoice can move through them as ``as_of`` advances.
STATUSES = ("open_not_due", "overdue", "written_off", "paid")
OPEN_STATUSES = ("open_not_due", "overdue")
#: Columns status() adds; a company column with one of these names is kept as ``<name>_source``.
DERIVED_COLUMNS = ("paid_to_date", "outstanding", "paid_date", "status", "days_late", "days_overdue", "age_days")
