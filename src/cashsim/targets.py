"""The monthly cash burn, the smoothed collection target, its probability of being met, and the weekly treasury plan.

**Burn** (*décaissements*): per month, salaries and social charges + external charges + taxes and VAT + loan
repayments, euros incl. VAT; each a single monthly figure or a month-by-month list whose item 0 is the **first month
of the current window** (the last item repeats). The **required** amount of a month is the burn plus the safety
margin (an amount, or a percentage of the burn).

**Smoothed target** (*objectif d'encaissement lissé*). Months are grouped in fixed windows of ``window`` months,
anchored on calendar blocks: a window starts on a month whose distance from ``anchor_month`` is a multiple of
``window`` (window 3, anchor 1 = calendar quarters Jan-Mar, Apr-Jun, ...). Within a window::

    target[m] = max(0, sum(required[w0 .. m]) - sum(collected[w0 .. m-1]))

what the window needs to date minus what it has already collected.

- A **shortfall** in one month raises the next months' targets of the same window. What is still missing at the
  window's end, ``max(0, sum(required) - sum(collected))`` over the window, is reported as the window's
  *unrecovered shortfall* and is **not** carried into the next window (each window starts afresh: the treasury plan,
  not the target, absorbs it).
- A **surplus** lowers the later targets of the window, but never below zero: a month whose need is already covered
  has target 0. A surplus left at the window's end is not carried forward either.

With a burn of 100 000 and collections of 80 000, 110 000, 110 000, the targets are 100 000, 120 000, 110 000 and
100 000 for the first month of the next window::

    >>> smoothed_targets([100_000] * 4, [80_000, 110_000, 110_000])
    [100000.0, 120000.0, 110000.0, 100000.0]
    >>> smoothed_targets([100_000] * 3, [150_000, 160_000])      # a surplus: later targets fall, never below 0
    [100000.0, 50000.0, 0.0]

On a simulation the same rule runs path by path (:func:`path_targets`): the target of month m on a path depends on
that path's earlier collections in the window, and on the actual collections of the window's months already past.
:func:`target_report` summarises per month and per window: P(target met), expected shortfall, the shortfall on the
10 % worst paths, and which months are at risk (P(met) below the required probability). Each customer's share
of a month's projected shortfall is :func:`cashsim.kpi.customer_shortfall`.

**Weekly treasury plan** (*plan de trésorerie*): each category is paid on its day of the month (salaries at
``payment_days.salaries_and_social``, the social-charge share on ``social_charges_day``, taxes and VAT on
``taxes_and_vat``, loans on ``loan_repayments``; a day falling on a weekend moves to the previous business day, 31
means the last day), external charges are spread evenly over the business days of the month. From the opening cash
(bank balance at the end of ``as_of``, so outflows dated on or before ``as_of`` are already in it), the daily balance
of each path is ``opening + cumsum(collections - outflows)``; per week (weeks start on Monday) we report the
end-of-week balance quantiles and P(the balance goes under the minimum on any day of the week). The safety margin
is a target buffer, not an outflow, and does not enter the weekly plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cashsim.errors import ParamsError
from cashsim.params import CashBurn, monthly_values
from cashsim.simulate import QUANTILES
from cashsim.treasury import _summary, cash_positions, daily_outflows, weekly_plan  # noqa: F401 (API)

if TYPE_CHECKING:  # pragma: no cover
    from cashsim.ledger import Ledger
    from cashsim.simulate import Simulation

#: Burn categories, in the order of the params file.
CATEGORIES = ("salaries_and_social", "external_charges", "taxes_and_vat", "loan_repayments")


# --------------------------------------------------------------------------------------------------- windows


def window_start(months: pd.PeriodIndex, window: int = 3, anchor_month: int = 1) -> pd.PeriodIndex:
    """First month of the calendar window holding each month.

    Windows are blocks of ``window`` months counted from ``anchor_month`` (1 = January) of any year: with window 3
    and anchor 1 they are calendar quarters; with anchor 2 they run Feb-Apr, May-Jul, ...

    >>> window_start(pd.period_range("2026-10", "2027-02", freq="M")).astype(str).tolist()
    ['2026-10', '2026-10', '2026-10', '2027-01', '2027-01']
    """
    if window < 1 or not 1 <= anchor_month <= 12:
        raise ParamsError(f"burn.window_months must be >= 1 (got {window}) and the anchor month in 1..12 "
                          f"(got {anchor_month})")
    months = pd.PeriodIndex(months, freq="M")
    ordinal = months.year.to_numpy() * 12 + months.month.to_numpy() - 1
    offset = (ordinal - (anchor_month - 1)) % window
    return months - offset


def _window_codes(months: pd.PeriodIndex, window: int, anchor_month: int) -> np.ndarray:
    """Integer window id per month (0, 0, 0, 1, ...), in order of appearance."""
    starts = window_start(months, window, anchor_month)
    return pd.factorize(starts.astype(str))[0]


def _cum_within(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Cumulative sum along the last axis, restarted at each window: cum[..., m] = sum of x over window(m) up to m."""
    total = np.cumsum(x, axis=-1)
    first = np.r_[True, codes[1:] != codes[:-1]]
    start_idx = np.maximum.accumulate(np.where(first, np.arange(len(codes)), 0))
    before = np.concatenate([np.zeros_like(total[..., :1]), total[..., :-1]], axis=-1)
    return total - before[..., start_idx]


def _targets_from(required: np.ndarray, collected: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """target[..., m] = max(0, needed to date in the window - collected before m in the window)."""
    need = _cum_within(required, codes)
    got_before = _cum_within(collected, codes) - collected
    return np.maximum(need - got_before, 0.0)


def smoothed_targets(burn, collected, window: int = 3) -> list[float]:
    """Targets of consecutive months from the required amounts and the collections known so far (euros incl. VAT).

    Windows are fixed blocks of ``window`` months starting at the first month. ``collected`` may be shorter than
    ``burn``: a month whose collections are not known yet is planned as if it collected exactly its target, so the
    targets after it equal the burn (``target = max(0, need to date - collected before)``, see the module doc).

    >>> smoothed_targets([100_000] * 4, [80_000, 110_000, 110_000])
    [100000.0, 120000.0, 110000.0, 100000.0]
    """
    required = np.asarray(burn, dtype=float)
    known = np.asarray(collected, dtype=float)
    if known.size > required.size:
        raise ParamsError(f"smoothed_targets: {known.size} months of collections for only {required.size} months "
                          "of burn; give a burn for every month collected")
    codes = np.arange(required.size) // window
    need = _cum_within(required, codes)
    targets = np.empty_like(required)
    got = np.zeros_like(required)
    for m in range(required.size):  # months, not invoices: the unknown months feed back their own target
        before = got[m - 1] if m and codes[m] == codes[m - 1] else 0.0
        targets[m] = max(need[m] - before, 0.0)
        got[m] = before + (known[m] if m < known.size else targets[m])
    return targets.tolist()


def window_shortfall(burn, collected, window: int = 3) -> list[float]:
    """Unrecovered shortfall of each complete window: ``max(0, sum(required) - sum(collected))`` (euros).

    It is reported, not carried into the next window.

    >>> window_shortfall([100_000] * 3, [80_000, 100_000, 100_000])
    [20000.0]
    """
    required = np.asarray(burn, dtype=float)
    known = np.asarray(collected, dtype=float)
    n = (known.size // window) * window
    req = required[:n].reshape(-1, window).sum(axis=1)
    got = known[:n].reshape(-1, window).sum(axis=1)
    return np.maximum(req - got, 0.0).tolist()


# --------------------------------------------------------------------------------------------------- burn


def _margin_of(burn: CashBurn, amounts: np.ndarray) -> np.ndarray:
    pct = burn.margin_percent
    if pct is not None:
        return amounts * pct / 100.0
    return np.full_like(amounts, float(burn.safety_margin))


def burn_table(burn: CashBurn, months: pd.PeriodIndex, first_month: pd.Period | None = None) -> pd.DataFrame:
    """Monthly burn by category, safety margin and required amount (euros incl. VAT), indexed by month.

    Lists in the params start at ``first_month`` (default: the first of ``months``; :func:`target_report` passes the
    first month of the current window). Columns: the four categories, ``burn`` (their sum), ``safety_margin``,
    ``required`` = burn + margin.

    >>> from cashsim.params import CashBurn
    >>> t = burn_table(CashBurn(salaries_and_social=100, external_charges=[10, 20], safety_margin="10%"),
    ...                pd.period_range("2026-01", periods=3, freq="M"))
    >>> t["required"].tolist()
    [121.0, 132.0, 132.0]
    """
    months = pd.PeriodIndex(months, freq="M")
    first = months[0] if first_month is None else pd.Period(first_month, freq="M")
    pos = np.asarray([(m - first).n for m in months])
    if (pos < 0).any():
        raise ParamsError(f"burn_table: month {months[pos.argmin()]} is before the first month of the burn lists "
                          f"({first})")
    n = int(pos.max()) + 1 if pos.size else 0
    cols = {c: np.asarray(monthly_values(getattr(burn, c), n), dtype=float)[pos] for c in CATEGORIES}
    out = pd.DataFrame(cols, index=pd.PeriodIndex(months, name="month"))
    out["burn"] = out[list(CATEGORIES)].sum(axis=1)
    out["safety_margin"] = _margin_of(burn, out["burn"].to_numpy())
    out["required"] = out["burn"] + out["safety_margin"]
    return out


# --------------------------------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class PathTargets:
    """The smoothed rule applied path by path, on the month axis extended back to the current window's start.

    months: all months from the first window start to the horizon's last month; ``is_past`` marks months wholly
    before the simulation (their collections are the ledger's actuals, the same on every path).
    required (M,), collected / targets / shortfall (n_paths, M), euros incl. VAT.
    """

    months: pd.PeriodIndex
    window_start: pd.PeriodIndex
    is_past: np.ndarray
    required: np.ndarray
    collected: np.ndarray
    targets: np.ndarray
    shortfall: np.ndarray

    @property
    def met(self) -> np.ndarray:
        """(n_paths, M) bool: the month collected at least its target."""
        return self.collected >= self.targets


def path_targets(burn, monthly_paths: np.ndarray, months, actual_past: pd.Series | None = None, *,
                 window: int = 3, anchor_month: int = 1) -> PathTargets:
    """The smoothed target on each simulated path (vectorised over paths).

    burn: required amount per month, a Series indexed by monthly Period covering every month from the start of the
      window holding ``months[0]`` to ``months[-1]`` (or an array aligned with ``months`` when ``months[0]`` starts
      its window).
    monthly_paths: (n_paths, len(months)) simulated collections per month.
    actual_past: actual collections by month (Series indexed by Period) for the window's months already past; a
      value for ``months[0]`` itself is what that month collected up to as_of, added to every path.

    >>> pt = path_targets(np.full(3, 100.0), np.array([[80.0, 110, 110], [250, 40, 90]]),
    ...                   pd.period_range("2026-01", periods=3, freq="M"))
    >>> pt.targets.tolist()
    [[100.0, 120.0, 110.0], [100.0, 0.0, 10.0]]
    """
    sim_months = pd.PeriodIndex(months, freq="M")
    paths = np.atleast_2d(np.asarray(monthly_paths, dtype=float))
    if paths.shape[1] != len(sim_months):
        raise ParamsError(f"path_targets: monthly_paths has {paths.shape[1]} columns for {len(sim_months)} months")
    all_months, codes, starts = _calendar(sim_months[0], sim_months[-1], window, anchor_month)
    first = all_months[0]
    if isinstance(burn, pd.Series):
        missing = all_months.difference(pd.PeriodIndex(burn.index, freq="M"))
        if len(missing):
            raise ParamsError(f"path_targets: no burn for month(s) {', '.join(map(str, missing))}; the burn must "
                              f"cover the window from {first}")
        required = burn.reindex(all_months).to_numpy(dtype=float)
    else:
        required = np.asarray(burn, dtype=float)
        if required.size != len(all_months):
            raise ParamsError(f"path_targets: burn has {required.size} values; {len(all_months)} months needed "
                              f"({first} to {sim_months[-1]}); pass a Series indexed by month")
    actual = np.zeros(len(all_months))
    if actual_past is not None and len(actual_past):
        actual = _actual_by_month(actual_past, all_months)
    return _path_targets(required, paths, all_months, codes, starts, actual)


def _path_targets(required: np.ndarray, paths: np.ndarray, all_months: pd.PeriodIndex, codes: np.ndarray,
                  starts: pd.PeriodIndex, actual: np.ndarray) -> PathTargets:
    """:func:`path_targets` from its checked inputs: required and actual collections on ``all_months``."""
    n_past = len(all_months) - paths.shape[1]
    collected = np.concatenate([np.zeros((paths.shape[0], n_past)), paths], axis=1) + actual
    targets = _targets_from(required, collected, codes)
    return PathTargets(
        months=all_months,
        window_start=starts,
        is_past=np.arange(len(all_months)) < n_past,
        required=required,
        collected=collected,
        targets=targets,
        shortfall=np.maximum(targets - collected, 0.0),
    )


def _calendar(first_month: pd.Period, last_month: pd.Period, window: int, anchor_month: int
              ) -> tuple[pd.PeriodIndex, np.ndarray, pd.PeriodIndex]:
    """(months from the start of ``first_month``'s window to ``last_month``, their window codes, their window
    starts); a study's runs share them through :class:`TargetSetup`."""
    first = window_start(pd.PeriodIndex([first_month], freq="M"), window, anchor_month)[0]
    all_months = pd.period_range(first, last_month, freq="M", name="month")
    codes = _window_codes(all_months, window, anchor_month)
    return all_months, codes, window_start(all_months, window, anchor_month)


def _actual_by_month(actual_past: pd.Series, all_months: pd.PeriodIndex) -> np.ndarray:
    """Actual collections summed by month on ``all_months``."""
    s = pd.Series(actual_past).groupby(pd.PeriodIndex(actual_past.index, freq="M")).sum()
    return s.reindex(all_months, fill_value=0.0).to_numpy(dtype=float)


def month_chances(pt: PathTargets) -> tuple[np.ndarray, np.ndarray]:
    """(P(target met), expected shortfall) of each month of ``pt.months``, over paths: the :func:`month_table`
    columns ``p_target_met`` and ``expected_shortfall`` (what a lever study judges its runs on), without the
    table."""
    return pt.met.mean(axis=0), pt.shortfall.mean(axis=0)


def month_table(pt: PathTargets, required_probability: float = 0.8, quantiles=QUANTILES,
                burn: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per month: required, target and collection fans, P(target met), expected shortfall, worst-10 % shortfall.

    ``shortfall_p10_worst`` is the 90th percentile of the shortfall: on 10 % of paths it is at least that.
    ``at_risk`` = P(met) < ``required_probability``.
    """
    cols: dict[str, Any] = {"month": pt.months.astype(str), "window_start": pt.window_start.astype(str),
                            "is_past": pt.is_past}
    if burn is not None:
        cols["burn"] = burn["burn"].reindex(pt.months).to_numpy()
    cols["required"] = pt.required
    cols.update(_summary(pt.targets, "target", quantiles))
    cols.update(_summary(pt.collected, "collections", quantiles))
    p_met, expected_shortfall = month_chances(pt)
    cols.update(p_target_met=p_met, expected_shortfall=expected_shortfall,
                shortfall_p10_worst=np.quantile(pt.shortfall, 0.9, axis=0), at_risk=p_met < required_probability)
    return pd.DataFrame(cols)    # built at once: a column added at a time costs 3 times as much


def window_table(pt: PathTargets, required_probability: float = 0.8, window: int = 3,
                 quantiles=QUANTILES) -> pd.DataFrame:
    """One row per window: required, collections fan, P(window met), expected and worst-10 % unrecovered shortfall.

    ``complete`` is False for a window cut by the horizon (its figures are to the horizon's end).
    """
    codes = pd.factorize(pt.window_start.astype(str))[0]
    n_w = codes.max() + 1
    onehot = np.eye(n_w)[codes]                                  # (M, W)
    req = pt.required @ onehot
    got = pt.collected @ onehot                                  # (n_paths, W)
    short = np.maximum(req - got, 0.0)
    starts = pt.window_start[np.r_[True, codes[1:] != codes[:-1]]]
    df = pd.DataFrame({
        "window_start": starts.astype(str),
        "window_end": pt.months[np.r_[codes[1:] != codes[:-1], True]].astype(str),
        "n_months": np.bincount(codes),
        "complete": np.bincount(codes) == window,
        "required": req,
    })
    for k, v in _summary(got, "collections", quantiles).items():
        df[k] = v
    df["p_target_met"] = (got >= req).mean(axis=0)
    df["expected_shortfall"] = short.mean(axis=0)
    df["shortfall_p10_worst"] = np.quantile(short, 0.9, axis=0)
    df["at_risk"] = df["p_target_met"] < required_probability
    return df


# --------------------------------------------------------------------------------------------------- daily


def month_codes(days: pd.DatetimeIndex) -> np.ndarray:
    """Per day of consecutive ``days``, the position of its month among theirs (0, 0, ..., 1, ...)."""
    month = np.asarray(pd.DatetimeIndex(days).to_numpy(), dtype="datetime64[ns]").astype("datetime64[M]")
    return np.concatenate([[0], np.cumsum(month[1:] != month[:-1])]).astype(np.intp)


# --------------------------------------------------------------------------------------------------- report


def json_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as strict-JSON records: dates as ISO strings, numpy scalars as Python ones, NaN and inf as None."""
    d = df.copy()
    for c in d.columns:
        if pd.api.types.is_datetime64_any_dtype(d[c]):
            d[c] = d[c].dt.strftime("%Y-%m-%d")

    def clean(v):
        v = v.item() if isinstance(v, np.generic) else v
        return None if isinstance(v, float) and not np.isfinite(v) else v   # strict JSON: NaN -> null
    return [{k: clean(v) for k, v in r.items()} for r in d.to_dict(orient="records")]


def plan_weeks(weekly: pd.DataFrame, as_of) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """The weekly plan's weeks as shown: the plan starts from the opening cash at the end of ``as_of`` (what was
    collected and paid up to that day is in it, :mod:`cashsim.treasury`), so a first week that began on or before
    ``as_of`` counts only its days after it: its ``week_start`` becomes the first of them, and it is left out when
    nothing moves in them (no collection on any path, no outflow: a weekend). Returns (weeks, the start of the week
    left out or None)."""
    first = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    if not len(weekly) or pd.Timestamp(weekly["week_start"].iloc[0]) >= first:
        return weekly, None
    head = weekly.iloc[0]
    if abs(float(head["collections_mean"])) < 0.005 and abs(float(head["outflows"])) < 0.005:
        return weekly.iloc[1:].reset_index(drop=True), pd.Timestamp(head["week_start"])
    starts = weekly["week_start"].copy()
    starts.iloc[0] = first
    return weekly.assign(week_start=starts), None


@dataclass(frozen=True)
class TargetReport:
    """What a CFO steers by: the monthly targets and their chance, the windows, and the weekly cash position.

    months: one row per month (see :func:`month_table`); windows: one row per window (:func:`window_table`);
    weekly: one row per week (:func:`weekly_plan`); paths: the path-by-path arrays behind them.
    """

    as_of: pd.Timestamp
    window: int
    anchor_month: int
    required_probability: float
    months: pd.DataFrame
    windows: pd.DataFrame
    weekly: pd.DataFrame
    burn: pd.DataFrame
    paths: PathTargets

    @cached_property
    def forecast_months(self) -> pd.DataFrame:
        """``months`` without the window's months already past: one row per forecast month (computed once; do not
        modify it)."""
        return self.months.loc[~self.months["is_past"].astype(bool)].reset_index(drop=True)

    @property
    def shown_weekly(self) -> pd.DataFrame:
        """``weekly`` as the report, the panel and the CLI show it (:func:`plan_weeks`: the first week from the day
        after ``as_of``); :meth:`to_dict` keeps the full ``weekly``."""
        return plan_weeks(self.weekly, self.as_of)[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (dates as ISO strings, no numpy scalars)."""
        return {"as_of": self.as_of.strftime("%Y-%m-%d"), "window_months": self.window,
                "anchor_month": self.anchor_month, "required_probability": self.required_probability,
                "months": json_records(self.months), "windows": json_records(self.windows),
                "weeks": json_records(self.weekly)}


def actual_collections(ledger: Ledger, start, as_of) -> pd.Series:
    """Cash actually received per month (euros incl. VAT) from ``start`` to ``as_of`` inclusive, from the ledger."""
    pay = ledger.payments
    dates = pd.to_datetime(pay["payment_date"]).astype("datetime64[ns]")
    keep = (dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(as_of))
    amounts = pay.loc[keep, "amount"].astype(float)
    return amounts.groupby(dates[keep].dt.to_period("M")).sum()


def window_actuals(ledger: Ledger, burn: CashBurn, as_of, *, anchor_month: int | None = None) -> pd.Series:
    """Actual collections of the current window so far: :func:`actual_collections` from the first day of the
    window holding the first forecast day (``as_of + 1``) to ``as_of`` inclusive.

    ``anchor_month`` defaults to ``burn.window_anchor_month``. This is the ``actual_past`` of
    :func:`target_report_arrays` and of the lever comparisons.
    """
    anchor_month = burn.window_anchor_month if anchor_month is None else anchor_month
    first = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    start = window_start(pd.PeriodIndex([first.to_period("M")]), burn.window_months, anchor_month)[0]
    return actual_collections(ledger, start.start_time, as_of)


@dataclass(frozen=True, eq=False)
class TargetSetup:
    """What the target reports of a series of runs on one burn, horizon and past share (a lever study's scenarios
    and trials): the burn table from the current window's first month (``first``) to the horizon's last month,
    those months' window codes and starts, the window's actual collections summed on them, the table's
    ``required`` collections as an array, where each month starts among ``days`` (``month_starts``: :meth:`monthly`
    sums a run's days into its months) and each day's month among them (``day_months``: :func:`month_codes`, with
    :attr:`month_ends`). Worked out once
    by :func:`target_setup`, read (never modified) by :func:`target_report_arrays` and by a lever study's runs
    (:func:`cashsim.compare.run_scenario`: ``setup.path_targets(setup.monthly(daily))``)."""

    burn: CashBurn
    anchor_month: int
    days: pd.DatetimeIndex
    table: pd.DataFrame
    all_months: pd.PeriodIndex
    codes: np.ndarray
    starts: pd.PeriodIndex
    actual: np.ndarray
    month_starts: np.ndarray
    required: np.ndarray
    day_months: np.ndarray
    actual_past: pd.Series | None = None

    @property
    def first(self) -> pd.Period:
        """The start of the first month's window: the first of :attr:`all_months`."""
        return self.all_months[0]

    @property
    def month_ends(self) -> pd.DatetimeIndex:
        """The last of :attr:`days` in each of their months."""
        ends = np.r_[self.month_starts[1:] - 1, len(self.days) - 1]
        return pd.DatetimeIndex(np.asarray(self.days.to_numpy())[ends])

    def monthly(self, daily: np.ndarray) -> np.ndarray:
        """A (n_paths, n_days) array over :attr:`days` summed into their calendar months: (n_paths, n_months)."""
        return np.add.reduceat(np.asarray(daily, dtype=float), self.month_starts, axis=1)

    def path_targets(self, monthly: np.ndarray) -> PathTargets:
        """The :class:`PathTargets` of a run's collections by month (:meth:`monthly` of its days)."""
        return _path_targets(self.required, np.atleast_2d(monthly), self.all_months, self.codes, self.starts,
                             self.actual)

    def serves(self, burn: CashBurn, days: pd.DatetimeIndex, anchor_month: int,
               actual_past: pd.Series | None = None) -> bool:
        """Whether this setup was made for this very burn, these days, this anchor and these very past actuals
        (the same object, or None for both: an equal copy is not looked at, it is worked out again)."""
        return (burn is self.burn and actual_past is self.actual_past and anchor_month == self.anchor_month
                and self.days.equals(days))


def target_setup(burn: CashBurn, days: pd.DatetimeIndex, actual_past: pd.Series | None = None, *,
                 anchor_month: int | None = None) -> TargetSetup:
    """The :class:`TargetSetup` of the runs over ``days`` (as_of + 1 ... horizon end) against ``burn``, with the
    window's actual collections ``actual_past`` (see :func:`target_report_arrays`)."""
    anchor_month = burn.window_anchor_month if anchor_month is None else anchor_month
    days = pd.DatetimeIndex(days).normalize()
    day_months = month_codes(days)
    month_starts = np.flatnonzero(np.r_[True, day_months[1:] != day_months[:-1]])
    months = days[month_starts].to_period("M")
    all_months, codes, starts = _calendar(months[0], months[-1], burn.window_months, anchor_month)
    first = all_months[0]                # the start of the first month's window
    table = burn_table(burn, pd.period_range(first, months[-1], freq="M"), first)
    actual = np.zeros(len(all_months))
    if actual_past is not None and len(actual_past):
        actual = _actual_by_month(actual_past, all_months)
    return TargetSetup(burn=burn, anchor_month=anchor_month, days=days, table=table,
                       all_months=all_months, codes=codes, starts=starts, actual=actual, month_starts=month_starts,
                       required=table["required"].to_numpy(dtype=float), day_months=day_months,
                       actual_past=actual_past)


def target_report_arrays(daily: np.ndarray, days: pd.DatetimeIndex, burn: CashBurn, *,
                         actual_past: pd.Series | None = None, as_of=None, anchor_month: int | None = None,
                         quantiles=QUANTILES) -> TargetReport:
    """The whole target report from a (n_paths, n_days) daily collections array: no engine needed.

    ``days`` = as_of + 1 ... horizon end (consecutive calendar days); ``actual_past`` = actual collections by month
    for the current window before ``days[0]`` (incl. the part of ``days[0]``'s month up to as_of).
    ``anchor_month`` defaults to ``burn.window_anchor_month``. A lever study's runs need the paths only: the
    :meth:`TargetSetup.path_targets` of a :func:`target_setup` worked out once for them.
    """
    anchor_month = burn.window_anchor_month if anchor_month is None else anchor_month
    days = pd.DatetimeIndex(days).normalize()
    as_of = pd.Timestamp(as_of) if as_of is not None else days[0] - pd.Timedelta(days=1)
    setup = target_setup(burn, days, actual_past, anchor_month=anchor_month)
    pt = setup.path_targets(setup.monthly(daily))
    return TargetReport(
        as_of=as_of, window=burn.window_months, anchor_month=anchor_month,
        required_probability=burn.required_probability,
        months=month_table(pt, burn.required_probability, quantiles, setup.table),
        windows=window_table(pt, burn.required_probability, burn.window_months, quantiles),
        weekly=weekly_plan(daily, days, daily_outflows(burn, days, setup.first), burn.opening_cash,
                           burn.minimum_balance, quantiles),
        burn=setup.table.copy(), paths=pt,
    )


def serving_setup(burn: CashBurn, days: pd.DatetimeIndex, actual_past: pd.Series | None = None, *,
                  setup: TargetSetup | None = None) -> TargetSetup:
    """``setup`` when it was made for these inputs on the burn's own anchor month (:meth:`TargetSetup.serves`),
    else their :func:`target_setup`."""
    days = pd.DatetimeIndex(days).normalize()
    if setup is None or not setup.serves(burn, days, burn.window_anchor_month, actual_past):
        setup = target_setup(burn, days, actual_past)
    return setup


def target_report(sim: Simulation, burn_params: CashBurn, ledger: Ledger | None = None, *,
                  anchor_month: int | None = None, quantiles=QUANTILES) -> TargetReport:
    """:func:`target_report_arrays` on a :class:`cashsim.simulate.Simulation`, with actual collections from the ledger.

    Without a ledger the window's past months count as collecting nothing (only right when the forecast starts on
    a window's first day).
    """
    days = pd.DatetimeIndex(sim.days)
    anchor_month = burn_params.window_anchor_month if anchor_month is None else anchor_month
    actual = None if ledger is None else window_actuals(ledger, burn_params, sim.as_of, anchor_month=anchor_month)
    return target_report_arrays(sim.daily, days, burn_params, actual_past=actual, as_of=sim.as_of,
                                anchor_month=anchor_month, quantiles=quantiles)
