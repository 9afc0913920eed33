"""Dispute resolution within a service level (*traitement des litiges dans les délais*): open disputes settled sooner.

Rule: an open dispute of type t, opened on day o, is resolved by the deadline r = o + SLA_t (if that is still
ahead; else as_of + SLA_t: the backlog is cleared within the service level from today), and paid after the usual
delay D from resolution to payment. Its pay day becomes the earlier of its own and r + D:
S'(g) = S(g) x P(r + D > g) on its law given payment (:func:`cashsim.levers.transforms.cap_survival`), the
never-paid share kept. D is the fitted law (``PayerModel.post_resolution``) or, without a model, a log-normal of
median 7 days and log-sd 0.5 (the behaviour's prior). Cost: ``hours_per_dispute`` x ``hourly_cost`` per open
dispute, in the first forecast month. Only the disputes open in the book are sped up: disputes that future
invoices may raise within the horizon are left out (the lever's value is understated by that part).

Example::

    >>> DisputeResolution().sla_days["price"], DisputeResolution().sla_days["technical"]
    (3, 7)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from cashsim.levers._book import (
    Segments,
    _cost_frame,
    _ensure_columns,
    _month,
    _open_dispute,
    _remap,
    _select,
    empty_costs,
)
from cashsim.levers.spec import LeverSpec, Risk
from cashsim.levers.transforms import cap_survival

if TYPE_CHECKING:
    from cashsim.behaviour import PayerModel
    from cashsim.simulate import Book

#: Service levels by dispute type, days: price 3 and technical 7 are the French collection guides' figures;
#: delivery 5 (a proof of delivery comes back from the carrier within days) and other 10 (administrative errors and
#: credit notes to issue) are reasoned defaults — the demo's ``alerts.dispute_sla_days`` uses the same.
DEFAULT_SLA_DAYS: dict[str, int] = {"price": 3, "technical": 7, "delivery": 5, "other": 10}
#: Delay from resolution to payment without a fitted model: log-normal, median 7 days, log-sd 0.5.
POST_RESOLUTION_PRIOR = (7.0, 0.5)


def post_resolution_law(model: PayerModel | None = None, days: int = 366) -> np.ndarray:
    """P(paid d days after the resolution), d = 0 .. days - 1: the model's fitted law, else the prior."""
    law = getattr(model, "post_resolution", None)
    if law is not None and np.asarray(law).sum() > 0:
        law = np.asarray(law, float)[:days]
        return np.pad(law, (0, days - len(law))) / law.sum()
    from scipy import stats  # here, not at the top: importing the lever specs (params) should not load scipy.stats

    median, sd = POST_RESOLUTION_PRIOR
    cdf = stats.lognorm.cdf(np.arange(days + 1), sd, scale=median)
    law = np.diff(cdf)
    return law / law.sum()


class DisputeResolution(LeverSpec):
    """Resolve open disputes within their service level by type (*délai de traitement des litiges*).

    ``sla_days``: days allowed per dispute type (price 3 and technical 7 from the guides; delivery 5 and other 10
    reasoned, ``DEFAULT_SLA_DAYS``); a type not listed takes ``other``'s. Each open dispute of the book
    (``disputed`` without ``dispute_resolved``, see :func:`annotate_book`) is resolved by its deadline and then
    paid after the usual post-resolution delay, unless its own law pays it earlier (module docstring). Cost: the
    extra effort, ``hours_per_dispute`` (2 h, an assumption: chasing sales, logistics or the technical team for a
    decision) x ``hourly_cost`` per open dispute. No relationship risk: a dispute settled fast is a customer
    served.
    """

    kind: Literal["dispute_resolution"] = "dispute_resolution"
    sla_days: dict[str, Annotated[int, Field(ge=0, le=365)]] = Field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    hours_per_dispute: float = Field(2.0, ge=0)
    hourly_cost: float = Field(45.0, ge=0)
    segments: Segments = None
    customers: Segments = None

    risk_note: ClassVar[str] = "none: a dispute settled within its service level is a customer served"

    @property
    def risk(self) -> Risk:
        return "none"

    def _sla(self, types: pd.Series) -> np.ndarray:
        other = self.sla_days.get("other", DEFAULT_SLA_DAYS["other"])
        t = types.astype(object).where(types.notna(), "other").astype(str)
        return t.map(lambda x: self.sla_days.get(x, other)).to_numpy(dtype=np.int64)

    def deadlines(self, book: Book, inv: pd.DataFrame | None = None) -> pd.DataFrame:
        """Per open dispute: position, customer, invoice, amount, type, opening and resolution deadline dates."""
        inv = _ensure_columns(book) if inv is None else inv
        sel = np.flatnonzero(_open_dispute(inv) & _select(inv, self.segments, self.customers)
                             & (inv["amount"].to_numpy() > 0))
        rows = inv.iloc[sel]
        kind = rows["dispute_type"] if "dispute_type" in rows.columns else pd.Series("other", index=rows.index)
        opened = rows["dispute_opened"] if "dispute_opened" in rows.columns else rows["due_date"]
        opened = opened.astype("datetime64[ns]").fillna(rows["due_date"].astype("datetime64[ns]"))
        sla = pd.to_timedelta(self._sla(kind), unit="D")
        as_of = pd.Timestamp(book.as_of).normalize()
        deadline = (opened + sla).where(opened + sla > as_of, as_of + sla)
        deadline = deadline.where(deadline > as_of, as_of + pd.Timedelta(days=1))     # resolved tomorrow at best
        return pd.DataFrame({"pos": sel, "customer_id": rows["customer_id"].to_numpy(),
                             "invoice_id": rows["invoice_id"].to_numpy(), "amount": rows["amount"].to_numpy(),
                             "dispute_type": kind.astype(object).where(kind.notna(), "other").to_numpy(),
                             "opened": opened.to_numpy(), "deadline": deadline.to_numpy()})

    def apply(self, book: Book, model: PayerModel | None = None) -> Book:
        inv = _ensure_columns(book)
        d = self.deadlines(book, inv)
        sel = d["pos"].to_numpy()
        grid = book.grid
        due = inv["due_date"].astype("datetime64[ns]").to_numpy()[sel]
        rel = ((d["deadline"].to_numpy("datetime64[ns]") - due) // np.timedelta64(1, "D")).astype(np.int64)
        post = post_resolution_law(model)
        tail = np.concatenate([1.0 - np.cumsum(post), [0.0]])       # P(D > d), d = 0 .. 366

        def transform(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
            lag = grid[None, :] - k[:, :1]                            # days since the deadline
            survival = np.where(lag < 0, 1.0, tail[np.clip(lag, 0, len(tail) - 1)])
            return cap_survival(rows, survival)

        return _remap(book, inv, sel, rel[:, None], transform)

    def costs(self, book: Book, model: PayerModel | None = None, after: Book | None = None) -> pd.DataFrame:
        n = len(self.deadlines(book))
        if n == 0:
            return empty_costs()
        month = _month(pd.DatetimeIndex([pd.Timestamp(book.as_of).normalize() + pd.Timedelta(days=1)]))
        return _cost_frame(self.name, month, "dispute resolution effort",
                           np.array([n * self.hours_per_dispute * self.hourly_cost]))

    def actions(self, book: Book, model: PayerModel | None = None) -> pd.DataFrame:
        d = self.deadlines(book)
        out = pd.DataFrame({"lever": self.name, "customer_id": d["customer_id"], "invoice_id": d["invoice_id"],
                            "amount": d["amount"],
                            "action": [f"settle the {t} dispute by {pd.Timestamp(x).date()}"
                                       for t, x in zip(d["dispute_type"], d["deadline"], strict=True)]})
        return out.sort_values(["amount", "invoice_id"], ascending=[False, True]).reset_index(drop=True)
