"""When each demo invoice is paid: the natural time to pay, payment days, direct debit, never-paid, the dunning
plan and promises.

Generative law of an undisputed invoice (all days are calendar days)
    ``D = due_date - issue_date`` (30, 60, or 45 days end of month: due at the end of the month in which issue + 45
    falls). The natural time to pay since issue is log-normal with a customer intercept and a month shock::

        log T = log D + mu_c + s_g * (sqrt(RHO_MONTH) * M_m + sqrt(1 - RHO_MONTH - RHO_CUSTOMER) * eps) + e_m
        mu_c  = mu_g + s_g * sqrt(RHO_CUSTOMER) * C_c        C_c, M_m, eps ~ N(0, 1) independent

    with ``g`` the segment, ``m`` the month in which the invoice falls due, ``e_m`` a fixed calendar effect (+0.12
    for August, +0.35 in the stressed quarter 2025-Q1: due January to March 2025, everybody pays later; 0 in a
    *normal month*). The natural pay day ``issue + max(1, round(T))`` is then moved to the customer's next payment
    day: its next payment run (key accounts) or the next French business day (others). A direct-debit customer
    (*prélèvement SEPA*) pays on the due date (next business day) unless the debit is rejected (probability
    ``DD_REJECT``), then it pays by transfer 7 to 21 days later. A never-paid invoice (probability ``p_never`` of
    its customer) is written off 180 to 300 days after its due date.

    Dunning plan (*relances*): if still unpaid on the business day at due + 7 an e-mail reminder, at due + 15 a
    phone call, at due + 30 a formal notice (*mise en demeure*). Each action, when taken, makes the customer pay
    within a few days with the probability in ``DUNNING_PLAN`` (its true effect on the hazard). At the phone call a
    customer may promise a payment date (*promesse de règlement*); a promise is kept (paid on or before the
    Disputed invoices get no dunning and are paid on their ``ready`` day (:mod:`cashsim.demo.disputes`), then
    snapped to the customer's payment days.

Example::

    >>> import numpy as np
    >>> day = np.datetime64("2026-11-01").astype(np.int64)               # a Sunday
    >>> str(next_payment_run(np.array([day]), np.array([0]), np.array([0]))[0].astype("datetime64[D]"))
    '2026-11-02'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cashsim.calendar import next_business_day, previous_business_day
from cashsim.demo.laws import _NEVER, DD_REJECT, DUNNING_PLAN, RHO_CUSTOMER, RHO_MONTH


def next_payment_run(days: np.ndarray, run1: np.ndarray, run2: np.ndarray) -> np.ndarray:
    """First payment-run day on or after ``days`` for runs on days ``run1``/``run2`` of the month (0 = none).

    A run day past the month's end (31) means the month's last day; a run falling on a holiday or weekend is held
    the business day before. Rows with no run (``run1 == 0``) get the next business day.
    """
    days = np.asarray(days, dtype=np.int64)
    out = next_business_day(days)
    has_run = np.flatnonzero(run1 > 0)
    if has_run.size == 0:
        return out
    days, run1, run2 = days[has_run], run1[has_run], run2[has_run]
    month0 = days.astype("datetime64[D]").astype("datetime64[M]")
    best = np.full(days.shape, np.iinfo(np.int64).max)
    for offset in range(3):  # a run on or after the day exists within this month or the next two
        month = month0 + offset
        first = month.astype("datetime64[D]")
        length = ((month + 1).astype("datetime64[D]") - first).astype(np.int64)
        for run in (run1, run2):
            cand = first + (np.minimum(run, length) - 1).astype("timedelta64[D]")
            cand = previous_business_day(cand).astype(np.int64)
            ok = (run > 0) & (cand >= days) & (cand < best)
            best = np.where(ok, cand, best)
    out[has_run] = best
    return out



@dataclass(frozen=True)
class _Settled:
    """Outcome of every invoice: full-payment day (``_NEVER`` if never paid), dunning and promise events."""

    pay: np.ndarray           # int day of full payment, _NEVER when never paid
    never: np.ndarray         # bool
    action: np.ndarray        # (n, 3) int day of each dunning level (valid where taken)
    taken: np.ndarray         # (n, 3) bool
    promised: np.ndarray      # int day promised (valid where promise)
    promise: np.ndarray       # bool
    kept: np.ndarray          # bool


def _settle(rng: np.random.Generator, *, issue, due, mu, scale, shock, p_never, direct_debit, run1, run2,
            disputed, ready, promise_rate, promise_keep, invoice_noise: bool = True) -> _Settled:
    """Draw the payment day of each invoice under the true law (see the module docstring).

    ``shock`` is the log-time shift of the invoice's due month (``s_g sqrt(RHO_MONTH) M_m + e_m``); ``ready`` the
    natural day a disputed invoice is paid (resolution + post-resolution delay), ignored when not disputed.
    ``invoice_noise=False``: ``shock`` already holds the whole log-time noise (the truth's stratified draws).
    """
    n = issue.size
    sigma = scale * np.sqrt(1 - RHO_MONTH - RHO_CUSTOMER)
    term = np.maximum(due - issue, 1)
    noise = sigma * rng.standard_normal(n) if invoice_noise else 0.0
    t = np.exp(np.log(term) + mu + shock + noise)
    natural = issue + np.maximum(1, np.rint(np.minimum(t, 3000))).astype(np.int64)
    u_dd, u_dd_days = rng.random(n), rng.integers(7, 22, n)
    rejected = direct_debit & (u_dd < DD_REJECT)
    natural = np.where(direct_debit & ~rejected, due, natural)
    natural = np.where(rejected, due + u_dd_days, natural)
    natural = np.where(disputed, ready, natural)
    never = rng.random(n) < p_never
    pay = np.where(never, _NEVER, next_payment_run(np.where(never, issue, natural), run1, run2))

    action = np.empty((n, 3), np.int64)
    taken = np.zeros((n, 3), bool)
    u_resp, u_prom = rng.random((n, 3)), rng.random((n, 2))
    promise_gap, broken_gap = rng.integers(3, 15, n), rng.integers(1, 20, n)
    promise = np.zeros(n, bool)
    promised = np.zeros(n, np.int64)
    kept = np.zeros(n, bool)
    for j, step in enumerate(DUNNING_PLAN.itertuples()):        # 3 dunning levels, vectorised over invoices
        action[:, j] = next_business_day(due + step.days_after_due)
        taken[:, j] = ~disputed & (pay > action[:, j])
        r = rng.integers(step.response_days_min, step.response_days_max + 1, n)
        if j == 1:  # the phone call: a promise replaces the plain response
            promise = taken[:, j] & ~never & (u_prom[:, 0] < promise_rate)
            promised = np.where(promise, next_payment_run(action[:, j] + promise_gap, run1, run2), 0)
            kept = promise & (u_prom[:, 1] < promise_keep)
            pay = np.where(kept, np.minimum(pay, promised), pay)
            late = next_payment_run(promised + broken_gap, run1, run2)
            pay = np.where(promise & ~kept, np.maximum(pay, late), pay)
        respond = taken[:, j] & ~never & ~promise & (u_resp[:, j] < step.response_prob)
        pay = np.where(respond, np.minimum(pay, next_payment_run(action[:, j] + r, run1, run2)), pay)
    # a formal-notice response never turns a broken promise into a kept one
    pay = np.where(promise & ~kept, np.maximum(pay, next_payment_run(promised + 1, run1, run2)), pay)
    return _Settled(pay=pay, never=never, action=action, taken=taken, promised=promised, promise=promise, kept=kept)
