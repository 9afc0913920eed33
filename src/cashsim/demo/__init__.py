"""The embedded demo company: a deterministic, vectorised generator of a French SME's receivables with known truth.

*Atelier Démo SAS* invoices about 300 customers for three years ending ``AS_OF = 2026-10-31`` (tens of thousands of
invoices, euros incl. VAT). The generator draws every invoice's whole life (issue, dispute, dunning, promise, payment
or write-off), then cuts the tables at ``AS_OF``: only what was known at the end of that day is in the ledger. The
invoices still unpaid at ``AS_OF`` are the open book (*encours clients*); what happened afterwards stays in
:class:`DemoTruth` (``future_invoices``, ``future_payments``, ``outcomes``) for back-tests against realised cash.

The parts, each drawn from its own random stream:

- :mod:`~cashsim.demo.laws`: the true parameters (dates, client groups, dispute types, dunning plan);
- :mod:`~cashsim.demo.customers`: the customers and their own habits;
- :mod:`~cashsim.demo.invoices`: sales, invoices and due dates, the month shocks;
- :mod:`~cashsim.demo.payments`: the generative law of the pay day, dunning and promises;
- :mod:`~cashsim.demo.disputes`: disputes and credit notes;
- :mod:`~cashsim.demo.world`: the whole company drawn at once, instalments, write-offs, and the cut at ``AS_OF``;
- :mod:`~cashsim.demo.truth`: the truth tables (definitions there);
- :mod:`~cashsim.demo.company`: :func:`demo_tables`, :func:`demo_company`, :func:`demo_ledger`.

Example::

    >>> from cashsim.demo import demo_tables, AS_OF
    >>> tables = demo_tables(seed=7)
    >>> sorted(tables)
    ['customers', 'dunning', 'invoices', 'payments', 'promises']
    >>> bool(tables["invoices"]["issue_date"].max() <= AS_OF)
    True
"""

# the one French calendar (cashsim.calendar); FrenchHolidayCalendar is re-exported for the demo's users
from cashsim.calendar import FrenchHolidayCalendar, business_calendar
from cashsim.demo.company import DemoCompany, demo_company, demo_ledger, demo_tables
from cashsim.demo.customers import ESCAPE_NAME

# private parts the tests reach as cashsim.demo._name
from cashsim.demo.invoices import (
                               _due_dates,  # noqa: F401
                               expected_monthly_sales,
                               month_effects,
)
from cashsim.demo.laws import (
                               AS_OF,
                               AUGUST_EFFECT,
                               CREDIT_NOTE_RANGE,
                               CREDIT_NOTE_SHARE,
                               DD_REJECT,
                               DISPUTE_LAWS,
                               DUNNING_PLAN,
                               FUTURE_MONTHS,
                               HISTORY_START,
                               INSTALMENT_SHARE,
                               POST_RESOLUTION_MEDIAN,
                               POST_RESOLUTION_SIGMA,
                               RHO_CUSTOMER,
                               RHO_MONTH,
                               SALES_GROWTH,
                               SALES_SEASON,
                               SEGMENT_LAWS,
                               SEGMENTS,
                               STRESS_EFFECT,
                               STRESS_MONTHS,
                               TRUTH_DRAWS,
                               DisputeLaw,
                               SegmentLaw,
)
from cashsim.demo.payments import next_payment_run
from cashsim.demo.truth import (
                               DemoTruth,
                               _truth,  # noqa: F401
)
from cashsim.demo.world import _build_world, _cut  # noqa: F401
from cashsim.ledger import DISPUTE_TYPES

__all__ = ["AS_OF", "AUGUST_EFFECT", "CREDIT_NOTE_RANGE", "CREDIT_NOTE_SHARE", "DD_REJECT", "DISPUTE_LAWS",
           "DISPUTE_TYPES", "DUNNING_PLAN", "ESCAPE_NAME", "FUTURE_MONTHS", "HISTORY_START", "INSTALMENT_SHARE",
           "POST_RESOLUTION_MEDIAN", "POST_RESOLUTION_SIGMA", "RHO_CUSTOMER", "RHO_MONTH", "SALES_GROWTH",
           "SALES_SEASON", "SEGMENTS", "SEGMENT_LAWS", "STRESS_EFFECT", "STRESS_MONTHS", "TRUTH_DRAWS", "DemoCompany",
           "DemoTruth", "DisputeLaw", "FrenchHolidayCalendar", "SegmentLaw", "business_calendar", "demo_company",
           "demo_ledger", "demo_tables", "expected_monthly_sales", "month_effects", "next_payment_run"]
