"""Adapters: public or vendor-specific receivables files mapped onto :class:`cashsim.ledger.Ledger`.

Each adapter is a column mapping plus the few decisions the source forces (documented in its module), so a
company's own export needs only a ``data.mapping`` section in its params file, not an adapter.
"""

from cashsim.adapters.ibm import IBM_MAPPING, read_ibm_late_payments

__all__ = ["IBM_MAPPING", "read_ibm_late_payments"]
