"""Applying levers in order, the lever union of a params file, and exact checks on a book (no simulation).

Rule: levers compose in the order given, each applied once to the book the previous one returned; a lever's costs
are computed on its own input book given its result. ``face_value`` (amount + upfront, euros incl. VAT) is what
every lever conserves (financing fees aside) or lowers (orders lost to a deposit), never raises;
``expected_collections`` is upfronts + amount x law given ``min_day``, net of discounts, by date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

import numpy as np
import pandas as pd
from pydantic import Field

from cashsim.levers._book import _ensure_columns, conditional_laws, empty_costs
from cashsim.levers.discount import EarlyPaymentDiscount
from cashsim.levers.disputes import DisputeResolution
from cashsim.levers.dunning import DunningPlan
from cashsim.levers.financing import Financing
from cashsim.levers.overdue import CutOffThreat, PromiseCalls
from cashsim.levers.payment_terms import Deposit, DirectDebit
from cashsim.levers.rebate import PaymentRebate
from cashsim.levers.spec import LeverSpec

if TYPE_CHECKING:
    from cashsim.behaviour import PayerModel
    from cashsim.simulate import Book

#: A lever in a params file: a mapping with a ``kind`` key (discriminated union).
Lever = Annotated[Union[EarlyPaymentDiscount, DunningPlan, Deposit, DirectDebit, PromiseCalls,  # noqa: UP007
                        CutOffThreat, Financing, DisputeResolution, PaymentRebate], Field(discriminator="kind")]


def apply_levers(book: Book, levers: list[LeverSpec], model: PayerModel | None = None) -> tuple[Book, pd.DataFrame]:
    """Apply levers in order; returns the new book and every lever's expected costs (each on its input book)."""
    new_book, costs, _ = apply_levers_traced(book, levers, model)
    return new_book, costs


def apply_levers_traced(book: Book, levers: list[LeverSpec], model: PayerModel | None = None
                        ) -> tuple[Book, pd.DataFrame, list[Book]]:
    """:func:`apply_levers`, also returning the book each lever was applied to (``inputs[i]`` for ``levers[i]``).

    Each lever is applied once; its costs are computed on its input book given that result."""
    frames, inputs = [empty_costs()], []
    for lever in levers:
        inputs.append(book)
        after = lever.apply(book, model)
        frames.append(lever.costs(book, model, after=after))
        book = after
    return book, pd.concat(frames, ignore_index=True), inputs


def face_value(book: Book) -> np.ndarray:
    """Per invoice, what it can ever bring: amount + upfront_amount (euros incl. VAT)."""
    inv = book.invoices
    up = inv["upfront_amount"].fillna(0.0).to_numpy(float) if "upfront_amount" in inv else 0.0
    return inv["amount"].to_numpy(float) + up


def expected_collections(book: Book) -> pd.Series:
    """Expected cash by day (exact, no simulation): upfronts + amount x law given ``min_day``, net of discounts.

    Indexed by date (as_of + 1 onward, by the invoice's grid day; calendars not applied). A check on levers and a
    quick estimate; the engine adds co-movement and payment-day snapping.
    """
    inv = _ensure_columns(book)
    laws, inverse = conditional_laws(book)
    amount = inv["amount"].to_numpy(float)
    grid = book.grid
    due = inv["due_date"].astype("datetime64[ns]").to_numpy()
    disc = inv["discount_rate"].to_numpy(float)
    dday = inv["discount_day"].to_numpy(float)
    as_of = pd.Timestamp(book.as_of).normalize()
    # one entry per (unique law, due date, discount) would be tidier; invoices x G is fine for test-sized books
    rows = laws[inverse] * amount[:, None]
    rows = np.where(grid[None, :] <= np.nan_to_num(dday, nan=-10**6)[:, None], rows * (1 - disc[:, None]), rows)
    dates = due[:, None] + grid[None, :].astype("timedelta64[D]")
    s = pd.Series(rows.ravel(), index=pd.DatetimeIndex(dates.ravel()))
    up = pd.Series(inv["upfront_amount"].to_numpy(float), index=pd.DatetimeIndex(inv["upfront_date"]))
    s = pd.concat([s, up[up > 0]]).groupby(level=0).sum()
    s.index = s.index.where(s.index > as_of, as_of + pd.Timedelta(days=1))
    s = s.groupby(level=0).sum()
    return s[s != 0]
