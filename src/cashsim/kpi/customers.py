"""What each customer costs and how much of a projected shortfall it accounts for.

Rules: the cost of a customer over the lookback (*coût réel d'un client*) = financing of its late money (borrowing
rate x euro-days late / 365) + collection effort (dunning actions x minutes per channel x hourly cost) + expected bad
debt (open outstanding x P(never paid)); see :func:`customer_cost`. Shortfall contribution (*contribution au
manque*): on the paths where a month misses its target, a customer's contribution is how much less than its average
it paid, ``E[mean_c - cash_c | shortfall]``; the contributions add up to the expected shortfall of collections
against their mean (:func:`shortfall_contribution`). Euros incl. VAT.

Example::

    >>> import numpy as np
    >>> cash = np.array([[[10.0], [5.0]], [[2.0], [5.0]]])      # 2 paths x 2 customers x 1 month
    >>> shortfall_contribution(cash, np.array([[12.0], [12.0]]), ["2026-11"], ["A", "B"])["contribution"].tolist()
    [4.0, 0.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cashsim.errors import ParamsError
from cashsim.kpi._common import _tidy, _ts
from cashsim.kpi.lateness import _by_customer, _late_pieces
from cashsim.ledger import OPEN_STATUSES
from cashsim.params import Finance

if TYPE_CHECKING:  # pragma: no cover
    from cashsim.ledger import Ledger
    from cashsim.simulate import Simulation
    from cashsim.targets import TargetReport

#: Staff minutes per dunning action by channel (assumption; used with finance.hourly_cost).
EFFORT_MINUTES = {"email": 5.0, "sms": 2.0, "letter": 15.0, "phone": 15.0, "formal_notice": 30.0}
_DEFAULT_EFFORT_MINUTES = 10.0


# --------------------------------------------------------------------------------------------------- cost


def customer_cost(ledger: Ledger, as_of, finance: Finance, *, reliability: pd.DataFrame | None = None,
                  lookback_days: int = 365, p_never_default: float = 0.013,
                  effort_minutes: dict[str, float] | None = None) -> pd.DataFrame:
    """The true cost of each customer over the lookback (*coût réel d'un client*), euros.

    - financing_cost = borrowing_rate x euro-days late / 365: every euro paid after its due date, from the due
      date to its payment (or to as_of while open), for invoices due in the lookback;
    - collection_effort = dunning actions in the lookback x minutes per channel (``EFFORT_MINUTES``) x
      hourly_cost / 60;
    - expected_bad_debt = open outstanding x p_never (``PayerModel.customers.p_never`` when given, else
      ``p_never_default``, Atradius 2018: 1.3 %); written_off = amounts written off in the lookback (realised,
      ``amount - paid_to_date``);
    - total_cost = the three costs; surcharge = total_cost / sales (the price increase that would pay for it);
    - extra_sales_for_bad_debt = (expected_bad_debt + written_off) / gross_margin: the sales it takes to earn back
      a bad debt at the company's margin (20 % by default: 1 000 EUR lost = 5 000 EUR of extra sales).
    """
    as_of = _ts(as_of)
    start = as_of - pd.Timedelta(days=lookback_days)
    st = ledger.status(as_of)
    pieces = _late_pieces(ledger, as_of, st)
    pieces = pieces.loc[pieces["start"] > start]
    euro_days = (pieces["amount"] * (pieces["end"] - pieces["start"]).dt.days).groupby(pieces["customer_id"]).sum()
    minutes = {**EFFORT_MINUTES, **(effort_minutes or {})}
    dun = ledger.dunning
    dun = dun.loc[(dun["action_date"] > start) & (dun["action_date"] <= as_of)]
    dun = dun.merge(st[["invoice_id", "customer_id"]], on="invoice_id", how="inner")
    mins = dun["channel"].astype(object).map(minutes).fillna(_DEFAULT_EFFORT_MINUTES) if len(dun) else \
        pd.Series(dtype=float)
    effort = mins.groupby(dun["customer_id"]).sum() * finance.hourly_cost / 60.0
    op = st.loc[st["status"].isin(OPEN_STATUSES) & (st["outstanding"] > 0)]
    open_amt = op.groupby("customer_id")["outstanding"].sum()
    p_never = pd.Series(p_never_default, index=open_amt.index)
    if reliability is not None:
        rel = _by_customer(reliability)
        if "p_never" in rel:
            p_never = rel["p_never"].reindex(open_amt.index).fillna(p_never_default)
    wo = st.loc[st["status"].eq("written_off") & (st["write_off_date"] > start)]
    written = (wo["amount"] - wo["paid_to_date"]).groupby(wo["customer_id"]).sum()   # outstanding is 0 once written off
    inv = st.loc[st["issue_date"] > start]
    sales = inv.groupby("customer_id")["amount"].sum()
    ids = sales.index.union(open_amt.index).union(euro_days.index).union(effort.index).union(written.index)
    out = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
    out["sales"] = sales.reindex(ids, fill_value=0.0)
    out["financing_cost"] = euro_days.reindex(ids, fill_value=0.0) * finance.borrowing_rate / 365.0
    out["collection_effort"] = effort.reindex(ids, fill_value=0.0)
    out["open_amount"] = open_amt.reindex(ids, fill_value=0.0)
    out["expected_bad_debt"] = out["open_amount"] * p_never.reindex(ids).fillna(p_never_default)
    out["written_off"] = written.reindex(ids, fill_value=0.0)
    out["total_cost"] = out[["financing_cost", "collection_effort", "expected_bad_debt"]].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["surcharge"] = (out["total_cost"] / out["sales"]).where(out["sales"] > 0)
    margin = finance.gross_margin if finance.gross_margin > 0 else 0.20
    out["extra_sales_for_bad_debt"] = (out["expected_bad_debt"] + out["written_off"]) / margin
    out = out.sort_values("total_cost", ascending=False)
    out.insert(0, "as_of", as_of)
    return _tidy(out, "customer_id", ledger)


# --------------------------------------------------------------------------------------------------- shortfall


def shortfall_contribution(group_monthly: np.ndarray, targets: np.ndarray, months, groups,
                           collected: np.ndarray | None = None) -> pd.DataFrame:
    """Each group's (customer's) contribution to the projected shortfall of each month, with its uncertainty.

    Rule (expected-shortfall allocation, *contribution au manque*): on the paths where month m misses its target
    (collected < target), group c's contribution is ``E[mean_c - cash_c | shortfall]``, where ``mean_c`` is its
    average cash over all paths: how much less than usual it paid on the bad paths. The contributions add up to
    ``E[mean total - total | shortfall]`` when the groups cover all collections. Uncertainty: the Monte Carlo
    standard error of that conditional mean, and the 10th/90th percentiles of ``mean_c - cash_c`` on the bad paths.

    group_monthly: (n_paths, n_groups, n_months) cash per group; targets: (n_paths, n_months) path targets of the
    same months; collected: (n_paths, n_months) total collections (default: the sum over groups).
    Returns one row per month and group, sorted by month then contribution (largest first).
    """
    import warnings

    g = np.asarray(group_monthly, dtype=float)
    total = g.sum(axis=1) if collected is None else np.asarray(collected, dtype=float)
    bad = (total < np.asarray(targets, dtype=float)).astype(float)      # (P, M)
    n_bad = bad.sum(axis=0)                                           # (M,)
    gap = g.mean(axis=0, keepdims=True) - g                           # (P, G, M)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.einsum("pm,pgm->gm", bad, gap) / n_bad
        second = np.einsum("pm,pgm->gm", bad, gap**2) / n_bad
        se = np.sqrt(np.maximum(second - mean**2, 0.0) / np.maximum(n_bad - 1, 1))
    masked = np.where(bad[:, None, :] > 0, gap, np.nan)
    with warnings.catch_warnings():   # a month with no shortfall path has all-NaN gaps: NaN quantiles, by design
        warnings.simplefilter("ignore", RuntimeWarning)
        p10, p90 = np.nanquantile(masked, [0.1, 0.9], axis=0)
    n_groups, n_months = mean.shape
    df = pd.DataFrame({
        "month": np.repeat(pd.PeriodIndex(months, freq="M").astype(str).to_numpy(), n_groups),
        "group": np.tile(np.asarray(groups, dtype=object), n_months),
        "p_shortfall": np.repeat(n_bad / g.shape[0], n_groups),
        "contribution": mean.T.ravel(),
        "contribution_se": se.T.ravel(),
        "gap_p10": p10.T.ravel(),
        "gap_p90": p90.T.ravel(),
    })
    tot = df.groupby("month")["contribution"].transform("sum")
    df["share"] = df["contribution"] / tot.where(tot != 0)
    return df.sort_values(["month", "contribution"], ascending=[True, False], ignore_index=True)


def customer_groups(book) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, labels)`` to simulate per customer: ``simulate(book, ..., group_by=codes)`` then
    ``customer_shortfall(sim, report, labels)``. Codes are 0..n-1 in order of first appearance in ``book.invoices``."""
    codes, labels = pd.factorize(book.invoices["customer_id"])
    return codes.astype(np.int64), np.asarray(labels, dtype=object)


def customer_shortfall(sim: Simulation, report: TargetReport, groups=None) -> pd.DataFrame:
    """:func:`shortfall_contribution` on a Simulation run with ``group_by`` = customer and its target report.

    ``groups``: labels of ``sim.group_monthly``'s group axis (from :func:`customer_groups`; default
    ``sim.groups`` when the engine provides it, else 0..n-1). The shortfall event uses the month's total
    collections incl. the actual cash of the month to date, so it matches the report's P(target met).
    """
    if sim.group_monthly is None:
        raise ParamsError("the simulation has no group_monthly: run simulate(..., group_by='customer_id')")
    labels = groups if groups is not None else getattr(sim, "groups", None)
    if labels is None:
        labels = np.arange(sim.group_monthly.shape[1])
    future = ~report.paths.is_past
    return shortfall_contribution(sim.group_monthly, report.paths.targets[:, future], report.paths.months[future],
                                  labels, collected=report.paths.collected[:, future])
