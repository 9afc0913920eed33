"""The French *Fichier des Écritures Comptables* (FEC, LPF art. L47 A and A47 A-1) read into a receivables ledger,
and written from one.

Every French company's accounting software exports it, so it is the one input a CFO can give without asking IT.
Customer lines are those on accounts 411 (*clients*) and 416 (*clients douteux*). The rules, each documented in
its module:

* :mod:`.lines` — files: encoding, separator, columns by name, cell checks and rejections;
* :mod:`.customers` — customer id (``CompAuxNum`` else ``CompteNum``), name, and the customer type
  (company / public_body / individual) from the name;
* :mod:`.journals` — journal roles (sales, bank, opening, other; overridable) and the kind of each line (invoice,
  credit note, payment, refund, write-off, transfer, opening item), which AN lines an earlier file covers;
* :mod:`.settle` — settlement from the lettering, then the customer's unlettered pool, oldest due first; cash
  left over is the customer's credit ("cash on account, nothing open to allocate");
* :mod:`.read` — :func:`read_fec` and :class:`FecLedger` (the ledger plus the audit of the read);
* :mod:`.write` — :func:`write_fec`, a FEC of a ledger (tests, and the FEC path on the demo company).

Due dates are not in a FEC: they come from payment terms (:mod:`cashsim.terms`), a default and a per-customer table.

>>> from cashsim.adapters.fec import read_fec
>>> led = read_fec(["123456789FEC20251231.txt", "123456789FEC20261231.txt"], terms="45j fin de mois")  # doctest: +SKIP
"""

from cashsim.adapters.fec.customers import CUSTOMER_TYPES, customer_type
from cashsim.adapters.fec.journals import journal_roles
from cashsim.adapters.fec.lines import FEC_COLUMNS, read_fec_file
from cashsim.adapters.fec.read import FecLedger, read_fec, read_terms_table
from cashsim.adapters.fec.settle import CASH_ON_ACCOUNT
from cashsim.adapters.fec.write import write_fec

__all__ = ["CASH_ON_ACCOUNT", "CUSTOMER_TYPES", "FEC_COLUMNS", "FecLedger", "customer_type", "journal_roles",
           "read_fec", "read_fec_file", "read_terms_table", "write_fec"]
