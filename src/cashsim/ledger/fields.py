"""Column specifications: how each canonical column is parsed, whether it is required, its default, and the
French/English synonyms of coded values (payment methods, dispute types, dunning channels, currencies).

Synonyms are matched on a normalised key (accents, case and punctuation ignored): 'Prélèvement SEPA' ->
'prelevement_sepa' -> 'direct_debit'.

>>> _PAYMENT_METHOD_SYNONYMS[_norm_key("Prélèvement SEPA")]
'direct_debit'
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _Field:
    """One canonical column: how to parse it, whether it must be present, and its default when absent or empty."""

    name: str
    kind: str  # id | text | date | number | int | bool | choice | currency | channel
    required: bool = False
    default: Any = None
    synonyms: dict[str, str] | None = None


def _norm_key(text: str) -> str:
    """Lower-case ASCII key: 'Prélèvement SEPA' -> 'prelevement_sepa'."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "_".join("".join(c if c.isalnum() else " " for c in ascii_.lower()).split())


def _synonyms(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_norm_key(alias): canon for canon, aliases in table.items() for alias in (canon, *aliases)}


_PAYMENT_METHOD_SYNONYMS = _synonyms({
    "transfer": ("virement", "vir", "virement sepa", "vir sepa", "bank transfer", "wire", "sepa credit transfer"),
    # LCR (lettre de change relevé) is drawn by the supplier's bank on the due date, like a direct debit.
    "direct_debit": ("direct debit", "prelevement", "prelevement sepa", "prlv", "sepa direct debit", "sdd", "dd",
                     "lcr", "traite", "effet"),
    "cheque": ("check", "chq", "cheque bancaire"),
    "card": ("carte", "cb", "carte bancaire", "credit card"),
})
_DISPUTE_TYPE_SYNONYMS = _synonyms({
    "price": ("prix", "tarif", "pricing", "commercial"),
    "technical": ("technique", "tech", "quality", "qualite"),
    "delivery": ("livraison", "logistique", "shipping", "logistics"),
    "other": ("autre", "autres", "divers", "admin", "administratif"),
})
_CHANNEL_SYNONYMS = _synonyms({
    "email": ("mail", "e mail", "courriel"),
    "letter": ("courrier", "lettre", "post"),
    "phone": ("telephone", "tel", "appel", "call"),
    "sms": ("texto",),
    "formal_notice": ("mise en demeure", "lrar", "recommande", "registered letter"),
    "other": ("autre",),
})
_CURRENCY_SYNONYMS = {"€": "EUR", "EURO": "EUR", "EUROS": "EUR", "$": "USD", "£": "GBP"}

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
        _Field("payment_method", "choice", default="transfer", synonyms=_PAYMENT_METHOD_SYNONYMS),
        _Field("disputed", "bool", default=False),
        _Field("dispute_opened", "date"),
        _Field("dispute_resolved", "date"),
        _Field("dispute_type", "choice", synonyms=_DISPUTE_TYPE_SYNONYMS),
        _Field("write_off_date", "date"),
    ),
    "payments": (
        _Field("invoice_id", "id", required=True),
        _Field("payment_date", "date", required=True),
        _Field("amount", "number", required=True),
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
        _Field("channel", "channel", default="other", synonyms=_CHANNEL_SYNONYMS),
    ),
    "customers": (
        _Field("customer_id", "id", required=True),
        _Field("customer_name", "text"),
        _Field("segment", "text"),
        _Field("credit_limit", "number"),  # NaN = no limit
    ),
}
