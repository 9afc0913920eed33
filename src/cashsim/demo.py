"""The embedded demo company: a deterministic, vectorised generator of a French SME's receivables with known truth.

*Atelier Démo SAS* invoices about 300 customers for three years ending ``AS_OF = 2026-10-31`` (tens of thousands of
invoices, euros incl. VAT). The generator draws every invoice's whole life (issue, dispute, dunning, promise, payment
or write-off), then cuts the tables at ``AS_OF``: only what was known at the end of that day is in the ledger. The
invoices still unpaid at ``AS_OF`` are the open book (*encours clients*); what happened afterwards stays in
:class:`DemoTruth` (``future_invoices``, ``future_payments``, ``outcomes``) for back-tests against realised cash.

Client groups (``segment``)
    ``key_accounts`` (*grands comptes*): large invoices, terms 45 days end of month (*45 jours fin de mois*) or 60
    days, pay in payment runs on one or two fixed days of the month (the 5th, 10th, 15th, 20th, 25th or the last
    day; a run falling on a holiday is held the business day before), late but regular. ``sme`` (*PME*): 30 days,
    moderate lateness, some direct debit. ``micro`` (*TPE*): small invoices,
    erratic, the most never-paid, many on direct debit. ``public`` (*secteur public*): legally 30 days, slow but
    regular, almost never default.

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
    promised date) with the segment's ``promise_keep``, otherwise the invoice is paid after the promised date.
    Disputed invoices (*litiges*) get no dunning: they are paid 7 days (log-normal, sd 0.5) after the dispute is
    resolved, the resolution taking a log-normal number of days by dispute type (``DISPUTE_LAWS``); a third of the
    price disputes end with a credit note (*avoir*) of 5 to 25 % of the invoice. Some invoices are paid in two
    instalments (the full-payment date is unchanged). Sales have a seasonal profile (August low, December high) and
    grow 4 % a year.

Truth definitions (:class:`DemoTruth`)
    ``segments.median_days_late`` and ``segments.share_late`` describe ``days_late = paid_date - due_date`` (signed
    calendar days, after snapping to payment days and with the dunning plan and promises in force) of an
    **undisputed invoice of a customer not on direct debit, due in a normal month** (``e_m = 0``, the month shock
    ``M_m`` drawn from its N(0, 1) law), issued like the segment's actual invoices issued up to ``AS_OF`` (same
    customers in the same proportions, same terms and issue dates). A never-paid invoice counts as late with
    ``days_late = +inf``. ``median_days_late`` is the smallest whole day d with ``P(days_late <= d) >= 0.5``;
    ``share_late = P(days_late > 0)``. Both come from a Monte Carlo of ``TRUTH_DRAWS`` draws per customer (its
    invoices visited systematically, the log-time noise stratified; each customer weighted by its number of such
    invoices) with a fixed seed. Across truth seeds ``share_late`` moves by about 0.05 point (sd) and ``P(days_late
    <= median)`` by about 0.1 point; on seed 7 the nearest day edge is 0.3 point away (key accounts:
    ``P(days_late <= 12) = 0.497``), so no median moves with the seed. Both are unambiguous functionals of the law
    above: "normal month" fixes ``e_m = 0`` but still draws ``M_m``; dunning, promises and snapping act as in the
    ledger; direct-debit customers are left out whole (not only their debits). ``rho_month`` and
    ``rho_customer`` are the loadings of the Gaussian factor copula on the natural time of a segment-level
    marginal (``Z = sqrt(rho_m) M + sqrt(rho_c) C + sqrt(1 - rho_m - rho_c) e``); given the customer's own
    intercept ``mu_c`` the customer loading is 0 and the month loading is ``rho_month_within_customer``.

Example::

    >>> from cashsim.demo import demo_tables, AS_OF
    >>> tables = demo_tables(seed=7)
    >>> sorted(tables)
    ['customers', 'dunning', 'invoices', 'payments', 'promises']
    >>> bool(tables["invoices"]["issue_date"].max() <= AS_OF)
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

# the one French calendar (cashsim.calendar); FrenchHolidayCalendar is re-exported for the demo's users
from cashsim.calendar import (FrenchHolidayCalendar, business_calendar,  # noqa: F401
                              next_business_day, previous_business_day)
from cashsim.ledger import DISPUTE_TYPES, INVOICE_COLUMNS, Ledger, read_ledger

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


# ----------------------------------------------------------------------------------------------------- customers

_SURNAMES = ("Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Leroy", "Moreau", "Simon",
             "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel",
             "Girard", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand",
             "Gauthier", "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier")
_TRADES = ("Bâtiment", "Transports", "Menuiserie", "Électricité", "Plomberie", "Imprimerie", "Boulangerie",
           "Traiteur", "Informatique", "Conseil", "Paysages", "Mécanique", "Textiles", "Emballages", "Logistique",
           "Optique", "Pharmacie", "Carrosserie", "Agencement", "Distribution")
_FORMS = ("SARL", "SAS", "EURL", "SA", "Ets")
_PUBLIC = ("Mairie de", "Communauté de communes de", "Centre hospitalier de", "Lycée Jean Moulin de",
           "Office HLM de")
_CITIES = ("Lyon", "Nantes", "Rennes", "Dijon", "Tours", "Angers", "Reims", "Nîmes", "Brest", "Limoges", "Amiens",
           "Metz", "Besançon", "Orléans", "Rouen", "Caen", "Pau", "Poitiers", "Valence", "Chambéry")
#: A name that needs HTML escaping in every report (and an ampersand for CSV/Excel round trips).
ESCAPE_NAME = "Dupont & Fils <SARL>"


def _customer_names(rng: np.random.Generator, segments: np.ndarray) -> np.ndarray:
    """Unique, French-looking names: '<surname> <trade> <form>', 'Groupe <surname>' or a public body."""
    private = np.array([f"{s} {t}" for s in _SURNAMES for t in _TRADES])
    public = np.array([f"{p} {c}" for p in _PUBLIC for c in _CITIES])
    names = np.empty(segments.size, dtype=object)
    is_pub = segments == "public"
    names[is_pub] = rng.choice(public, is_pub.sum(), replace=False)
    priv = rng.choice(private, (~is_pub).sum(), replace=False)
    forms = rng.choice(np.array(_FORMS), priv.size)
    ka = segments[~is_pub] == "key_accounts"
    names[~is_pub] = np.where(ka, np.char.add("Groupe ", priv), np.char.add(np.char.add(priv, " "), forms))
    names[np.flatnonzero(segments == "sme")[0]] = ESCAPE_NAME
    return names.astype(str)


def _customers(rng: np.random.Generator) -> pd.DataFrame:
    """One row per customer with its true habits (intercept ``mu``, ``p_never``, terms, payment method, runs)."""
    seg = np.repeat(np.array(SEGMENTS), [SEGMENT_LAWS[s].n_customers for s in SEGMENTS])
    n = seg.size
    law = [SEGMENT_LAWS[s] for s in seg]
    scale = np.array([g.scale for g in law])
    mu = np.array([g.mu for g in law]) + scale * np.sqrt(RHO_CUSTOMER) * rng.standard_normal(n)
    pn = np.array([g.p_never for g in law])
    p_never = rng.beta(2.0, 2.0 / pn - 2.0)  # mean pn, sd about 0.8 pn: some customers riskier, none wild
    # sales weight: log-normal concentration (a few big customers), floored so every customer buys now and then
    weight = np.maximum(rng.lognormal(0.0, 0.8, n), 0.25)
    seg_sum = pd.Series(weight).groupby(seg).transform("sum").to_numpy()
    monthly = np.array([g.monthly_sales for g in law]) * weight / seg_sum
    avg_invoice = np.array([g.average_invoice for g in law]) * rng.lognormal(-0.045, 0.3, n)
    u = rng.random((n, 4))
    terms_days, eom = np.empty(n, int), np.empty(n, bool)
    method = np.empty(n, object)
    run1, run2 = np.zeros(n, int), np.zeros(n, int)
    credit_limit = np.full(n, np.nan)
    for s in SEGMENTS:  # loop over the 4 segments, vectorised within
        g, idx = SEGMENT_LAWS[s], np.flatnonzero(seg == s)
        probs = np.array([t[2] for t in g.terms])
        pick = np.searchsorted(np.cumsum(probs), u[idx, 0] * probs.sum(), side="right")
        terms_days[idx] = [g.terms[k][0] for k in pick]
        eom[idx] = [g.terms[k][1] for k in pick]
        cuts = np.cumsum([g.direct_debit_share, g.cheque_share, g.card_share])
        method[idx] = np.array(["direct_debit", "cheque", "card", "transfer"])[
            np.searchsorted(cuts, u[idx, 1], side="right")]
        if g.run_days:
            runs = np.array(g.run_days)[rng.integers(0, len(g.run_days), idx.size)]
            run1[idx], run2[idx] = runs[:, 0], runs[:, 1]
        has_limit = u[idx, 2] < g.credit_limit_share
        credit_limit[idx[has_limit]] = np.maximum(5000, np.round(3 * monthly[idx[has_limit]], -3))
    # direct debit means 30-day terms, no end of month
    dd = method == "direct_debit"
    terms_days[dd], eom[dd] = 30, False
    ids = np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 4))
    return pd.DataFrame({
        "customer_id": ids, "customer_name": _customer_names(rng, seg), "segment": seg,
        "credit_limit": credit_limit, "payment_method": method.astype(str), "terms_days": terms_days,
        "end_of_month": eom, "run_day_1": run1, "run_day_2": run2, "mu": mu, "scale": scale,
        "p_never": p_never, "monthly_sales": monthly, "average_invoice": avg_invoice,
        "promise_rate": [g.promise_rate for g in law], "promise_keep": [g.promise_keep for g in law],
        "dispute_rate": [g.dispute_rate for g in law],
    })


# ------------------------------------------------------------------------------------------------------ invoices

def _months() -> pd.DatetimeIndex:
    """Invoicing months: three years of history up to AS_OF plus FUTURE_MONTHS after it."""
    return pd.date_range(HISTORY_START, AS_OF + pd.offsets.MonthBegin(FUTURE_MONTHS), freq="MS")


def expected_monthly_sales(months: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Expected invoicing (euros incl. VAT) by month and segment: ``monthly_sales x season x growth``.

    Growth is ``(1 + SALES_GROWTH) ** (years from AS_OF)``, so the level at AS_OF is the segment's monthly_sales.
    """
    months = _months() if months is None else months
    years = (months + pd.Timedelta(days=14) - AS_OF).days.to_numpy() / 365.25
    factor = SALES_SEASON[months.month.to_numpy() - 1] * (1 + SALES_GROWTH) ** years
    return pd.DataFrame({s: SEGMENT_LAWS[s].monthly_sales * factor for s in SEGMENTS},
                        index=months.strftime("%Y-%m"))


def _due_dates(issue: np.ndarray, terms: np.ndarray, eom: np.ndarray) -> np.ndarray:
    """Due day: issue + terms, or the end of the month in which issue + terms falls (*fin de mois*)."""
    plain = issue + terms
    month_end = ((plain.astype("datetime64[D]").astype("datetime64[M]") + 1).astype("datetime64[D]")
                 .astype(np.int64) - 1)
    return np.where(eom, month_end, plain)


def _invoices(rng: np.random.Generator, cust: pd.DataFrame) -> pd.DataFrame:
    """Invoice skeleton: customer, issue day (a business day), due day, amount; Poisson counts per month."""
    months = _months()
    expected = expected_monthly_sales(months)
    seg = cust["segment"].to_numpy()
    # expected invoices per (customer, month) = customer share of segment sales / its average invoice
    seg_factor = expected[list(seg)].to_numpy() / np.array([SEGMENT_LAWS[s].monthly_sales for s in seg])
    rate = seg_factor * (cust["monthly_sales"] / cust["average_invoice"]).to_numpy()
    counts = rng.poisson(rate)                                   # (months, customers)
    m_idx, c_idx = np.nonzero(counts)
    reps = counts[m_idx, c_idx]
    m_idx, c_idx = np.repeat(m_idx, reps), np.repeat(c_idx, reps)
    start = months.values.astype("datetime64[D]")[m_idx]
    end = (months + pd.offsets.MonthBegin(1)).values.astype("datetime64[D]")[m_idx]
    n_bd = np.busday_count(start, end, busdaycal=business_calendar())
    k = np.floor(rng.random(m_idx.size) * n_bd).astype(np.int64)
    issue = np.busday_offset(start, k, roll="forward", busdaycal=business_calendar()).astype(np.int64)
    terms = cust["terms_days"].to_numpy()[c_idx]
    due = _due_dates(issue, terms, cust["end_of_month"].to_numpy()[c_idx])
    # amount: customer's average invoice times a mean-one log-normal, to the cent
    amount = np.round(cust["average_invoice"].to_numpy()[c_idx] * rng.lognormal(-0.125, 0.5, c_idx.size), 2)
    order = np.lexsort((c_idx, issue))
    return pd.DataFrame({"cust": c_idx[order], "issue": issue[order], "due": due[order], "amount": amount[order]})


def month_effects(rng: np.random.Generator) -> pd.DataFrame:
    """The realised month shocks by month of due date: ``M`` ~ N(0, 1) and the fixed calendar ``effect``."""
    months = pd.date_range(HISTORY_START, AS_OF + pd.offsets.MonthBegin(FUTURE_MONTHS + 14), freq="MS")
    label = months.strftime("%Y-%m")
    effect = np.where(months.month == 8, AUGUST_EFFECT, 0.0) + np.where(label.isin(STRESS_MONTHS), STRESS_EFFECT, 0)
    return pd.DataFrame({"M": rng.standard_normal(months.size), "effect": effect}, index=pd.Index(label, name="month"))


# ------------------------------------------------------------------------------------------------------- payment

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


def _disputes(rng: np.random.Generator, inv: pd.DataFrame, rate: np.ndarray) -> pd.DataFrame:
    """Dispute flag, type, opening day (issue + 5..40), resolution day and the natural payment day after it."""
    n = len(inv)
    disputed = rng.random(n) < rate
    shares = np.array([DISPUTE_LAWS[t].share for t in DISPUTE_TYPES])
    kind = np.searchsorted(np.cumsum(shares), rng.random(n) * shares.sum(), side="right")
    median = np.array([DISPUTE_LAWS[t].median_days for t in DISPUTE_TYPES])[kind]
    sig = np.array([DISPUTE_LAWS[t].sigma for t in DISPUTE_TYPES])[kind]
    opened = inv["issue"].to_numpy() + rng.integers(5, 41, n)
    resolution = np.maximum(1, np.rint(median * np.exp(sig * rng.standard_normal(n)))).astype(np.int64)
    resolved = opened + resolution
    post = np.rint(POST_RESOLUTION_MEDIAN * np.exp(POST_RESOLUTION_SIGMA * rng.standard_normal(n))).astype(np.int64)
    credit = disputed & (kind == 0) & (rng.random(n) < CREDIT_NOTE_SHARE)
    credit_share = rng.uniform(*CREDIT_NOTE_RANGE, n)
    return pd.DataFrame({"disputed": disputed, "dispute_type": np.array(DISPUTE_TYPES)[kind], "opened": opened,
                         "resolved": resolved, "ready": resolved + post, "credit_note": credit,
                         "credit_share": credit_share})


# --------------------------------------------------------------------------------------------------------- world

@dataclass(frozen=True)
class _World:
    """Everything the generator drew, before the cut at AS_OF."""

    customers: pd.DataFrame      # with true parameters
    invoices: pd.DataFrame       # full life of every invoice incl. after AS_OF (ledger columns + truth columns)
    payments: pd.DataFrame       # every payment row (invoice_id, payment_date, amount), also after AS_OF
    promises: pd.DataFrame
    dunning: pd.DataFrame
    months: pd.DataFrame         # month shocks
    truth_seed: np.random.SeedSequence  # stream of the truth Monte Carlo


def _to_ts(days: np.ndarray) -> np.ndarray:
    """int day numbers -> datetime64[ns] (``_NEVER`` and negative sentinels -> NaT)."""
    days = np.asarray(days, dtype=np.int64)
    out = days.astype("datetime64[D]").astype("datetime64[ns]")
    return np.where((days >= _NEVER) | (days < 0), np.datetime64("NaT", "ns"), out)


def _build_world(seed: int, history_seed: int | None = None) -> _World:
    """Draw the whole company: customers, invoices, disputes, payments, dunning, promises, credit notes.

    ``history_seed`` (default: ``seed``) redraws the month shocks, disputes and payments of the same customers and
    invoices: another history of the same company, for studies of the spread of monthly collections.
    """
    *streams, truth_seed = np.random.SeedSequence(seed).spawn(7)
    if history_seed is not None:
        streams[2:] = np.random.SeedSequence([seed, history_seed]).spawn(4)
    r_cust, r_inv, r_month, r_disp, r_pay, r_split = (np.random.default_rng(s) for s in streams)
    cust = _customers(r_cust)
    inv = _invoices(r_inv, cust)
    months = month_effects(r_month)
    c = inv["cust"].to_numpy()
    issue, due = inv["issue"].to_numpy(), inv["due"].to_numpy()
    run1, run2 = cust["run_day_1"].to_numpy()[c], cust["run_day_2"].to_numpy()[c]
    disp = _disputes(r_disp, inv, cust["dispute_rate"].to_numpy()[c])
    due_month = pd.DatetimeIndex(_to_ts(due)).strftime("%Y-%m")
    m = months.loc[due_month]
    scale = cust["scale"].to_numpy()[c]
    shock = scale * np.sqrt(RHO_MONTH) * m["M"].to_numpy() + m["effect"].to_numpy()
    direct_debit = cust["payment_method"].to_numpy()[c] == "direct_debit"
    settled = _settle(r_pay, issue=issue, due=due, mu=cust["mu"].to_numpy()[c], scale=scale, shock=shock,
                      p_never=cust["p_never"].to_numpy()[c], direct_debit=direct_debit, run1=run1, run2=run2,
                      disputed=disp["disputed"].to_numpy(), ready=disp["ready"].to_numpy(),
                      promise_rate=cust["promise_rate"].to_numpy()[c], promise_keep=cust["promise_keep"].to_numpy()[c])
    n = len(inv)
    year = pd.DatetimeIndex(_to_ts(issue)).year.to_numpy()
    seq = pd.Series(np.ones(n, int)).groupby(year).cumsum().to_numpy()
    ids = np.char.add(np.char.add(np.char.add("F", year.astype(str)), "-"), np.char.zfill(seq.astype(str), 5))
    write_off = np.where(settled.never, next_business_day(due + r_split.integers(180, 301, n)), -1)

    # payments: full on the pay day, or two instalments (the second on the pay day)
    amount = inv["amount"].to_numpy()
    paid = ~settled.never
    split = paid & ~disp["disputed"].to_numpy() & ~direct_debit & (r_split.random(n) < INSTALMENT_SHARE)
    first_day = next_payment_run(np.maximum(issue + 1, settled.pay - r_split.integers(7, 46, n)), run1, run2)
    split &= first_day < settled.pay
    first_amt = np.round(amount * r_split.uniform(0.3, 0.7, n), 2)
    pay_rows = pd.DataFrame({
        "invoice_id": np.concatenate([ids[split], ids[paid]]),
        "payment_date": _to_ts(np.concatenate([first_day[split], settled.pay[paid]])),
        "amount": np.concatenate([first_amt[split], np.where(split, amount - first_amt, amount)[paid]]).round(2),
    })

    # credit notes (avoirs): negative invoices dated at the resolution of some price disputes
    cn = disp["credit_note"].to_numpy() & paid
    cn_year = pd.DatetimeIndex(_to_ts(disp["resolved"].to_numpy()[cn])).year.to_numpy()
    cn_seq = pd.Series(np.ones(cn.sum(), int)).groupby(cn_year).cumsum().to_numpy()
    cn_ids = np.char.add(np.char.add(np.char.add("AV", cn_year.astype(str)), "-"), np.char.zfill(cn_seq.astype(str), 5))

    name, seg = cust["customer_name"].to_numpy(), cust["segment"].to_numpy()
    method, cid = cust["payment_method"].to_numpy(), cust["customer_id"].to_numpy()
    disputed = disp["disputed"].to_numpy()
    full = pd.DataFrame({
        "invoice_id": ids, "customer_id": cid[c], "customer_name": name[c], "segment": seg[c],
        "issue_date": _to_ts(issue), "due_date": _to_ts(due), "amount": amount, "currency": "EUR",
        "payment_method": method[c], "disputed": disputed,
        "dispute_opened": _to_ts(np.where(disputed, disp["opened"], -1)),
        "dispute_resolved": _to_ts(np.where(disputed, disp["resolved"], -1)),
        "dispute_type": pd.Series(np.where(disputed, disp["dispute_type"], None), dtype="str"),
        "write_off_date": _to_ts(write_off),
        # truth columns (dropped from the ledger)
        "paid_date": _to_ts(settled.pay), "never_paid": settled.never, "due_month": due_month,
        "normal_month": m["effect"].to_numpy() == 0, "direct_debit": direct_debit,
        "promise": settled.promise, "promise_kept": settled.kept, "instalments": np.where(split, 2, 1),
    })
    cn_src = np.flatnonzero(cn)
    credit_notes = pd.DataFrame({
        "invoice_id": cn_ids, "customer_id": cid[c[cn_src]], "customer_name": name[c[cn_src]],
        "segment": seg[c[cn_src]], "issue_date": _to_ts(disp["resolved"].to_numpy()[cn_src]),
        "due_date": _to_ts(disp["resolved"].to_numpy()[cn_src]),
        "amount": -np.round(amount[cn_src] * disp["credit_share"].to_numpy()[cn_src], 2), "currency": "EUR",
        "payment_method": method[c[cn_src]], "disputed": False, "dispute_opened": pd.NaT, "dispute_resolved": pd.NaT,
        "dispute_type": pd.Series([None] * cn_src.size, dtype="str"), "write_off_date": pd.NaT,
        "paid_date": pd.NaT, "never_paid": False, "due_month": pd.DatetimeIndex(
            _to_ts(disp["resolved"].to_numpy()[cn_src])).strftime("%Y-%m"),
        "normal_month": True, "direct_debit": False, "promise": False, "promise_kept": False, "instalments": 0,
    })
    full = pd.concat([full, credit_notes], ignore_index=True).sort_values(["issue_date", "invoice_id"],
                                                                          ignore_index=True)
    dun_i, dun_l = np.nonzero(settled.taken)
    dunning = pd.DataFrame({"invoice_id": ids[dun_i], "action_date": _to_ts(settled.action[dun_i, dun_l]),
                            "level": (dun_l + 1).astype(np.int64),
                            "channel": DUNNING_PLAN["channel"].to_numpy()[dun_l].astype(str)})
    p = np.flatnonzero(settled.promise)
    made = settled.action[p, 1]
    already = np.where(split[p] & (first_day[p] <= made), first_amt[p], 0.0)
    promises = pd.DataFrame({"invoice_id": ids[p], "made_date": _to_ts(made),
                             "promised_date": _to_ts(settled.promised[p]), "amount": np.round(amount[p] - already, 2)})
    return _World(customers=cust, invoices=full, payments=pay_rows.sort_values(["payment_date", "invoice_id"],
                                                                               ignore_index=True),
                  promises=promises, dunning=dunning.sort_values(["action_date", "invoice_id"], ignore_index=True),
                  months=months, truth_seed=truth_seed)


def _cut(world: _World, as_of: pd.Timestamp = AS_OF) -> dict[str, pd.DataFrame]:
    """The ledger tables as known at the end of ``as_of``: later events removed or blanked."""
    inv = world.invoices
    inv = inv.loc[inv["issue_date"] <= as_of, list(INVOICE_COLUMNS)].reset_index(drop=True)
    opened_later = inv["dispute_opened"] > as_of
    inv.loc[opened_later, "disputed"] = False
    inv.loc[opened_later, ["dispute_opened", "dispute_resolved"]] = pd.NaT
    inv.loc[opened_later, "dispute_type"] = None
    inv.loc[inv["dispute_resolved"] > as_of, "dispute_resolved"] = pd.NaT
    inv.loc[inv["write_off_date"] > as_of, "write_off_date"] = pd.NaT
    pay, prom, dun = world.payments, world.promises, world.dunning
    customers = world.customers[["customer_id", "customer_name", "segment", "credit_limit"]].copy()
    return {
        "invoices": inv,
        "payments": pay.loc[pay["payment_date"] <= as_of].reset_index(drop=True),
        "promises": prom.loc[prom["made_date"] <= as_of].sort_values(["made_date", "invoice_id"], ignore_index=True),
        "dunning": dun.loc[dun["action_date"] <= as_of].reset_index(drop=True),
        "customers": customers,
    }


def demo_tables(seed: int = 7) -> dict[str, pd.DataFrame]:
    """The demo company's ledger tables at AS_OF: ``invoices``, ``payments``, ``promises``, ``dunning``, ``customers``.

    Columns are the canonical ones of docs/design.md; same seed, same tables bit for bit (copies: safe to modify).

    >>> t = demo_tables()
    >>> list(t["payments"].columns)
    ['invoice_id', 'payment_date', 'amount']
    """
    return {k: v.copy() for k, v in _cut(_build_world(int(seed))).items()}


# --------------------------------------------------------------------------------------------------------- truth

@dataclass(frozen=True)
class DemoTruth:
    """The true behaviour the generator used (definitions in the module docstring).

    segments: indexed by segment: ``median_days_late``, ``share_late`` (undisputed, not direct debit, normal month,
        never-paid counted late), ``p_never`` (invoice-weighted), ``mu``, ``scale``, ``sigma_invoice``,
        ``sd_customer``, ``sd_month``, ``dispute_rate``, ``direct_debit_share``, ``promise_rate``, ``promise_keep``,
        ``n_customers``, ``n_invoices`` (ledger invoices of the truth population).
    customers: per customer: segment, ``mu``, ``p_never``, terms, payment method, payment runs, and its own
        ``median_days_late`` / ``share_late`` under the same definition (NaN for direct-debit customers).
    dispute_resolution_days: indexed by dispute type: share, log-normal ``median_days`` and ``sigma``, ``mean_days``.
    dunning_effect: DUNNING_PLAN (level, channel, days after due, P(pay in response), response days).
    promise_keep: segment -> P(paid on or before the promised date | a promise was made).
    month_effects: by due month ``YYYY-MM``: ``M`` (N(0, 1) draw) and the fixed ``effect`` (August, stress).
    outcomes: per invoice (also those issued after AS_OF): ``paid_date`` (full payment, NaT if never),
        ``never_paid``, ``due_month``, ``normal_month``, ``direct_debit``, ``promise``, ``promise_kept``.
    future_invoices / future_payments: invoices issued and payments made after AS_OF (never in the ledger).
    """

    segments: pd.DataFrame
    customers: pd.DataFrame
    rho_month: float
    rho_customer: float
    rho_month_within_customer: float
    dispute_resolution_days: pd.DataFrame
    dunning_effect: pd.DataFrame
    promise_keep: pd.Series
    month_effects: pd.DataFrame
    outcomes: pd.DataFrame
    future_invoices: pd.DataFrame
    future_payments: pd.DataFrame
    as_of: pd.Timestamp = AS_OF

    def dispute_resolution_pmf(self, dispute_type: str, max_days: int = 365) -> np.ndarray:
        """P(resolution takes d calendar days), d = 0..max_days: ``max(1, round(X))``, X log-normal by type."""
        row = self.dispute_resolution_days.loc[dispute_type]
        law = stats.lognorm(s=row["sigma"], scale=row["median_days"])
        edges = np.arange(max_days + 2) - 0.5
        pmf = np.diff(law.cdf(np.maximum(edges, 0)))
        pmf[1] += pmf[0]
        pmf[0] = 0.0
        return pmf


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    """Smallest x with cumulative weight >= half the total (x may hold +inf)."""
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    return float(x[order][np.searchsorted(cw, 0.5 * cw[-1])])


def _truth_draws(world: _World) -> pd.DataFrame:
    """TRUTH_DRAWS days-late draws per customer: its ledger invoices (undisputed, not direct debit), natural time
    redrawn in a normal month (M ~ N(0, 1), no calendar effect), dunning/promises/snapping applied.

    Variance reduction (same law, a much steadier median): the draws of a customer visit its invoices
    systematically (each invoice ``TRUTH_DRAWS / count`` times, +-1) instead of at random, and the log-time noise
    ``s_g (sqrt(RHO_MONTH) M + sqrt(1 - RHO_MONTH - RHO_CUSTOMER) eps)`` -- one normal of sd
    ``s_g sqrt(1 - RHO_CUSTOMER)`` since ``M`` is redrawn for every draw -- is stratified: one draw in each of the
    ``TRUTH_DRAWS`` equal-probability strata, paired with the invoices in random order."""
    rng = np.random.default_rng(world.truth_seed)
    inv = world.invoices
    base = inv.loc[(inv["issue_date"] <= AS_OF) & (inv["amount"] > 0) & ~inv["disputed"] & ~inv["direct_debit"]]
    cust = world.customers.set_index("customer_id")
    codes = pd.Categorical(base["customer_id"], categories=cust.index).codes
    counts = np.bincount(codes, minlength=len(cust))
    has = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    order = np.argsort(codes, kind="stable")
    pick_c = np.repeat(has, TRUTH_DRAWS)
    j = np.tile(np.arange(TRUTH_DRAWS), has.size)
    offset = np.repeat(rng.random(has.size), TRUTH_DRAWS)                       # systematic sample per customer
    pick = order[starts[pick_c] + np.floor((j + offset) * counts[pick_c] / TRUTH_DRAWS).astype(np.int64)]
    strata = np.argsort(rng.random((has.size, TRUTH_DRAWS)), axis=1).ravel()     # a random pairing of strata
    z = stats.norm.ppf((strata + rng.random(strata.size)) / TRUTH_DRAWS)
    issue = base["issue_date"].to_numpy().astype("datetime64[D]").astype(np.int64)[pick]
    due = base["due_date"].to_numpy().astype("datetime64[D]").astype(np.int64)[pick]

    def col(name: str) -> np.ndarray:
        """The customer parameter ``name`` for each draw."""
        return cust[name].to_numpy()[pick_c]

    noise = col("scale") * np.sqrt(1 - RHO_CUSTOMER) * z
    s = _settle(rng, issue=issue, due=due, mu=col("mu"), scale=col("scale"), shock=noise, p_never=col("p_never"),
                direct_debit=np.zeros(pick_c.size, bool), run1=col("run_day_1"), run2=col("run_day_2"),
                disputed=np.zeros(pick_c.size, bool), ready=issue, promise_rate=col("promise_rate"),
                promise_keep=col("promise_keep"), invoice_noise=False)
    late = np.where(s.never, np.inf, (s.pay - due).astype(float))
    return pd.DataFrame({"customer": pick_c, "days_late": late, "weight": counts[pick_c] / TRUTH_DRAWS,
                         "segment": col("segment")})


def _truth(world: _World) -> DemoTruth:
    """The truth tables of a world: Monte Carlo summaries (module docstring) next to the parameters used."""
    draws = _truth_draws(world)
    cust = world.customers
    x, w = draws["days_late"].to_numpy(), draws["weight"].to_numpy()
    seg_rows = {}
    for s in SEGMENTS:
        g, sel = SEGMENT_LAWS[s], (draws["segment"] == s).to_numpy()
        in_seg = cust["segment"] == s
        n_inv = float(w[sel].sum())
        seg_rows[s] = {
            "median_days_late": _weighted_median(x[sel], w[sel]),
            "share_late": float(np.sum(w[sel] * (x[sel] > 0)) / n_inv),
            "p_never": float(np.sum(w[sel] * np.isinf(x[sel])) / n_inv),
            "mu": g.mu, "scale": g.scale, "sigma_invoice": g.scale * np.sqrt(1 - RHO_MONTH - RHO_CUSTOMER),
            "sd_customer": g.scale * np.sqrt(RHO_CUSTOMER), "sd_month": g.scale * np.sqrt(RHO_MONTH),
            "dispute_rate": g.dispute_rate, "direct_debit_share": g.direct_debit_share,
            "promise_rate": g.promise_rate, "promise_keep": g.promise_keep,
            "n_customers": int(in_seg.sum()), "n_invoices": int(round(n_inv)),
        }
    segments = pd.DataFrame.from_dict(seg_rows, orient="index")
    segments.index.name = "segment"
    by_c = draws.assign(late=draws["days_late"] > 0).groupby("customer")
    # same median as the segments': the smallest draw with at least half of the draws at or below it
    per_c = pd.DataFrame({"median_days_late": by_c["days_late"].quantile(0.5, interpolation="lower"),
                          "share_late": by_c["late"].mean()})
    customers = cust.drop(columns=["monthly_sales", "average_invoice"]).join(per_c)
    customers = customers.set_index("customer_id")
    disputes = pd.DataFrame({t: {"share": d.share, "median_days": d.median_days, "sigma": d.sigma,
                                 "mean_days": d.median_days * np.exp(d.sigma**2 / 2)}
                             for t, d in DISPUTE_LAWS.items()}).T
    disputes.index.name = "dispute_type"
    inv = world.invoices
    outcomes = inv[["invoice_id", "customer_id", "segment", "issue_date", "due_date", "amount", "paid_date",
                    "never_paid", "due_month", "normal_month", "direct_debit", "disputed", "promise",
                    "promise_kept", "instalments"]]
    future = inv.loc[inv["issue_date"] > AS_OF, list(INVOICE_COLUMNS)].reset_index(drop=True)
    pay = world.payments
    return DemoTruth(
        segments=segments, customers=customers, rho_month=RHO_MONTH, rho_customer=RHO_CUSTOMER,
        rho_month_within_customer=RHO_MONTH / (1 - RHO_CUSTOMER),
        dispute_resolution_days=disputes, dunning_effect=DUNNING_PLAN.copy(),
        promise_keep=pd.Series({s: SEGMENT_LAWS[s].promise_keep for s in SEGMENTS}, name="promise_keep"),
        month_effects=world.months.copy(), outcomes=outcomes.reset_index(drop=True), future_invoices=future,
        future_payments=pay.loc[pay["payment_date"] > AS_OF].reset_index(drop=True),
    )


@dataclass(frozen=True)
class DemoCompany:
    """The demo company: its validated ``ledger`` at ``as_of``, the raw ``tables`` it was read from, the ``truth``."""

    ledger: Ledger
    truth: DemoTruth
    as_of: pd.Timestamp
    tables: dict[str, pd.DataFrame] = field(repr=False)

    @property
    def raw(self) -> dict[str, pd.DataFrame]:
        """Alias of ``tables`` (the name docs/design.md uses)."""
        return self.tables


def demo_company(seed: int = 7) -> DemoCompany:
    """The embedded demo company: ledger (``cashsim.ledger.read_ledger`` of the tables), truth and tables.

    >>> demo = demo_company()
    >>> len(demo.ledger.rejections)
    0
    >>> demo.truth.segments.index.tolist()
    ['key_accounts', 'sme', 'micro', 'public']
    """
    world = _build_world(int(seed))
    tables = _cut(world)
    truth = _truth(world)
    ledger = read_ledger(**{k: v.copy() for k, v in tables.items()})
    return DemoCompany(ledger=ledger, truth=truth, as_of=AS_OF, tables=tables)


def demo_ledger(seed: int = 7) -> Ledger:
    """The demo company's validated ledger at AS_OF (``demo_company(seed).ledger`` without the truth)."""
    return read_ledger(**demo_tables(seed))
