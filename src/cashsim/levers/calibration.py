"""The company's own figures for the levers: dunning effects and recovery from its dunning log, dispute share, the
annotated book.

Rules: a dunning step's effect is the daily hazard ratio just after vs just before the action, minus one:
ratio = log(1 - p_a) / log(1 - p_b), with p_a, p_b the shares paid within ``window_days`` after and before it
(constant daily hazard in each window). A step's recovery is the share of the otherwise-unpaid that it gets paid:
1 - (1 - p_t) / (1 - p_c), p_t and p_c the shares paid within ``horizon_days`` of the step's day among comparable
invoices that got it and that did not. Only reliable estimates (enough invoices, 95 % interval excluding no
effect) replace a channel's default (:func:`calibrate_dunning`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cashsim.levers._book import _with
from cashsim.levers.channels import DEFAULT_TONE, step_defaults
from cashsim.levers.dunning import DunningPlan, DunningStep
from cashsim.levers.spec import LeverSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from cashsim.ledger import Ledger
    from cashsim.simulate import Book


def _paid_day(ledger: Ledger) -> tuple[pd.DataFrame, pd.Series, pd.Timestamp]:
    """The ledger's invoices (one row each), the day each was paid in full (NaT: not yet), the ledger's last date."""
    inv = ledger.invoices.drop_duplicates("invoice_id")
    pay = ledger.payments.sort_values("payment_date")
    pay = pay.assign(cum=pay.groupby("invoice_id")["amount"].cumsum()).merge(
        inv[["invoice_id", "amount"]].rename(columns={"amount": "inv_amount"}), on="invoice_id")
    full = pay[pay["cum"] >= pay["inv_amount"] - np.maximum(0.01, 0.005 * pay["inv_amount"].abs())]
    paid_date = full.groupby("invoice_id")["payment_date"].min().astype("datetime64[ns]")
    end = max(pd.to_datetime(ledger.payments["payment_date"]).max(),
              pd.to_datetime(ledger.dunning["action_date"]).max())
    return inv, paid_date, end


def _remindable(inv: pd.DataFrame) -> np.ndarray:
    """Invoices a dunning plan may remind: not disputed, not on direct debit (where the ledger says so)."""
    remindable = np.ones(len(inv), dtype=bool)
    if "disputed" in inv.columns:
        remindable &= ~inv["disputed"].fillna(False).astype(bool).to_numpy()
    if "payment_method" in inv.columns:
        remindable &= (inv["payment_method"] != "direct_debit").to_numpy()
    return remindable


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
    inv, paid_date, end = _paid_day(ledger)
    w = pd.Timedelta(days=window_days)
    remindable = _remindable(inv)
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


def estimate_recovery(ledger: Ledger, horizon_days: int = 180, min_invoices: int = 30) -> pd.DataFrame:
    """Share of the otherwise-unpaid that each kind of dunning action gets paid, from the ledger's log.

    For each (level, channel), d = the median day of its actions relative to the due date. Comparable invoices:
    those that could be reminded (a positive amount, not disputed, not on direct debit, where the ledger says so),
    still unpaid once 90 % of the step's actions have gone out, with day d within the log's span (from the
    channel's first action) and observed for ``horizon_days`` after it. **Treated**: those that got the action;
    **controls**: those that did not. With p_t, p_c the shares paid within ``horizon_days`` of day d, the recovery is
    ``1 - (1 - p_t) / (1 - p_c)`` — the share of what would have stayed unpaid that the action got paid (it also
    holds any speed-up that brings a payment inside the horizon). 95 % interval by the delta method on
    log((1 - p_t) / (1 - p_c)). A plan that reminds every unpaid invoice has no controls: nothing is estimated
    and the defaults stay. A company that picks whom to send a notice to biases the contrast (larger debts,
    worse payers): read it with that in mind. Returns level, channel, day, n_treated, n_control, p_treated,
    p_control, recovery, ci_low, ci_high, reliable (both groups >= ``min_invoices`` and the interval above 0: only
    then does :func:`calibrate_dunning` use it).
    """
    cols = ["level", "channel", "day", "n_treated", "n_control", "p_treated", "p_control", "recovery", "ci_low",
            "ci_high", "reliable"]
    dun = ledger.dunning
    if dun is None or dun.empty:
        return pd.DataFrame(columns=cols)
    inv, paid_date, end = _paid_day(ledger)
    remindable = _remindable(inv)
    due = inv["due_date"].astype("datetime64[ns]")
    paid_rel = (inv["invoice_id"].map(paid_date) - due).dt.days.to_numpy(dtype=float)
    paid_rel = np.where(np.isnan(paid_rel), np.inf, paid_rel)
    d = dun.merge(inv[["invoice_id", "due_date"]], on="invoice_id", how="inner")
    d = d.assign(rel=(d["action_date"].astype("datetime64[ns]") - d["due_date"].astype("datetime64[ns]")).dt.days)
    out = []
    positive = (inv["amount"] > 0).to_numpy()
    for (level, channel), g in d.groupby(["level", "channel"]):  # a plan's few steps
        day = int(np.median(g["rel"]))
        # unpaid once every action of the step has gone out (actions wait for a business day or a batch: an
        # invoice paid in between is no control), with the step within the log's span (before it began, who got
        # the action is unknown) and observed for the horizon
        sent = int(np.ceil(np.quantile(g["rel"], 0.9)))
        step = due + pd.Timedelta(days=day)
        seen = (remindable & positive & (paid_rel > sent) & (step >= g["action_date"].min()).to_numpy()
                & (step + pd.Timedelta(days=horizon_days) <= end).to_numpy())
        got = inv["invoice_id"].isin(g["invoice_id"]).to_numpy()
        treated, control = seen & got, seen & ~got
        paid = paid_rel <= day + horizon_days
        n_t, n_c = int(treated.sum()), int(control.sum())
        p_t = (paid & treated).sum() / n_t if n_t else np.nan
        p_c = (paid & control).sum() / n_c if n_c else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.log1p(-p_t) - np.log1p(-p_c)
            se = np.sqrt(p_t / ((1 - p_t) * n_t) + p_c / ((1 - p_c) * n_c))
            low, high = 1 - np.exp(log_ratio + 1.96 * se), 1 - np.exp(log_ratio - 1.96 * se)
        out.append({"level": level, "channel": channel, "day": day, "n_treated": n_t, "n_control": n_c,
                    "p_treated": p_t, "p_control": p_c, "recovery": 1 - np.exp(log_ratio), "ci_low": low,
                    "ci_high": high,
                    "reliable": bool(min(n_t, n_c) >= min_invoices and np.isfinite(low) and low > 0)})
    return pd.DataFrame(out, columns=cols)


def dispute_share_of_late(status: pd.DataFrame) -> float:
    """Share of the late-paid amount (paid invoices with days_late > 0) that was disputed: ``DunningPlan``'s
    ``dispute_share_of_late``, from ``Ledger.status(as_of)``. 0.0 when nothing was paid late."""
    late = status[(status["status"] == "paid") & (status["days_late"] > 0)]
    total = late["amount"].abs().sum()
    return float(late.loc[late["disputed"].fillna(False).astype(bool), "amount"].abs().sum() / total) if total else 0.0


def annotate_book(book: Book, open_book: pd.DataFrame) -> Book:
    """The book with each open invoice's ``disputed`` flag, ``payment_method`` and, where the ledger has them, its
    dispute's ``dispute_type``, ``dispute_opened`` and ``dispute_resolved`` (from the ledger's open book).

    Levers use them to leave open disputes and direct-debit payers alone and to resolve disputes on time; future
    invoices get False / "transfer" / no dispute.
    """
    inv = book.invoices.copy()
    cols = [c for c in ("disputed", "payment_method", "dispute_type", "dispute_opened", "dispute_resolved")
            if c in open_book.columns]
    extra = open_book[["invoice_id", *cols]].drop_duplicates("invoice_id")
    extra = extra.set_index(extra["invoice_id"].astype(str))
    ids = inv["invoice_id"].astype(str)
    inv["disputed"] = ids.map(extra["disputed"]).fillna(False).astype(bool).to_numpy()
    inv["payment_method"] = ids.map(extra["payment_method"]).fillna("transfer").astype(str).to_numpy()
    if "dispute_type" in cols:
        kind = ids.map(extra["dispute_type"]).to_numpy(dtype=object)
        inv["dispute_type"] = np.where(inv["disputed"].to_numpy() & pd.isna(kind), "other", kind)
    for c in ("dispute_opened", "dispute_resolved"):
        if c in cols:
            inv[c] = ids.map(extra[c]).astype("datetime64[ns]").to_numpy()
    return _with(book, invoices=inv)


def calibrate_dunning(levers: list[LeverSpec], estimates: pd.DataFrame,
                      recovery: pd.DataFrame | None = None) -> list[LeverSpec]:
    """Dunning plans whose steps take their effect and recovery from the ledger's own log where it is reliable.

    ``estimates`` = :func:`estimate_dunning_effects`: a step whose ``effect`` was not set explicitly takes the
    estimated effect of its channel (the most frequent level of it), floored at 0, times its tone's strength
    relative to the channel's usual tone (the log records the company's usual tone: a firm e-mail gets the
    estimate x 0.45 / 0.3). ``recovery`` = :func:`estimate_recovery`: a step whose ``recovery`` was not set takes
    its channel's reliable estimate, clipped to [0, 1]. Other levers pass through.
    """
    return dunning_calibrator(estimates, recovery)(levers)


def dunning_calibrator(estimates: pd.DataFrame, recovery: pd.DataFrame | None = None
                       ) -> Callable[[list[LeverSpec]], list[LeverSpec]]:
    """:func:`calibrate_dunning` with these estimates, as a function of the levers: the reliable estimates picked
    once for every scenario of a study."""
    def reliable(table: pd.DataFrame | None, column: str, size: str) -> pd.DataFrame:
        if table is None or table.empty:
            return pd.DataFrame(columns=[column])
        ok = table[table["reliable"].astype(bool) & table[column].notna()]
        return ok.sort_values(size, ascending=False).drop_duplicates("channel").set_index("channel")

    by_channel = reliable(estimates, "effect", "n_actions")
    rec = reliable(recovery, "recovery", "n_treated")
    if by_channel.empty and rec.empty:
        return list

    def tone_factor(step: DunningStep) -> float:
        usual = step_defaults(step.channel, DEFAULT_TONE[step.channel])["effect"]
        return step_defaults(step.channel, step.tone)["effect"] / usual if usual > 0 else 1.0

    def fix(steps: list[DunningStep] | None) -> list[DunningStep] | None:
        if steps is None:
            return None
        out = []
        for s in steps:
            update = {}
            if s.channel in by_channel.index and "effect" not in s.model_fields_set:
                update["effect"] = min(10.0, max(0.0, float(by_channel.loc[s.channel, "effect"])) * tone_factor(s))
            if s.channel in rec.index and "recovery" not in s.model_fields_set:
                update["recovery"] = float(np.clip(rec.loc[s.channel, "recovery"], 0.0, 1.0))
            out.append(s.model_copy(update=update) if update else s)
        return out

    def calibrate(levers: list[LeverSpec]) -> list[LeverSpec]:
        return [lever.model_copy(update={"steps": fix(lever.steps), "current": fix(lever.current)})
                if isinstance(lever, DunningPlan) else lever for lever in levers]

    return calibrate
