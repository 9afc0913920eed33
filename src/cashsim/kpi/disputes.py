"""Disputes (*litiges*) against their service levels: every dispute, and a summary by type and group.

Rule: a dispute counts from ``dispute_opened`` (on or before as_of); it is open while ``dispute_resolved`` is missing
or after as_of. Its service level is ``sla_days[type]`` (``other`` for a type the params do not list); an open
dispute is past its SLA when older than it, a resolved one when it took longer. Calendar days, euros incl. VAT.

Example::

    >>> dispute_summary(ledger, "2026-03-31", params.alerts.dispute_sla_days, by="segment")   # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cashsim.kpi._common import _group, _tidy, _ts, status_as_of

if TYPE_CHECKING:  # pragma: no cover
    from cashsim.ledger import Ledger


def dispute_table(ledger: Ledger, as_of, sla_days: dict[str, float]) -> pd.DataFrame:
    """Every dispute (*litige*) opened by ``as_of``: its type, age or resolution time against the service level.

    Columns: invoice_id, customer_id, segment, dispute_type, dispute_opened, dispute_resolved (NaT when still open
    at as_of), is_open, outstanding, age_days (as_of - opened, open disputes), resolution_days (resolved - opened),
    sla_days (by type; a type absent from the params uses ``other``), past_sla (open longer than the SLA, or
    resolved later than it).
    """
    as_of = _ts(as_of)
    st = status_as_of(ledger, as_of)
    d = st.loc[st["disputed"].fillna(False).astype(bool) & st["dispute_opened"].notna()
               & (st["dispute_opened"] <= as_of)].copy()
    resolved = d["dispute_resolved"].where(d["dispute_resolved"] <= as_of)
    typ = d["dispute_type"].astype(object).where(d["dispute_type"].notna(), "other")
    default = sla_days.get("other", np.nan)
    out = pd.DataFrame({
        "invoice_id": d["invoice_id"], "customer_id": d["customer_id"], "segment": d["segment"],
        "dispute_type": typ, "dispute_opened": d["dispute_opened"], "dispute_resolved": resolved,
        "is_open": resolved.isna(), "outstanding": d["outstanding"],
    })
    out["age_days"] = (as_of - out["dispute_opened"]).dt.days.where(out["is_open"])
    out["resolution_days"] = (out["dispute_resolved"] - out["dispute_opened"]).dt.days
    out["sla_days"] = typ.map(lambda t: sla_days.get(t, default)).astype(float)
    out["past_sla"] = np.where(out["is_open"], out["age_days"] > out["sla_days"],
                               out["resolution_days"] > out["sla_days"])
    return out.reset_index(drop=True)


def dispute_summary(ledger: Ledger, as_of, sla_days: dict[str, float], *, by: str | None = None) -> pd.DataFrame:
    """Disputes by type (and group): open count and amount, age of the open ones, resolution time vs SLA.

    Columns: dispute_type, n_disputes, n_open, open_amount, mean_age_open_days, n_open_past_sla, n_resolved,
    median_resolution_days, mean_resolution_days, sla_days, share_resolved_within_sla.
    """
    t = dispute_table(ledger, as_of, sla_days)
    g = _group(t, by)
    res = ~t["is_open"]
    frame = t.assign(grp=g.to_numpy(), open_amount=t["outstanding"].where(t["is_open"], 0.0),
                     open_past=(t["is_open"] & t["past_sla"]).astype(int),
                     within=(res & ~t["past_sla"]).astype(int), res=res.astype(int))
    agg = frame.groupby(["grp", "dispute_type"]).agg(
        n_disputes=("invoice_id", "size"), n_open=("is_open", "sum"), open_amount=("open_amount", "sum"),
        mean_age_open_days=("age_days", "mean"), n_open_past_sla=("open_past", "sum"), n_resolved=("res", "sum"),
        median_resolution_days=("resolution_days", "median"), mean_resolution_days=("resolution_days", "mean"),
        sla_days=("sla_days", "first"), within=("within", "sum"))
    with np.errstate(divide="ignore", invalid="ignore"):
        agg["share_resolved_within_sla"] = agg.pop("within") / agg["n_resolved"].where(agg["n_resolved"] > 0)
    agg = agg.reset_index(level="dispute_type")
    agg.index.name = "group"
    agg.insert(0, "as_of", _ts(as_of))
    return _tidy(agg, by, ledger)
