"""Year-end rebate weighted by payment behaviour (*remise de fin d'année conditionnée à la ponctualité*).

Rule: the customer earns ``rate`` of every invoice it pays by its due date + ``grace_days``, paid at year end.
Of the late mass (paid after the grace) of the targeted invoices, a share take_up_late x s moves to the due date,
s = min(1, rate / 2 %); the cost is rate x amount x P(paid by due + grace) on the new law, accrued in the month
of the due date (the rebate is earned then, even if paid in December). Euros incl. VAT.

Example::

    >>> PaymentRebate(rate=0.01).take_up_share()
    0.1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from cashsim.levers._book import (
    Segments,
    _cost_frame,
    _customer_actions,
    _ensure_columns,
    _month,
    _p_paid_by,
    _remap,
    _select,
    empty_costs,
)
from cashsim.levers.spec import LeverSpec, Probability, Risk
from cashsim.levers.transforms import pull_forward

if TYPE_CHECKING:
    from cashsim.behaviour import PayerModel
    from cashsim.simulate import Book

#: The rebate rate the take-up is quoted for (2 % of the sales paid on time).
REFERENCE_REBATE = 0.02


class PaymentRebate(LeverSpec):
    """A year-end rebate of ``rate`` on the sales paid on time (*RFA conditionnelle*), for the customers targeted.

    Invoices due after the as-of date, of ``segments``/``customers`` (None: every customer; the rule is written
    into the terms of sale), earn ``rate`` when paid by their due date + ``grace_days``. Effect: of the mass paid
    after that, a share ``take_up_late`` x min(1, rate / 2 %) moves to the due date. Default 20 % at a 2 % rebate,
    an assumption between an early-payment discount's take-up among late payers (0.1 for 2/10 net 30) and among
    those paying between its deadline and the due date (0.3; BlueTarp [W]): the rebate asks only for punctuality,
    not for paying weeks early, but it is paid months later. Cost: the rebate on every invoice paid on time,
    those already punctual included (deadweight), accrued in the month of the due date. No relationship risk; it
    costs margin.
    """

    kind: Literal["payment_rebate"] = "payment_rebate"
    rate: float = Field(0.02, gt=0, lt=0.1)
    grace_days: int = Field(0, ge=0, le=30)
    take_up_late: Probability = 0.2
    segments: Segments = None
    customers: Segments = None

    risk_note: ClassVar[str] = ("none for the relationship; the rebate also goes to customers already paying on "
                                "time (deadweight): write the rule into the terms of sale")

    @property
    def risk(self) -> Risk:
        return "none"

    def take_up_share(self) -> float:
        """Share of the late mass that moves to the due date: take_up_late x min(1, rate / 2 %)."""
        return self.take_up_late * min(1.0, self.rate / REFERENCE_REBATE)

    def _sel(self, book: Book, inv: pd.DataFrame) -> np.ndarray:
        due = inv["due_date"].astype("datetime64[ns]")
        return np.flatnonzero(_select(inv, self.segments, self.customers) & (inv["amount"].to_numpy() > 0)
                              & (due > pd.Timestamp(book.as_of).normalize()).to_numpy())

    def apply(self, book: Book, model: PayerModel | None = None) -> Book:
        inv = _ensure_columns(book)
        sel = self._sel(book, inv)
        g0, share = int(book.grid[0]), self.take_up_share()

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            n = len(rows)
            return pull_forward(rows, np.full(n, -g0), np.full(n, self.grace_days - g0),
                                np.full(n, rows.shape[1] - 1), np.full(n, share))

        return _remap(book, inv, sel, np.zeros((len(sel), 1), dtype=np.int64), transform)

    def costs(self, book: Book, model: PayerModel | None = None, after: Book | None = None) -> pd.DataFrame:
        """The rebate earned on the invoices paid by due + grace, on the new law, by month of the due date."""
        after = self.apply(book, model) if after is None else after
        inv = _ensure_columns(after)
        sel = self._sel(after, inv)
        if len(sel) == 0:
            return empty_costs()
        p_on_time = _p_paid_by(after, sel, np.full(len(sel), self.grace_days - int(after.grid[0])))
        return _cost_frame(self.name, _month(inv["due_date"].iloc[sel]), "rebate on sales paid on time",
                           self.rate * inv["amount"].to_numpy(float)[sel] * p_on_time)

    def actions(self, book: Book, model: PayerModel | None = None) -> pd.DataFrame:
        inv = _ensure_columns(book)
        chosen = inv.iloc[self._sel(book, inv)]
        return _customer_actions(self.name, chosen["customer_id"], chosen["amount"],
                                 f"announce a {self.rate:.1%} year-end rebate on invoices paid by their due date"
                                 + (f" + {self.grace_days} days" if self.grace_days else ""))
