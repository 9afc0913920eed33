"""What the engine returns (*prévision d'encaissements*): the :class:`Simulation` of cash per path and day, its
monthly / weekly views and quantiles, and the exact per-invoice probabilities.

* ``Simulation.daily[path, day]``: euros incl. VAT collected on ``days[day]`` (net of discounts, upfront amounts
  included); ``daily_cost``: discounts given. Views sum days into calendar months (``"YYYY-MM"``), weeks starting
  Monday or days; quantiles are taken across paths per period (``cumulative=True``: of the running total).
* **Per-invoice probabilities** (:func:`invoice_probabilities`), exact from the marginal law, no sampling (the
  copula does not change marginals): with the law conditioned on "not paid before its first allowed grid index
  ``m``", ``q_g = (F(g) - F(g - 1)) / (1 - F(m - 1))`` for ``g >= m``; each ``q_g`` is moved through the invoice's
  calendar and summed into the month of its payment day; what lands after the horizon is ``p_never_in_horizon``.

Example::

    >>> quantile_name(0.05), [quantile_name(q) for q in QUANTILES][-1]
    ('p05', 'p95')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numba
import numpy as np
import pandas as pd

from cashsim.book import Book
from cashsim.errors import ParamsError
from cashsim.simulate.tables import _sinked_calendars, _timing

#: Quantile levels reported by default (p05 ... p95).
QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def quantile_name(q: float) -> str:
    """Column name of a quantile level: 0.05 -> "p05", 0.5 -> "p50"."""
    return f"p{round(q * 100):02d}"


@dataclass(frozen=True, eq=False)
class Simulation:
    """Simulated collections: ``daily[path, day]`` euros incl. VAT collected on ``days[day]`` (net of discounts).

    ``daily_cost`` = discounts given; ``invoice_probs`` = per invoice expected pay date (given paid within the
    horizon), ``p_paid_by_<YYYY-MM>`` (by the end of each month of the horizon) and ``p_never_in_horizon``, exact
    from the marginal laws; ``group_monthly[path, group, month]`` when ``group_by`` was given.
    """

    as_of: pd.Timestamp
    days: pd.DatetimeIndex
    daily: np.ndarray
    daily_cost: np.ndarray
    n_paths: int
    seed: int | np.random.SeedSequence  # the int given, else the sequence that reproduces the run
    #: The book simulated, kept for the exact per-invoice probabilities (computed on first use only).
    book: Book | None = field(default=None, repr=False)
    group_monthly: np.ndarray | None = None
    rho_month: float = 0.0
    rho_customer: float = 0.0
    meta: dict = field(default_factory=dict)

    @property
    def months(self) -> list[str]:
        """Calendar months of the horizon, ``"YYYY-MM"`` (the first is the month of ``as_of + 1``)."""
        return list(pd.unique(self.days.strftime("%Y-%m")))

    def _aggregate(self, values: np.ndarray, freq: str) -> pd.DataFrame:
        if freq in ("M", "ME", "month"):
            labels = self.days.strftime("%Y-%m")
        elif freq in ("W", "week"):
            labels = (self.days - pd.to_timedelta(self.days.day_of_week, unit="D")).normalize()
        elif freq in ("D", "day"):
            labels = self.days
        else:
            raise ParamsError(f"freq must be 'M' (months), 'W' (weeks starting Monday) or 'D', got {freq!r}")
        codes, uniq = pd.factorize(labels)
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        out = np.add.reduceat(values, starts, axis=1) if values.shape[1] else values
        return pd.DataFrame(out, columns=pd.Index(uniq, name="period"),
                            index=pd.RangeIndex(values.shape[0], name="path"))

    @cached_property
    def invoice_probs(self) -> pd.DataFrame:
        """Per invoice: expected pay date, ``p_paid_by_<YYYY-MM>``, ``p_never_in_horizon`` (see
        :func:`invoice_probabilities`); computed on first use, since a scenario panel redraw never needs it."""
        if self.book is None:
            raise ParamsError("this Simulation was built without its book: per-invoice probabilities are unknown")
        return invoice_probabilities(self.book, self.days)

    def monthly(self) -> pd.DataFrame:
        """Paths x calendar months (columns ``"YYYY-MM"``): euros collected in each month."""
        return self._aggregate(self.daily, "M")

    def weekly(self) -> pd.DataFrame:
        """Paths x weeks (columns = the Monday starting each week; the first and last may be partial)."""
        return self._aggregate(self.daily, "W")

    def monthly_cost(self) -> pd.DataFrame:
        """Paths x months of discounts given (euros)."""
        return self._aggregate(self.daily_cost, "M")

    def quantiles(self, freq: str = "M", q: tuple[float, ...] = QUANTILES, *, cumulative: bool = False
                  ) -> pd.DataFrame:
        """Tidy table: ``period, mean, p05 ... p95`` of the cash collected per period (``cumulative=True``: since
        ``as_of``, the fan chart of cumulated collections).

        >>> sim.quantiles("M").columns.tolist()          # doctest: +SKIP
        ['period', 'mean', 'p05', 'p10', 'p25', 'p50', 'p75', 'p90', 'p95']
        """
        table = self._aggregate(self.daily, freq)
        values = table.to_numpy()
        if cumulative:
            values = np.cumsum(values, axis=1)
        out = pd.DataFrame({"period": table.columns, "mean": values.mean(axis=0)})
        qs = np.quantile(values, q, axis=0) if values.shape[0] else np.full((len(q), values.shape[1]), np.nan)
        for level, row in zip(q, qs, strict=False):
            out[quantile_name(level)] = row
        return out


def invoice_probabilities(book: Book, days: pd.DatetimeIndex) -> pd.DataFrame:
    """Per invoice, exact from its conditional marginal law (no sampling; the copula does not change marginals):
    ``expected_pay_date`` (mean pay date given paid within the horizon, NaT if it cannot be), ``p_paid_by_<YYYY-MM>``
    (by the end of each month of ``days``) and ``p_never_in_horizon``. Calendar snapping included."""
    inv = book.invoices
    n_days = len(days)
    months = list(pd.unique(days.strftime("%Y-%m")))
    mcode = days.to_period("M")
    month_of_day = np.asarray(mcode.year * 12 + mcode.month - (mcode[0].year * 12 + mcode[0].month), np.int64)
    t = _timing(book)
    by_month, mean_day = _marginal_months(
        np.ascontiguousarray(np.cumsum(book.pmfs, axis=1)), inv["profile"].to_numpy(np.int64),
        t["m_idx"].astype(np.int64), t["offset"].astype(np.int64), inv["calendar"].to_numpy(np.int64),
        _sinked_calendars(book.calendars, n_days), np.append(month_of_day, len(months)), len(months))
    cum = np.cumsum(by_month, axis=1)
    out = pd.DataFrame({"invoice_id": inv["invoice_id"].to_numpy(), "customer_id": inv["customer_id"].to_numpy(),
                        "amount": inv["amount"].to_numpy()})
    out["expected_pay_date"] = (days[0] + pd.to_timedelta(np.round(mean_day), unit="D")).astype("datetime64[ns]")
    for j, month in enumerate(months):
        out[f"p_paid_by_{month}"] = np.clip(cum[:, j], 0.0, 1.0)
    out["p_never_in_horizon"] = np.clip(1.0 - cum[:, -1], 0.0, 1.0)
    return out


@numba.njit(nogil=True, cache=True)
def _marginal_months(cdf, profile, first, offset, cal_row, calendars, month_of_day, n_months):
    """For each invoice: P(paid in each month of the horizon) and the mean pay-day index given paid in it, from
    ``q_g = (F(g) - F(g - 1)) / (1 - F(m - 1))`` for grid days ``g >= m`` (snapped by its calendar)."""
    n, G = profile.shape[0], cdf.shape[1]
    D = calendars.shape[1] - 1
    sink = month_of_day.shape[0] - 1
    by_month = np.zeros((n, n_months))
    mean_day = np.full(n, np.nan)
    for i in range(n):
        k, m = profile[i], first[i]
        if m >= G:
            continue
        a0 = cdf[k, m - 1] if m > 0 else 0.0
        b0 = 1.0 - a0
        if b0 <= 1e-12:
            continue
        total, weighted = 0.0, 0.0
        for g in range(m, G):
            q = (cdf[k, g] - (cdf[k, g - 1] if g > 0 else 0.0)) / b0
            if q <= 0.0:
                continue
            a = min(max(offset[i] + g, 0), D)
            d = calendars[cal_row[i], a]
            if d >= sink:
                continue
            by_month[i, month_of_day[d]] += q
            total += q
            weighted += q * d
        if total > 0.0:
            mean_day[i] = weighted / total
    return by_month, mean_day
