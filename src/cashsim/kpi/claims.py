"""What the law lets the company claim on late invoices (*pénalités de retard* and the 40 EUR indemnity).

Rule (French Commercial Code L441-10): interest = legal rate (ECB main refinancing rate of the half-year + 10
points, :mod:`cashsim.legal`) x days late / 365 on each part paid late, up to its payment, and on the open
remainder, up to as_of; indemnity = 40 EUR per late invoice (D441-5). Public bodies: ECB + 8 points (CCP R2192-31);
individuals: no indemnity and no interest claimed (:mod:`cashsim.legal`). Shown as claimable, never assumed
collected.

Example::

    >>> claims_by_customer(late_payment_claims(ledger, "2026-03-31")).head()   # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cashsim.kpi._common import _ts, status_as_of
from cashsim.kpi.lateness import _late_pieces
from cashsim.legal import indemnity_by_type, late_interest_by_type, late_payment_rate

if TYPE_CHECKING:  # pragma: no cover
    from cashsim.ledger import Ledger


def late_payment_claims(ledger: Ledger, as_of, *, since=None) -> pd.DataFrame:
    """What the law would let the company claim on each late invoice (*pénalités de retard* + 40 EUR indemnity).

    Interest = legal rate (ECB MRO of the half-year + 10 points, :mod:`cashsim.legal`) x days late / 365 on each part
    paid late (up to its payment) and on the open remainder (up to ``as_of``); indemnity = 40 EUR per late invoice.
    Shown as claimable, never assumed collected. ``since``: only invoices due on or after that date.
    Columns: invoice_id, customer_id, customer_name, segment, amount, due_date, days_late (to full payment or
    as_of), interest, indemnity, claimable, rate_beyond_table (a day after the rate table's end used its last rate).
    """
    as_of = _ts(as_of)
    st = status_as_of(ledger, as_of)
    pieces = _late_pieces(ledger, as_of, st)
    if since is not None:
        pieces = pieces.loc[pieces["start"] >= _ts(since)]
    kinds = st.set_index("invoice_id")["customer_type"] if "customer_type" in st else pd.Series(dtype=str)
    kind = pieces["invoice_id"].map(kinds).fillna("company") if len(pieces) else pieces["invoice_id"].astype(str)
    pieces = pieces.assign(interest=late_interest_by_type(pieces["amount"], pieces["start"], pieces["end"], kind),
                           beyond=late_payment_rate(pieces["end"])[1])
    per = pieces.groupby("invoice_id").agg(interest=("interest", "sum"), last=("end", "max"),
                                           beyond=("beyond", "any"))
    inv = st.set_index("invoice_id").loc[per.index]
    out = pd.DataFrame({
        "customer_id": inv["customer_id"], "customer_name": inv["customer_name"], "segment": inv["segment"],
        "amount": inv["amount"], "due_date": inv["due_date"],
        "days_late": (per["last"] - inv["due_date"]).dt.days, "interest": per["interest"],
        "indemnity": indemnity_by_type(inv.get("customer_type", pd.Series("company", index=inv.index))),
        "rate_beyond_table": per["beyond"],
    }, index=per.index)
    out["claimable"] = out["interest"] + out["indemnity"]
    out.insert(0, "as_of", as_of)
    return out.reset_index().sort_values("claimable", ascending=False, ignore_index=True)


def claims_by_customer(claims: pd.DataFrame) -> pd.DataFrame:
    """:func:`late_payment_claims` summed per client: n_late_invoices, interest, indemnity, claimable."""
    g = claims.groupby(["customer_id", "customer_name"], dropna=False)
    out = g.agg(n_late_invoices=("invoice_id", "size"), interest=("interest", "sum"),
                indemnity=("indemnity", "sum"), claimable=("claimable", "sum"),
                rate_beyond_table=("rate_beyond_table", "any"))
    return out.reset_index().sort_values("claimable", ascending=False, ignore_index=True)
