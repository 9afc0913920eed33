"""The public IBM "Finance Factoring: Late Payment Histories" sample (WA_Fn-UseC_-Accounts-Receivable.csv).

2,466 invoices of 100 customers, probably simulated by IBM (see the README beside the file); useful to test the
ledger, per-customer fitting and the dispute effect on data nobody here wrote. Not shipped with the package.

Mapping (one CSV row = one invoice, settled in full once):

* invoice: ``invoice_id`` = invoiceNumber (text), ``customer_id`` and ``customer_name`` = customerID,
  ``segment`` = countryCode as text ("391", ...), ``issue_date`` = InvoiceDate, ``due_date`` = DueDate (all
  ``m/d/yyyy``), ``amount`` = InvoiceAmount, ``currency`` = USD, ``disputed`` = Disputed (Yes/No; the file has no
  dispute dates, so :meth:`Ledger.known_at` treats the flag as known from the issue date), ``payment_method`` =
  transfer (not in the file), extra column ``channel`` = PaperlessBill (Paper / Electronic).
* payment: one per invoice, ``payment_date`` = SettledDate, ``amount`` = InvoiceAmount.
* ``DaysLate`` is clipped at 0 and ``DaysToSettle`` is the answer: both are dropped. Signed lateness comes from the
  dates via ``ledger.status(as_of).days_late``.

>>> from cashsim.adapters import read_ibm_late_payments
>>> led = read_ibm_late_payments("WA_Fn-UseC_-Accounts-Receivable.csv")  # doctest: +SKIP
>>> len(led.invoices), led.invoices.customer_id.nunique()  # doctest: +SKIP
(2466, 100)
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from cashsim.ledger import INVOICE_COLUMNS, PAYMENT_COLUMNS, Ledger, read_ledger

#: ours -> IBM's column, per table (the same file feeds both tables).
IBM_MAPPING = {
    "invoices": {"invoice_id": "invoiceNumber", "customer_id": "customerID", "segment": "countryCode",
                 "issue_date": "InvoiceDate", "due_date": "DueDate", "amount": "InvoiceAmount",
                 "disputed": "Disputed"},
    "payments": {"invoice_id": "invoiceNumber", "payment_date": "SettledDate", "amount": "InvoiceAmount"},
}
#: IBM columns kept on the invoices, under our name.
IBM_EXTRAS = {"PaperlessBill": "channel"}


def read_ibm_late_payments(path: str | Path) -> Ledger:
    """Read the IBM late-payment sample into a :class:`Ledger` (currency USD; see the module docstring).

    Rejections, if any, name the real file and its line numbers.
    """
    ledger = read_ledger(path, path, mapping=IBM_MAPPING)
    invoices = ledger.invoices.rename(columns=IBM_EXTRAS).assign(currency="USD")
    return replace(ledger, invoices=invoices[[*INVOICE_COLUMNS, *IBM_EXTRAS.values()]],
                   payments=ledger.payments[list(PAYMENT_COLUMNS)])


def signed_days_late(ledger: Ledger) -> pd.Series:
    """Signed lateness per invoice in calendar days (SettledDate - DueDate; negative = early), from the dates."""
    st = ledger.status(ledger.latest_date)
    return st.set_index("invoice_id")["days_late"]
