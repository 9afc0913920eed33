"""Levers on overdue accounts: promise-to-pay calls (*relance téléphonique*) and the cut-off threat (*mise en demeure*).

Promise calls: the ``n_calls`` customers with the most overdue money are called; with probability promise_rate x
keep rate an invoice's payment moves to the promised date (as_of + ``promise_days``) unless it was to come earlier.
Cut-off threat: from ``overdue_days`` + 1 days late the hazard is multiplied by 1 + ``effect`` for
``effect_days`` and a share ``recovery`` of the never-paid mass is recovered over ``recovery_days``; its cost is
one notice per threatened customer and month plus the margin expected lost to churn, on the customers who would
otherwise have kept paying, in the months of the threats. Costs in euros by month.
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
    _customer_actions,
    _ensure_columns,
    _month,
    _open_dispute,
    _p_unpaid_and_paid_from,
    _p_unpaid_at,
    _rel_to_due,
    _remap,
    _select,
    empty_costs,
    per_book,
)
from cashsim.levers.eligibility import eligible
from cashsim.levers.memo import lever_key
from cashsim.levers.spec import LeverSpec, Probability, Risk
from cashsim.levers.transforms import pull_forward, recover, scale_hazard, window_multiplier

if TYPE_CHECKING:
    from cashsim.behaviour import PayerModel
    from cashsim.simulate import Book


class PromiseCalls(LeverSpec):
    """Promise-to-pay calls (*relance téléphonique avec promesse*) on the largest overdue accounts first.

    The ``n_calls`` customers with the most overdue money are called; a share ``promise_rate`` promise to pay
    ``promise_days`` after the as-of date and keep it with the customer's keep rate (``model.promise_keep``, learned
    from the promise log; else ``keep_rate``). A kept promise moves the invoice's payment to the promised date
    unless it would have paid earlier anyway. Cost: ``call_minutes`` at ``hourly_cost`` per call. Promise and keep
    rates are assumptions until the ledger has a promise log.
    """

    kind: Literal["promise_calls"] = "promise_calls"
    n_calls: int = Field(20, ge=0)
    promise_rate: Probability = 0.5
    keep_rate: Probability = 0.6
    promise_days: int = Field(7, ge=1, le=60)
    call_minutes: float = Field(15.0, ge=0)
    hourly_cost: float = Field(45.0, ge=0)
    segments: Segments = None

    risk_note: ClassVar[str] = "low: a courteous call; repeated calls on a good customer annoy"

    def call_list(self, book: Book, inv: pd.DataFrame | None = None) -> pd.DataFrame:
        """Customers ranked by overdue amount (largest first): customer_id, overdue_amount, n_invoices, rank.

        Without ``inv``: the book's own invoices, ranked once per book (:func:`per_book`; not to be modified)."""
        if inv is None:
            key = ("call list", self.n_calls, lever_key(self.segments))
            return per_book(book, key, lambda: self.call_list(book, _ensure_columns(book)))
        overdue = ((inv["due_date"].astype("datetime64[ns]") <= pd.Timestamp(book.as_of).normalize()).to_numpy()
                   & ~inv["is_future"].to_numpy(dtype=bool) & (inv["amount"].to_numpy() > 0)
                   & _select(inv, self.segments, None))
        df = (inv[overdue].groupby("customer_id", as_index=False)
              .agg(overdue_amount=("amount", "sum"), n_invoices=("amount", "size"))
              .sort_values(["overdue_amount", "customer_id"], ascending=[False, True]).head(self.n_calls))
        df["rank"] = np.arange(1, len(df) + 1)
        return df.reset_index(drop=True)

    def _keep(self, inv: pd.DataFrame, model: PayerModel | None) -> np.ndarray:
        keep = getattr(model, "promise_keep", None)
        if keep is None or len(keep) == 0:
            return np.full(len(inv), self.keep_rate)
        # a customer without promise history: the book's rate ("__book__") unless keep_rate was set explicitly
        fallback = self.keep_rate if "keep_rate" in self.model_fields_set else float(keep.get("__book__",
                                                                                              self.keep_rate))
        return inv["customer_id"].map(keep).fillna(fallback).to_numpy(dtype=float)

    def apply(self, book: Book, model: PayerModel | None = None) -> Book:
        inv = _ensure_columns(book)
        called = self.call_list(book)["customer_id"]
        overdue = (inv["due_date"].astype("datetime64[ns]") <= pd.Timestamp(book.as_of).normalize()).to_numpy()
        sel = np.flatnonzero(inv["customer_id"].isin(called).to_numpy() & overdue
                             & ~inv["is_future"].to_numpy(dtype=bool) & (inv["amount"].to_numpy() > 0))
        promised = _rel_to_due(book, pd.Series(pd.Timestamp(book.as_of).normalize()
                                               + pd.Timedelta(days=self.promise_days), index=inv.index))
        promised = np.clip(np.maximum(promised, _book_min_day(book)), book.grid[0], book.grid[-1])
        p_keep = np.round(self.promise_rate * self._keep(inv, model) * 1e6).astype(np.int64)
        keys = np.column_stack([promised[sel] - book.grid[0], p_keep[sel]])

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            to = k[:, 0]
            return pull_forward(rows, to, to, np.full(len(to), rows.shape[1] - 1), k[:, 1] / 1e6)

        return _remap(book, inv, sel, keys, transform)

    def costs(self, book: Book, model: PayerModel | None = None, after: Book | None = None) -> pd.DataFrame:
        n = len(self.call_list(book))
        month = _month(pd.DatetimeIndex([pd.Timestamp(book.as_of).normalize() + pd.Timedelta(days=1)]))
        return _cost_frame(self.name, month, "calling time",
                           np.array([n * self.call_minutes / 60.0 * self.hourly_cost]))

    def actions(self, book: Book, model: PayerModel | None = None) -> pd.DataFrame:
        df = self.call_list(book)
        return pd.DataFrame({"lever": self.name, "customer_id": df["customer_id"], "invoice_id": "",
                             "amount": df["overdue_amount"],
                             "action": [f"call #{r}: ask for a payment date within {self.promise_days} days"
                                        for r in df["rank"]]})


class CutOffThreat(LeverSpec):
    """Threat of service cut-off or litigation (*mise en demeure avant suspension*) beyond ``overdue_days`` late.

    Each invoice still unpaid when it reaches ``overdue_days`` + 1 days late (or today, if it is already past
    that), and not in an open dispute (one does not threaten over a contested invoice), gets

    - **timing**: hazard x (1 + ``effect``) for ``effect_days`` days (g = 1.0 over 14 days: a salient threat letter
      deters beyond a plain mailing, Fellner, Sausgruber & Traxler, JEEA 2013 — magnitude assumed);
    - **recovery**: a share ``recovery`` of its never-paid mass (what the company would otherwise lose) is paid
      evenly over the ``recovery_days`` after the threat. Default 30 %, an assumption: above a formal notice's
      25 % (``DUNNING_DEFAULTS``) because future supply is at stake; anchored on FIGEC (2015: 9 in 10 defaulting
      firms are solvent, 90 % of recovered debt is recovered amicably).

    Cost: ``legal_cost`` per notice — one per threatened customer and month, P = 1 - prod (1 - p_i) over its
    invoices threatened that month (a letter covers the account, not each invoice); plus the margin lost when a
    threatened customer leaves: churn probability x P(customer threatened) x P(it pays) x gross margin x its
    monthly sales x ``lost_sales_months`` (monthly sales from the book's future invoices), booked in the months
    of its threats (in proportion to its chance of a notice each month). P(it pays) = the amount-weighted chance
    its threatened invoices are paid at all once that late: a customer whose overdue invoices are mostly lost
    anyway is no margin to lose. ``legal_cost`` 25 EUR: an in-house registered letter (postage and 20 minutes at
    45 EUR/h, as the formal notice of ``DUNNING_DEFAULTS``); a bailiff's or a lawyer's letter costs 100-300 EUR.
    """

    kind: Literal["cutoff_threat"] = "cutoff_threat"
    overdue_days: int = Field(60, ge=0, le=300)
    effect: float = Field(1.0, ge=0, le=10)
    effect_days: int = Field(14, ge=1, le=90)
    recovery: Probability = 0.3
    recovery_days: int = Field(21, ge=1, le=180)
    legal_cost: float = Field(25.0, ge=0)
    churn_probability: Probability = 0.05
    gross_margin: Probability = 0.2
    lost_sales_months: int = Field(12, ge=0, le=60)
    segments: Segments = None

    risk_note: ClassVar[str] = ("high: a threatened customer may leave (churn probability x its future margin, "
                                "counted on customers who would otherwise pay)")

    @property
    def risk(self) -> Risk:
        return "high"

    def _starts(self, book: Book, inv: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        sel = np.flatnonzero(_select(inv, self.segments, None) & eligible(inv, self.kind)
                             & (inv["amount"].to_numpy() > 0) & ~_open_dispute(inv))
        start = np.maximum(self.overdue_days + 1, _book_min_day(book)[sel])
        keep = start <= book.grid[-1]
        return sel[keep], start[keep]

    def apply(self, book: Book, model: PayerModel | None = None) -> Book:
        inv = _ensure_columns(book)
        sel, start = self._starts(book, inv)
        grid = book.grid

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            m = window_multiplier(grid, k[:, :1].astype(float), np.full((len(k), 1), float(self.effect_days)),
                                  np.full((len(k), 1), self.effect))
            out = scale_hazard(rows, m)
            at = k[:, 0] - grid[0]
            return recover(out, at, at + self.recovery_days, self.recovery * (1.0 - out.sum(axis=1)))

        return _remap(book, inv, sel, start[:, None], transform)

    def costs(self, book: Book, model: PayerModel | None = None, after: Book | None = None) -> pd.DataFrame:
        inv = _ensure_columns(book)
        sel, start = self._starts(book, inv)
        if len(sel) == 0:
            return empty_costs()
        # P(a notice) = P(still unpaid at the start), and P(paid at all | unpaid then): from one table of laws
        p, pays = _p_unpaid_and_paid_from(book, sel, start - book.grid[0])
        when = inv["due_date"].astype("datetime64[ns]").iloc[sel] + pd.to_timedelta(start, unit="D")
        cust = inv["customer_id"].to_numpy()[sel]
        # one notice per customer and month: P(at least one) = 1 - prod over that month's invoices of (1 - p)
        log_no = np.log1p(-np.minimum(p, 1 - 1e-12))
        amount = inv["amount"].to_numpy()[sel]
        frame = pd.DataFrame({"customer_id": cust, "month": _month(when), "log_no": log_no, "w": amount * p,
                              "wp": amount * p * pays})
        notices = frame.groupby(["customer_id", "month"], as_index=False)[["log_no"]].sum()
        notices["p"] = 1.0 - np.exp(notices["log_no"])
        legal = _cost_frame(self.name, notices["month"].to_numpy(), "legal notices (one per customer and month)",
                            self.legal_cost * notices["p"].to_numpy())
        # churn: P(customer threatened) = 1 - prod over its invoices of (1 - p), weighted by the chance it pays
        g = frame.groupby("customer_id")[["log_no", "w", "wp"]].sum()
        p_pays = (g["wp"] / g["w"].where(g["w"] > 0)).fillna(1.0)
        fut = inv[inv["is_future"].to_numpy(dtype=bool)]
        if len(fut):
            span = max(1.0, (fut["issue_date"].max() - fut["issue_date"].min()).days / 30.4375)
            monthly = fut.groupby("customer_id")["amount"].sum() / span
        else:
            monthly = pd.Series(dtype=float)
        lost = ((1.0 - np.exp(g["log_no"])) * p_pays * monthly.reindex(g.index).fillna(0.0)
                * self.churn_probability * self.gross_margin * self.lost_sales_months)
        # ... booked in the months of the threats, in proportion to the customer's chance of a notice each month
        share = notices["p"] / notices.groupby("customer_id")["p"].transform("sum").where(lambda x: x > 0)
        churn = _cost_frame(self.name, notices["month"].to_numpy(), "expected lost margin (churn)",
                            (share.fillna(0.0) * notices["customer_id"].map(lost).fillna(0.0)).to_numpy())
        return pd.concat([legal, churn], ignore_index=True)

    def actions(self, book: Book, model: PayerModel | None = None) -> pd.DataFrame:
        inv = _ensure_columns(book)
        sel, start = self._starts(book, inv)
        p = _p_unpaid_at(book, sel, start - book.grid[0]) if len(sel) else np.array([])   # P(threatened)
        return _customer_actions(self.name, inv["customer_id"].to_numpy()[sel], inv["amount"].to_numpy()[sel] * p,
                                 f"formal notice / suspension threat beyond {self.overdue_days} days overdue")
