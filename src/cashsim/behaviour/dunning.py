"""Dunning (*relances*) in the tail of the law: a discrete-time hazard on days overdue with the reminders as a
time-varying covariate, used only when the ledger has a dunning log.

Rules (units: calendar days overdue ``d = day - due``, ``d = 1 .. MAX_OVERDUE``):

* **Hazard**: the fitted law's daily hazard ``h(d) = p(d) / S(d - 1)`` (never-paid mass in ``S``) is multiplied by
  a ratio ``r(band(d), step(d))``: ``band`` = 1-30, 31-90, 91-180 days overdue; ``step`` = the level of the latest
  reminder sent in the :data:`WINDOW` days before ``d`` and which half of that window ``d`` is in ("1a": days
  1-7 after a level-1 reminder, "1b": days 8-14; 0: none; not the day it is sent: a reminder goes only to an
  invoice unpaid that day). A discrete-time proportional hazard on the daily grid,
  ``log h' = log h + log r``, the AFT law as offset.
* **Fit**: on the undisputed, non-direct-debit invoices of the history, every day an invoice was at risk (overdue,
  not yet paid, written off or past ``as_of``) with its own reminders from the log (time-varying, known at
  ``as_of``): payments observed ``O`` and expected ``E = sum h(d)`` per cell; ``r = (O + a) / (E + a)`` with
  ``a`` = :data:`PRIOR_EVENTS` (a Gamma prior centred on 1: the saturated Poisson estimate, shrunk when a cell
  has few payments), divided by its band's ``(O + a) / (E + a)``: the reminders shape the tail within a band, the
  band's total stays the AFT's (its in-sample level is optimistic: the customer effects saw those payments).
* **Forecast**: a reminder of level ``L`` is sent on its typical day overdue (the median over the log), so
  ``step(d)`` of a day to come follows the dunning plan; the ratios reshape the tail of every law
  (:meth:`cashsim.behaviour.model.PayerModel.law`) and so the book's rows, which the engine conditions on "not paid
  by as_of" as before. ``h'`` is capped at 1; beyond ``MAX_OVERDUE`` the law is unchanged.

>>> r = _apply_ratio(np.array([[0.5, 0.25, 0.25]]), np.array([1.0, 2.0, 1.0]))
>>> r.round(3).tolist()                       # the hazard on day 2 doubled: 0.25 / 0.5 -> 1.0
[[0.5, 0.5, 0.0]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cashsim.behaviour.laws import GRID

#: Days after a reminder during which it counts as "just sent" (the demo's responses come 2-12 days after).
WINDOW = 14
#: Last day overdue the hazard is reshaped on; bands of days overdue with their own baseline ratio.
MAX_OVERDUE, BANDS = 180, (1, 31, 91)
#: Prior weight of each ratio, in expected payments (Gamma prior with mean 1).
PRIOR_EVENTS = 5.0
#: Largest number of invoices the fit reads (every k-th customer's beyond it: the cost stays bounded).
MAX_ROWS = 60_000


def _apply_ratio(pmf: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Pmf rows whose daily hazards ``h(g) = p(g) / S(g - 1)`` are multiplied by ``ratio[g]`` (capped at 1):
    ``p'(g) = h'(g) prod_{k < g} (1 - h'(k))``; what survives the last day is never paid."""
    surv = 1.0 - np.cumsum(pmf, axis=1)
    prev = np.hstack([np.ones((len(pmf), 1)), surv[:, :-1]])
    h = np.where(prev > 1e-12, pmf / np.maximum(prev, 1e-300), 0.0)
    h = np.clip(h * ratio[None, :], 0.0, 1.0)
    alive = np.hstack([np.ones((len(pmf), 1)), np.cumprod(1.0 - h, axis=1)[:, :-1]])
    return alive * h


def _band(d: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(BANDS), d, side="right") - 1


def _typical_step_days(dunning: pd.DataFrame, due: pd.Series, min_actions: int = 20) -> dict[int, int]:
    """Median days overdue at which each dunning level is sent (levels with at least ``min_actions`` actions)."""
    d = dunning.assign(overdue=(dunning["action_date"] - due.reindex(dunning["invoice_id"]).to_numpy()).dt.days)
    d = d[d["overdue"].notna()]
    counts = d.groupby("level")["overdue"].agg(["median", "size"])
    return {int(k): int(round(v)) for k, v in counts.loc[counts["size"] >= min_actions, "median"].items()}


def _step_code(level: np.ndarray, since: np.ndarray) -> np.ndarray:
    """Cell code of a day ``since`` days after a reminder of ``level`` (level 0: none): 0 for none, else
    ``2 level - 1`` in the first half of the window and ``2 level`` in the second."""
    return np.where(level > 0, 2 * level - 1 + (since > WINDOW // 2), 0)


def _step_on_day(step_days: dict[int, int], d: np.ndarray) -> np.ndarray:
    """Step code (:func:`_step_code`) of day ``d`` when each reminder goes out on its typical day ``s``: the
    latest one with ``s < d <= s + WINDOW``."""
    level, since = np.zeros(len(d), np.int64), np.zeros(len(d), np.int64)
    for lv, s in sorted(step_days.items(), key=lambda kv: kv[1]):
        on = (d > s) & (d <= s + WINDOW)
        level, since = np.where(on, lv, level), np.where(on, d - s, since)
    return _step_code(level, since)


def _overdue_hazard(model, hist: pd.DataFrame, dunning: pd.DataFrame | None, as_of: pd.Timestamp
                    ) -> tuple[np.ndarray | None, dict[str, Any]]:
    """The hazard ratio on :data:`GRID` (module docstring) and what the fit saw; ``(None, {})`` without a log."""
    if dunning is None or len(dunning) == 0:
        return None, {}
    rows = hist[~hist["dispute_dated"] & (hist["payment_method"] != "direct_debit")
                & (hist["due_date"] < as_of - pd.Timedelta(days=1))].reset_index(drop=True)
    due = rows.set_index("invoice_id")["due_date"]
    step_days = _typical_step_days(dunning[dunning["invoice_id"].isin(due.index)], due)
    if not step_days or rows.empty:
        return None, {"dunning_note": "dunning log too thin for the overdue hazard (fewer than 20 actions a level)"}
    if len(rows) > MAX_ROWS:
        codes = pd.factorize(rows["customer_id"])[0]
        rows = rows[codes % int(np.ceil(len(rows) / MAX_ROWS)) == 0].reset_index(drop=True)
    one = pd.Timedelta(days=1)
    end_date = rows["paid_date"].where(rows["paid"], rows["write_off_date"].where(rows["written_off"], as_of))
    end = ((end_date - rows["due_date"]) / one).clip(upper=MAX_OVERDUE).to_numpy(float)
    paid_day = np.where(rows["paid"], (rows["paid_date"] - rows["due_date"]) / one, np.nan)
    keep = end >= 1
    rows, end, paid_day = rows[keep].reset_index(drop=True), end[keep].astype(int), paid_day[keep]
    # the fitted law of each invoice (before any reshaping), its hazard on days 1 .. MAX_OVERDUE
    key = rows[[c for c in ("customer_id", "segment", "terms", "payment_method", "billing_channel")
                if c in rows]].astype(str).agg("|".join, axis=1)
    key = key + "|" + rows["due_date"].dt.strftime("%Y-%m")
    uniq, inv = np.unique(key.to_numpy(), return_inverse=True)
    first = pd.Series(np.arange(len(rows))).groupby(inv).first().to_numpy()
    u = rows.iloc[first]
    pmf, _ = model.law(u["customer_id"].to_numpy(str), u["segment"].to_numpy(str), u["terms"].to_numpy(float),
                       None, u["payment_method"].to_numpy(str), u["due_date"].dt.strftime("%Y-%m").to_numpy(str),
                       u["billing_channel"].to_numpy(str) if "billing_channel" in u else None)
    g1 = int(np.flatnonzero(GRID == 1)[0])
    days = np.arange(1, MAX_OVERDUE + 1)
    surv = 1.0 - np.cumsum(pmf, axis=1)
    hz = pmf[:, g1:g1 + MAX_OVERDUE] / np.maximum(surv[:, g1 - 1:g1 - 1 + MAX_OVERDUE], 1e-12)
    hz = np.clip(hz, 0.0, 1.0)[inv]                                       # invoices x days
    at_risk = days[None, :] <= end[:, None]
    # time-varying covariate: the latest reminder of the last WINDOW days, from the invoice's own log
    pos = pd.Index(rows["invoice_id"]).get_indexer(dunning["invoice_id"])
    ok = pos >= 0
    sent = ((dunning["action_date"].to_numpy()[ok] - rows["due_date"].to_numpy()[pos[ok]]) / one).astype(int)
    level = dunning["level"].to_numpy(np.int64)[ok]
    latest = np.full(at_risk.shape, -1, np.int64)       # (day sent) * 64 + level of the latest reminder in force
    for k in range(1, WINDOW + 1):                      # from the day after: sent only if unpaid that day
        d = sent + k
        inside = (d >= 1) & (d <= MAX_OVERDUE) & (sent >= 0)
        np.maximum.at(latest, (pos[ok][inside], d[inside] - 1), sent[inside] * 64 + level[inside])
    since = days[None, :] - latest // 64
    step = np.where(latest >= 0, _step_code(latest % 64, since), 0)
    band = _band(days)[None, :].repeat(len(rows), axis=0)
    n_levels = 2 * int(max(level.max(initial=0), max(step_days))) + 1          # step codes 0 .. 2 L
    cell = band * n_levels + step
    E = np.bincount(cell[at_risk], weights=hz[at_risk], minlength=len(BANDS) * n_levels)
    paid_in = np.isfinite(paid_day) & (paid_day >= 1) & (paid_day <= MAX_OVERDUE)
    pi_, pd_ = np.flatnonzero(paid_in), paid_day[paid_in].astype(int) - 1
    obs = np.bincount(cell[pi_, pd_], minlength=len(BANDS) * n_levels).astype(float)
    ratio_cell = (obs + PRIOR_EVENTS) / (E + PRIOR_EVENTS)
    # only the reminders' shape within a band: each band's obs / E is brought back to 1 (the in-sample level of a
    # band is optimistic, the customer effects having seen those very payments; back-test, docs/validation.md)
    cells = ratio_cell.reshape(len(BANDS), n_levels)
    band_level = (obs.reshape(cells.shape).sum(axis=1) + PRIOR_EVENTS) / (E.reshape(cells.shape).sum(axis=1)
                                                                         + PRIOR_EVENTS)
    ratio_cell = (cells / band_level[:, None]).ravel()
    ratio = np.ones(len(GRID))
    future_step = _step_on_day(step_days, days)
    ratio[g1:g1 + MAX_OVERDUE] = ratio_cell[_band(days) * n_levels + future_step]
    names = ["0"] + [f"{(s + 1) // 2}{'ab'[(s + 1) % 2]}" for s in range(1, n_levels)]    # "1a": days 1-7 after 1
    table = {f"{BANDS[b]}+|step {names[s]}": (float(obs[b * n_levels + s]), float(E[b * n_levels + s]),
                                              float(ratio_cell[b * n_levels + s]))
             for b in range(len(BANDS)) for s in range(n_levels) if E[b * n_levels + s] > 0}
    return ratio, {"dunning_step_days": step_days, "overdue_hazard_cells": table,
                   "overdue_hazard_rows": int(len(rows))}
