"""Forecast against actual (*prévision contre réalisé*): the forecast made at the previous month end for the month
just closed, set against the cash that came in, with its PIT. Rules:

* **What is kept.** Each report's ``summary.json`` holds ``forecast`` (:func:`forecast_record`): as-of date, paths,
  seed, the SHA-256 of the ledger as known at the as-of date (:func:`ledger_sha256`) and, for every month of its
  horizon, the mean, P10 / P50 / P90 and :data:`LEVELS` (101 quantiles 0, 0.01, ..., 1) of the simulated collections
  of the days after the as-of date (every invoice: open ones and the sales plan's).
* **The month scored.** For a report as of D, the month just closed is the last calendar month ended by D (D's month
  when D is a month end); its forecast origin is the month end before it (D = 2026-10-31: October, origin
  2026-09-30).
* **Finding the previous report.** Every ``<reports_dir>/YYYY-MM[-vK]/summary.json`` (dated folder names; temporary
  and failed runs are skipped) whose ``forecast.as_of`` is the origin and which forecasts the month; several (a
  rerun, ``-v2``) -> the latest ``created_utc``. None, or only unreadable ones (said in the notes): the forecast is
  **recomputed** as of the origin with the same params, paths and seed (fit and open book on ``known_at(origin)``).
* **Actual**: every payment dated in the month (:func:`cashsim.backtest.actual_monthly`, no invoice filter).
* **PIT**: the position of the actual in the forecast distribution read on the quantile grid, interpolated linearly
  between grid points; on a run of equal quantiles (a point mass) drawn uniformly within it (randomised, seeded by
  the origin: deterministic). Verdict: below the 80 % band when PIT < 0.1, above when > 0.9, else inside.
* **History restated**: the ledger's SHA-256 as known at the origin differs from the one the previous report kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cashsim import fmt
from cashsim.backtest import actual_monthly
from cashsim.errors import CashsimError
from cashsim.report.words import labels_of, tr

#: Levels of the quantile grid kept per month: 0, 0.01, ..., 1.
LEVELS = np.round(np.linspace(0.0, 1.0, 101), 2)
#: Report folders: ``YYYY-MM`` or ``YYYY-MM-vK``.
_FOLDER = re.compile(r"[0-9]{4}-[0-9]{2}(-v[0-9]+)?")
_TABLES = ("invoices", "payments", "credits", "allocations", "promises", "dunning")
PREVIOUS, RECOMPUTED = "previous report", "recomputed"
#: Where a row was read (credits, allocations): not part of the history :func:`ledger_sha256` hashes.
_PATHS = ["file"]


def ledger_sha256(ledger, as_of, *, with_paths: bool = False) -> str:
    """SHA-256 of the ledger as known at the end of ``as_of`` (``known_at``): its dated tables (invoices, payments,
    credits, allocations, promises, dunning), not the customers file nor the read counts, which grow with every
    extract, nor where the files were read (the ``file`` column of credits and allocations: the same extract in
    another folder is the same history). Two extracts agree on it unless history before ``as_of`` was restated.
    ``with_paths``: the hash as earlier reports kept it, file paths included (:func:`same_history`)."""
    from cashsim.cache.keys import table_digest

    known = ledger.known_at(pd.Timestamp(as_of))
    h = hashlib.sha256()
    for name in _TABLES:
        table = getattr(known, name).reset_index(drop=True)
        if not with_paths:
            table = table.drop(columns=_PATHS, errors="ignore")
        h.update(f"{name}={table_digest(table)};".encode())
    return h.hexdigest()


def same_history(recorded: str | None, ledger, as_of) -> bool:
    """Whether ``recorded`` (a previous report's ``ledger_sha256``) is the ledger's as known at ``as_of``: the hash
    without file paths, or the one earlier reports kept with them (read from the same folder), hashed only when the
    first does not match."""
    return recorded == ledger_sha256(ledger, as_of) or recorded == ledger_sha256(ledger, as_of, with_paths=True)


def month_forecast(paths: np.ndarray) -> dict[str, Any]:
    """Mean, P10 / P50 / P90 and the :data:`LEVELS` quantile grid of one month's simulated collections (euros)."""
    x = np.asarray(paths, float)
    grid = [round(float(q), 2) for q in np.quantile(x, LEVELS)]
    at = dict(zip(LEVELS.tolist(), grid, strict=True))  # P10 / P50 / P90 are points of the grid
    return {"mean": round(float(x.mean()), 2), "p10": at[0.1], "p50": at[0.5], "p90": at[0.9], "quantiles": grid}


def forecast_record(sim, ledger, as_of) -> dict[str, Any]:
    """What ``summary.json`` keeps under ``forecast`` so that a later report can score it (module docstring)."""
    monthly = sim.monthly()
    as_of = pd.Timestamp(as_of)
    return {"as_of": as_of.date().isoformat(), "n_paths": int(sim.n_paths), "seed": int(sim.seed),
            "ledger_sha256": ledger_sha256(ledger, as_of), "levels": LEVELS.tolist(),
            "months": {str(m): month_forecast(monthly[m].to_numpy()) for m in monthly.columns}}


def run_forecast(run) -> dict[str, Any]:
    """:func:`forecast_record` of a report's run (the notebook's summary cell adds it to ``summary.json``)."""
    return forecast_record(run.sim, run.ledger, run.as_of)


def closed_month(as_of) -> tuple[pd.Period, pd.Timestamp]:
    """The month just closed for a report as of ``as_of`` and the origin of its forecast (the month end before it).

    >>> closed_month("2026-10-31")
    (Period('2026-10', 'M'), Timestamp('2026-09-30 00:00:00'))
    >>> closed_month("2026-11-15")
    (Period('2026-10', 'M'), Timestamp('2026-09-30 00:00:00'))
    """
    day = pd.Timestamp(as_of).normalize()
    month = day.to_period("M") - (0 if day.is_month_end else 1)
    return month, month.start_time - pd.Timedelta(days=1)


def pit(quantiles, levels, y: float, v: float) -> float:
    """Position of ``y`` in the distribution given by its quantile grid (interpolated; ``v`` uniform on ties)."""
    q, p = np.asarray(quantiles, float), np.asarray(levels, float)
    lo, hi = np.searchsorted(q, y, "left"), np.searchsorted(q, y, "right")
    if hi > lo:                        # y equals grid values: anywhere in their levels
        return float(p[lo] + v * (p[hi - 1] - p[lo]))
    if lo == 0:
        return float(p[0])
    if lo == len(q):
        return float(p[-1])
    return float(p[lo - 1] + (y - q[lo - 1]) / (q[lo] - q[lo - 1]) * (p[lo] - p[lo - 1]))


def verdict(u: float) -> str:
    """``below`` / ``inside`` / ``above`` the 80 % band from the PIT."""
    return "below" if u < 0.1 else "above" if u > 0.9 else "inside"


def previous_summary(reports_dir, origin, month: str) -> tuple[dict | None, Path | None, list[tuple[str, dict]]]:
    """The summary.json of the report as of ``origin`` forecasting ``month`` (module docstring), its path, and notes
    ``(English msgid, fields)`` on the folders of that as-of date that could not be used."""
    notes: list[tuple[str, dict]] = []
    found = []
    if not reports_dir or not Path(reports_dir).is_dir():
        return None, None, notes
    day = pd.Timestamp(origin).date().isoformat()
    for folder in sorted(p for p in Path(reports_dir).iterdir() if p.is_dir() and _FOLDER.fullmatch(p.name)):
        path = folder / "summary.json"
        if not path.is_file():
            notes.append(("{folder}: no summary.json, not used", {"folder": folder.name}))
            continue
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            notes.append(("{folder}/summary.json is unreadable ({error}), not used",
                          {"folder": folder.name, "error": type(exc).__name__}))
            continue
        forecast = summary.get("forecast") if isinstance(summary, dict) else None
        if not isinstance(forecast, dict):
            if isinstance(summary, dict) and summary.get("as_of") == day:
                notes.append(("{folder}: that report kept no forecast, not used", {"folder": folder.name}))
            continue
        if forecast.get("as_of") != day or month not in (forecast.get("months") or {}):
            continue
        if not _usable(forecast, month):
            notes.append(("{folder}/summary.json is unreadable ({error}), not used",
                          {"folder": folder.name, "error": "forecast"}))
            continue
        found.append((str(summary.get("created_utc", "")), folder.name, summary, path))
    if not found:
        return None, None, notes
    _, _, summary, path = max(found)
    return summary, path, notes


def _usable(forecast: dict, month: str) -> bool:
    """A month's forecast has its figures and a quantile grid as long as its levels, both increasing."""
    try:
        fc = forecast["months"][month]
        q = np.asarray(fc["quantiles"], float)
        p = np.asarray(forecast.get("levels", LEVELS), float)
        figures = [float(fc[k]) for k in ("p10", "p50", "p90")]
    except (KeyError, TypeError, ValueError):
        return False
    return (len(q) == len(p) > 1 and np.isfinite(q).all() and np.isfinite(figures).all()
            and bool((np.diff(q) >= 0).all()) and bool((np.diff(p) > 0).all()))


@dataclass
class Hindsight:
    """The month just closed: its forecast (``mean p10 p50 p90 quantiles``), what came in, PIT, verdict, source."""

    month: str
    origin: pd.Timestamp
    source: str
    forecast: dict[str, Any]
    actual: float
    pit: float
    verdict: str
    restated: bool | None = None
    path: Path | None = None
    notes: list[tuple[str, dict]] = field(default_factory=list)


def recompute(params, ledger, origin, *, n_paths: int | None = None, seed: int | None = None) -> dict[str, Any]:
    """The forecast record as of ``origin`` with ``params`` (the same sales plan, behaviour and simulation settings),
    fitted and simulated on what was known then (``known_at(origin)``, as the pipeline and the backtest do): the
    forecast of :func:`cashsim.pipeline.run_from_params` (a ``seed`` is the fit's too, as there), without the target
    report that function sets it against (nothing here reads it)."""
    from cashsim.pipeline import prepare, simulate_only, with_seed

    seed = None if seed is None else int(seed)
    base = prepare(with_seed(params.model_copy(update={"as_of": pd.Timestamp(origin).date()}), seed), ledger=ledger)
    return forecast_record(simulate_only(base, base.book, n_paths=n_paths, seed=seed), ledger, origin)


def hindsight(params, ledger, as_of, *, reports_dir=None, n_paths: int | None = None,
              seed: int | None = None) -> Hindsight:
    """Forecast against actual for the month just closed before ``as_of`` (module docstring)."""
    month, origin = closed_month(as_of)
    summary, path, notes = previous_summary(reports_dir, origin, key := str(month))
    restated = None
    if summary is not None:
        record, source = summary["forecast"], PREVIOUS
        restated = not same_history(record.get("ledger_sha256"), ledger, origin)
    else:
        record, source = recompute(params, ledger, origin, n_paths=n_paths, seed=seed), RECOMPUTED
    fc = record["months"][key]
    actual = float(actual_monthly(ledger, origin, [key])[0])
    v = np.random.default_rng(origin.toordinal()).uniform()
    u = pit(fc["quantiles"], record.get("levels", LEVELS), actual, v)
    return Hindsight(month=key, origin=origin, source=source, forecast=fc, actual=actual, pit=u, verdict=verdict(u),
                     restated=restated, path=path, notes=notes)


def hindsight_frame(h: Hindsight) -> pd.DataFrame:
    """One row: month, forecast P50, P10, P90, actual, difference, PIT, verdict, source (English words)."""
    f = h.forecast
    return pd.DataFrame([{"month": h.month, "p50": f["p50"], "p10": f["p10"], "p90": f["p90"], "actual": h.actual,
                          "difference": h.actual - f["p50"], "pit": h.pit, "verdict": h.verdict, "source": h.source}])


def hindsight_view(run, reports_dir: str | Path | None = ""):
    """The report's *Prévision contre réalisé* table for ``run`` (its params, ledger, as-of, paths and seed), the
    notes (reports not usable, history restated) as its caption, in the run's language; a sentence when the
    forecast cannot be recomputed (no history before the origin)."""
    from cashsim.report.texts import Markdown

    _ = tr(run)
    loc, cur = run.params.report.locale, run.params.currency
    try:
        h = hindsight(run.params, run.ledger, run.as_of, reports_dir=reports_dir or None, n_paths=run.sim.n_paths,
                      seed=run.sim.seed)
    except CashsimError as exc:
        return Markdown(_("No forecast to set against the month just closed: {error}").format(error=exc))
    frame = hindsight_frame(h)
    frame["month"] = frame["month"].map(lambda m: fmt.month_name(m, locale=loc).capitalize())
    frame["pit"] = frame["pit"].map(lambda u: fmt.number(u, locale=loc, decimals=2))
    frame["verdict"] = frame["verdict"].map({"below": _("below the band"), "inside": _("inside the band"),
                                             "above": _("above the band")})
    frame["source"] = frame["source"].map(_)
    as_of = fmt.date(h.origin, locale=loc)
    notes = [_("Forecast as of {date}; the band holds 80 % of the simulated outcomes (P10 to P90).").format(
        date=as_of)] + [_(msgid).format(**fields) for msgid, fields in h.notes]
    if h.restated:
        notes.append(_("History restated: the ledger as known on {date} differs from the one that report "
                       "forecast from.").format(date=as_of))
    cols = {"month": "Month", "p50": "Forecast (median)", "p10": "low (P10)", "p90": "high (P90)",
            "actual": "Actual", "difference": "Difference", "pit": "PIT", "verdict": "Verdict", "source": "Source"}
    return fmt.table(frame, money_cols=["p50", "p10", "p90", "actual", "difference"],
                     labels=labels_of(run, cols), caption=" ".join(notes), locale=loc, currency=cur)
