"""Which customers a lever may be offered to, by customer type: one table, applied by the levers' selection.

A customer's ``customer_type`` is ``company``, ``public_body`` or ``individual`` (:mod:`cashsim.ledger`). Public
bodies (*personnes publiques*: State, local authorities, public schools and hospitals) pay by the public accounting
rules: the accountant (*comptable public*) pays a mandated invoice by transfer within the legal payment period
(30 days for the State and local authorities, 50 for public hospitals, Code de la commande publique art. R2192-10
and following) and owes *intérêts moratoires* when late (R2192-31 and following): they do not sign SEPA direct-debit
mandates for trade invoices, pay no deposit outside what the contract's *avance* rules say (R2191-3 and following:
advances are paid *by* the buyer under the public contract, not asked as a deposit), and a service cut-off threat
is neither lawful leverage on a public service nor effective on a mandated payment. Hence:

=================  ============================  ================================================================
lever kind         excluded customer types       reason
=================  ============================  ================================================================
direct_debit       public_body                   public accountants pay by transfer (no SEPA B2B mandate)
deposit            public_body                   public contracts pay advances by their own rules, not deposits
cutoff_threat      public_body                   no cut-off threat on a public payer (mandated payment)
=================  ============================  ================================================================

A book without a ``customer_type`` column (the demo, a book built by hand) is all eligible.

    >>> import pandas as pd
    >>> eligible(pd.DataFrame({"customer_type": ["company", "public_body"]}), "direct_debit").tolist()
    [True, False]
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from cashsim.book import Book

#: lever kind -> {excluded customer type: reason}
EXCLUDED: dict[str, dict[str, str]] = {
    "direct_debit": {"public_body": "public accountants pay by transfer: no SEPA B2B direct-debit mandate"},
    "deposit": {"public_body": "public contracts pay advances by their own rules (CCP R2191-3 and following), "
                               "not a deposit at order"},
    "cutoff_threat": {"public_body": "no cut-off threat on a public payer: payment is mandated by the public "
                                     "accountant, late payment earns intérêts moratoires (CCP R2192-31)"},
}


def eligible(inv: pd.DataFrame, kind: str) -> np.ndarray:
    """Per invoice row, whether a lever of ``kind`` may be offered to its customer (all True without a
    ``customer_type`` column or for a kind with no exclusion)."""
    excluded = EXCLUDED.get(kind, {})
    if not excluded or "customer_type" not in inv.columns:
        return np.ones(len(inv), dtype=bool)
    return ~inv["customer_type"].astype(str).isin(list(excluded)).to_numpy()


def exclusions(kind: str) -> dict[str, str]:
    """The customer types excluded from a lever ``kind`` and why (empty: none)."""
    return dict(EXCLUDED.get(kind, {}))


def annotate_customer_types(book: Book, customers: pd.DataFrame) -> Book:
    """The book with each invoice's ``customer_type`` from the ledger's customers table (``company`` when unknown;
    future invoices carry the id of a real customer, so they get its type)."""
    if customers is None or "customer_type" not in customers.columns:
        return book
    types = customers.drop_duplicates("customer_id").set_index(customers["customer_id"].drop_duplicates()
                                                               .astype(str))["customer_type"]
    inv = book.invoices.copy()
    inv["customer_type"] = inv["customer_id"].astype(str).map(types).fillna("company").astype(str).to_numpy()
    return dataclasses.replace(book, invoices=inv)
