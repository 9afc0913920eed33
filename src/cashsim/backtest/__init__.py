"""Rolling-origin backtest of the collection forecast (*backtest des prévisions d'encaissements*), scored as
forecasters score.

For every month end ``o`` after a warm-up (one origin per month, as long as the next ``horizons`` months are fully
observed in the ledger):

1. fit :func:`cashsim.behaviour.fit_behaviour` on ``ledger.known_at(o)`` (no look-ahead),
2. simulate the collection of the invoices open at ``o`` (``model.book(ledger.open_book(o))``, no sales plan) over
   the next 1, 2 and 3 calendar months,
3. compare with what was actually paid on those invoices in each month (payments dated after ``o``), and in the
   cumulative months 1..h (cash collected by the end of month h).

The model is held against three point forecasts of each open invoice's payment date (:mod:`.baselines`:
``due_date``, ``customer_median``, ``customer_disputed_median``). Scores (:mod:`.scores`, :mod:`.metrics`), per
horizon month h = 1, 2, 3 and pooled, on the monthly totals ``y`` (euros collected) and the model's simulated paths
``x`` (median ``f``) or a baseline's forecast ``f``:

* **WAPE** ``sum|f - y| / sum y`` and **bias** ``sum(f - y) / sum y``: shares of the cash collected (cash-weighted;
  bias > 0 = over-forecast);
* **CRPS** (euros, mean over origins) ``E|X - y| - E|X - X'|/2`` from the sorted paths; a point forecast's CRPS is
  its absolute error; **CRPS skill** ``1 - CRPS_model / CRPS_best baseline`` (best baseline of that horizon);
* **Winkler80** (euros): the interval score of ``[q10, q90]``, ``(q90 - q10) + 10 (q10 - y)+ + 10 (y - q90)+``;
* **cover50 / cover80**: share of outcomes whose randomised PIT ``u = P(X < y) + V P(X = y)`` lies in
  ``(0.25, 0.75)`` / ``(0.1, 0.9)`` (a point mass at the outcome, e.g. nothing left to collect, is covered only
  when its draw says so), with the 95 % band of a bootstrap over origins (seeded: deterministic);
* the same on cumulative months 1..h; **MAPE** kept for comparison over the outcomes with ``y > 0`` only (how many
  zero months were left out is reported), **MAE** (euros);
* invoice level: MAE in days of the median payment date of the invoices open at ``o`` that were paid in the data.

Goals (issue 15), printed with their figures and MET / MISSED by :attr:`BacktestResult.goals`, never tuned on the
outcomes: the 80 % interval covers 72-88 % of outcomes **in every horizon month**; pooled WAPE of the median
<= 0.75 x the best baseline's; CRPS skill >= 0.25 **in every horizon month**; invoice MAE below the best baseline's.

One concept per module: :mod:`.scores` (scoring rules on one ensemble or a set of outcomes), :mod:`.baselines`,
:mod:`.metrics` (tables per method x horizon, the goals), :mod:`.result` (:class:`BacktestResult`, JSON, text,
HTML); here the rolling origins and :func:`run_backtest`.

Example::

    >>> result = run_backtest(demo_ledger(), n_paths=300, max_origins=3)       # doctest: +SKIP
    >>> result.horizon_table()[["wape", "crps_skill", "cover80", "cover80_lo", "cover80_hi"]]  # doctest: +SKIP
    >>> result.goals[["goal", "horizon", "value", "met"]]                      # doctest: +SKIP
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from cashsim import progress
from cashsim.backtest.baselines import BASELINES, _baseline_dates, _model_median_dates
from cashsim.backtest.ceiling import ORACLE, class_rows, invoice_classes
from cashsim.backtest.metrics import (
    COVER80_GOAL,
    CRPS_SKILL_GOAL,
    WAPE_RATIO_GOAL,
    evaluate_goals,
    metrics_table,
)
from cashsim.backtest.result import BacktestResult, backtest_html
from cashsim.backtest.scores import (
    N_BOOTSTRAP,
    bias,
    bootstrap_band,
    coverage_band,
    crps_sample,
    interval_score,
    mape,
    pit_covered,
    pit_value,
    randomised_pit,
    score_ensemble,
    wape,
)
from cashsim.behaviour import fit_behaviour
from cashsim.errors import ModelError
from cashsim.ledger import OPEN_STATUSES
from cashsim.seeding import SeedLike, child
from cashsim.simulate import simulate

__all__ = ["BASELINES", "COVER80_GOAL", "CRPS_SKILL_GOAL", "N_BOOTSTRAP", "PIT_BINS", "WAPE_RATIO_GOAL",
           "BacktestResult", "actual_monthly", "backtest_html", "backtest_origin", "bias", "bootstrap_band",
           "coverage_band", "crps_sample", "evaluate_goals", "final_paid_dates", "interval_score", "ledger_last_date",
           "mape", "metrics_table", "month_end_origins", "pit_covered", "pit_value", "randomised_pit", "run_backtest",
           "score_ensemble", "wape"]

PIT_BINS = 10


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


def actual_monthly(ledger, origin: pd.Timestamp, months: list[str], invoice_ids: pd.Index | None = None
                   ) -> np.ndarray:
    """Cash actually received in each month of ``months`` (``"YYYY-MM"``) from payments dated after ``origin``:
    on the invoices ``invoice_ids`` (the backtest: those open at ``origin``), or on every invoice when None (the
    monthly report's forecast against actual, whose forecast also holds the sales plan's new invoices)."""
    pay = ledger.payments
    keep = pay["payment_date"] > origin
    if invoice_ids is not None:
        keep &= pay["invoice_id"].isin(invoice_ids)
    pay = pay[keep]
    by_month = pay.groupby(pay["payment_date"].dt.to_period("M").astype(str))["amount"].sum()
    return by_month.reindex(months).fillna(0.0).to_numpy()


def _class_actual(ledger, origin: pd.Timestamp, months: list[str], invoice_ids: pd.Series, codes: np.ndarray,
                  n_classes: int) -> np.ndarray:
    """(n_classes, len(months)): :func:`actual_monthly` of each class's invoices (``codes[i]``: the class of
    ``invoice_ids[i]``), the payments filtered and their months worked out once. Each class's rows (in the ledger's
    order) are still summed by a groupby of their own: pandas sums date-ordered groups with ``reduceat`` and others
    with a compensated sum, so one (class, month) groupby would change the last bits of some sums."""
    pay = ledger.payments
    pay = pay[(pay["payment_date"] > origin).to_numpy()]
    cls = pay["invoice_id"].map(pd.Series(codes, index=pd.Index(invoice_ids)))
    pay, cls = pay[cls.notna().to_numpy()], cls.dropna().to_numpy(np.int64)
    order = np.argsort(cls, kind="stable")                  # by class, the ledger's order within each
    amount = pay["amount"].iloc[order]
    month = pay["payment_date"].dt.to_period("M").astype(str).iloc[order]
    bounds = np.searchsorted(cls[order], np.arange(n_classes + 1))
    out = np.zeros((n_classes, len(months)))
    for g in range(n_classes):
        part = slice(bounds[g], bounds[g + 1])
        out[g] = amount.iloc[part].groupby(month.iloc[part]).sum().reindex(months).fillna(0.0).to_numpy()
    return out


def backtest_origin(ledger, origin: pd.Timestamp, *, horizons: int = 3, n_paths: int = 500, seed: SeedLike = 0,
                    behaviour: dict | None = None, paid_date: pd.Series | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One origin: (monthly rows, cumulative rows, both for the model and the baselines; invoice rows). See
    :func:`run_backtest` and :class:`BacktestResult` for the columns.

    ``paid_date``: full-payment date by invoice_id as finally known (computed from ``ledger`` when omitted)."""
    return _origin(ledger, origin, horizons=horizons, n_paths=n_paths, seed=seed, behaviour=behaviour,
                   paid_date=paid_date)[:3]


class OriginInputs(NamedTuple):
    """What every forecaster scored at an origin shares (:func:`_origin_inputs`)."""

    hist: pd.DataFrame              # the ledger's status as known at the end of the origin
    open_book: pd.DataFrame         # the invoices open at the origin with something outstanding
    amount: np.ndarray              # their outstanding amounts
    horizon_end: pd.Timestamp
    months: list[str]               # the horizon's months, "YYYY-MM"
    actual: np.ndarray              # cash paid on them in each month (:func:`actual_monthly`)
    base: pd.DataFrame              # each baseline's payment date per open invoice
    forecasts: dict[str, np.ndarray]  # each baseline's cash per month
    v: np.ndarray                   # one PIT uniform per horizon month


def _origin_inputs(ledger, origin: pd.Timestamp, horizons: int, seed: SeedLike) -> OriginInputs:
    """The set-up of an origin shared by the back-test (:func:`_origin`) and the hindsight forecasters
    (:func:`cashsim.backtest.hindsight.hindsight_table`): the open book, the months, the actual cash, the
    baselines' forecasts and the randomised PIT's uniforms (one per horizon, shared by month h and the window
    1..h: equal at h = 1)."""
    hist = ledger.status(origin)   # what was known at the end of the origin (status applies known_at itself)
    open_book = hist[hist["status"].isin(OPEN_STATUSES).to_numpy()]   # ledger.open_book(origin), status reused
    open_book = open_book[open_book["outstanding"] > 0].reset_index(drop=True)
    horizon_end = origin + pd.offsets.MonthEnd(horizons)
    months = [str(p) for p in pd.period_range(origin + pd.Timedelta(days=1), horizon_end, freq="M")]
    actual = actual_monthly(ledger, origin, months, pd.Index(open_book["invoice_id"]))
    base = _baseline_dates(hist, open_book, origin)
    amount = open_book["outstanding"].to_numpy(float)
    forecasts = {}
    for name in BASELINES:
        month_of = base[name].dt.to_period("M").astype(str)
        forecasts[name] = pd.Series(amount).groupby(month_of.to_numpy()).sum().reindex(months).fillna(0.0) \
            .to_numpy()
    v = np.random.default_rng(child(seed, origin.toordinal())).uniform(size=len(months))
    return OriginInputs(hist, open_book, amount, horizon_end, months, actual, base, forecasts, v)


def _origin(ledger, origin: pd.Timestamp, *, horizons: int, n_paths: int, seed: SeedLike, behaviour: dict | None,
            paid_date: pd.Series | None, oracle=None
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """:func:`backtest_origin`, plus with an ``oracle`` (:mod:`.ceiling`) its rows and the class rows (else None)."""
    model = fit_behaviour(ledger, origin, seed=seed, **(behaviour or {}))
    inputs = _origin_inputs(ledger, origin, horizons, seed)
    open_book, horizon_end, months, actual = inputs.open_book, inputs.horizon_end, inputs.months, inputs.actual
    base, forecasts, v = inputs.base, inputs.forecasts, inputs.v
    ensembles, classes = {}, None
    if oracle is not None:
        codes, labels = invoice_classes(open_book, origin)
        forecast = oracle.forecast(origin, open_book["invoice_id"], months, n_paths, seed=seed)
        group_paths = {"model": np.zeros((n_paths, len(labels), len(months))),
                       ORACLE: forecast.monthly(codes, len(labels))}
        ensembles[ORACLE] = group_paths[ORACLE].sum(axis=1)
        class_actual = _class_actual(ledger, origin, months, open_book["invoice_id"], codes, len(labels))
    if len(open_book):
        book = model.book(open_book, None, horizon_end=horizon_end)
        group_by = None
        if oracle is not None:   # the class of each book row (a model may hold its invoices in another order)
            group_by = pd.Series(codes, index=open_book["invoice_id"]).loc[book.invoices["invoice_id"]].to_numpy()
        sim = simulate(book, horizon_end=horizon_end, n_paths=n_paths, seed=seed, rho_month=model.rho_month,
                       rho_customer=model.rho_customer, group_by=group_by)
        paths = sim.monthly().reindex(columns=months).fillna(0.0).to_numpy()
        median_dates = _model_median_dates(book, origin)
        if oracle is not None:
            sim_months = list(sim.months)
            for h, month in enumerate(months):
                if month in sim_months:
                    group_paths["model"][:, :, h] = sim.group_monthly[:, :, sim_months.index(month)]
    else:
        paths = np.zeros((n_paths, len(months)))
        median_dates = pd.Series(dtype="datetime64[ns]")
    if oracle is not None:
        classes = class_rows(origin, months, labels, class_actual, group_paths)
    ensembles = {"model": paths, **ensembles}
    monthly = _score_rows(origin, months, ensembles, actual, forecasts, v)
    cumulative = _score_rows(origin, months, {k: np.cumsum(x, axis=1) for k, x in ensembles.items()},
                             np.cumsum(actual), {name: np.cumsum(f) for name, f in forecasts.items()}, v)
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
    return monthly, cumulative, inv, classes


def _score_rows(origin: pd.Timestamp, months: list[str], ensembles: dict[str, np.ndarray], actual: np.ndarray,
                forecasts: dict[str, np.ndarray], v: np.ndarray) -> pd.DataFrame:
    """Rows origin x horizon x method: the model's ensemble scores (``ensembles["model"][:, h]``, PIT uniform
    ``v[h]``), each baseline's point forecast (CRPS = absolute error), then the oracle's ensemble when given."""
    def ensemble_rows(method: str) -> list[dict]:
        x = ensembles[method]
        return [{"origin": origin, "month": month, "horizon": h + 1, "method": method, "actual": actual[h],
                 **score_ensemble(x[:, h], actual[h], v[h])} for h, month in enumerate(months)]

    rows = ensemble_rows("model")
    for name, f in forecasts.items():
        rows += [{"origin": origin, "month": month, "horizon": h + 1, "method": name, "actual": actual[h],
                  "forecast": f[h], "crps": abs(f[h] - actual[h])} for h, month in enumerate(months)]
    for method in ensembles:
        if method != "model":
            rows += ensemble_rows(method)
    out = pd.DataFrame(rows)
    out["error"] = out["forecast"] - out["actual"]
    out["abs_error"] = out["error"].abs()
    out["ape"] = out["abs_error"] / out["actual"].where(out["actual"] > 0)
    return out


def final_paid_dates(ledger) -> pd.Series:
    """Full-payment date of every invoice as the whole ledger knows it (NaT when not fully paid)."""
    return ledger.status(ledger_last_date(ledger)).set_index("invoice_id")["paid_date"]


def ledger_last_date(ledger) -> pd.Timestamp:
    """The last date the ledger knows anything about: :attr:`cashsim.ledger.Ledger.latest_date`, the standing
    date every command uses by default."""
    return ledger.latest_date


def run_backtest(ledger, *, origins: list | None = None, warmup_months: int = 9, horizons: int = 3,
                 n_paths: int = 500, seed: SeedLike = 0, max_origins: int | None = None,
                 behaviour: dict | None = None, oracle=None) -> BacktestResult:
    """Rolling-origin backtest of the model against the three baselines (module docstring).

    ``origins``: month ends to use (default :func:`month_end_origins`); ``max_origins`` keeps the last ones only
    (for quick runs). Same inputs and seed give the same tables. ``oracle``: a truth-knowing forecaster of this
    very ledger (:class:`cashsim.demo.oracle.DemoOracle` of the demo's seed, :mod:`.ceiling`), scored beside the
    model as method ``"oracle"`` (never in the goals), with the ``classes`` table; without it nothing changes.
    """
    origins = [pd.Timestamp(o).normalize() for o in origins] if origins is not None else \
        month_end_origins(ledger, warmup_months=warmup_months, horizons=horizons)
    if max_origins is not None:
        origins = origins[-int(max_origins):]
    if not origins:
        raise ModelError(f"no backtest origin: the ledger must span at least {warmup_months} months of history "
                         f"plus {horizons} observed months; lower --warmup or give more history")
    paid_date = final_paid_dates(ledger)
    parts = [_origin(ledger, o, horizons=horizons, n_paths=n_paths, seed=seed, behaviour=behaviour,
                     paid_date=paid_date, oracle=oracle) for o in progress.bar(origins, desc="backtest origins")]
    monthly = pd.concat([p[0] for p in parts], ignore_index=True)
    cumulative = pd.concat([p[1] for p in parts], ignore_index=True)
    invoices = pd.concat([p[2] for p in parts], ignore_index=True)
    metrics = metrics_table(monthly, invoices, seed=seed)
    cumulative_metrics = metrics_table(cumulative, None, pooled=False, seed=seed, cumulative=True)
    settings = {"n_origins": len(origins), "first_origin": str(origins[0].date()),
                "last_origin": str(origins[-1].date()), "horizons": horizons, "n_paths": n_paths, "seed": seed,
                "warmup_months": warmup_months, "behaviour": behaviour or {}, "n_bootstrap": N_BOOTSTRAP}
    classes = None
    if oracle is not None:
        settings["oracle"] = oracle.settings()
        classes = pd.concat([p[3] for p in parts], ignore_index=True)
    return BacktestResult(monthly=monthly, invoices=invoices, metrics=metrics, pit_histogram=_pit_histogram(monthly),
                          goals=evaluate_goals(metrics), cumulative=cumulative,
                          cumulative_metrics=cumulative_metrics, settings=settings, classes=classes)


def _pit_histogram(monthly: pd.DataFrame) -> pd.DataFrame:
    m = monthly[monthly["method"] == "model"]
    edges = np.linspace(0, 1, PIT_BINS + 1)
    rows = []
    for h, part in m.groupby("horizon"):
        counts, _ = np.histogram(part["pit"].to_numpy(float), bins=edges)
        rows += [{"horizon": int(h), "bin_start": edges[i], "bin_end": edges[i + 1], "count": int(c)}
                 for i, c in enumerate(counts)]
    return pd.DataFrame(rows)
