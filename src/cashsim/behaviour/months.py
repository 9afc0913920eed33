"""Due-month effects over time (*effet du mois d'échéance*): a typical month, and the months to come.

The AFT estimates one effect ``m`` per past due month (log-time units, :mod:`cashsim.behaviour.aft`). Summaries
describe a typical month, the median effect ``c`` (robust to a stressed quarter); forecasts use each past due
month's own estimate and, for months to come, the AR(1) forecast ``c + phi^h (m_last - c)`` (``h`` months after the
last estimated one) with ``phi`` the lag-1 autocorrelation of the past effects (methods.md 1.5): a lasting slow-down
or speed-up carries on, a one-off shock does not. By default (``fit_behaviour(..., persistence_test=True)``, params
``behaviour.persistence_test``) the persistence is kept only when the data show it: a one-sided test of the lag-1
autocorrelation against independent months (under which it is about ``N(0, 1/n)`` for ``n`` months, Bartlett) at
level :data:`PERSISTENCE_ALPHA`; else ``phi = 0`` and every month to come is at ``c``. On the demo, whose months are
independent draws plus a stressed quarter, the untested estimate is 0.18-0.39 on 16-31 months and carries the last,
barely observed month into the three months forecast (docs/validation.md, "Key accounts' month 3").

Due months are written 'YYYY-MM'; the year :data:`TYPICAL_YEAR` means "a typical month of that calendar month".

>>> str(TYPICAL_MONTHS[7])                               # an August, at the typical level
'0000-08'
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

#: Year of a due month meaning "a typical month of that calendar month" ("0000-08": an August, typical level).
TYPICAL_YEAR = "0000"
#: "A typical January" ... "a typical December" in the due-month notation above.
TYPICAL_MONTHS = np.array([f"{TYPICAL_YEAR}-{m:02d}" for m in range(1, 13)])
#: Level of the one-sided test that keeps the months' AR(1) persistence (:func:`_month_dynamics`, ``alpha``).
PERSISTENCE_ALPHA = 0.05


def _month_dynamics(m: np.ndarray, months: np.ndarray, as_of: pd.Timestamp, min_months: int = 8,
                    alpha: float | None = None) -> tuple[pd.Series, float, float]:
    """Month effects of due months up to ``as_of``'s month, their median ``c`` and the AR(1) persistence
    ``phi = sum(d_t d_{t-1}) / sum(d_{t-1}^2)``, ``d = m - c``, clipped to [0, 0.95] (0 with fewer than
    ``min_months`` months): a slow-down (or a speed-up) that lasts is carried into the forecast months, a one-off
    shock is not. With ``alpha``, ``phi`` is kept only when ``phi sqrt(n) > z_{1 - alpha}`` (``n`` months; the lag-1
    autocorrelation of independent months is about ``N(0, 1/n)``), else 0; ``alpha=None`` (default) keeps it.

    >>> months = pd.period_range("2024-01", periods=24, freq="M").strftime("%Y-%m").to_numpy()
    >>> m = np.random.default_rng(8).normal(0.0, 0.1, 24)             # independent months
    >>> [round(_month_dynamics(m, months, pd.Timestamp("2025-12-31"), alpha=a)[2], 2) for a in (None, 0.05)]
    [0.23, 0.0]
    """
    if len(m) == 0:
        return pd.Series(dtype=float), 0.0, 0.0
    series = pd.Series(m, index=months)
    series = series[series.index <= as_of.strftime("%Y-%m")]
    if series.empty:
        return series, 0.0, 0.0
    c = float(series.median())
    d = series.to_numpy() - c
    phi = 0.0
    if len(d) >= min_months and np.sum(d[:-1] ** 2) > 0:
        phi = float(np.clip(np.sum(d[1:] * d[:-1]) / np.sum(d[:-1] ** 2), 0.0, 0.95))
        if alpha is not None and phi * np.sqrt(len(d)) <= stats.norm.ppf(1.0 - alpha):
            phi = 0.0
    return series, c, phi


def _month_law(m: np.ndarray, m_var: np.ndarray, months: np.ndarray, as_of: pd.Timestamp,
               alpha: float | None = None) -> tuple[pd.Series, float, float, pd.Series]:
    """One series of due-month effects ``m`` (posterior variances ``m_var``, due months ``months``) as a month law:
    :func:`_month_dynamics`'s effects up to ``as_of``'s month, median and AR(1) persistence (``alpha``: its
    test), and the posterior variance of each of those months (empty when there are no effects)."""
    effects, c, phi = _month_dynamics(m, months, as_of, alpha=alpha)
    var = pd.Series(m_var, index=months).reindex(effects.index) if len(m_var) else pd.Series(dtype=float)
    return effects, c, phi, var


def month_level(effects: pd.Series, c: float, phi: float, due_month: np.ndarray | None, n: int) -> np.ndarray:
    """Month effect (log-time units) for invoices due in ``due_month`` ('YYYY-MM'; None = a typical month) from a
    series of estimated ``effects`` (:func:`_month_dynamics`): the estimate for a due month up to the last one, else
    the AR(1) forecast ``c + phi^h (m_last - c)``; a typical month gets ``c``."""
    if due_month is None or len(effects) == 0:
        return np.full(n, c)
    months = np.asarray(due_month, str)
    typical = np.char.startswith(months, TYPICAL_YEAR)
    months = np.where(typical, effects.index[-1], months)
    known = effects.reindex(months).to_numpy(float)
    last = np.array(effects.index[-1], dtype="datetime64[M]").astype(np.int64)
    gap = months.astype("datetime64[M]").astype(np.int64) - last
    m_last = float(effects.iloc[-1])
    forecast = c + phi ** np.maximum(gap, 0) * (m_last - c)
    return np.where(typical, c, np.where(np.isnan(known) | (gap > 0), forecast, known))


def month_variance(effect_var: pd.Series, tau2: float, due_month: np.ndarray | None, n: int) -> np.ndarray:
    """What is still unknown of the month effect of invoices due in ``due_month``: the posterior variance
    ``effect_var`` of an estimated due month, ``tau2`` for a month to come or a typical one (None)."""
    if due_month is None or len(effect_var) == 0:
        return np.full(n, tau2)
    v = effect_var.reindex(np.asarray(due_month, str)).to_numpy(float)
    return np.where(np.isnan(v), tau2, v)


def segment_month_laws(m: np.ndarray, m_var: np.ndarray, tau2: np.ndarray, period_month: np.ndarray,
                       period_group: np.ndarray, groups: list, segment_group: dict, as_of: pd.Timestamp,
                       alpha: float | None = None) -> dict:
    """Due-month effects per segment group (``fit_behaviour(..., segment_months="own")`` or ``"nested"``): for each
    segment, its group's effects, their median and AR(1) persistence (:func:`_month_law` on the group's own series),
    the posterior variance of each estimated month and the group's ``tau2`` (months to come); ``alpha``: the
    persistence test of :func:`_month_dynamics`."""
    laws = {}
    for g, name in enumerate(groups):
        on = period_group == g
        effects, c, phi, var = _month_law(m[on], m_var[on], np.asarray(period_month)[on], as_of, alpha)
        laws[name] = {"effects": effects, "center": c, "persistence": phi, "var": var, "tau2": float(tau2[g])}
    return {seg: laws[grp] for seg, grp in segment_group.items()}
