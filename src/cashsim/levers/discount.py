"""Early-payment discount (*escompte pour paiement anticipé*): the invoices that take it move to the deadline.

Rule: ``rate`` off if paid within ``deadline_days`` of issue. Invoices that would pay by the deadline anyway take
it (pure cost); of the others a share moves to the deadline, scaled by s = min(1, annual rate / 37.2 %), the annual
rate d/(1-d) x 365/(N-D) of the offer at the invoice's own terms N against 2/10 net 30 (``REFERENCE_DISCOUNT``).
The engine books ``rate x amount`` per path where the invoice is paid by the deadline (``discount_rate``,
``discount_day``); :meth:`EarlyPaymentDiscount.costs` is its expectation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from cashsim.levers._book import (
    Segments,
    _book_min_day,
    _cost_frame,
    _day_index,
    _ensure_columns,
    _month,
    _p_paid_by,
    _rel_to_due,
    _remap,
    _select,
    _with,
    empty_costs,
    per_book,
)
from cashsim.levers.memo import lever_key
from cashsim.levers.spec import LeverSpec, Probability, Risk
from cashsim.levers.transforms import annualised_discount_rate, pull_forward

if TYPE_CHECKING:
    from cashsim.behaviour import PayerModel
    from cashsim.simulate import Book

#: 2/10 net 30 — the terms the take-up figures (BlueTarp [W]) are quoted for.
REFERENCE_DISCOUNT = (0.02, 10, 30)


class EarlyPaymentDiscount(LeverSpec):
    """Early-payment discount (*escompte pour paiement anticipé*): ``rate`` off if paid within ``deadline_days``.

    Offered on invoices whose deadline (issue + D days) is still ahead. Take-up, per invoice from its own
    counterfactual law T (days relative to due): invoices that would be paid by the deadline anyway take it
    (pure cost, *deadweight*); of those paying between the deadline and the due date a share ``take_up_on_time``
    x s moves to the deadline, of those paying late ``take_up_late`` x s, where s = min(1, annualised rate /
    37.2 %) scales take-up by how attractive the rate is against 2/10 net 30, for which the figures are quoted
    (about 3 in 10 pay on receipt regardless, 3 in 10 are chronic slow payers: BlueTarp [W]; discounts go to
    riskier buyers: Klapper, Laeven & Rajan, RFS 2012). The engine books ``rate x amount`` as a cost on every
    path where the invoice is paid by the deadline (``discount_rate``/``discount_day``; it tests the drawn day,
    before payment-day snapping: a payment made by the deadline earns it).

    >>> EarlyPaymentDiscount(rate=0.02, deadline_days=10).annualised_rate(30)   # doctest: +ELLIPSIS
    0.372...
    """

    kind: Literal["early_payment_discount"] = "early_payment_discount"
    rate: float = Field(0.02, gt=0, lt=0.2)
    deadline_days: int = Field(10, ge=0, le=120)
    segments: Segments = None
    customers: Segments = None
    take_up_on_time: Probability = 0.3
    take_up_late: Probability = 0.1

    risk_note: ClassVar[str] = ("none for the relationship; customers may keep deducting the discount after the "
                                "deadline (unearned discounts) — enforce it")

    @property
    def risk(self) -> Risk:
        return "none"

    def annualised_rate(self, net_days: float) -> float:
        return annualised_discount_rate(self.rate, self.deadline_days, net_days)

    def _plan(self, book: Book) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
        """(the invoice table to write into, the invoices offered the discount, each invoice's deadline relative to
        its due date, its take-up scale); the arrays worked out once per book (apply, then costs, read them)."""
        inv = _ensure_columns(book)
        sel, deadline_rel, scale = per_book(book, ("discount plan", lever_key(self)),
                                            lambda: self._plan_arrays(book, inv))
        return inv, sel, deadline_rel, scale

    def _plan_arrays(self, book: Book, inv: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        issue = inv["issue_date"].astype("datetime64[ns]")
        deadline_rel = _rel_to_due(book, issue + pd.Timedelta(days=self.deadline_days))
        dl_abs = _day_index(book, inv["due_date"]) + deadline_rel       # day 0 = as_of + 1
        grid = book.grid
        ok = (_select(inv, self.segments, self.customers) & (dl_abs >= 0)
              & (deadline_rel >= _book_min_day(book)) & (deadline_rel >= grid[0])
              & (deadline_rel <= grid[-1]) & (inv["discount_rate"].to_numpy() == 0) & (inv["amount"].to_numpy() > 0))
        # take-up scales with the annual rate the offer is worth at the invoice's own terms N (37.2 % = 1)
        span = (inv["due_date"].astype("datetime64[ns]") - issue).dt.days.to_numpy(dtype=float) - self.deadline_days
        with np.errstate(divide="ignore"):
            annual = np.where(span > 0, self.rate / (1 - self.rate) * 365.0 / span, np.inf)
        scale = np.minimum(1.0, annual / annualised_discount_rate(*REFERENCE_DISCOUNT))
        return np.flatnonzero(ok), deadline_rel, scale

    def apply(self, book: Book, model: PayerModel | None = None) -> Book:
        """Taken invoices move to the deadline and carry the discount for the engine to book."""
        return self._apply_plan(book, self._plan(book))

    def _apply_plan(self, book: Book, planned: tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]) -> Book:
        """``apply`` given ``self._plan(book)``; the new book's invoice table is the plan's (written into)."""
        inv, sel, deadline_rel, scale = planned
        if len(sel) == 0:
            return _with(book, invoices=inv)
        inv.loc[inv.index[sel], "discount_rate"] = self.rate
        inv.loc[inv.index[sel], "discount_day"] = deadline_rel[sel].astype(float)
        g0, due_pos = int(book.grid[0]), -int(book.grid[0])
        scale_key = np.round(scale[sel] * 1e6).astype(np.int64)
        keys = np.column_stack([deadline_rel[sel] - g0, scale_key])

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            to, s = k[:, 0], k[:, 1] / 1e6
            out = pull_forward(rows, to, to, np.full(len(to), due_pos), self.take_up_on_time * s)
            return pull_forward(out, to, np.maximum(to, due_pos), np.full(len(to), rows.shape[1] - 1),
                                self.take_up_late * s)

        return _remap(book, inv, sel, keys, transform)

    def costs(self, book: Book, model: PayerModel | None = None, after: Book | None = None) -> pd.DataFrame:
        """Expected discounts by month of the deadline (booked per path by the engine: ``in_simulation``)."""
        planned = self._plan(book)
        after = self._apply_plan(book, planned) if after is None else after
        inv = after.invoices
        sel = np.flatnonzero(inv["discount_rate"].to_numpy() > 0)
        sel = sel[np.isin(sel, planned[1])]
        if len(sel) == 0:
            return empty_costs()
        day = inv["discount_day"].to_numpy()[sel].astype(np.int64) - int(book.grid[0])
        p_taken = _p_paid_by(after, sel, day)
        amount = inv["amount"].to_numpy()[sel] * self.rate * p_taken
        when = inv["due_date"].astype("datetime64[ns]").iloc[sel] + pd.to_timedelta(day + book.grid[0], unit="D")
        return _cost_frame(self.name, _month(when), "discounts given", amount, in_sim=True)

    def actions(self, book: Book, model: PayerModel | None = None) -> pd.DataFrame:
        """Invoices to send the offer with, largest first, with the chance it is taken and the amount it costs."""
        planned = self._plan(book)
        inv, sel, deadline_rel, _ = planned
        after = self._apply_plan(book, planned)   # writes only the discount and profile columns of inv
        if len(sel) == 0:
            return super().actions(book, model)
        p = _p_paid_by(after, sel, deadline_rel[sel] - int(book.grid[0]))
        out = pd.DataFrame({
            "lever": self.name, "customer_id": inv["customer_id"].to_numpy()[sel],
            "invoice_id": inv["invoice_id"].to_numpy()[sel], "amount": inv["amount"].to_numpy()[sel],
            "action": [f"offer {self.rate:.1%} if paid by "
                       f"{(d + pd.Timedelta(days=int(r))).date()}" for d, r in
                       zip(inv["due_date"].astype("datetime64[ns]").iloc[sel], deadline_rel[sel], strict=True)],
            "p_taken": p, "expected_cost": p * self.rate * inv["amount"].to_numpy()[sel]})
        return out.sort_values(["amount", "invoice_id"], ascending=[False, True]).reset_index(drop=True)
