"""The demo company's true law: the dates, the client groups' habits, dispute types and the dunning plan.

Client groups (``segment``)
    ``key_accounts`` (*grands comptes*): large invoices, terms 45 days end of month (*45 jours fin de mois*) or 60
    days, pay in payment runs on one or two fixed days of the month (the 5th, 10th, 15th, 20th, 25th or the last
    day; a run falling on a holiday is held the business day before), late but regular. ``sme`` (*PME*): 30 days,
    moderate lateness, some direct debit. ``micro`` (*TPE*): small invoices,
    erratic, the most never-paid, many on direct debit. ``public`` (*secteur public*): legally 30 days, slow but
    regular, almost never default.

Every other module of :mod:`cashsim.demo` draws from these constants; :class:`~cashsim.demo.truth.DemoTruth`
reports them next to the Monte Carlo summaries of the behaviour they produce. Amounts are euros incl. VAT, days
calendar days.

Example::

    >>> SEGMENT_LAWS["sme"].terms[0]
    (30, False, 0.75)
    >>> str(AS_OF.date())
    '2026-10-31'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The day the demo ledger stands on: everything known at the end of this day is in the tables.
AS_OF = pd.Timestamp("2026-10-31")
#: First month of invoicing (three years of history).
HISTORY_START = pd.Timestamp("2023-11-01")
#: Months of invoicing generated after AS_OF, kept in the truth for back-tests (never in the ledger).
FUTURE_MONTHS = 6
SEGMENTS = ("key_accounts", "sme", "micro", "public")

#: Copula loadings of the month factor and of the customer factor on the natural log time to pay.
RHO_MONTH = 0.06
RHO_CUSTOMER = 0.30
#: Fixed log-time effects by month of due date: August is slow, the stressed quarter much slower.
AUGUST_EFFECT = 0.12
STRESS_EFFECT = 0.35
STRESS_MONTHS = ("2025-01", "2025-02", "2025-03")
#: Probability that a SEPA direct debit is rejected (then paid by transfer 7 to 21 days later).
DD_REJECT = 0.05
#: Share of undisputed transfer/cheque invoices paid in two instalments.
INSTALMENT_SHARE = 0.05
#: Days the first instalment comes before the last one's pay day: uniform on [7, 46), as ``rng.integers`` takes it
#: (the generator, :mod:`cashsim.demo.world`, and the oracle's acceptance, :mod:`cashsim.demo.oracle`, read it).
FIRST_INSTALMENT_GAP = (7, 46)
#: Monte Carlo draws per customer for the truth tables.
TRUTH_DRAWS = 4000
#: Sales seasonality by calendar month (January first), mean 1: August low, December high.
SALES_SEASON = np.array([0.97, 1.00, 1.06, 1.00, 0.94, 1.04, 0.98, 0.55, 1.03, 1.08, 1.07, 1.18])
SALES_SEASON = SALES_SEASON / SALES_SEASON.mean()
#: Yearly sales growth; monthly sales equal the segment's ``monthly_sales`` (times the season) at AS_OF.
SALES_GROWTH = 0.04
_NEVER = np.int64(10**6)  # day-number sentinel of "never paid", far beyond any calendar


@dataclass(frozen=True)
class SegmentLaw:
    """True habits of one client group (amounts in euros incl. VAT, days in calendar days).

    ``terms`` lists (days, end_of_month, probability); ``mu`` is the log of the median ratio of time-to-pay to
    terms for a typical customer in a normal month; ``scale`` the total sd of the log time to pay (split between
    customer, month and invoice by RHO_CUSTOMER and RHO_MONTH); ``run_days`` the payment-run choices (day of month,
    31 = last business day; empty = pays any business day).
    """

    n_customers: int
    monthly_sales: float
    average_invoice: float
    terms: tuple[tuple[int, bool, float], ...]
    mu: float
    scale: float
    p_never: float
    dispute_rate: float
    direct_debit_share: float
    cheque_share: float
    card_share: float
    promise_rate: float
    promise_keep: float
    credit_limit_share: float
    run_days: tuple[tuple[int, int], ...] = ()


SEGMENT_LAWS: dict[str, SegmentLaw] = {
    "key_accounts": SegmentLaw(
        n_customers=35, monthly_sales=450_000, average_invoice=6_000,
        terms=((45, True, 0.6), (60, False, 0.4)), mu=0.05, scale=0.20, p_never=0.003, dispute_rate=0.08,
        direct_debit_share=0.0, cheque_share=0.0, card_share=0.0, promise_rate=0.30, promise_keep=0.85,
        credit_limit_share=1.0,
        run_days=((10, 25), (5, 20), (15, 31), (10, 31), (31, 0), (10, 0), (15, 0), (20, 0), (25, 0))),
    "sme": SegmentLaw(
        n_customers=140, monthly_sales=380_000, average_invoice=1_900,
        terms=((30, False, 0.75), (45, True, 0.15), (60, False, 0.10)), mu=0.08, scale=0.38, p_never=0.010,
        dispute_rate=0.06, direct_debit_share=0.20, cheque_share=0.10, card_share=0.0, promise_rate=0.45,
        promise_keep=0.70, credit_limit_share=0.5),
    "micro": SegmentLaw(
        n_customers=100, monthly_sales=120_000, average_invoice=380,
        terms=((30, False, 1.0),), mu=0.15, scale=0.60, p_never=0.030, dispute_rate=0.05,
        direct_debit_share=0.35, cheque_share=0.15, card_share=0.10, promise_rate=0.50, promise_keep=0.50,
        credit_limit_share=0.3),
    "public": SegmentLaw(
        n_customers=25, monthly_sales=180_000, average_invoice=6_000,
        terms=((30, False, 1.0),), mu=0.42, scale=0.22, p_never=0.001, dispute_rate=0.04,
        direct_debit_share=0.0, cheque_share=0.0, card_share=0.0, promise_rate=0.20, promise_keep=0.90,
        credit_limit_share=0.0),
}


@dataclass(frozen=True)
class DisputeLaw:
    """One dispute type: its share of disputes and the log-normal resolution time in calendar days."""

    share: float
    median_days: float
    sigma: float


DISPUTE_LAWS: dict[str, DisputeLaw] = {
    "price": DisputeLaw(0.38, 10.0, 0.6),
    "technical": DisputeLaw(0.25, 35.0, 0.6),
    "delivery": DisputeLaw(0.22, 18.0, 0.5),
    "other": DisputeLaw(0.15, 28.0, 0.8),
}
#: Days from dispute resolution to payment: log-normal, median 7 days, log-sd 0.5 (then the payment calendar).
POST_RESOLUTION_MEDIAN, POST_RESOLUTION_SIGMA = 7.0, 0.5
#: Share of price disputes settled with a credit note, and the credit-note share of the invoice amount.
CREDIT_NOTE_SHARE, CREDIT_NOTE_RANGE = 1 / 3, (0.05, 0.25)

#: The company's current dunning plan: level, channel, days after due, P(pay in response), response days range.
DUNNING_PLAN = pd.DataFrame(
    {"channel": ["email", "phone", "formal_notice"], "days_after_due": [7, 15, 30],
     "response_prob": [0.10, 0.20, 0.35], "response_days_min": [2, 2, 3], "response_days_max": [6, 8, 12]},
    index=pd.Index([1, 2, 3], name="level"))
