"""Receivables KPIs as of any date: DSO, aged balance, lateness, disputes, alerts, call list, cost of a customer.

Every function takes a :class:`cashsim.ledger.Ledger` and an ``as_of`` date and works on
``ledger.known_at(as_of).status(as_of)`` only, so a KPI "as of" a past date is what the books said that evening
(the aged balance and the DSO as they stood then), never a re-statement with later payments.

Conventions: euros incl. VAT (*TTC*) on both sides of every ratio; calendar days; ``days_late = paid_date -
due_date`` (negative = early). Receivables (AR, *encours clients*) = outstanding of open invoices, credit notes
netted, written-off invoices excluded; credit sales = invoices issued (credit notes netted). Tidy outputs carry a
``level`` column (``all``, ``segment`` or ``customer``) and a ``group`` column (the segment or customer id), so the
same table holds the global figure, the client groups and the clients: use ``by=None | "segment" | "customer_id"``
or :func:`by_levels` for all three at once.

One module per concept, every name importable from ``cashsim.kpi``: :mod:`~cashsim.kpi.dso` (standard and countback
DSO, their history), :mod:`~cashsim.kpi.ageing` (aged balance), :mod:`~cashsim.kpi.lateness` (payment behaviour,
usual delay, reliability), :mod:`~cashsim.kpi.disputes`, :mod:`~cashsim.kpi.alerts` (alerts, next action, call
list), :mod:`~cashsim.kpi.claims` (late-payment interest and indemnity), :mod:`~cashsim.kpi.customers` (cost of a
customer, shortfall contribution), on :mod:`~cashsim.kpi._common` (status as of, grouping, tidy output).

Example::

    >>> dso_standard(30_000, 60_000, 90)        # AR 30 000, sales 60 000 over 90 days
    45.0
    >>> round(float(dso_countback(212_000, [100_000, 80_000, 70_000], [30, 30, 30])), 1)
    73.7
"""

from cashsim.kpi._common import by_levels, customer_names, status_as_of
from cashsim.kpi.ageing import AGE_BUCKETS, age_bucket, aged_balance, aged_balance_wide
from cashsim.kpi.alerts import alerts, call_list, next_action, no_dunning_note
from cashsim.kpi.claims import claims_by_customer, late_payment_claims
from cashsim.kpi.customers import (
    EFFORT_MINUTES,
    customer_cost,
    customer_groups,
    customer_shortfall,
    shortfall_contribution,
)
from cashsim.kpi.disputes import dispute_summary, dispute_table
from cashsim.kpi.dso import dso_at, dso_countback, dso_history, dso_standard, month_ends
from cashsim.kpi.lateness import empirical_reliability, payment_behaviour, usual_delay

__all__ = ["AGE_BUCKETS", "EFFORT_MINUTES", "age_bucket", "aged_balance", "aged_balance_wide", "alerts",
           "by_levels", "call_list", "claims_by_customer", "customer_cost", "customer_groups", "customer_names",
           "customer_shortfall", "dispute_summary", "dispute_table", "dso_at", "dso_countback", "dso_history",
           "dso_standard", "empirical_reliability", "late_payment_claims", "month_ends", "next_action",
           "no_dunning_note", "payment_behaviour", "shortfall_contribution", "status_as_of", "usual_delay"]
