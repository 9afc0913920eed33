"""The weekly treasury plan (*plan de trésorerie*) of :mod:`cashsim.targets`: the burn's outflows day by day
(:func:`daily_outflows`), the bank balance path by path (:func:`cash_positions`) and the plan week by week
(:func:`weekly_plan`); the rules are in :mod:`cashsim.targets`' docstring, which re-exports these functions."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from cashsim.params import CashBurn
from cashsim.simulate import QUANTILES, quantile_name


def _pay_day(month: pd.Period, day: int) -> pd.Timestamp:
    """Day ``day`` of the month (31 = last day), moved back to a Friday when it falls on a weekend."""
    last = month.days_in_month
    ts = pd.Timestamp(year=month.year, month=month.month, day=min(day, last))
    return ts - pd.Timedelta(days=max(ts.weekday() - 4, 0))


def daily_outflows(burn: CashBurn, days: pd.DatetimeIndex, first_month: pd.Period | None = None) -> pd.DataFrame:
    """Outflows per day by category (euros incl. VAT) on the days of ``days`` (calendar days, consecutive).

    Categories: ``salaries`` (the non-social share of salaries_and_social, on payment_days.salaries_and_social),
    ``social_charges`` (social_share of it, on social_charges_day), ``taxes_and_vat``, ``loan_repayments`` (their
    days), ``external_charges`` (spread evenly over the Monday-Friday days of the month). An outflow dated outside
    ``days`` is not counted: before them it is already in the opening balance. Month lists start at ``first_month``
    (default: the month of ``days[0]``).

    >>> from cashsim.params import CashBurn
    >>> o = daily_outflows(CashBurn(loan_repayments=900), pd.date_range("2026-11-01", "2026-11-30"))
    >>> o.loc["2026-11-05", "loan_repayments"], float(o["loan_repayments"].sum())
    (np.float64(900.0), 900.0)
    """
    days = pd.DatetimeIndex(days).normalize()
    if len(days) and (days[-1] - days[0]).days == len(days) - 1:   # consecutive: the usual case, remembered
        # remembered by the burn's values, the days and the first month: the scenario panel asks for the same
        # outflows at every update, the report for each of its runs (callers get a copy)
        key = (type(burn).__qualname__, burn.model_dump_json(), days[0], len(days), str(first_month))
        with _OUTFLOWS_LOCK:
            table = _OUTFLOWS.get(key)
        if table is None:
            table = _outflows_table(burn, days, first_month)
            with _OUTFLOWS_LOCK:
                if len(_OUTFLOWS) >= 8:
                    _OUTFLOWS.pop(next(iter(_OUTFLOWS)))
                _OUTFLOWS[key] = table
        return table.copy()
    return _outflows_table(burn, days, first_month)


_OUTFLOWS: dict[tuple, pd.DataFrame] = {}
_OUTFLOWS_LOCK = threading.Lock()


def _outflows_table(burn: CashBurn, days: pd.DatetimeIndex, first_month: pd.Period | None) -> pd.DataFrame:
    from cashsim.targets import burn_table  # here: cashsim.targets imports this module

    months = pd.period_range(days[0].to_period("M"), days[-1].to_period("M"), freq="M")
    table = burn_table(burn, months, first_month or months[0])
    out = pd.DataFrame(0.0, index=days, columns=["salaries", "social_charges", "taxes_and_vat",
                                                 "loan_repayments", "external_charges"])
    pd_ = burn.payment_days
    fixed = {
        "salaries": (table["salaries_and_social"] * (1 - burn.social_share), pd_.salaries_and_social),
        "social_charges": (table["salaries_and_social"] * burn.social_share, pd_.social_charges_day),
        "taxes_and_vat": (table["taxes_and_vat"], pd_.taxes_and_vat),
        "loan_repayments": (table["loan_repayments"], pd_.loan_repayments),
    }
    for col, (amounts, day) in fixed.items():
        dates = pd.DatetimeIndex([_pay_day(m, day) for m in months])
        keep = dates.isin(days)
        out.loc[dates[keep], col] += amounts.to_numpy()[keep]
    # external charges: each business day of the month carries an equal share of the month's amount
    all_days = pd.date_range(months[0].start_time, months[-1].end_time.normalize(), freq="D")
    business = all_days[all_days.day_of_week < 5]
    per_month = pd.Series(1, index=business).groupby(business.to_period("M")).transform("size")
    share = table["external_charges"].reindex(business.to_period("M")).to_numpy() / per_month.to_numpy()
    ext = pd.Series(share, index=business).reindex(days, fill_value=0.0)
    out["external_charges"] = ext.to_numpy()
    out.index.name = "date"
    return out


def cash_positions(daily: np.ndarray, outflows: np.ndarray, opening_cash: float) -> np.ndarray:
    """(n_paths, n_days) end-of-day bank balance: opening + cumsum(collections - outflows)."""
    return opening_cash + np.cumsum(np.asarray(daily, dtype=float) - np.asarray(outflows, dtype=float), axis=1)


def weekly_plan(daily: np.ndarray, days: pd.DatetimeIndex, outflows: pd.DataFrame, opening_cash: float,
                minimum_balance: float = 0.0, quantiles=QUANTILES) -> pd.DataFrame:
    """Weekly treasury plan: one row per week (Monday start) of the days given.

    Columns: week_start, week_end (last day of the week inside the horizon), collections_mean, outflows (total and
    per category), position_mean and quantiles of the end-of-week balance, p_under_minimum = P(the balance is under
    ``minimum_balance`` on at least one day of the week).

    >>> days = pd.date_range("2026-11-02", periods=14)
    >>> out = pd.DataFrame({"x": np.r_[np.zeros(6), 500.0, np.zeros(7)]}, index=days)
    >>> w = weekly_plan(np.full((2, 14), 10.0), days, out, opening_cash=1000, minimum_balance=600)
    >>> w[["position_p50", "p_under_minimum"]].to_numpy().tolist()
    [[570.0, 1.0], [640.0, 1.0]]
    """
    days = pd.DatetimeIndex(days).normalize()
    daily = np.atleast_2d(np.asarray(daily, dtype=float))
    out_total = outflows.reindex(days, fill_value=0.0).sum(axis=1).to_numpy()
    pos = cash_positions(daily, out_total, opening_cash)
    week = (days - pd.to_timedelta(days.day_of_week, unit="D"))
    first = np.r_[True, week[1:] != week[:-1]]
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(days)] - 1
    lowest = np.minimum.reduceat(pos, starts, axis=1)
    df = pd.DataFrame({"week_start": week[first], "week_end": days[ends]})
    df["collections_mean"] = np.add.reduceat(daily, starts, axis=1).mean(axis=0)
    weekly_out = outflows.reindex(days, fill_value=0.0).groupby(week).sum()
    df["outflows"] = weekly_out.sum(axis=1).to_numpy()
    for c in outflows.columns:
        df[f"outflow_{c}"] = weekly_out[c].to_numpy()
    for k, v in _summary(pos[:, ends], "position", quantiles).items():
        df[k] = v
    df["p_under_minimum"] = (lowest < minimum_balance).mean(axis=0)
    return df


def _summary(values: np.ndarray, prefix: str, quantiles) -> dict[str, np.ndarray]:
    """Mean and quantiles over paths (axis 0) of a (n_paths, k) array, as columns."""
    out = {f"{prefix}_mean": values.mean(axis=0)}
    qs = np.quantile(values, quantiles, axis=0)
    out.update({f"{prefix}_{quantile_name(q)}": qs[i] for i, q in enumerate(quantiles)})
    return out
