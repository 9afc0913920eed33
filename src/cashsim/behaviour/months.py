"""Due-month effects over time (*effet du mois d'échéance*): a typical month, and the months to come.

The AFT estimates one effect ``m`` per past due month (log-time units, :mod:`cashsim.behaviour.aft`). Summaries
describe a typical month, the median effect ``c`` (robust to a stressed quarter); forecasts use each past due
month's own estimate and, for months to come, the AR(1) forecast ``c + phi^h (m_last - c)`` (``h`` months after the
last estimated one) with ``phi`` the lag-1 autocorrelation of the past effects (methods.md 1.5): a lasting
slow-down or speed-up carries on, a one-off shock does not. Due months are written 'YYYY-MM'; the year
:data:`TYPICAL_YEAR` means "a typical month of that calendar month".

>>> str(TYPICAL_MONTHS[7])                               # an August, at the typical level
'0000-08'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Year of a due month meaning "a typical month of that calendar month" ("0000-08": an August, typical level).
TYPICAL_YEAR = "0000"
#: "A typical January" ... "a typical December" in the due-month notation above.
TYPICAL_MONTHS = np.array([f"{TYPICAL_YEAR}-{m:02d}" for m in range(1, 13)])


def _month_dynamics(m: np.ndarray, months: np.ndarray, as_of: pd.Timestamp, min_months: int = 8
                    ) -> tuple[pd.Series, float, float]:
    """Month effects of due months up to ``as_of``'s month, their median ``c`` and the AR(1) persistence
    ``phi = sum(d_t d_{t-1}) / sum(d_{t-1}^2)``, ``d = m - c``, clipped to [0, 0.95] (0 with fewer than
    ``min_months`` months): a slow-down (or a speed-up) that lasts is carried into the forecast months, a one-off
    shock is not."""
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
    return series, c, phi
