"""Levers on how a customer pays: a deposit at order (*acompte*) and SEPA B2B direct debit (*prélèvement*).

Deposit: ``share`` of each future invoice is certain cash ``lead_days`` before issue (``upfront_amount`` and
``upfront_date``, deducted from ``amount``); the rest keeps its law; a share ``order_loss_rate`` of those orders is
lost (its cash leaves the book, its margin is a cost). Direct debit: the adopters' invoices due at least
``setup_days`` after the as-of date are paid on the due date with probability 1 - r; a rejected debit (probability
r) follows the invoice's own law 5-10 days later. Costs are lost margin, and bank fees in euros per debit and
rejection.
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
    _expected_pay_day,
    _month,
    _profile_flag,
    _remap,
    _select,
    _start_day,
    _with,
    per_book,
)
from cashsim.levers.eligibility import eligible
from cashsim.levers.memo import lever_key
from cashsim.levers.spec import LeverSpec, Probability, Risk
from cashsim.levers.transforms import shift_days

if TYPE_CHECKING:
    from cashsim.behaviour import PayerModel
    from cashsim.simulate import Book


class Deposit(LeverSpec):
    """Deposit at order (*acompte à la commande*): ``share`` of each future invoice cashed ``lead_days`` before issue.

    Only orders not yet placed on the as-of date (issue_date - lead_days after it) can be asked for one; the rest
    of the invoice keeps its law. Default 30 % (common in construction, bizyness.fr [W]; 10-30 % typical,
    fiduciaire-maenhout.be [W]). No fee, but some customers refuse and buy elsewhere: a share ``order_loss_rate``
    of the orders asked for a deposit is lost — its cash leaves the plan's invoices and its ``gross_margin`` is a
    cost in the invoice's month. Default (None) 5 % of the orders at a 30 % deposit, in proportion to the share
    asked (``loss_rate``), an assumption: in trades where a deposit is customary (construction, custom work) it
    is accepted as a matter of course, so only customers with a ready alternative walk away; set your own from
    your sales team's experience.

    >>> Deposit(share=0.15).loss_rate
    0.025
    """

    kind: Literal["deposit"] = "deposit"
    share: float = Field(0.3, gt=0, le=1)
    segments: Segments = None
    customers: Segments = None
    #: Days between the order and the invoice (assumption: one month of lead time).
    lead_days: int = Field(30, ge=0, le=365)
    #: Share of the orders asked for a deposit that are lost (None: ``loss_rate``'s default, see above).
    order_loss_rate: Probability | None = None
    gross_margin: Probability = 0.2

    risk_note: ClassVar[str] = "customers may refuse the deposit and order elsewhere (lost orders: order_loss_rate)"

    @property
    def risk(self) -> Risk:
        return "medium"

    @property
    def loss_rate(self) -> float:
        """Share of the orders lost: ``order_loss_rate``, else 5 % x share / 30 % (assumption, class docstring)."""
        return self.order_loss_rate if self.order_loss_rate is not None else round(0.05 * self.share / 0.3, 12)

    def _sel(self, book: Book, inv: pd.DataFrame) -> np.ndarray:
        order = inv["issue_date"].astype("datetime64[ns]") - pd.Timedelta(days=self.lead_days)
        ok = (_select(inv, self.segments, self.customers) & eligible(inv, self.kind)
              & inv["is_future"].to_numpy(dtype=bool)
              & (order > pd.Timestamp(book.as_of).normalize()).to_numpy() & (inv["amount"].to_numpy() > 0)
              & inv["upfront_date"].isna().to_numpy())
        return np.flatnonzero(ok)

    def apply(self, book: Book, model: PayerModel | None = None) -> Book:
        inv = _ensure_columns(book)
        sel = self._sel(book, inv)
        idx = inv.index[sel]
        kept = inv.loc[idx, "amount"] * (1.0 - self.loss_rate)             # the orders not lost
        deposit = kept * self.share
        inv.loc[idx, "upfront_amount"] = inv.loc[idx, "upfront_amount"] + deposit
        inv.loc[idx, "amount"] = kept - deposit
        inv.loc[idx, "upfront_date"] = (inv.loc[idx, "issue_date"].astype("datetime64[ns]")
                                        - pd.Timedelta(days=self.lead_days))
        return _with(book, invoices=inv)

    def costs(self, book: Book, model: PayerModel | None = None, after: Book | None = None) -> pd.DataFrame:
        """The margin of the lost orders, in the month they would have been invoiced."""
        inv = _ensure_columns(book)
        sel = self._sel(book, inv)
        lost = inv["amount"].to_numpy(float)[sel] * self.loss_rate * self.gross_margin
        return _cost_frame(self.name, _month(inv["issue_date"].iloc[sel]), "expected lost margin (orders lost)",
                           lost)

    def actions(self, book: Book, model: PayerModel | None = None) -> pd.DataFrame:
        inv = _ensure_columns(book)
        chosen = inv.iloc[self._sel(book, inv)]
        return _customer_actions(self.name, chosen["customer_id"], chosen["amount"],
                                 f"ask a {self.share:.0%} deposit at order", tie_break=False)


def _expected_days_late(book: Book) -> pd.Series:
    """Amount-weighted expected days late per customer, from each invoice's law given eventual payment (computed
    once per book: :func:`per_book`; not to be modified)."""
    def compute() -> pd.Series:
        inv = book.invoices
        mean = _expected_pay_day(book)
        w = np.abs(inv["amount"].to_numpy(dtype=float))
        df = pd.DataFrame({"customer_id": inv["customer_id"].to_numpy(), "x": mean * w, "w": w})
        g = df.groupby("customer_id")[["x", "w"]].sum()
        return (g["x"] / g["w"].where(g["w"] > 0)).fillna(0.0)

    return per_book(book, "expected_days_late", compute)


class DirectDebit(LeverSpec):
    """SEPA B2B direct debit (*prélèvement SEPA interentreprises*): adopters are debited on the due date.

    Adopters: the customers of ``segments``/``customers``, or the ``adoption`` share of customers with the latest
    expected payments first (where it helps most). Their invoices due at least ``setup_days`` after the as-of date
    are paid on the due date with probability 1 - r; a rejected debit (r = 5 %; > 8 % gross for French debtor
    accounts in the early SEPA years, Slimpay via sepa.forumactif.org [W]) follows the invoice's own law
    5-10 days later (uniform). Invoices already paid by direct debit are left alone. Cost: a bank fee per debit and
    per rejection (assumptions, set your bank's tariff).
    """

    kind: Literal["direct_debit"] = "direct_debit"
    adoption: Probability = 0.3
    segments: Segments = None
    customers: Segments = None
    rejection_rate: float = Field(0.05, ge=0, le=0.5)
    reject_delay_days: tuple[int, int] = (5, 10)
    setup_days: int = Field(14, ge=0)
    fee_per_debit: float = Field(0.4, ge=0)
    fee_per_rejection: float = Field(15.0, ge=0)

    risk_note: ClassVar[str] = "customers must sign a B2B mandate; some refuse; a B2B debit cannot be disputed"

    def adopters(self, book: Book, inv: pd.DataFrame | None = None) -> list[str]:
        inv = _ensure_columns(book) if inv is None else inv
        if self.segments is not None or self.customers is not None:
            return sorted(inv.loc[_select(inv, self.segments, self.customers), "customer_id"].astype(str).unique())
        late = _expected_days_late(book)
        late = late[late.index.astype(str).isin(inv.loc[eligible(inv, self.kind), "customer_id"].astype(str))]
        ranked = late.rename("late").reset_index().sort_values(["late", "customer_id"], ascending=[False, True])
        n = int(np.floor(self.adoption * len(ranked) + 1e-9))
        return ranked["customer_id"].astype(str).head(n).tolist()

    def _sel(self, book: Book, inv: pd.DataFrame, model: PayerModel | None) -> np.ndarray:
        """The invoices of the adopters the mandate reaches; once per book when the table says who pays by direct
        debit already (the model is then not read): apply, then costs, ask it."""
        if "payment_method" not in inv.columns:
            return self._selection(book, inv, model)
        return per_book(book, ("direct debit selection", lever_key(self)), lambda: self._selection(book, inv, None))

    def _selection(self, book: Book, inv: pd.DataFrame, model: PayerModel | None) -> np.ndarray:
        start = pd.Timestamp(book.as_of).normalize() + pd.Timedelta(days=self.setup_days)
        ok = (inv["customer_id"].astype(str).isin(self.adopters(book, inv)).to_numpy()
              & (inv["due_date"].astype("datetime64[ns]") > start).to_numpy() & (inv["amount"].to_numpy() > 0)
              & ~_profile_flag(inv, model, "payment_method", "direct_debit") & eligible(inv, self.kind))
        return np.flatnonzero(ok)

    def apply(self, book: Book, model: PayerModel | None = None) -> Book:
        inv = _ensure_columns(book)
        sel = self._sel(book, inv, model)
        lo, hi = self.reject_delay_days
        delays = np.arange(lo, hi + 1)
        due_pos, r = -int(book.grid[0]), self.rejection_rate

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            ahead = book.grid[None, :] >= k[:, :1]          # mass before the start day stays where it is
            later = rows * ahead
            rejected = np.mean([shift_days(later, np.full(len(rows), d)) for d in delays], axis=0)
            out = rows * ~ahead + r * rejected
            out[:, due_pos] += (1 - r) * later.sum(axis=1)
            return out

        start = np.minimum(_start_day(book, inv, sel), 0)
        return _remap(book, inv, sel, start[:, None], transform)

    def costs(self, book: Book, model: PayerModel | None = None, after: Book | None = None) -> pd.DataFrame:
        inv = _ensure_columns(book)
        sel = self._sel(book, inv, model)
        each = np.full(len(sel), self.fee_per_debit + self.rejection_rate * self.fee_per_rejection)
        return _cost_frame(self.name, _month(inv["due_date"].iloc[sel]), "direct-debit bank fees", each)

    def actions(self, book: Book, model: PayerModel | None = None) -> pd.DataFrame:
        inv = _ensure_columns(book)
        chosen = inv.iloc[self._sel(book, inv, model)]
        return _customer_actions(self.name, chosen["customer_id"], chosen["amount"],
                                 "ask for a SEPA B2B direct-debit mandate")
