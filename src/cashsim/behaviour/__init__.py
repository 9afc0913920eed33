"""Payer behaviour learned from the receivables history (*comportement de paiement des clients*).

``fit_behaviour(ledger, as_of)`` turns what was known at the end of ``as_of`` into a :class:`PayerModel`: for every
customer, the law of the payment day relative to the due date (a discrete pmf on :data:`GRID`) plus a never-paid mass,
and ``PayerModel.book(open_book, sales_plan)`` turns the open invoices (*créances clients*, *balance âgée*) and the
sales plan into the engine's :class:`cashsim.book.Book`.

The model, one rule per module (units: calendar days, euros incl. VAT):

* :mod:`~cashsim.behaviour.history` -- the history known at ``as_of``, recency weights
  ``w = 0.5 ** (age / half_life_days)``, the AFT's covariates.
* :mod:`~cashsim.behaviour.paydays` -- payment days (business days or detected payment runs); a payment held to a
  payment day is interval-censored in the fit and snapped to the *next* allowed day by the engine, so the calendar
  is counted once.
* :mod:`~cashsim.behaviour.aft` -- ``log t = x'beta + u_customer + m_month + sigma_segment * W``, censored cure
  mixture, log-normal or Weibull; customer and month effects by empirical Bayes.
* :mod:`~cashsim.behaviour.months` -- a typical month (median effect) and the AR(1) forecast of months to come.
* :mod:`~cashsim.behaviour.laws` -- discrete laws on the daily grid, Kaplan-Meier, conditioning on "still open".
* :mod:`~cashsim.behaviour.disputes` -- resolution time and payment after resolution (*litiges*).
* :mod:`~cashsim.behaviour.rates` -- never-paid share (aged open invoices censored), direct-debit rejections,
  promise keep rates (Beta priors).
* :mod:`~cashsim.behaviour.dunning` -- reminders from the dunning log reshape the hazard on days overdue.
* :mod:`~cashsim.behaviour.copula` -- co-movement: ``rho_customer`` and ``rho_month`` from the PIT of the history;
  the book's per-invoice loadings (:meth:`PayerModel.loadings`).
* :mod:`~cashsim.behaviour.model` -- :class:`PayerModel` and its queries (law, survival, month effects).
* :mod:`~cashsim.behaviour.booking` -- the engine's book from the open invoices and the sales plan.
* :mod:`~cashsim.behaviour.summaries` -- segment and customer tables, reliability score, class and reasons.
* :mod:`~cashsim.behaviour.fit` -- :func:`fit_behaviour`, the steps above in order.

What the demo and the rolling-origin back-test taught about these rules: docs/validation.md, section "behaviour".

Example::

    >>> model = fit_behaviour(ledger, "2026-10-31")                         # doctest: +SKIP
    >>> model.segments[["median_days_late", "share_late"]]                    # doctest: +SKIP
    >>> book = model.book(ledger.open_book("2026-10-31"), horizon_end="2027-01-31")  # doctest: +SKIP
"""

from cashsim.behaviour.aft import FAMILIES, AFTFit, fit_aft, standard_cdf
from cashsim.behaviour.copula import MIN_MONTHS_FOR_RHO, RHO_MONTH_FLOOR, icc_oneway
from cashsim.behaviour.disputes import DISPUTE_PRIOR, POST_RESOLUTION_PRIOR, UNDATED
from cashsim.behaviour.fit import FAMILY_SELECTION_ROWS, fit_behaviour
from cashsim.behaviour.history import AFT_METHODS, recency_weights
from cashsim.behaviour.laws import DAYS, GRID, grid_pmf, hold_unpaid_window, km_pmf
from cashsim.behaviour.model import PayerModel
from cashsim.behaviour.months import TYPICAL_MONTHS, TYPICAL_YEAR, _month_dynamics  # noqa: F401 (tests)
from cashsim.behaviour.paydays import business_days, calendar_rows, detect_payment_runs, run_dates
from cashsim.behaviour.rates import (
                                     BOOK_KEY,
                                     DD_PRIOR_REJECT,
                                     DD_PRIOR_WEIGHT,
                                     DD_TOLERANCE_DAYS,
                                     NEVER_PRIOR_WEIGHT,
                                     WRITE_OFF_MIN_AGE,
)

__all__ = [
    "AFTFit", "AFT_METHODS", "BOOK_KEY", "DAYS", "DD_PRIOR_REJECT", "DD_PRIOR_WEIGHT", "DD_TOLERANCE_DAYS",
    "DISPUTE_PRIOR", "FAMILIES", "FAMILY_SELECTION_ROWS", "GRID", "MIN_MONTHS_FOR_RHO", "NEVER_PRIOR_WEIGHT",
    "POST_RESOLUTION_PRIOR", "PayerModel", "RHO_MONTH_FLOOR", "TYPICAL_MONTHS", "TYPICAL_YEAR", "UNDATED",
    "WRITE_OFF_MIN_AGE", "business_days", "calendar_rows", "detect_payment_runs", "fit_aft", "fit_behaviour",
    "grid_pmf", "hold_unpaid_window", "icc_oneway", "km_pmf", "recency_weights", "run_dates", "standard_cdf",
]
