"""Column specifications: how each canonical column is parsed, whether it is required, its default when absent or
empty, and for coded columns the keywords of their labels (:mod:`cashsim.ledger.labels`) and the fallback a label
matching nothing is replaced by (listed in ``Ledger.notes``).

>>> {f.name: f.fallback for f in FIELDS["invoices"] if f.fallback}
{'payment_method': 'transfer', 'dispute_type': 'other', 'customer_type': 'company'}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cashsim.ledger.labels import (
    CHANNEL_KEYWORDS,
    CUSTOMER_TYPE_KEYWORDS,
    DISPUTE_TYPE_KEYWORDS,
    PAYMENT_METHOD_KEYWORDS,
)


@dataclass(frozen=True)
class _Field:
    """One canonical column: how to parse it, whether it must be present, and its default when absent or empty.

    ``fallback``: the value a coded label matching none of ``synonyms`` is replaced by (the row is kept, with a
    note). ``required_unless``: the cell may be empty when that other column's cell is filled (the column itself
    stays required).
    """

    name: str
    kind: str  # id | text | date | number | int | bool | choice | currency | channel
    required: bool = False
    default: Any = None
    synonyms: dict[str, str] | None = None
    fallback: str | None = None
    required_unless: str | None = None


FIELDS: dict[str, tuple[_Field, ...]] = {
    "invoices": (
        _Field("invoice_id", "id", required=True),
        _Field("customer_id", "id", required=True),
        _Field("customer_name", "text"),  # default: the customers table, else the customer id
        _Field("segment", "text"),  # default: the customers table, else "all"
        _Field("issue_date", "date", required=True),
        _Field("due_date", "date", required=True),
        _Field("amount", "number", required=True),
        _Field("currency", "currency", default="EUR"),
        _Field("payment_method", "choice", default="transfer", synonyms=PAYMENT_METHOD_KEYWORDS,
               fallback="transfer"),
        _Field("disputed", "bool", default=False),
        _Field("dispute_opened", "date"),
        _Field("dispute_resolved", "date"),
        _Field("dispute_type", "choice", synonyms=DISPUTE_TYPE_KEYWORDS, fallback="other"),
        _Field("write_off_date", "date"),
        # default: the customers table, else "company"
        _Field("customer_type", "choice", synonyms=CUSTOMER_TYPE_KEYWORDS, fallback="company"),
        _Field("owner", "text"),  # default: the customers table, else "" (unassigned)
        _Field("applies_to", "id"),  # a credit note: the invoice it settles (cashsim.ledger.credits)
    ),
    "payments": (
        _Field("invoice_id", "id", required=True, required_unless="customer_id"),  # empty: cash on account
        _Field("payment_date", "date", required=True),
        _Field("amount", "number", required=True),
        _Field("customer_id", "id"),  # default: the invoice's customer
    ),
    "promises": (
        _Field("invoice_id", "id", required=True),
        _Field("made_date", "date", required=True),
        _Field("promised_date", "date", required=True),
        _Field("amount", "number"),  # NaN = the whole outstanding amount
    ),
    "dunning": (
        _Field("invoice_id", "id", required=True),
        _Field("action_date", "date", required=True),
        _Field("level", "int"),  # default: 1 for the invoice's first action, 2 for the second, ...
        _Field("channel", "channel", default="other", synonyms=CHANNEL_KEYWORDS, fallback="other"),
    ),
    "customers": (
        _Field("customer_id", "id", required=True),
        _Field("customer_name", "text"),
        _Field("segment", "text"),
        _Field("credit_limit", "number"),  # NaN = no limit
        _Field("customer_type", "choice", default="company", synonyms=CUSTOMER_TYPE_KEYWORDS, fallback="company"),
        _Field("owner", "text"),  # the collector or sales rep in charge; "" = unassigned
    ),
}
