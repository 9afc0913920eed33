"""The demo company's disputes (*litiges*): which invoices are disputed, of what type, when the dispute opens and
is resolved, and which end with a credit note (*avoir*).

A dispute opens 5 to 40 days after issue; its resolution takes ``max(1, round(X))`` days, ``X`` log-normal by
dispute type (``DISPUTE_LAWS``); the invoice is then ready to be paid ``round(Y)`` days later, ``Y`` log-normal of
median ``POST_RESOLUTION_MEDIAN`` (7 days) and log-sd ``POST_RESOLUTION_SIGMA`` (0.5). A third of the price
disputes (``CREDIT_NOTE_SHARE``) end with a credit note of 5 to 25 % of the invoice (``CREDIT_NOTE_RANGE``).

Example::

    >>> inv = pd.DataFrame({"issue": np.arange(1000)})
    >>> d = _disputes(np.random.default_rng(0), inv, np.full(1000, 0.1))
    >>> bool((d["resolved"] > d["opened"]).all())
    True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim.demo.laws import (
    CREDIT_NOTE_RANGE,
    CREDIT_NOTE_SHARE,
    DISPUTE_LAWS,
    POST_RESOLUTION_MEDIAN,
    POST_RESOLUTION_SIGMA,
)
from cashsim.ledger import DISPUTE_TYPES

#: median days to resolution and log-sd of each dispute type, in ``DISPUTE_TYPES`` order (``DISPUTE_LAWS``)
_MEDIAN_DAYS = np.array([DISPUTE_LAWS[t].median_days for t in DISPUTE_TYPES])
_SIGMA = np.array([DISPUTE_LAWS[t].sigma for t in DISPUTE_TYPES])
#: each dispute type's share, in ``DISPUTE_TYPES`` order, their running sum and total (drawing a type by inversion)
_SHARES = np.array([DISPUTE_LAWS[t].share for t in DISPUTE_TYPES])
_CUM_SHARES, _TOTAL_SHARE = np.cumsum(_SHARES), _SHARES.sum()


def _disputes(rng: np.random.Generator, inv: pd.DataFrame, rate: np.ndarray) -> pd.DataFrame:
    """Dispute flag, type, opening day (issue + 5..40), resolution day and the natural payment day after it."""
    n = len(inv)
    disputed = rng.random(n) < rate
    kind = np.searchsorted(_CUM_SHARES, rng.random(n) * _TOTAL_SHARE, side="right")
    opened = inv["issue"].to_numpy() + rng.integers(5, 41, n)
    resolution = _resolution_days(kind, rng.standard_normal(n))
    resolved = opened + resolution
    post = _post_resolution_days(rng.standard_normal(n))
    credit = disputed & (kind == 0) & (rng.random(n) < CREDIT_NOTE_SHARE)
    credit_share = rng.uniform(*CREDIT_NOTE_RANGE, n)
    return pd.DataFrame({"disputed": disputed, "dispute_type": np.array(DISPUTE_TYPES)[kind], "opened": opened,
                         "resolved": resolved, "ready": resolved + post, "credit_note": credit,
                         "credit_share": credit_share})


def _resolution_days(kind: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Days from opening to resolution of disputes of type index ``kind`` (into ``DISPUTE_TYPES``) for the standard
    normals ``z``: ``max(1, round(median exp(sigma z)))``, log-normal by type (``DISPUTE_LAWS``)."""
    median, sig = _MEDIAN_DAYS[kind], _SIGMA[kind]
    return np.maximum(1, np.rint(median * np.exp(sig * z))).astype(np.int64)


def _resolution_z_floor(kind: np.ndarray, days: np.ndarray) -> np.ndarray:
    """The normal ``z`` above which :func:`_resolution_days` exceeds ``days`` (a resolution later than ``days``
    after opening): ``median exp(sigma z) >= days + 1/2``; ``-inf`` when every resolution does."""
    median, sig = _MEDIAN_DAYS[kind], _SIGMA[kind]
    days = np.asarray(days, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(days < 1, -np.inf, np.log((days + 0.5) / median) / sig)


def _post_resolution_days(z: np.ndarray) -> np.ndarray:
    """Days from resolution to the natural payment day for the standard normals ``z`` (log-normal, median
    ``POST_RESOLUTION_MEDIAN``, log-sd ``POST_RESOLUTION_SIGMA``, rounded)."""
    return np.rint(POST_RESOLUTION_MEDIAN * np.exp(POST_RESOLUTION_SIGMA * z)).astype(np.int64)
