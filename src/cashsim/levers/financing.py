"""Financing the receivables (factoring, Dailly assignment, bill discounting): certain cash now against fees.

Rule: the advance ``advance_rate x financed`` is cash on as_of + 1 (or at issue); the fees
``service_fee x financed + fee_per_invoice + (reference_rate + margin) x advance x days / 360`` (euros) come out
of the reserve, which comes back when the customer pays. Customer behaviour is unchanged: no pmf row moves.
Per-method defaults in ``FINANCING_DEFAULTS``.

Example::

    >>> Financing(method="dailly").fee_per_invoice
    10.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from cashsim.levers._book import (
    Segments,
    _cost_frame,
    _customer_actions,
    _ensure_columns,
    _expected_pay_day,
    _month,
    _select,
    _with,
)
from cashsim.levers.spec import LeverSpec, Risk

if TYPE_CHECKING:
    from cashsim.behaviour import PayerModel
    from cashsim.simulate import Book


#: Per-method defaults. Factoring (*affacturage*): advance 90 %, service fee 0.8 % of TTC, EURIBOR 3M + 1.5 %
#: (France: fee 0.10-1.30 %, cmc-courtage.com; margin +0.15-2 %, affacturage.pagesjaunes.fr). Dailly assignment
#: (*cession Dailly*) and bill discounting (*escompte*): assumptions priced like a short-term credit line.
FINANCING_DEFAULTS: dict[str, dict[str, float]] = {
    "factoring": dict(advance_rate=0.90, service_fee=0.008, margin=0.015, fee_per_invoice=0.0, min_days=0),
    "dailly": dict(advance_rate=0.80, service_fee=0.0, margin=0.015, fee_per_invoice=10.0, min_days=0),
    "discounting": dict(advance_rate=1.0, service_fee=0.0, margin=0.015, fee_per_invoice=5.0, min_days=10),
}


class Financing(LeverSpec):
    """Financing the receivables: factoring (*affacturage*), Dailly assignment (*cession Dailly*), bill discounting.

    A ``share`` of each eligible invoice (not yet due; future invoices from their issue date when
    ``include_future``) is financed: the advance ``a x financed`` is cash on as_of + 1 (or at issue), the fees
    ``service_fee x financed + fee_per_invoice + (reference_rate + margin) x advance x days / 360`` are deducted
    from the reserve, which comes back when the customer pays — **no change in customer behaviour**. Days run from
    funding to the expected payment day (factoring, Dailly: the factor regularises later) or to the due date with
    at least ``min_days`` (discounting). A ``minimum_fee`` over the horizon tops up total fees pro rata. An invoice
    whose fees would exceed its advance is not financed.
    Invoices carrying an early-payment discount are left out (a factor does not fund discounted invoices). With a
    deposit on the same invoice the advance is merged into the later of the two dates (conservative).
    Report it apart from DSO: French practice keeps assigned receivables in the DSO numerator.

    >>> Financing(method="factoring").advance_rate
    0.9
    """

    kind: Literal["financing"] = "financing"
    method: Literal["factoring", "dailly", "discounting"] = "factoring"
    share: float = Field(1.0, gt=0, le=1)
    segments: Segments = None
    customers: Segments = None
    advance_rate: float | None = Field(None, gt=0, le=1)
    service_fee: float | None = Field(None, ge=0, le=0.1)
    #: 3-month EURIBOR (assumption ~2.0 % in late 2025: set the rate of the day).
    reference_rate: float = Field(0.02, ge=-0.01, le=0.2)
    margin: float | None = Field(None, ge=0, le=0.2)
    fee_per_invoice: float | None = Field(None, ge=0)
    min_days: int | None = Field(None, ge=0)
    minimum_fee: float = Field(0.0, ge=0)
    include_future: bool = True

    risk_note: ClassVar[str] = ("none in behaviour; customers see the factor's name (notified factoring); with "
                                "recourse, an unpaid invoice's advance is paid back")

    @property
    def risk(self) -> Risk:
        return "none"

    @model_validator(mode="after")
    def _method_defaults(self) -> Financing:
        for key, value in FINANCING_DEFAULTS[self.method].items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        return self

    def is_financing(self) -> bool:
        return True

    def terms(self, book: Book) -> pd.DataFrame:
        """Per financed invoice: position, funding date, financed, advance, fees (service, per invoice, interest)."""
        inv = _ensure_columns(book)
        as_of = pd.Timestamp(book.as_of).normalize()
        due = inv["due_date"].astype("datetime64[ns]")
        future = inv["is_future"].to_numpy(dtype=bool)
        ok = (_select(inv, self.segments, self.customers) & (due > as_of).to_numpy() & (inv["amount"] > 0).to_numpy()
              & (inv["discount_rate"].to_numpy() == 0) & (self.include_future | ~future))
        sel = np.flatnonzero(ok)
        tomorrow = as_of + pd.Timedelta(days=1)
        issued = inv["issue_date"].astype("datetime64[ns]").clip(lower=tomorrow)
        fund = issued.where(pd.Series(future, index=inv.index), tomorrow).iloc[sel]
        fund_rel = (fund - due.iloc[sel]).dt.days.to_numpy()
        if self.method == "discounting":
            pay_rel = np.zeros(len(sel))
            days = np.maximum(-fund_rel, self.min_days).astype(float)
        else:
            pay_rel = _expected_pay_day(book, sel)
            days = np.maximum(pay_rel - fund_rel, self.min_days)
        financed = inv["amount"].to_numpy(dtype=float)[sel] * self.share
        advance = financed * self.advance_rate
        service = financed * self.service_fee
        interest = advance * (self.reference_rate + self.margin) * days / 360.0
        fees = service + self.fee_per_invoice + interest
        worth = fees < advance            # an invoice whose fees would eat the advance is not financed
        sel, fund, financed, advance, days, fees = (x[worth] for x in (sel, fund, financed, advance, days, fees))
        top_up = max(0.0, self.minimum_fee - fees.sum())
        if top_up > 0 and financed.sum() > 0:
            fees = np.minimum(fees + top_up * financed / financed.sum(), financed)  # never more than financed
        return pd.DataFrame({"pos": sel, "customer_id": inv["customer_id"].to_numpy()[sel],
                             "invoice_id": inv["invoice_id"].to_numpy()[sel], "funding_date": fund.to_numpy(),
                             "financed": financed, "advance": advance, "days": days, "fees": fees})

    def apply(self, book: Book, model: PayerModel | None = None) -> Book:
        inv = _ensure_columns(book)
        t = self.terms(book)
        if t.empty:
            return _with(book, invoices=inv)
        idx = inv.index[t["pos"].to_numpy()]
        # fees come out of the reserve; beyond it, out of the advance (cash now = advance - excess)
        reserve = t["financed"].to_numpy() - t["advance"].to_numpy()
        from_advance = np.maximum(0.0, t["fees"].to_numpy() - reserve)
        cash_now = t["advance"].to_numpy() - from_advance
        # later cash = unfinanced part + reserve net of fees = amount - cash now - fees
        inv.loc[idx, "amount"] = inv.loc[idx, "amount"].to_numpy() - cash_now - t["fees"].to_numpy()
        prior = inv.loc[idx, "upfront_date"]
        inv.loc[idx, "upfront_amount"] = inv.loc[idx, "upfront_amount"].to_numpy() + cash_now
        inv.loc[idx, "upfront_date"] = np.where(prior.isna(), t["funding_date"].to_numpy(),
                                                np.maximum(prior.to_numpy(), t["funding_date"].to_numpy()))
        inv["upfront_date"] = inv["upfront_date"].astype("datetime64[ns]")
        return _with(book, invoices=inv)

    def costs(self, book: Book, model: PayerModel | None = None, after: Book | None = None) -> pd.DataFrame:
        t = self.terms(book)
        return _cost_frame(self.name, _month(t["funding_date"]), f"{self.method} fees and interest",
                           t["fees"].to_numpy())

    def actions(self, book: Book, model: PayerModel | None = None) -> pd.DataFrame:
        t = self.terms(book)
        return _customer_actions(self.name, t["customer_id"], t["financed"],
                                 f"assign to {self.method} ({self.advance_rate:.0%} advance)")
