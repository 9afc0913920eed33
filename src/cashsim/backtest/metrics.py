"""Backtest scores per method and horizon, and the goals the forecast is held to (*objectifs de précision*).

:func:`metrics_table` turns the per-origin rows of a backtest (one per origin x horizon x method; see
:mod:`cashsim.backtest`) into one row per method x horizon, plus ``"all"`` (pooled over horizons) when asked:

* ``n``; ``wape``, ``bias`` (shares of the cash collected, cash-weighted); ``mae`` (euros); ``mape`` over the
  outcomes with a positive actual only, with ``mape_n`` used and ``mape_excluded`` left out (:mod:`.scores`);
* ``crps`` (mean, euros) and ``crps_skill = 1 - CRPS / CRPS of the best baseline``, the best baseline being the one
  with the lowest CRPS at that horizon (a point forecast's CRPS is its absolute error, so it is also the one with
  the lowest MAE and WAPE: ``best_baseline``); ``wape_ratio`` = WAPE / the best baseline's. CRPS are compared
  to the cent: a baseline exactly right at every origin (e.g. nothing left to collect, forecast 0) gives a skill of
  ``-inf`` (NaN when the model is exactly right too; both are ``null`` in the JSON, ``n/a`` in the text: a ratio
  to a CRPS of 0 says nothing);
* ensembles only (the model; the oracle of :mod:`.ceiling` when given): ``winkler80`` (mean 80 % interval score,
  euros), ``cover50`` / ``cover80`` (share of outcomes covered, read on the randomised PIT) with ``_lo`` / ``_hi``,
  the 95 % band of a bootstrap over origins;
* ``invoice_mae`` / ``invoice_n`` on the pooled rows (mean days between predicted and actual payment date);
* ``cash_share``: the horizon's share of the cash actually collected over the whole horizon, summed over origins
  (with ``cumulative``: months 1..h over months 1..H). A skill score of a month with almost no cash (IBM's third
  month: 0.3 % of the horizon's cash, 10 of 12 actuals zero) is kept and scored as any other; this column says
  how much money it is about.

:func:`evaluate_goals` states the goals of issue 15 with their figures, never tuned on the outcomes:

* the 80 % interval covers 72-88 % of outcomes **in every horizon month** (one row per month);
* pooled WAPE of the median <= 0.75 x the best baseline's;
* CRPS skill >= 0.25 against the best baseline **in every horizon month** (one row per month);
* the invoice MAE of the median payment date below the best baseline's.

Example::

    >>> rows = pd.DataFrame({"origin": [1, 1], "horizon": [1, 1], "method": ["model", "due_date"],
    ...                      "actual": [100.0, 100.0], "forecast": [90.0, 60.0], "crps": [6.0, 40.0],
    ...                      "pit": [0.4, np.nan], "winkler80": [30.0, np.nan]})
    >>> m = metrics_table(rows, pooled=False, baselines=("due_date",))
    >>> m[["method", "wape", "bias", "crps_skill"]].to_dict("records")[0]
    {'method': 'model', 'wape': 0.1, 'bias': -0.1, 'crps_skill': 0.85}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim.backtest.baselines import BASELINES
from cashsim.backtest.ceiling import ENSEMBLES, ORACLE
from cashsim.backtest.scores import N_BOOTSTRAP, bootstrap_band, coverage_band, mape, pit_covered
from cashsim.i18n import N_

#: the smallest amount (currency units): CRPS below half of it count as 0 in the skill
CENT = 0.01
#: accepted range of the 80 % interval's coverage, in every horizon month
COVER80_GOAL = (0.72, 0.88)
#: pooled WAPE of the model's median at most this multiple of the best baseline's
WAPE_RATIO_GOAL = 0.75
#: CRPS skill against the best baseline at least this, in every horizon month
CRPS_SKILL_GOAL = 0.25
#: how a skill against a perfect baseline (-inf, or NaN when the model is perfect too) is written: no ratio to a 0
NO_SKILL = N_("n/a")
#: the invoice-MAE goal's detail when no baseline scored a paid invoice (its target is then "< nan days")
NO_PAID_INVOICE = N_("no paid invoice to score")


def metrics_table(rows: pd.DataFrame, invoices: pd.DataFrame | None = None, *, pooled: bool = True,
                  baselines: tuple[str, ...] = BASELINES,
                  seed: int = 0, n_boot: int = N_BOOTSTRAP, cumulative: bool = False) -> pd.DataFrame:
    """One row per method x horizon (``"all"`` pooled when ``pooled``) of the scores in the module docstring, for
    ``model`` and each of ``baselines`` present in ``rows``.

    ``rows``: origin, horizon, method, actual, forecast, crps, and for the model pit and winkler80. ``invoices``:
    ``<method>_error_days`` columns (invoice MAE on the pooled rows; NaN without). ``seed``: the bootstrap's.
    ``cumulative``: the rows are windows 1..h (the cash share is then of the last window's cash).
    """
    horizons = [str(h) for h in sorted(rows["horizon"].unique())] + (["all"] if pooled else [])
    out = []
    for method in [m for m in ("model", ORACLE, *baselines) if (rows["method"] == m).any()]:
        m = rows[rows["method"] == method]
        last = m["horizon"].astype(str) == str(m["horizon"].max())
        horizon_cash = (m.loc[last, "actual"] if cumulative else m["actual"]).to_numpy(float).sum()
        for h in horizons:
            part = m if h == "all" else m[m["horizon"].astype(str) == h]
            f, y = part["forecast"].to_numpy(float), part["actual"].to_numpy(float)
            e = f - y
            total = y.sum()
            value, n_used, n_out = mape(f, y)
            row = {"method": method, "horizon": h, "n": len(part),
                   "wape": np.abs(e).sum() / total if total > 0 else np.nan,
                   "bias": e.sum() / total if total > 0 else np.nan, "mae": np.abs(e).mean() if len(e) else np.nan,
                   "mape": value, "mape_n": n_used, "mape_excluded": n_out, "crps": part["crps"].mean(),
                   "cash_share": total / horizon_cash if horizon_cash > 0 else np.nan}
            if method in ENSEMBLES:
                origins = part["origin"].to_numpy()
                row["winkler80"] = part["winkler80"].mean()
                for level in (50, 80):
                    covered = pit_covered(part["pit"].to_numpy(float), level / 100)
                    row[f"cover{level}"] = covered.mean() if len(covered) else np.nan
                    row[f"cover{level}_lo"], row[f"cover{level}_hi"] = bootstrap_band(
                        covered, origins, n_boot=n_boot, seed=seed)
            if invoices is not None and f"{method}_error_days" in invoices:
                err = invoices[f"{method}_error_days"]
                row["invoice_mae"] = err.mean() if h == "all" else np.nan
                row["invoice_n"] = int(err.notna().sum()) if h == "all" else 0
            else:
                row["invoice_mae"], row["invoice_n"] = np.nan, 0
            out.append(row)
    table = pd.DataFrame(out)
    return _skills(table, baselines)


def _skills(table: pd.DataFrame, baselines: tuple[str, ...]) -> pd.DataFrame:
    """Add ``best_baseline`` (lowest CRPS at the horizon), ``crps_skill`` and ``wape_ratio`` against it."""
    base = table[table["method"].isin(baselines) & table["crps"].notna()]
    best = {h: part.loc[part["crps"].idxmin()] for h, part in base.groupby("horizon", sort=False)}
    table = table.copy()
    table["best_baseline"] = table["horizon"].map({h: b["method"] for h, b in best.items()})
    crps_ref = table["horizon"].map({h: b["crps"] for h, b in best.items()}).to_numpy(float)
    wape_ref = table["horizon"].map({h: b["wape"] for h, b in best.items()}).to_numpy(float)
    crps = table["crps"].to_numpy(float)
    # to the cent: a CRPS under half a cent is float noise of sums of cents, a perfect forecast. Against a perfect
    # baseline the skill is -inf (NaN when the scored method is perfect too).
    crps, crps_ref = np.where(crps < CENT / 2, 0.0, crps), np.where(crps_ref < CENT / 2, 0.0, crps_ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["crps_skill"] = 1 - crps / crps_ref
        table["wape_ratio"] = table["wape"].to_numpy(float) / wape_ref
    first = ["method", "horizon", "n", "wape", "bias", "crps", "crps_skill", "best_baseline", "wape_ratio"]
    return table[first + [c for c in table.columns if c not in first]]


def evaluate_goals(metrics: pd.DataFrame) -> pd.DataFrame:
    """The goals of the module docstring as a table: goal, horizon, target, value, met, detail (one row per horizon
    month for the per-month goals). A figure that cannot be computed (NaN) is a missed goal.

    ``metrics``: :func:`metrics_table` with its pooled rows (month scope, not cumulative).
    """
    t = metrics.set_index(["method", "horizon"])
    months = [h for h in metrics.loc[metrics["method"] == "model", "horizon"] if h != "all"]
    lo, hi = COVER80_GOAL
    rows = []
    for h in months:
        r = t.loc[("model", h)]
        cal_lo, cal_hi = coverage_band(int(r["n"]), 0.8)
        rows.append({"goal": f"80% interval covers {lo:.0%}-{hi:.0%} of outcomes in every month", "horizon": h,
                     "target": f"{lo:.2f}-{hi:.2f}", "value": float(r["cover80"]),
                     "met": bool(lo <= r["cover80"] <= hi),
                     "detail": f"{r['cover80']:.1%} (bootstrap 95% band {r['cover80_lo']:.0%}-"
                               f"{r['cover80_hi']:.0%}; a calibrated forecast shows {cal_lo:.0%}-{cal_hi:.0%} on "
                               f"{int(r['n'])} origins)"})
    r = t.loc[("model", "all")]
    best = r["best_baseline"]
    ratio = float(r["wape_ratio"])
    best_wape = t.loc[(best, "all"), "wape"] if isinstance(best, str) else np.nan
    rows.append({"goal": f"pooled WAPE of the median <= {WAPE_RATIO_GOAL:.2f}x the best baseline's",
                 "horizon": "all", "target": f"<= {WAPE_RATIO_GOAL:.2f}", "value": ratio,
                 "met": bool(ratio <= WAPE_RATIO_GOAL),
                 "detail": f"model {r['wape']:.1%} vs {best} {best_wape:.1%} (ratio {ratio:.2f}); "
                           f"bias {r['bias']:+.1%}; MAE {r['mae']:,.0f} vs {t.loc[(best, 'all'), 'mae']:,.0f}"
                           if isinstance(best, str) else "no baseline to compare with"})
    for h in months:
        r = t.loc[("model", h)]
        best = r["best_baseline"]
        skill = float(r["crps_skill"])
        rows.append({"goal": f"CRPS skill >= {CRPS_SKILL_GOAL:.2f} against the best baseline in every month",
                     "horizon": h, "target": f">= {CRPS_SKILL_GOAL:.2f}", "value": skill,
                     "met": bool(skill >= CRPS_SKILL_GOAL),
                     "detail": f"CRPS {r['crps']:,.0f} vs {best} {t.loc[(best, h), 'crps']:,.0f} "
                               f"(skill {f'{skill:.2f}' if np.isfinite(skill) else NO_SKILL})"
                               if isinstance(best, str) else "no baseline to compare with"})
    r = t.loc[("model", "all")]
    base = t.xs("all", level="horizon").drop(index=list(ENSEMBLES), errors="ignore")
    if base["invoice_mae"].notna().any():
        best = base["invoice_mae"].idxmin()
        best_mae = float(base.loc[best, "invoice_mae"])
        detail = (f"model {r['invoice_mae']:.2f} days vs {best} {best_mae:.2f} days on {int(r['invoice_n'])} "
                  f"invoices")
    else:
        best_mae, detail = np.nan, NO_PAID_INVOICE
    rows.append({"goal": "invoice MAE of the median pay date below the best baseline's", "horizon": "all",
                 "target": f"< {best_mae:.2f} days", "value": float(r["invoice_mae"]),
                 "met": bool(r["invoice_mae"] < best_mae), "detail": detail})
    return pd.DataFrame(rows)
