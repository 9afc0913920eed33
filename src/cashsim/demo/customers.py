"""The demo company's customers: about 300 of them in four client groups, each with its own true habits.

Per customer: a log-time intercept ``mu_c = mu_g + s_g * sqrt(RHO_CUSTOMER) * C_c`` (``C_c ~ N(0, 1)``), a
never-paid probability drawn from a Beta of mean the segment's ``p_never`` (sd about 0.8 of it), a sales weight
(log-normal, floored at 0.25) sharing the segment's ``monthly_sales``, an average invoice, terms, payment method
(direct debit means 30 days, not end of month), payment runs (key accounts) and a credit limit. Names look French
and are unique; one ``sme`` customer is named :data:`ESCAPE_NAME`, which every report must escape.

Example::

    >>> cust = _customers(np.random.default_rng(0))
    >>> cust["segment"].value_counts()["sme"]
    np.int64(140)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim.demo.laws import RHO_CUSTOMER, SEGMENT_LAWS, SEGMENTS

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
