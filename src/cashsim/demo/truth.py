"""What the demo company really does: the truth tables a fitted model is checked against (:class:`DemoTruth`).

Truth definitions
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
    of :mod:`cashsim.demo.payments`: "normal month" fixes ``e_m = 0`` but still draws ``M_m``; dunning, promises
    and snapping act as in the ledger; direct-debit customers are left out whole (not only their debits).
    ``rho_month`` and ``rho_customer`` are the loadings of the Gaussian factor copula on the natural time of a
    segment-level marginal (``Z = sqrt(rho_m) M + sqrt(rho_c) C + sqrt(1 - rho_m - rho_c) e``); given the
    customer's own intercept ``mu_c`` the customer loading is 0 and the month loading is
    ``rho_month_within_customer``.

Example::

    >>> from cashsim.demo import demo_company
    >>> truth = demo_company(7).truth
    >>> float(truth.segments.loc["key_accounts", "median_days_late"])
    13.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cashsim.demo.laws import (
    AS_OF,
    DISPUTE_LAWS,
    DUNNING_PLAN,
    RHO_CUSTOMER,
    RHO_MONTH,
    SEGMENT_LAWS,
    SEGMENTS,
    TRUTH_DRAWS,
)
from cashsim.demo.payments import _settle
from cashsim.demo.world import _World
from cashsim.ledger import INVOICE_COLUMNS


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
