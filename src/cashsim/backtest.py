"""Rolling-origin backtest of the collection forecast (*backtest des prévisions d'encaissements*).

For every month end ``o`` after a warm-up (one origin per month, as long as the next ``horizons`` months are fully
observed in the ledger):

1. fit :func:`cashsim.behaviour.fit_behaviour` on ``ledger.known_at(o)`` (no look-ahead),
2. simulate the collection of the invoices open at ``o`` (``model.book(ledger.open_book(o))``, no sales plan) over
   the next 1, 2 and 3 calendar months,
3. compare with what was actually paid on those invoices in each month (payments dated after ``o``).

Baselines in the same run, all point forecasts of each open invoice's payment date (a date already past is moved
to ``o + 1``): ``due_date``; ``customer_median`` = due date + the customer's median days late (segment, then book,
when the customer has no paid invoice); ``customer_disputed_median`` = median days late by customer x disputed flag
(falling back to the customer, then the book) -- the best simple rule on the IBM sample (data-and-accuracy.md).

Metrics per horizon (months ahead) and overall:

* ``mape`` / ``mae``: mean absolute (percentage) error of the monthly point forecast (the model's median);
* ``crps``: continuous ranked probability score of the simulated monthly totals, from the sorted sample
  ``x_(1..m)``: ``CRPS = mean|x - y| - (1/m^2) sum_i (2i - m - 1) x_(i)`` (euros; equals MAE for a point forecast);
* ``cover50`` / ``cover80``: share of outcomes inside the central 50% / 80% intervals, with the 95% binomial band
  of what a calibrated forecast would show on that many origins (``cover80_lo`` .. ``cover80_hi``);
* ``pit``: ``P(X < y) + U * P(X = y)`` of each outcome (randomised at ties), histogram in 10 bins;
* invoice level: MAE in days of the median payment date of the invoices open at ``o`` that were paid in the data.

Goals (issue 3), reported by :attr:`BacktestResult.goals` with the figures, never tuned on the outcomes:
80% intervals cover 72-88% of outcomes; the median's monthly MAPE at least 25% below the best baseline's; invoice
MAE below the best baseline's.

Example::

    >>> result = run_backtest(demo_ledger(), n_paths=300, max_origins=3)       # doctest: +SKIP
    >>> result.metrics.query("method == 'model'")[["horizon", "mape", "cover80"]]  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cashsim.behaviour import fit_behaviour
from cashsim.errors import ModelError
from cashsim.ledger import OPEN_STATUSES
from cashsim.simulate import simulate

BASELINES = ("due_date", "customer_median", "customer_disputed_median")
PIT_BINS = 10


def crps_sample(samples: np.ndarray, y: float) -> float:
    """CRPS of an ensemble for outcome ``y``: ``mean|x - y| - (1/m^2) sum_i (2i - m - 1) x_(i)``.

    >>> crps_sample(np.array([1.0, 1.0, 1.0]), 3.0)      # a point forecast: the absolute error
    2.0
    """
    x = np.sort(np.asarray(samples, float))
    m = len(x)
    i = np.arange(1, m + 1)
    return float(np.mean(np.abs(x - y)) - np.sum((2 * i - m - 1) * x) / m ** 2)


def randomised_pit(samples: np.ndarray, y: float, rng: np.random.Generator) -> float:
    """``P(X < y) + U P(X = y)``: uniform on (0, 1) when ``y`` is drawn from the forecast law (ties randomised)."""
    x = np.asarray(samples, float)
    return float(np.mean(x < y) + rng.uniform() * np.mean(x == y))


def coverage_band(n: int, level: float, alpha: float = 0.05) -> tuple[float, float]:
    """Central ``1 - alpha`` range of the coverage share a calibrated ``level`` interval shows on ``n`` outcomes.

    >>> coverage_band(24, 0.8)
    (0.625, 0.9583333333333334)
    """
    if n == 0:
        return (float("nan"), float("nan"))
    lo, hi = stats.binom.ppf([alpha / 2, 1 - alpha / 2], n, level)
    return float(lo / n), float(hi / n)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Tidy tables of a rolling-origin backtest (see the module docstring for every definition).

    monthly: one row per origin x horizon x method (``model`` and the baselines): origin, month, horizon, actual,
        forecast (median for the model), abs_error, ape, and for the model mean, p10 ... p90, crps, pit, in50, in80.
    invoices: one row per invoice open at an origin and paid in the data: origin, invoice_id, actual pay date,
        each method's predicted date and absolute error in days.
    metrics: per method x horizon (``"all"`` pooled): n, mape, mae, crps, cover50, cover80 and binomial bands,
        invoice_mae.
    pit_histogram: per horizon, counts of model PIT values in 10 equal bins.
    goals: goal, target, value, met, detail.
    """

    monthly: pd.DataFrame
    invoices: pd.DataFrame
    metrics: pd.DataFrame
    pit_histogram: pd.DataFrame
    goals: pd.DataFrame
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: settings, metrics, goals, PIT histogram and the monthly table."""
        def records(df: pd.DataFrame) -> list[dict]:
            out = df.copy()
            for c in out.columns:
                if pd.api.types.is_datetime64_any_dtype(out[c]):
                    out[c] = out[c].dt.strftime("%Y-%m-%d")
            return json.loads(out.to_json(orient="records"))

        return {"settings": self.settings, "metrics": records(self.metrics), "goals": records(self.goals),
                "pit_histogram": records(self.pit_histogram), "monthly": records(self.monthly)}

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        return path

    def summary_text(self) -> str:
        """A few lines for the console: the goals with their figures."""
        lines = [f"backtest: {self.settings.get('n_origins', 0)} origins "
                 f"({self.settings.get('first_origin')} .. {self.settings.get('last_origin')}), "
                 f"{self.settings.get('n_paths')} paths"]
        for g in self.goals.itertuples():
            lines.append(f"  [{'met' if g.met else 'MISSED'}] {g.goal}: {g.detail}")
        return "\n".join(lines)


def month_end_origins(ledger, *, warmup_months: int = 9, horizons: int = 3) -> list[pd.Timestamp]:
    """Month ends from ``warmup_months`` after the first invoice to the last one whose next ``horizons`` months
    end by the ledger's last known date."""
    first = pd.Timestamp(ledger.invoices["issue_date"].min())
    last = ledger_last_date(ledger)
    last_full = last if last.is_month_end else last - pd.offsets.MonthEnd(1)
    start = (first + pd.offsets.MonthEnd(0)) + pd.offsets.MonthEnd(warmup_months)
    stop = last_full - pd.offsets.MonthEnd(horizons)
    if stop < start:
        return []
    return list(pd.date_range(start, stop, freq="ME"))


def _actual_monthly(ledger, open_ids: pd.Index, origin: pd.Timestamp, months: list[str]) -> np.ndarray:
    """Cash actually received in each month on the invoices open at ``origin`` (payments dated after it)."""
    pay = ledger.payments
    pay = pay[pay["invoice_id"].isin(open_ids) & (pay["payment_date"] > origin)]
    by_month = pay.groupby(pay["payment_date"].dt.to_period("M").astype(str))["amount"].sum()
    return by_month.reindex(months).fillna(0.0).to_numpy()


def _baseline_dates(hist: pd.DataFrame, open_book: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """Each baseline's predicted payment date for the open invoices (from what was known at ``origin``)."""
    paid = hist[(hist["status"] == "paid") & (hist["amount"] > 0)]  # credit notes are never late
    book_med = float(paid["days_late"].median()) if len(paid) else 0.0
    by_c = paid.groupby("customer_id")["days_late"].median()
    by_s = paid.groupby("segment")["days_late"].median()
    by_cd = paid.groupby(["customer_id", "disputed"])["days_late"].median()
    cust = open_book["customer_id"]
    med_c = cust.map(by_c).fillna(open_book["segment"].map(by_s)).fillna(book_med)
    key = pd.MultiIndex.from_arrays([cust, open_book["disputed"].astype(bool)])
    med_cd = pd.Series(by_cd.reindex(key).to_numpy(), index=open_book.index).fillna(med_c)
    floor = origin + pd.Timedelta(days=1)
    due = open_book["due_date"]
    out = pd.DataFrame(index=open_book.index)
    out["due_date"] = due.clip(lower=floor)
    out["customer_median"] = (due + pd.to_timedelta(med_c.round(), unit="D")).clip(lower=floor)
    out["customer_disputed_median"] = (due + pd.to_timedelta(med_cd.round(), unit="D")).clip(lower=floor)
    return out


def _model_median_dates(book, origin: pd.Timestamp) -> pd.Series:
    """Median payment date of each book invoice under its conditional law (NaT when P(never) >= 1/2), snapped
    through its calendar like the engine's draws."""
    inv = book.invoices
    cdf = np.cumsum(book.pmfs, axis=1)
    g0 = int(book.grid[0])
    prof = inv["profile"].to_numpy()
    start = np.clip(inv["min_day"].to_numpy() - g0, 0, len(book.grid))
    before = np.where(start > 0, cdf[prof, np.maximum(start - 1, 0)], 0.0)
    target = before + 0.5 * (1 - before)
    rows = cdf[prof]
    ok = rows[:, -1] >= target
    idx = np.argmax(rows >= target[:, None], axis=1)
    idx = np.maximum(idx, start)
    date = inv["due_date"] + pd.to_timedelta(idx + g0, unit="D")
    day = (date - (origin + pd.Timedelta(days=1))).dt.days.to_numpy()
    cal = book.calendars
    inside = ok & (day >= 0) & (day < cal.shape[1])
    snapped = day.copy()
    snapped[inside] = cal[inv["calendar"].to_numpy()[inside], day[inside]]
    result = origin + pd.Timedelta(days=1) + pd.to_timedelta(np.where(inside, snapped, day), unit="D")
    return pd.Series(np.where(ok, result, pd.NaT), index=inv["invoice_id"].to_numpy()).astype("datetime64[ns]")


def backtest_origin(ledger, origin: pd.Timestamp, *, horizons: int = 3, n_paths: int = 500, seed: int = 0,
                    behaviour: dict | None = None, paid_date: pd.Series | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One origin: (monthly rows for the model and the baselines, invoice rows). See :func:`run_backtest`.

    ``paid_date``: full-payment date by invoice_id as finally known (computed from ``ledger`` when omitted)."""
    model = fit_behaviour(ledger, origin, seed=seed, **(behaviour or {}))
    hist = ledger.status(origin)   # what was known at the end of the origin (status applies known_at itself)
    open_book = hist[hist["status"].isin(OPEN_STATUSES).to_numpy()]   # ledger.open_book(origin), status reused
    open_book = open_book[open_book["outstanding"] > 0].reset_index(drop=True)
    horizon_end = origin + pd.offsets.MonthEnd(horizons)
    months = [str(p) for p in pd.period_range(origin + pd.Timedelta(days=1), horizon_end, freq="M")]
    actual = _actual_monthly(ledger, pd.Index(open_book["invoice_id"]), origin, months)
    rows = []
    if len(open_book):
        book = model.book(open_book, None, horizon_end=horizon_end)
        sim = simulate(book, horizon_end=horizon_end, n_paths=n_paths, seed=seed, rho_month=model.rho_month,
                       rho_customer=model.rho_customer)
        paths = sim.monthly().reindex(columns=months).fillna(0.0).to_numpy()
        median_dates = _model_median_dates(book, origin)
    else:
        paths = np.zeros((n_paths, len(months)))
        median_dates = pd.Series(dtype="datetime64[ns]")
    rng = np.random.default_rng(np.random.SeedSequence([seed, origin.toordinal()]))
    for h, month in enumerate(months):
        x, y = paths[:, h], actual[h]
        q = np.quantile(x, [0.1, 0.25, 0.5, 0.75, 0.9])
        rows.append({"origin": origin, "month": month, "horizon": h + 1, "method": "model", "actual": y,
                     "forecast": q[2], "mean": x.mean(), "p10": q[0], "p25": q[1], "p50": q[2], "p75": q[3],
                     "p90": q[4], "crps": crps_sample(x, y), "pit": randomised_pit(x, y, rng),
                     "in50": bool(q[1] <= y <= q[3]), "in80": bool(q[0] <= y <= q[4])})
    base = _baseline_dates(hist, open_book, origin)
    amount = open_book["outstanding"].to_numpy(float)
    for name in BASELINES:
        month_of = base[name].dt.to_period("M").astype(str)
        f = pd.Series(amount).groupby(month_of.to_numpy()).sum().reindex(months).fillna(0.0).to_numpy()
        for h, month in enumerate(months):
            rows.append({"origin": origin, "month": month, "horizon": h + 1, "method": name, "actual": actual[h],
                         "forecast": f[h], "crps": abs(f[h] - actual[h])})
    monthly = pd.DataFrame(rows)
    monthly["abs_error"] = (monthly["forecast"] - monthly["actual"]).abs()
    monthly["ape"] = monthly["abs_error"] / monthly["actual"].where(monthly["actual"] > 0)
    # invoice level: invoices open at the origin and fully paid in the data
    if paid_date is None:
        paid_date = final_paid_dates(ledger)
    inv = pd.DataFrame({"origin": origin, "invoice_id": open_book["invoice_id"].to_numpy(),
                        "actual_date": open_book["invoice_id"].map(paid_date).to_numpy()})
    inv["model"] = inv["invoice_id"].map(median_dates).to_numpy() if len(median_dates) else pd.NaT
    for name in BASELINES:
        inv[name] = base[name].to_numpy()
    inv = inv[inv["actual_date"].notna()].reset_index(drop=True)
    for name in ("model", *BASELINES):
        inv[f"{name}_error_days"] = (inv[name].astype("datetime64[ns]") - inv["actual_date"]).dt.days.abs()
    return monthly, inv


def final_paid_dates(ledger) -> pd.Series:
    """Full-payment date of every invoice as the whole ledger knows it (NaT when not fully paid)."""
    return ledger.status(ledger_last_date(ledger)).set_index("invoice_id")["paid_date"]


def ledger_last_date(ledger) -> pd.Timestamp:
    """The last date the ledger knows anything about (last issue or payment)."""
    dates = [ledger.invoices["issue_date"].max()]
    if len(ledger.payments):
        dates.append(ledger.payments["payment_date"].max())
    return pd.Timestamp(max(dates)).normalize()


def run_backtest(ledger, *, origins: list | None = None, warmup_months: int = 9, horizons: int = 3,
                 n_paths: int = 500, seed: int = 0, max_origins: int | None = None,
                 behaviour: dict | None = None) -> BacktestResult:
    """Rolling-origin backtest of the model against the three baselines (module docstring).

    ``origins``: month ends to use (default :func:`month_end_origins`); ``max_origins`` keeps the last ones only
    (for quick runs). Same inputs and seed give the same tables.
    """
    origins = [pd.Timestamp(o).normalize() for o in origins] if origins is not None else \
        month_end_origins(ledger, warmup_months=warmup_months, horizons=horizons)
    if max_origins is not None:
        origins = origins[-int(max_origins):]
    if not origins:
        raise ModelError(f"no backtest origin: the ledger must span at least {warmup_months} months of history "
                         f"plus {horizons} observed months; lower --warmup or give more history")
    paid_date = final_paid_dates(ledger)
    parts = [backtest_origin(ledger, o, horizons=horizons, n_paths=n_paths, seed=seed, behaviour=behaviour,
                             paid_date=paid_date) for o in origins]
    monthly = pd.concat([p[0] for p in parts], ignore_index=True)
    invoices = pd.concat([p[1] for p in parts], ignore_index=True)
    metrics = _metrics(monthly, invoices)
    pit = _pit_histogram(monthly)
    goals = _goals(metrics)
    settings = {"n_origins": len(origins), "first_origin": str(origins[0].date()),
                "last_origin": str(origins[-1].date()), "horizons": horizons, "n_paths": n_paths, "seed": seed,
                "warmup_months": warmup_months, "behaviour": behaviour or {}}
    return BacktestResult(monthly=monthly, invoices=invoices, metrics=metrics, pit_histogram=pit, goals=goals,
                          settings=settings)


def _metrics(monthly: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for method in ("model", *BASELINES):
        m = monthly[monthly["method"] == method]
        for h in [*sorted(m["horizon"].unique()), "all"]:
            part = m if h == "all" else m[m["horizon"] == h]
            row = {"method": method, "horizon": str(h), "n": len(part), "mape": part["ape"].mean(),
                   "mae": part["abs_error"].mean(), "crps": part["crps"].mean()}
            if method == "model":
                n = len(part)
                row.update(cover50=part["in50"].mean(), cover80=part["in80"].mean())
                row["cover50_lo"], row["cover50_hi"] = coverage_band(n, 0.5)
                row["cover80_lo"], row["cover80_hi"] = coverage_band(n, 0.8)
            err = invoices[f"{method}_error_days"]
            row["invoice_mae"] = err.mean() if h == "all" else np.nan
            row["invoice_n"] = int(err.notna().sum()) if h == "all" else 0
            rows.append(row)
    return pd.DataFrame(rows)


def _pit_histogram(monthly: pd.DataFrame) -> pd.DataFrame:
    m = monthly[monthly["method"] == "model"]
    edges = np.linspace(0, 1, PIT_BINS + 1)
    rows = []
    for h, part in m.groupby("horizon"):
        counts, _ = np.histogram(part["pit"].to_numpy(float), bins=edges)
        rows += [{"horizon": int(h), "bin_start": edges[i], "bin_end": edges[i + 1], "count": int(c)}
                 for i, c in enumerate(counts)]
    return pd.DataFrame(rows)


def _goals(metrics: pd.DataFrame) -> pd.DataFrame:
    """The three goals of issue 3 on the pooled ("all" horizons) figures."""
    pooled = metrics[metrics["horizon"] == "all"].set_index("method")
    model = pooled.loc["model"]
    base = pooled.loc[list(BASELINES)]
    best_mape = base["mape"].idxmin()
    best_inv = base["invoice_mae"].idxmin()
    cover = float(model["cover80"])
    mape_ratio = float(model["mape"] / base.loc[best_mape, "mape"])
    best_mae = base["mae"].idxmin()
    mae_ratio = float(model["mae"] / base.loc[best_mae, "mae"])
    return pd.DataFrame([
        {"goal": "80% intervals cover 72-88% of outcomes", "target": "0.72-0.88", "value": cover,
         "met": bool(0.72 <= cover <= 0.88),
         "detail": f"coverage {cover:.1%} on {int(model['n'])} origin-months (a calibrated forecast shows "
                   f"{model['cover80_lo']:.0%}-{model['cover80_hi']:.0%} on that many)"},
        {"goal": "monthly MAPE of the median >= 25% below the best baseline", "target": "<= 0.75",
         "value": mape_ratio, "met": bool(mape_ratio <= 0.75),
         "detail": f"model {model['mape']:.1%} vs {best_mape} {base.loc[best_mape, 'mape']:.1%} "
                   f"(ratio {mape_ratio:.2f}); in cash, MAE {model['mae']:,.0f} vs {best_mae} "
                   f"{base.loc[best_mae, 'mae']:,.0f} (ratio {mae_ratio:.2f})"},
        {"goal": "invoice MAE below the best baseline", "target": "< best baseline",
         "value": float(model["invoice_mae"]), "met": bool(model["invoice_mae"] < base.loc[best_inv, "invoice_mae"]),
         "detail": f"model {model['invoice_mae']:.2f} days vs {best_inv} {base.loc[best_inv, 'invoice_mae']:.2f} "
                   f"days on {int(model['invoice_n'])} invoices"},
    ])


def backtest_html(result: BacktestResult) -> str:
    """A self-contained HTML page of the goals and metrics tables (figures are wired by cashsim.plots)."""
    import html

    def table(df: pd.DataFrame) -> str:
        return df.to_html(index=False, float_format=lambda v: f"{v:,.3f}", escape=True, border=0)

    return ("<!doctype html><html><head><meta charset='utf-8'><title>cashsim backtest</title></head><body>"
            f"<h1>Backtest</h1><p>{html.escape(result.summary_text()).replace(chr(10), '<br>')}</p>"
            f"<h2>Goals</h2>{table(result.goals)}<h2>Metrics</h2>{table(result.metrics)}"
            f"<h2>PIT histogram</h2>{table(result.pit_histogram)}</body></html>")
