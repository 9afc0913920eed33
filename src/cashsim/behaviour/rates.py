"""Rates shrunk by a Beta prior: never paid, direct-debit rejection, promise kept.

Each is a share of past invoices with a Beta prior, so that a customer or a segment with few of them leans on the
level above it:

* **Never paid** (*créances irrécouvrables*): ``pi`` from invoices at least 180 days old (written off: never paid;
  paid: paid; still open: censored, a never-payer with probability ``pi / (pi + (1 - pi) S(age))``), in three
  levels each shrunk to the one above with a Beta prior worth 200 invoices: the book's share to
  ``prior_never_paid`` (Atradius 2018: 1.3% of B2B receivables), each segment's to the book's, each customer's to
  its segment's. Example: a segment of 80 old invoices, none written off, in a book of 400 such (the IBM sample at
  its first back-test origin) gets 0.3% (shrunk to the book's 0.4%) instead of 0.9% (shrunk to the 1.3% prior);
  the book with no write-off then kept about 1% of the open invoices from ever being paid (IBM back-test bias in
  month 1: -1.5% before, -0.6% after). With the engine's conditioning on "not paid by day a" the
  never-paid share of an overdue invoice rises with age: ``pi_a = pi / (pi + (1 - pi) S(a))`` (``S`` of the path
  the invoice is on: a dated dispute's, :mod:`cashsim.behaviour.disputes`).
* **Direct debit** (*prélèvement SEPA*): paid on the due date, except a rejection share ``r`` (undisputed debits
  due at least 3 days before ``as_of`` not collected within 3 days; Beta prior 5% worth 20 debits) that follows
  the customer's transfer law after the due date.
* **Promises** (*promesses de règlement*): a pending promise puts the invoice on the promised day with the
  customer's keep rate (Beta-binomial, shrunk to segment and book), otherwise back to its law after that day.

>>> _beta_binomial_weight(np.array([1, 2]), np.array([4, 4]))   # fewer than 3 customers: the default weight
2.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Key of ``PayerModel.promise_keep`` holding the book's keep rate (for customers not seen in the history).
BOOK_KEY = "__book__"
#: A direct debit counts as collected if the money arrived within this many days of the due date.
DD_TOLERANCE_DAYS = 3
#: Prior for the direct-debit rejection rate (methods.md table: 3-10%, default 5%) and its weight in debits.
DD_PRIOR_REJECT, DD_PRIOR_WEIGHT = 0.05, 20.0
#: Weight of the never-paid prior, in invoices.
NEVER_PRIOR_WEIGHT = 200.0
#: Invoices younger than this are too recent to have been written off (write-off rate denominator).
WRITE_OFF_MIN_AGE = 180


def _payer_survival(hist: pd.DataFrame, age: np.ndarray) -> np.ndarray:
    """``S(a)``: share of paid invoices old enough to be seen at age ``a`` (issued >= ``a`` days before ``as_of``)
    paid more than ``a`` days after issue: a payer's chance of still being unpaid at that age."""
    paid = hist[hist["paid"].to_numpy(bool)]
    delay = np.sort((paid["paid_date"] - paid["issue_date"]).dt.days.to_numpy(float))
    seen_age = np.sort(paid["age"].to_numpy(float))
    n_seen = len(seen_age) - np.searchsorted(seen_age, age, side="left")        # issued >= a days ago
    # paid later than a among those seen at a: paid ones with delay > a all have age >= delay > a
    late = len(delay) - np.searchsorted(delay, age, side="right")
    return np.where(n_seen > 0, late / np.maximum(n_seen, 1), 0.0)


def _never_paid(hist: pd.DataFrame, prior: float, iterations: int = 50) -> tuple[dict[str, float], pd.Series]:
    """Never-paid probability per segment and per customer on invoices >= 180 days old: the book's share with a
    Beta prior of mean ``prior`` worth 200 invoices, each segment's shrunk to the book's the same way, each
    customer's to its segment's (:func:`_censored_rate`; a segment without old invoices takes the book's share).

    A written-off invoice is a never-payer, a paid one a payer, and one still open at age ``a`` and not written off
    is **censored**: a never-payer with probability ``pi_a = pi / (pi + (1 - pi) S(a))`` (the cure mixture's
    likelihood ``pi + (1 - pi) S(a)``, ``S`` = :func:`_payer_survival`), so
    ``pi = (write-offs + sum pi_a + prior m) / (n + m)`` (EM, fixed point). Counting it as a payer biased ``pi``
    down (demo micro: 0.024 for a true 0.030) because write-offs come 180-300 days after the due date. An open
    dated dispute (paid after its resolution, not on the payer law) is left out.
    """
    old = hist[hist["age"] >= WRITE_OFF_MIN_AGE]
    is_open = ~(old["paid"].to_numpy(bool) | old["written_off"].to_numpy(bool))
    if "dispute_dated" in old:             # an open dated dispute waits on its resolution: it says nothing here
        keep = ~(is_open & old["dispute_dated"].to_numpy(bool))
        old, is_open = old[keep], is_open[keep]
    s_a = _payer_survival(hist, old["age"].to_numpy(float)[is_open])
    wo = old["written_off"].to_numpy(float)
    book, _ = _censored_rate(wo, is_open, s_a, np.zeros(len(old), int), 1, prior, iterations)
    seg_codes, seg_names = pd.factorize(old["segment"].to_numpy(str))
    pi, q = _censored_rate(wo, is_open, s_a, seg_codes, len(seg_names), float(book[0]), iterations)
    seg_pi = {str(k): float(v) for k, v in zip(seg_names, pi, strict=False)}
    for s in hist["segment"].unique():
        seg_pi.setdefault(s, float(book[0]))
    cust = old.assign(never=wo + q).groupby("customer_id").agg(n=("never", "size"), wo=("never", "sum"),
                                                               segment=("segment", "first"))
    base = cust["segment"].map(seg_pi)
    cust_pi = (cust["wo"] + base * NEVER_PRIOR_WEIGHT) / (cust["n"] + NEVER_PRIOR_WEIGHT)
    return seg_pi, cust_pi


def _censored_rate(wo: np.ndarray, is_open: np.ndarray, s_a: np.ndarray, codes: np.ndarray, n_groups: int,
                   prior: float, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Never-paid share per group (``codes``), Beta prior with mean ``prior`` worth :data:`NEVER_PRIOR_WEIGHT`
    invoices, open invoices censored (EM to the fixed point ``pi = (write-offs + sum pi_a + prior m) / (n + m)``);
    returns the shares and each invoice's never-paid weight (1 written off, ``pi_a`` open, 0 paid)."""
    n = np.bincount(codes, minlength=n_groups).astype(float)
    pi = np.full(n_groups, prior)
    q = np.zeros(len(wo))
    for _ in range(iterations if is_open.any() else 1):
        p = pi[codes[is_open]]
        q[is_open] = p / np.maximum(p + (1 - p) * s_a, 1e-300)
        new = (np.bincount(codes, weights=wo + q, minlength=n_groups) + prior * NEVER_PRIOR_WEIGHT) \
            / (n + NEVER_PRIOR_WEIGHT)
        done = np.allclose(new, pi, rtol=0, atol=1e-10)
        pi = new
        if done:
            break
    p = pi[codes[is_open]]
    q[is_open] = p / np.maximum(p + (1 - p) * s_a, 1e-300)
    return pi, q


def _direct_debit_reject_rate(hist: pd.DataFrame, as_of: pd.Timestamp) -> tuple[float, int]:
    """Share of direct debits not collected within 3 days of the due date (observable ones only), Beta prior 5%
    worth 20 debits (methods.md: 3-10% of SEPA debits are rejected)."""
    dd = hist[(hist["payment_method"] == "direct_debit") & ~hist["disputed"] & ~hist["written_off"]
              & (hist["due_date"] <= as_of - pd.Timedelta(days=DD_TOLERANCE_DAYS))]
    ok = dd["paid"] & (dd["days_late"].abs() <= DD_TOLERANCE_DAYS)
    return float((len(dd) - ok.sum() + DD_PRIOR_REJECT * DD_PRIOR_WEIGHT) / (len(dd) + DD_PRIOR_WEIGHT)), len(dd)


def _promise_keep(promises: pd.DataFrame | None, payments: pd.DataFrame, hist: pd.DataFrame, as_of: pd.Timestamp,
                  grace: int = 3) -> tuple[pd.Series, dict]:
    """P(promise kept) for every customer of ``hist``: a promise (*promesse de règlement*) is kept when the invoice
    was fully paid, or paid at least the promised amount since the promise, by ``promised_date + 3 days``. Only
    promises whose deadline had passed by ``as_of`` count. Beta-binomial shrinkage customer -> segment -> book
    (a customer without promises gets its segment's rate), the prior weight ``m`` estimated by moments across
    customers; 50% when no promise was ever recorded (and ``info`` says so). The entry ``"__book__"`` holds the
    book's rate, for customers the model has not seen.

    ``promises``: :func:`_known_promises` of the ledger known at ``as_of``; ``payments``: that ledger's payments."""
    customers = hist.groupby("customer_id")["segment"].first()

    def everyone(rate_c: pd.Series, rate_s: pd.Series, book: float) -> pd.Series:
        out = rate_c.reindex(customers.index).fillna(customers.map(rate_s)).fillna(book)
        out = pd.concat([out, pd.Series({BOOK_KEY: book})])  # customers not seen yet get the book's rate
        return out.rename("promise_keep").astype(float)

    if promises is None:
        return everyone(pd.Series(dtype=float), pd.Series(dtype=float), 0.5), {
            "n_promises": 0, "book_keep_rate": 0.5, "promise_note": "no promise recorded: keep rate 50% assumed"}
    pr = promises[promises["promised_date"] + pd.Timedelta(days=grace) <= as_of]
    info = hist.set_index("invoice_id")[["customer_id", "segment", "paid_date"]]
    pr = pr.join(info, on="invoice_id", how="inner")
    if pr.empty:
        return everyone(pd.Series(dtype=float), pd.Series(dtype=float), 0.5), {
            "n_promises": 0, "book_keep_rate": 0.5, "promise_note": "no promise with a past deadline: 50% assumed"}
    pay = payments[["invoice_id", "payment_date", "amount"]].copy()
    pay["payment_date"] = pay["payment_date"].astype("datetime64[ns]")
    merged = pr.reset_index(drop=True).reset_index(names="pid").merge(pay, on="invoice_id", how="left")
    in_window = (merged["payment_date"] >= merged["made_date"]) & \
                (merged["payment_date"] <= merged["promised_date"] + pd.Timedelta(days=grace))
    got = merged["amount_y"].where(in_window, 0.0).groupby(merged["pid"]).sum()
    pr = pr.reset_index(drop=True)
    paid_by = pr["paid_date"].notna() & (pr["paid_date"] <= pr["promised_date"] + pd.Timedelta(days=grace))
    promised_amt = pr["amount"].fillna(0.0).to_numpy()
    kept = paid_by.to_numpy() | (got.reindex(pr.index).fillna(0).to_numpy() >= promised_amt - 0.01) & (promised_amt > 0)
    pr["kept"] = kept.astype(float)
    book = pr["kept"].mean()
    by_c = pr.groupby("customer_id").agg(k=("kept", "sum"), n=("kept", "size"), segment=("segment", "first"))
    by_s = pr.groupby("segment").agg(k=("kept", "sum"), n=("kept", "size"))
    m = _beta_binomial_weight(by_c["k"].to_numpy(), by_c["n"].to_numpy())
    seg_rate = (by_s["k"] + m * book) / (by_s["n"] + m)
    cust_rate = (by_c["k"] + m * by_c["segment"].map(seg_rate)) / (by_c["n"] + m)
    return everyone(cust_rate, seg_rate, book), {
        "n_promises": int(len(pr)), "book_keep_rate": float(book), "promise_prior_weight": float(m),
        "promise_keep_by_segment": {str(k): float(v) for k, v in seg_rate.items()}}


def _beta_binomial_weight(k: np.ndarray, n: np.ndarray) -> float:
    """Prior weight ``m = a + b`` of a Beta-binomial by moments: ``Var(k/n) = p(1-p)[1/n + (1 - 1/n)/(m + 1)]``."""
    if len(k) < 3 or n.sum() == 0:
        return 2.0
    rate = k / n
    p = k.sum() / n.sum()
    if p <= 0 or p >= 1:
        return 2.0
    excess = np.var(rate) / (p * (1 - p)) - np.mean(1.0 / n)
    denom = 1 - np.mean(1.0 / n)
    if excess <= 0 or denom <= 0:
        return 50.0  # no visible heterogeneity: lean on the segment
    return float(np.clip(denom / excess - 1, 2.0, 50.0))


def _known_promises(known) -> pd.DataFrame | None:
    """The promises of the ledger ``known`` (already cut at ``as_of``) with typed dates and text invoice ids;
    None when there is none."""
    pr = known.promises
    if pr is None or len(pr) == 0:
        return None
    pr = pr.copy()
    for c in ("made_date", "promised_date"):
        pr[c] = pr[c].astype("datetime64[ns]")
    pr["invoice_id"] = pr["invoice_id"].astype(str)
    return pr
