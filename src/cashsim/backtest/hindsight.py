"""Hindsight forecasters (*prévisions avec recul*): forecasters that cheat in known ways, scored by the back-test's
own code, to say whether a goal is reachable on a ledger at all (docs/validation.md, section "IBM's pooled WAPE
ratio: reachable or not", branch ibm).

At each rolling origin ``o`` (:func:`cashsim.backtest.month_end_origins`) every invoice open at ``o`` gets
``n_paths`` draws of its days late (payment date - due date) from a law that may use what only the end of the
ledger knows, conditioned on paying after ``o`` (a draw ``d`` is kept when ``due + d > o``; an invoice whose law
has no such value is paid on ``o + 1``). The draws become monthly cash paths exactly as the model's do, and each
forecaster is scored as the model is (:func:`cashsim.backtest._score_rows`, :func:`metrics_table`: median of the
aggregate, WAPE pooled over the horizon months, against the best baseline). The cells ("customer", "customer x
channel", "customer x channel x disputed") use the billing channel when the ledger has one
(:data:`cashsim.behaviour.history.CHANNEL_COLUMNS`) and the dispute flag as finally known (IBM: the flag is not
known for an invoice open at the origin, so knowing it is a cheat). Forecasters (:data:`HINDSIGHT`):

* ``customer law``, ``customer x channel law``, ``customer x channel x disputed law``: the cell's empirical law of
  days late over **all** invoices (future ones included);
* ``customer x channel normal``: a normal law in days with the cell's mean and standard deviation over all invoices;
* ``customer x channel law, history only``: no look-ahead, the cell's paid invoices known at ``o`` (the customer's,
  then the book's, when fewer than :data:`MIN_CELL` of its values are above the invoice's age);
* ``truth + k x residual``: the invoice's own true days late plus ``k`` times a draw of its customer x channel x
  disputed cell's residuals (days late - cell mean), for each ``k`` of ``noise``.

And four simple models without look-ahead (:data:`SURROGATES`), fitted at ``o`` on the paid invoices issued
:data:`CLOSED_DAYS` or more days before it (on IBM every invoice is closed by then: its dispute flag is known at ``o``
and nothing is censored):
days late (``days``) or ``log(days late + terms)`` (``log time``, the AFT's natural time) = customer effect +
channel effect (+ dispute effect) + a normal residual whose variance is the customer's shrunk to the pooled one
(prior worth :data:`SD_PRIOR` invoices); with ``dispute mixture`` an open invoice is disputed with its customer's
share of disputed invoices (shrunk the same way). They tell which part of a model's form costs on a ledger.

Only invoices fully paid in the ledger are forecast the true way; an invoice never paid keeps its cell's law.

>>> table = hindsight_table(read_ibm_late_payments("WA_Fn-UseC_-Accounts-Receivable.csv"))  # doctest: +SKIP
>>> table[["forecaster", "wape", "wape_ratio"]]                                               # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim.backtest.metrics import metrics_table
from cashsim.behaviour.history import _channel_of
from cashsim.seeding import SeedLike, child

#: the forecasters, in the table's order (``truth + k x residual`` rows follow, one per ``k``)
HINDSIGHT = ("customer law", "customer x channel law", "customer x channel x disputed law",
             "customer x channel normal", "customer x channel law, history only")
#: values above the invoice's age a history-only cell needs before it falls back to the customer, then the book
MIN_CELL = 5
#: the simple models without look-ahead, in the table's order (after :data:`HINDSIGHT`)
SURROGATES = ("customer + channel normal in log time", "customer + channel + dispute mixture in log time",
              "customer + channel normal in days", "customer + channel + dispute mixture in days")
#: the surrogates are fitted on invoices issued at least this many days before the origin (all closed by then)
CLOSED_DAYS = 90
#: weight, in invoices, of the pooled value in a customer's residual variance and dispute share
SD_PRIOR = 10.0


def hindsight_table(ledger, *, n_paths: int = 2000, seed: SeedLike = 0, origins: list | None = None,
                    warmup_months: int = 9, horizons: int = 3, noise: tuple[float, ...] = (1.0, 0.5)
                    ) -> pd.DataFrame:
    """One row per forecaster (module docstring): pooled ``wape``, ``wape_ratio`` against the best baseline and
    ``best_baseline``, ``best_baseline_wape``, then per horizon month ``wape_h``, ``crps_h``, ``cover80_h``.

    Same ledger, ``n_paths`` and ``seed`` give the same table. ``origins``: month ends (default the back-test's).
    """
    from cashsim.backtest import _origin_inputs, _score_rows, month_end_origins

    origins = [pd.Timestamp(o) for o in origins] if origins is not None else \
        month_end_origins(ledger, warmup_months=warmup_months, horizons=horizons)
    final = _cells(ledger.status(ledger.latest_date))
    known = _final_laws(final)   # what the end of the ledger knows, the same at every origin
    parts: dict[str, list[pd.DataFrame]] = {}
    for origin in origins:
        inputs = _origin_inputs(ledger, origin, horizons, seed)
        hist, ob, amount, months = inputs.hist, inputs.open_book, inputs.amount, inputs.months
        rng = np.random.default_rng(child(seed, origin.toordinal(), 1))
        due = ob["due_date"].to_numpy("datetime64[D]")
        age = (np.datetime64(origin.date(), "D") - due).astype(int)   # days since due at the origin
        draws = _draws(final, known, hist, ob["invoice_id"].to_numpy(), age, n_paths, rng, noise)
        keys = [np.datetime64(m, "M") for m in months]
        for name, days in draws.items():
            month_of = (due[None, :] + days.astype("timedelta64[D]")).astype("datetime64[M]")
            paths = np.stack([((month_of == m) * amount).sum(axis=1) for m in keys], axis=1)
            parts.setdefault(name, []).append(_score_rows(origin, months, {"model": paths}, inputs.actual,
                                                          inputs.forecasts, inputs.v))
    out = []
    for name, rows in parts.items():
        t = metrics_table(pd.concat(rows, ignore_index=True), seed=0).set_index(["method", "horizon"])
        pooled = t.loc[("model", "all")]
        row = {"forecaster": name, "wape": pooled["wape"], "wape_ratio": pooled["wape_ratio"],
               "best_baseline": pooled["best_baseline"], "best_baseline_wape": t.loc[(pooled["best_baseline"], "all"),
                                                                                    "wape"]}
        for h in range(1, horizons + 1):
            r = t.loc[("model", str(h))]
            row.update({f"wape_{h}": r["wape"], f"crps_{h}": r["crps"], f"cover80_{h}": r["cover80"]})
        out.append(row)
    return pd.DataFrame(out)


def _cells(status: pd.DataFrame) -> pd.DataFrame:
    """The positive invoices as finally known, by invoice_id: days late and the cell keys."""
    st = status[status["amount"] > 0].copy()
    channel = _channel_of(st)
    st["channel_key"] = channel if channel is not None else ""
    st["cell2"] = st["customer_id"].astype(str) + "|" + st["channel_key"]
    st["cell3"] = st["cell2"] + "|" + st["disputed"].astype(bool).astype(str)
    st["days_late"] = st["days_late"].astype(float)
    return st.set_index("invoice_id")


def _conditional(values: np.ndarray, age: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws of ``values`` above ``age`` (paid after the origin); none: ``age + 1``."""
    ok = values[values > age]
    return rng.choice(ok, size=n) if len(ok) else np.full(n, age + 1.0)


def _final_laws(final: pd.DataFrame) -> dict:
    """What :func:`_draws` reads of the ledger's end (:func:`_cells`), built once: the empirical laws of days late
    by customer, cell2 and cell3 (``laws``), cell2's mean and standard deviation (``mean2``, ``sd2``) and cell3's
    residuals (days late - cell mean) by cell (``res``), all over the paid invoices."""
    paid = final["days_late"].notna()
    laws = {key: {k: v.to_numpy() for k, v in final[paid].groupby(key)["days_late"]}
            for key in ("customer_id", "cell2", "cell3")}
    mean2 = final[paid].groupby("cell2")["days_late"].mean()
    sd2 = final[paid].groupby("cell2")["days_late"].std().fillna(final.loc[paid, "days_late"].std())
    resid = (final["days_late"] - final[paid].groupby("cell3")["days_late"].transform("mean"))[paid]
    res = {k: v.to_numpy() for k, v in resid.groupby(final.loc[paid, "cell3"])}
    return {"laws": laws, "mean2": mean2, "sd2": sd2, "res": res}


def _draws(final: pd.DataFrame, known: dict, hist: pd.DataFrame, ids: np.ndarray, age: np.ndarray, n: int,
           rng: np.random.Generator, noise: tuple[float, ...]) -> dict[str, np.ndarray]:
    """Days late, ``n`` x open invoices, of every forecaster (module docstring); ``known``: :func:`_final_laws`
    of ``final``."""
    inv = final.reindex(ids)
    laws, mean2, sd2, res = known["laws"], known["mean2"], known["sd2"], known["res"]
    out = {}
    for name, key in zip(HINDSIGHT[:3], ("customer_id", "cell2", "cell3"), strict=True):
        out[name] = np.column_stack([_conditional(laws[key].get(k, np.array([])), a, n, rng)
                                     for k, a in zip(inv[key], age, strict=True)])
    cols = []
    for k, a in zip(inv["cell2"], age, strict=True):
        cand = np.round(mean2.get(k, 0.0) + sd2.get(k, 0.0) * rng.standard_normal(4 * n))
        cols.append(_conditional(cand, a, n, rng))
    out[HINDSIGHT[3]] = np.column_stack(cols)
    # no look-ahead: the paid invoices known at the origin
    h = _cells(hist[(hist["status"] == "paid").to_numpy()])
    h_laws = {key: {k: v.to_numpy() for k, v in h.groupby(key)["days_late"]} for key in ("customer_id", "cell2")}
    book = h["days_late"].to_numpy()
    cols = []
    for c, k, a in zip(inv["customer_id"], inv["cell2"], age, strict=True):
        values = next((x for x in (h_laws["cell2"].get(k), h_laws["customer_id"].get(c))
                       if x is not None and (x > a).sum() >= MIN_CELL), book)
        cols.append(_conditional(values, a, n, rng))
    out[HINDSIGHT[4]] = np.column_stack(cols)
    out.update(_surrogates(h, inv, age, n, rng))
    # the truth, blurred by the cell's residual noise
    law3 = [_conditional(laws["cell3"].get(k, np.array([])), a, n, rng) for k, a in zip(inv["cell3"], age,
                                                                                            strict=True)]
    for k_noise in noise:
        cols = []
        for i, (cell, true, a) in enumerate(zip(inv["cell3"], inv["days_late"], age, strict=True)):
            if np.isnan(true):   # never paid: its cell's law
                cols.append(law3[i])
                continue
            e = rng.choice(res.get(cell, np.zeros(1)), size=n)
            cols.append(np.maximum(np.round(true + k_noise * e), a + 1))
        out[f"truth + {k_noise:g} x residual"] = np.column_stack(cols)
    return out


def _surrogates(h: pd.DataFrame, inv: pd.DataFrame, age: np.ndarray, n: int, rng: np.random.Generator
                ) -> dict[str, np.ndarray]:
    """Days late, ``n`` x open invoices, of the :data:`SURROGATES` fitted on ``h`` (paid invoices known at the
    origin, :func:`_cells`) issued :data:`CLOSED_DAYS` or more days before it (module docstring)."""
    old = h[h["age_days"].to_numpy(float) >= CLOSED_DAYS]
    terms = (old["due_date"] - old["issue_date"]).dt.days.to_numpy(float)
    inv_terms = (inv["due_date"] - inv["issue_date"]).dt.days.to_numpy(float)
    channels = [c for c in np.unique(old["channel_key"]) if c][1:]   # the first channel is the reference
    disputed = old["disputed"].to_numpy(bool).astype(float)
    share = _shrunk(pd.Series(disputed, index=old.index).groupby(old["customer_id"].to_numpy()),
                    disputed.mean(), lambda x: x.sum())
    p_disputed = inv["customer_id"].map(share).fillna(disputed.mean()).to_numpy(float)
    out = {}
    for name in SURROGATES:
        log_time, mixture = "log time" in name, "mixture" in name
        y = old["days_late"].to_numpy(float)
        y = np.log(np.maximum(y + terms, 1.0)) if log_time else y
        columns = [old["channel_key"].to_numpy(str) == c for c in channels] + ([disputed] if mixture else [])
        x = np.column_stack(columns).astype(float) if columns else np.zeros((len(old), 0))
        effect, beta, resid = _within_fit(y, x, old["customer_id"].to_numpy(str))
        var = _shrunk(pd.Series(resid ** 2).groupby(old["customer_id"].to_numpy(str)), resid.var(), lambda r: r.sum())
        loc = inv["customer_id"].map(effect).fillna(effect.mean()).to_numpy(float)
        for j, c in enumerate(channels):
            loc = loc + beta[j] * (inv["channel_key"].to_numpy(str) == c)
        sd = np.sqrt(inv["customer_id"].map(var).fillna(resid.var()).to_numpy(float))
        cols = []
        for i, a in enumerate(age):
            draw = loc[i] + sd[i] * rng.standard_normal(4 * n)
            if mixture:
                draw = draw + beta[-1] * (rng.uniform(size=4 * n) < p_disputed[i])
            draw = np.exp(draw) - inv_terms[i] if log_time else draw
            cols.append(_conditional(np.round(draw), a, n, rng))
        out[name] = np.column_stack(cols)
    return out


def _within_fit(y: np.ndarray, x: np.ndarray, group: np.ndarray) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Least squares ``y = effect[group] + x beta``: (effects by group, beta, residuals), by demeaning within groups."""
    def demean(v: np.ndarray) -> np.ndarray:
        return v - pd.DataFrame(v).groupby(group).transform("mean").to_numpy()
    yd, xd = demean(y.reshape(-1, 1))[:, 0], (demean(x) if x.shape[1] else x)
    beta = np.linalg.lstsq(xd, yd, rcond=None)[0] if x.shape[1] else np.zeros(0)
    effect = pd.Series(y - x @ beta).groupby(group).mean()
    resid = y - x @ beta - effect.reindex(group).to_numpy()
    return effect, beta, resid


def _shrunk(groups, pooled: float, total) -> pd.Series:
    """Per group ``(total(values) + SD_PRIOR x pooled) / (count + SD_PRIOR)``: a mean shrunk to ``pooled``."""
    return (groups.apply(total) + SD_PRIOR * pooled) / (groups.size() + SD_PRIOR)
