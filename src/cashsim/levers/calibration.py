"""The company's own figures for the levers: dunning effects from its dunning log, dispute share, annotated book.

Rule: a dunning step's effect is the daily hazard ratio just after vs just before the action, minus one:
ratio = log(1 - p_a) / log(1 - p_b), with p_a, p_b the shares paid within ``window_days`` after and before it
(constant daily hazard in each window). Only reliable estimates (enough actions, 95 % interval excluding no effect)
replace a channel's default effect (:func:`calibrate_dunning`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cashsim.levers._book import _with
from cashsim.levers.dunning import DunningPlan, DunningStep
from cashsim.levers.spec import LeverSpec

if TYPE_CHECKING:
    from cashsim.ledger import Ledger
    from cashsim.simulate import Book


def estimate_dunning_effects(ledger: Ledger, window_days: int = 7, min_actions: int = 30) -> pd.DataFrame:
    """Daily hazard ratio of paying just after vs just before each kind of dunning action, from the ledger's log.

    For each (level, channel), d = the median day of its actions relative to the due date. **Before**: among the
    invoices that could be reminded (not disputed, not on direct debit, where the ledger says so) still unpaid on
    day d - w (w = ``window_days``), the share p_b paid in (d - w, d] — all of them, since only unpaid ones are
    ever reminded. **After**: among the reminded invoices unpaid on the action day t, the share p_a paid in
    (t, t + w]. With a constant daily hazard in each window, 1 - p = (1 - h)^w, so the hazard ratio is
    ``ratio = log(1 - p_a) / log(1 - p_b)`` and ``effect = ratio - 1`` is the step's g of :class:`DunningStep`
    (a before/after contrast: it also absorbs the hazard's own trend over 2 w days, and a later step's "before"
    window holds the response to the previous step when their windows overlap, which biases later steps toward
    0). Windows running past the ledger's last date are left out. 95 % interval by the delta method on
    log(-log(1 - p)). Returns level, channel, day, n_actions, p_before, p_after, ratio, effect, ci_low, ci_high,
    reliable (n_actions >= ``min_actions`` and the interval excludes no effect: only then does
    :func:`calibrate_dunning` use it instead of the documented default).
    """
    cols = ["level", "channel", "day", "n_actions", "p_before", "p_after", "ratio", "effect", "ci_low", "ci_high",
            "reliable"]
    dun = ledger.dunning
    if dun is None or dun.empty:
        return pd.DataFrame(columns=cols)
    inv = ledger.invoices.drop_duplicates("invoice_id")
    pay = ledger.payments.sort_values("payment_date")
    pay = pay.assign(cum=pay.groupby("invoice_id")["amount"].cumsum()).merge(
        inv[["invoice_id", "amount"]].rename(columns={"amount": "inv_amount"}), on="invoice_id")
    full = pay[pay["cum"] >= pay["inv_amount"] - np.maximum(0.01, 0.005 * pay["inv_amount"].abs())]
    paid_date = full.groupby("invoice_id")["payment_date"].min().astype("datetime64[ns]")
    end = max(pd.to_datetime(ledger.payments["payment_date"]).max(), pd.to_datetime(dun["action_date"]).max())
    w = pd.Timedelta(days=window_days)
    remindable = np.ones(len(inv), dtype=bool)
    if "disputed" in inv.columns:
        remindable &= ~inv["disputed"].fillna(False).astype(bool).to_numpy()
    if "payment_method" in inv.columns:
        remindable &= (inv["payment_method"] != "direct_debit").to_numpy()
    due = inv["due_date"].astype("datetime64[ns]")
    paid_rel = (inv["invoice_id"].map(paid_date) - due).dt.days.to_numpy(dtype=float)
    paid_rel = np.where(np.isnan(paid_rel), np.inf, paid_rel)
    d = dun.merge(inv[["invoice_id", "due_date"]], on="invoice_id", how="inner")
    t = d["action_date"].astype("datetime64[ns]")
    d = d.assign(rel=(t - d["due_date"].astype("datetime64[ns]")).dt.days, paid=d["invoice_id"].map(paid_date), t=t)
    d = d[d["t"] + w <= end]
    out = []
    for (level, channel), g in d.groupby(["level", "channel"]):  # a plan's few steps
        day = int(np.median(g["rel"]))
        seen = remindable & (due + pd.Timedelta(days=day) + w <= end).to_numpy()
        rb = seen & (paid_rel > day - window_days)
        n_rb, n_pb = int(rb.sum()), int((rb & (paid_rel <= day)).sum())
        ra = g["paid"].isna() | (g["paid"] > g["t"])
        n_ra, n_pa = int(ra.sum()), int((ra & (g["paid"] <= g["t"] + w)).sum())
        pb = n_pb / n_rb if n_rb else np.nan
        pa = n_pa / n_ra if n_ra else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log1p(-pa) / np.log1p(-pb)
            se = np.sqrt(pa / ((1 - pa) * n_ra * np.log1p(-pa) ** 2) + pb / ((1 - pb) * n_rb * np.log1p(-pb) ** 2))
        out.append({"level": level, "channel": channel, "day": day, "n_actions": n_ra, "p_before": pb,
                    "p_after": pa, "ratio": ratio, "effect": ratio - 1,
                    "ci_low": ratio * np.exp(-1.96 * se) - 1, "ci_high": ratio * np.exp(1.96 * se) - 1,
                    "reliable": bool(n_ra >= min_actions and np.isfinite(ratio) and ratio * np.exp(-1.96 * se) > 1)})
    return pd.DataFrame(out, columns=cols)


def dispute_share_of_late(status: pd.DataFrame) -> float:
    """Share of the late-paid amount (paid invoices with days_late > 0) that was disputed: ``DunningPlan``'s
    ``dispute_share_of_late``, from ``Ledger.status(as_of)``. 0.0 when nothing was paid late."""
    late = status[(status["status"] == "paid") & (status["days_late"] > 0)]
    total = late["amount"].abs().sum()
    return float(late.loc[late["disputed"].fillna(False).astype(bool), "amount"].abs().sum() / total) if total else 0.0


def annotate_book(book: Book, open_book: pd.DataFrame) -> Book:
    """The book with each open invoice's ``disputed`` flag and ``payment_method`` (from the ledger's open book).

    Levers use them to leave open disputes and direct-debit payers alone; future invoices get False / "transfer".
    """
    inv = book.invoices.copy()
    extra = open_book[["invoice_id", "disputed", "payment_method"]].drop_duplicates("invoice_id")
    extra = extra.set_index(extra["invoice_id"].astype(str))
    ids = inv["invoice_id"].astype(str)
    inv["disputed"] = ids.map(extra["disputed"]).fillna(False).astype(bool).to_numpy()
    inv["payment_method"] = ids.map(extra["payment_method"]).fillna("transfer").astype(str).to_numpy()
    return _with(book, invoices=inv)


def calibrate_dunning(levers: list[LeverSpec], estimates: pd.DataFrame) -> list[LeverSpec]:
    """Dunning plans whose steps take their effect from the ledger's own log where it is reliable.

    ``estimates`` = :func:`estimate_dunning_effects`; a step whose ``effect`` was not set explicitly takes the
    estimated effect of its channel (the most frequent level of it), floored at 0. Other levers pass through.
    """
    if estimates is None or estimates.empty:
        return list(levers)
    ok = estimates[estimates["reliable"].astype(bool) & estimates["effect"].notna()]
    by_channel = ok.sort_values("n_actions", ascending=False).drop_duplicates("channel").set_index("channel")
    out: list[LeverSpec] = []
    for lever in levers:
        if isinstance(lever, DunningPlan):
            def fix(steps: list[DunningStep] | None) -> list[DunningStep] | None:
                if steps is None:
                    return None
                return [s.model_copy(update={"effect": max(0.0, float(by_channel.loc[s.channel, "effect"]))})
                        if s.channel in by_channel.index and "effect" not in s.model_fields_set else s
                        for s in steps]
            lever = lever.model_copy(update={"steps": fix(lever.steps), "current": fix(lever.current)})
        out.append(lever)
    return out
