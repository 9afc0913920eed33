"""French late-payment law: the dated interest-rate table and the fixed recovery indemnity (B2B, public, B2C).

*Pénalités de retard* (Code de commerce L441-10): unless the contract says otherwise, a late B2B invoice bears
interest at the ECB main refinancing (MRO, *taux refi*) rate **in force on 1 January for days in the first
half-year and on 1 July for days in the second**, plus 10 percentage points, due without any reminder. On top of it,
an *indemnité forfaitaire pour frais de recouvrement* of 40 EUR per late invoice (D441-5, decree 2012-1115), not per
day, and not owed by consumers. Both are what the company *could claim*: cashsim never assumes they are collected.

Rule used here, per calendar day late: interest = outstanding x rate(half-year of that day) / 365. An invoice due on
30 June and paid on 10 July therefore bears the H1 rate for 0 days and the H2 rate for 10 days. Days late run from
the day after the due date to the payment date inclusive (``payment_date - due_date`` calendar days).

Not modelled: a contract rate (at least 3x the legal interest rate).

By customer type (:func:`late_interest_by_type`, :func:`indemnity_by_type`):

- ``company``: the rule above (L441-10 + 40 EUR, D441-5).
- ``public_body``: *intérêts moratoires* of public procurement (Code de la commande publique L2192-13, R2192-31 and
  following): the ECB MRO rate in force on the first day of the half-year **in which the interest started to run**,
  plus 8 points, for every day late (one rate per invoice), plus the same 40 EUR indemnity (D2192-35).
- ``individual`` (a consumer, B2C): L441-10 and D441-5 apply between professionals only, so no 40 EUR indemnity;
  a consumer owes interest at the *taux d'intérêt légal* (the "other cases" rate, the creditor being a
  professional; Code monétaire et financier L313-2) only from a formal notice (*mise en demeure*, Code civil
  art. 1231-6), which the ledger does not record: cashsim claims no interest on individuals (0 EUR).

The rate table is dated, not a constant. A day after the last half-year in the table uses the last known rate and
:func:`late_payment_rate` reports it as ``beyond_table`` so the caller can say so.

Example::

    >>> round(float(late_payment_interest(10_000, "2025-01-31", "2025-03-02")[0]), 2)   # 30 days at 13.15 %
    108.08
    >>> FIXED_INDEMNITY_EUR
    40.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Percentage points added to the ECB rate (L441-10).
MARGIN_POINTS = 10.0
#: Fixed recovery indemnity per late B2B invoice, euros (D441-5).
FIXED_INDEMNITY_EUR = 40.0
#: Day-count basis of the interest: actual days / 365.
DAY_COUNT = 365.0


@dataclass(frozen=True)
class RateRow:
    """One half-year of the legal table: the ECB MRO rate in force on its first day, and where it comes from."""

    start: str          # first day of the half-year, ISO date
    mro_pct: float      # ECB main refinancing rate in force on that day, in percent (not `mro`: type.mro exists)
    mro_since: str      # date that MRO rate took effect
    source: str

    @property
    def rate(self) -> float:
        """Legal late-payment rate of the half-year, as a fraction (MRO + 10 points)."""
        return (self.mro_pct + MARGIN_POINTS) / 100.0


_RETOUT = "retout.fr/?p=12408 (table of ECB refi rates by value date)"
#: The dated table. Sources as listed in /work/shared/research/methods.md section 3. exeoffice.eu's 15.07 % for
#: H1 2024 mixes in the legal interest rate and is deliberately not used.
RATE_TABLE: tuple[RateRow, ...] = (
    RateRow("2023-01-01", 2.50, "2022-12-21", _RETOUT),
    RateRow("2023-07-01", 4.00, "2023-06-21", _RETOUT),
    RateRow("2024-01-01", 4.50, "2023-09-20", _RETOUT),
    RateRow("2024-07-01", 4.25, "2024-06-12", _RETOUT),
    RateRow("2025-01-01", 3.15, "2024-12-18", _RETOUT),
    RateRow("2025-07-01", 2.15, "2025-06-11",
            "seldon-finance.com/la-bce-annonce-une-nouvelle-baisse-de-ses-taux-directeurs"),
)


def rate_table() -> pd.DataFrame:
    """The table as a DataFrame: half_year_start, half_year_end, mro_pct, legal_rate (fraction), mro_since, source."""
    starts = pd.to_datetime([r.start for r in RATE_TABLE]).astype("datetime64[ns]")
    ends = (starts + pd.DateOffset(months=6) - pd.Timedelta(days=1)).astype("datetime64[ns]")
    return pd.DataFrame({
        "half_year_start": starts,
        "half_year_end": ends,
        "mro_pct": [r.mro_pct for r in RATE_TABLE],
        "legal_rate": [r.rate for r in RATE_TABLE],
        "mro_since": pd.to_datetime([r.mro_since for r in RATE_TABLE]).astype("datetime64[ns]"),
        "source": [r.source for r in RATE_TABLE],
    })


def _to_days(dates) -> np.ndarray:
    """Dates (scalar or array-like) -> int64 days since 1970-01-01."""
    arr = pd.to_datetime(pd.Series(np.atleast_1d(np.asarray(dates, dtype=object)))).astype("datetime64[ns]")
    return arr.to_numpy().astype("datetime64[D]").astype(np.int64)


_STARTS = np.array([np.datetime64(r.start, "D").astype(np.int64) for r in RATE_TABLE])
_RATES = np.array([r.rate for r in RATE_TABLE])
#: Last day (inclusive) covered by the table.
TABLE_END = pd.Timestamp(RATE_TABLE[-1].start) + pd.DateOffset(months=6) - pd.Timedelta(days=1)


def late_payment_rate(dates) -> tuple[np.ndarray, np.ndarray]:
    """Legal late-payment rate (fraction a year) in force on each date, and whether the date is beyond the table.

    A date before the table's first half-year uses the first rate; one after its last uses the last rate. Both are
    flagged in the second array (``beyond_table``).

    >>> rate, beyond = late_payment_rate(["2024-03-15", "2027-01-10"])
    >>> rate.round(4).tolist(), beyond.tolist()
    ([0.145, 0.1215], [False, True])
    """
    d = _to_days(dates)
    idx = np.searchsorted(_STARTS, d, side="right") - 1
    beyond = (idx < 0) | (d > np.datetime64(TABLE_END.date(), "D").astype(np.int64))
    return _RATES[np.clip(idx, 0, len(_RATES) - 1)], beyond


def _rate_days(d: np.ndarray) -> np.ndarray:
    """Cumulative rate x days from the table's first day to day ``d`` (exclusive): a piecewise-linear integral."""
    # value of the integral at each table start
    widths = np.diff(_STARTS)
    at_starts = np.concatenate([[0.0], np.cumsum(_RATES[:-1] * widths)])
    idx = np.clip(np.searchsorted(_STARTS, d, side="right") - 1, 0, len(_STARTS) - 1)
    return at_starts[idx] + _RATES[idx] * (d - _STARTS[idx])


def late_payment_interest(amount, due_date, until) -> np.ndarray:
    """Interest the law allows on ``amount`` euros (incl. VAT) late from ``due_date`` to ``until``, in euros.

    interest = amount x sum over days late of rate(day) / 365, days late = ``until - due_date`` (0 when paid on or
    before the due date). Vectorised over arrays of equal length; dates beyond the table use the last known rate.

    >>> late_payment_interest([1000.0, 1000.0], ["2024-06-30", "2024-06-30"], ["2024-06-30", "2024-07-10"]).round(3)
    array([0.   , 3.904])
    """
    amount = np.atleast_1d(np.asarray(amount, dtype=float))
    start = _to_days(due_date) + 1          # first day late
    end = _to_days(until) + 1               # exclusive: the payment day itself counts as late
    end = np.maximum(end, start)
    return amount * (_rate_days(end) - _rate_days(start)) / DAY_COUNT


# ------------------------------------------------------------------------------------ public bodies, consumers

#: Percentage points added to the ECB rate for public buyers' *intérêts moratoires* (CCP R2192-31).
PUBLIC_MARGIN_POINTS = 8.0


def public_late_interest(amount, due_date, until) -> np.ndarray:
    """*Intérêts moratoires* a public body owes on ``amount`` euros late from ``due_date`` to ``until``, in euros:
    amount x (MRO in force on the first day of the half-year of the first day late + 8 points) x days late / 365.

    >>> round(float(public_late_interest(10_000, "2025-01-31", "2025-03-02")[0]), 2)   # 30 days at 11.15 %
    91.64
    """
    amount = np.atleast_1d(np.asarray(amount, dtype=float))
    start = _to_days(due_date) + 1
    days = np.maximum(_to_days(until) + 1 - start, 0)
    idx = np.clip(np.searchsorted(_STARTS, start, side="right") - 1, 0, len(_RATES) - 1)
    rate = _RATES[idx] - (MARGIN_POINTS - PUBLIC_MARGIN_POINTS) / 100.0
    return amount * rate * days / DAY_COUNT


def late_interest_by_type(amount, due_date, until, customer_type) -> np.ndarray:
    """Late-payment interest by customer type (module docstring): ``company`` (or unknown)
    :func:`late_payment_interest`, ``public_body`` :func:`public_late_interest`, ``individual`` 0."""
    kind = np.atleast_1d(np.asarray(customer_type, dtype=object)).astype(str)
    out = late_payment_interest(amount, due_date, until)
    public = kind == "public_body"
    if public.any():
        out = np.where(public, public_late_interest(amount, due_date, until), out)
    return np.where(kind == "individual", 0.0, out)


def indemnity_by_type(customer_type) -> np.ndarray:
    """The fixed recovery indemnity per late invoice by customer type: 40 EUR, 0 for an ``individual``."""
    kind = np.atleast_1d(np.asarray(customer_type, dtype=object)).astype(str)
    return np.where(kind == "individual", 0.0, FIXED_INDEMNITY_EUR)
