"""The receivables history as known at ``as_of``: one row per invoice, recency weights and the AFT's covariates.

Rules (units: calendar days, euros incl. VAT):

* One row per positive invoice issued by ``as_of``, as :meth:`cashsim.ledger.Ledger.status` saw it then (no
  look-ahead), with ``terms = due - issue``, ``age = as_of - issue``, paid / written-off flags and
  ``days_late = paid - due``. A dispute flag without an opening date (the IBM sample) is no covariate:
  :meth:`~cashsim.ledger.Ledger.known_at` keeps it only on invoices closed by ``as_of`` (before the extraction
  date), so an invoice open at a forecast origin never has it, and its law must be the marginal one over dispute
  status. Such flags are dropped here (``disputed`` False, no type): a covariate seen only on paid invoices would
  fit a "disputed" law biased fast and leave the baseline too fast for the open invoices it forecasts (IBM
  backtest, docs/validation.md).
* Each invoice is weighted by recency, ``w = 0.5 ** (age / half_life_days)`` (habits change in a crisis), weights
  rescaled to mean 1 so the total information is unchanged.
* AFT covariates ``x``: segment intercepts, ``log(terms days)`` per segment, due in August (*congés d'été*),
  payment method (cheque, card; transfer is the reference, direct debit is modelled apart), dispute types and the
  billing channel when the invoices have one (column ``billing_channel``, or ``channel`` from the IBM adapter's
  PaperlessBill; the most frequent channel is the reference), each with at least 20 invoices.

>>> recency_weights(np.array([0, 365]), 365).round(3).tolist()
[1.333, 0.667]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cashsim.errors import ModelError

#: Payment methods the AFT gives their own coefficient (transfer is the reference; direct debit is modelled apart).
AFT_METHODS = ("cheque", "card")
#: Invoice columns read as the billing channel, first found (``channel``: the IBM adapter's PaperlessBill).
CHANNEL_COLUMNS = ("billing_channel", "channel")


def _channel_of(df: pd.DataFrame) -> np.ndarray | None:
    """The billing channel of each row (lower-case text, "" when unknown) from the first of
    :data:`CHANNEL_COLUMNS` present, else None."""
    col = next((c for c in CHANNEL_COLUMNS if c in df.columns), None)
    if col is None:
        return None
    v = df[col].astype(object).where(df[col].notna(), "")
    return v.astype(str).str.strip().str.lower().replace({"nan": "", "<na>": ""}).to_numpy(str)


def _ts(value: Any) -> pd.Timestamp:
    """A date (``as_of``, ``horizon_end``) as a Timestamp at midnight."""
    return pd.Timestamp(value).normalize()


def _mode_by(df: pd.DataFrame, key: str, col: str) -> pd.Series:
    """Most frequent ``col`` per ``key`` (ties: the smallest value), vectorised."""
    counts = df.groupby([key, col]).size().reset_index(name="n")
    counts = counts.sort_values([key, "n", col], ascending=[True, False, True])
    return counts.drop_duplicates(key).set_index(key)[col]


def recency_weights(age_days: np.ndarray, half_life_days: float) -> np.ndarray:
    """``w = 0.5 ** (age / half_life)``, rescaled to mean 1 so the total information is unchanged.

    >>> recency_weights(np.array([0, 365]), 365).round(3).tolist()
    [1.333, 0.667]
    """
    w = 0.5 ** (np.asarray(age_days, float) / float(half_life_days))
    return w / w.mean() if len(w) else w


def _history(ledger, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per positive invoice issued by ``as_of``, as known then (``ledger.status`` applies
    :meth:`~cashsim.ledger.Ledger.known_at`), with terms, age, paid / written-off flags and days late.

    Column types and defaults (datetime64[ns] dates, text ids, segment "all", payment method "transfer", boolean
    ``disputed``) are those :func:`cashsim.ledger.read_ledger` guarantees. The AFT response (``log_t``, ``log_lo``)
    is computed by :func:`_snap_windows`, which undoes the payment calendar.
    """
    st = ledger.status(as_of)
    st = st[st["amount"] > 0].copy()
    if st.empty:
        raise ModelError(f"no invoice issued by {as_of.date()}: nothing to learn payer behaviour from")
    st["dispute_type"] = st["dispute_type"].astype(object).where(st["dispute_type"].notna() & st["disputed"], "")
    st["dispute_type"] = st["dispute_type"].astype(str).replace({"nan": "", "<NA>": ""})
    st.loc[st["disputed"] & (st["dispute_type"] == ""), "dispute_type"] = "other"
    # a dispute without an opening date is never known for an invoice open at a forecast origin (known_at): it is
    # no covariate, and the laws fitted are the marginal ones over dispute status that such an invoice needs
    st["dispute_dated"] = st["disputed"] & st["dispute_opened"].notna()
    undated = (st["disputed"] & ~st["dispute_dated"]).to_numpy()
    st.loc[undated, "dispute_type"] = ""
    st.loc[undated, "disputed"] = False
    channel = _channel_of(st)
    st["billing_channel"] = channel if channel is not None else ""
    st["terms"] = (st["due_date"] - st["issue_date"]).dt.days.clip(0, None)
    st["age"] = (as_of - st["issue_date"]).dt.days
    st["paid"] = st["status"].eq("paid")
    st["written_off"] = st["status"].eq("written_off")
    st["days_late"] = (st["paid_date"] - st["due_date"]).dt.days
    return st.reset_index(drop=True)


def _design_columns(hist: pd.DataFrame, min_rows: int = 20) -> tuple[list[str], np.ndarray]:
    """AFT covariate names and matrix: segment intercepts, log terms (when terms vary), dispute types and payment
    methods with at least ``min_rows`` invoices (rarer dispute types share the "other" coefficient)."""
    seg_code, seg_names = pd.factorize(hist["segment"].to_numpy(str), sort=True)  # string compares once
    cols, mats = [], []
    for k, s in enumerate(seg_names):
        cols.append(f"segment={s}")
        mats.append(seg_code == k)
    log_terms = np.log(np.maximum(hist["terms"].to_numpy(float), 1.0))
    for k, s in enumerate(seg_names):  # each segment its own terms slope (key accounts' runs flatten theirs)
        in_s = seg_code == k
        if in_s.sum() >= min_rows and np.ptp(log_terms[in_s]) > 0:
            cols.append(f"log_terms:segment={s}")
            mats.append(np.where(in_s, log_terms, 0.0))
    d_code, d_names = pd.factorize(hist["dispute_type"].to_numpy(str), sort=True)
    counts = np.bincount(d_code, minlength=len(d_names))
    named = np.array([d != "" and counts[k] >= min_rows for k, d in enumerate(d_names)])
    rare = np.array([d != "" and counts[k] < min_rows for k, d in enumerate(d_names)])
    rare_rows = rare[d_code] if len(d_names) else np.zeros(len(hist), bool)
    for k, d in enumerate(d_names):
        if not named[k] and d != "other":
            continue
        rows = (d_code == k) | (rare_rows if d == "other" else False)
        if rows.sum() >= min(min_rows, 5):
            cols.append(f"dispute={d}")
            mats.append(rows)
    if rare_rows.any() and "other" not in set(d_names) and rare_rows.sum() >= min(min_rows, 5):
        cols.append("dispute=other")
        mats.append(rare_rows)
    august = hist["due_date"].dt.month.to_numpy() == 8
    if august.sum() >= min_rows and (~august).sum() >= min_rows:  # summer holidays (*congés d'été*)
        cols.append("due_in_august")
        mats.append(august)
    m_code, m_names = pd.factorize(hist["payment_method"].to_numpy(str))
    for m in AFT_METHODS:
        rows = m_code == (list(m_names).index(m) if m in set(m_names) else -2)
        if rows.sum() >= min_rows:
            cols.append(f"method={m}")
            mats.append(rows)
    channel = hist["billing_channel"].to_numpy(str) if "billing_channel" in hist else np.array([], str)
    names, counts = np.unique(channel[channel != ""], return_counts=True)
    if len(names) >= 2:                                  # the most frequent channel is the reference
        for c, k in zip(names, counts, strict=False):
            if c != names[np.argmax(counts)] and k >= min_rows and len(channel) - k >= min_rows:
                cols.append(f"channel={c}")
                mats.append(channel == c)
    return cols, np.column_stack(mats).astype(float)
