"""Pure row operations on pmfs (laws of the pay day over the grid), vectorised over rows, and a discount's annual cost.

A pmf row has one column per grid day (calendar days relative to the due date; G = grid length); its sum is
P(paid within the grid), the rest 1 - sum is the never-paid mass. Every transform takes rows of shape (n, G) and
returns rows of the same shape. The timing transforms (:func:`pull_forward`, :func:`scale_hazard`,
:func:`shift_days`, :func:`cap_survival`) keep **each row's sum**: they change when an invoice is paid, never
whether. :func:`recover` moves never-paid mass onto paid days (a row's sum rises, never above 1: a threat or a
court order recovers what was owed, never more) and :func:`forfeit` moves paid mass back to never paid. Arguments
after ``rows`` are per row (grid positions, shares, days, amounts).

Example::

    >>> rows = np.array([[0.0, 0.5, 0.5]])
    >>> pull_forward(rows, np.array([0]), np.array([0]), np.array([2]), np.array([0.5]))
    array([[0.5 , 0.25, 0.25]])
"""

from __future__ import annotations

import numpy as np


def annualised_discount_rate(rate: float, deadline_days: float, net_days: float) -> float:
    """Annual cost of an early-payment discount (*escompte pour paiement anticipé*): d/(1-d) x 365/(N-D).

    Paying ``D`` days after issue instead of ``N`` earns ``d`` on ``1-d`` for ``N-D`` days.
    ``annualised_discount_rate(0.02, 10, 30)`` = 0.3724 (37.2 % a year, simple interest).
    """
    span = net_days - deadline_days
    if span <= 0:
        return float("inf")
    return rate / (1.0 - rate) * 365.0 / span


def pull_forward(rows: np.ndarray, to_idx: np.ndarray, lo_idx: np.ndarray, hi_idx: np.ndarray,
                 share: np.ndarray) -> np.ndarray:
    """Move ``share`` of each row's mass on grid positions ``lo_idx < g <= hi_idx`` to position ``to_idx``.

    Rows sums are kept exactly (what leaves a day arrives on ``to_idx``). Arguments after ``rows`` are per row.
    """
    g = np.arange(rows.shape[1])
    band = (g > lo_idx[:, None]) & (g <= hi_idx[:, None])
    moved = rows * band * share[:, None]
    out = rows - moved
    out[np.arange(rows.shape[0]), to_idx] += moved.sum(axis=1)
    return out


def scale_hazard(rows: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    """Multiply the daily hazard of paying by ``multiplier`` (same shape as ``rows``), keeping each row's sum.

    The hazard is taken on the law *given eventual payment*, q = p / sum(p): h_g = q_g / S_{g-1}, S_g = 1 - sum q.
    New h'_g = min(1, h_g m_g), q'_g = h'_g prod_{j<g}(1 - h'_j); the last grid day takes what is left. The
    never-paid mass is kept: the lever acts on timing only. Row by row in compiled code (no GIL, no big
    temporaries): the same operations in the same order as :func:`_scale_hazard_numpy`, so the same numbers.
    """
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    mult = np.ascontiguousarray(np.broadcast_to(multiplier, rows.shape), dtype=np.float64)
    if rows.shape[1] == 0:
        return rows.copy()
    paid = rows.sum(axis=1)                             # numpy's (pairwise) row sums, as the reference
    out = np.empty_like(rows)
    from cashsim.levers._hazard import _scale_hazard_rows  # here: importing the lever specs loads no numba

    _scale_hazard_rows(rows, mult, paid, out)
    return out


def _scale_hazard_numpy(rows: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    """:func:`scale_hazard` in numpy (the reference its compiled loop reproduces; tests compare them)."""
    paid = rows.sum(axis=1, keepdims=True)
    q = np.divide(rows, paid, out=np.zeros_like(rows), where=paid > 0)
    surv_before = np.zeros_like(q)                     # 1 - sum of q before each day: [0, cumsum(q)[:-1]] ...
    np.cumsum(q[:, :-1], axis=1, out=surv_before[:, 1:])
    np.subtract(1.0, surv_before, out=surv_before)     # ... in place (the same numbers, fewer big temporaries)
    h = np.divide(q, surv_before, out=np.ones_like(q), where=surv_before > 1e-12)
    h *= multiplier
    np.clip(h, 0.0, 1.0, out=h)
    h[:, -1] = 1.0
    alive = surv_before                                # reused: [1, cumprod(1 - h)[:-1]]
    alive[:, 0] = 1.0
    np.subtract(1.0, h[:, :-1], out=q[:, :-1])
    np.cumprod(q[:, :-1], axis=1, out=alive[:, 1:])
    alive *= h
    alive *= paid
    return alive


def shift_days(rows: np.ndarray, days: np.ndarray, floor_idx: np.ndarray | None = None) -> np.ndarray:
    """Move each row's mass ``days`` grid days later (negative: earlier), piling at the grid ends (or ``floor_idx``)."""
    n, width = rows.shape
    if floor_idx is None and n and width > 1 and (days == days[0]).all() and abs(int(days[0])) <= 32:
        return _shift_all(rows, int(days[0]))
    g = np.arange(width)
    target = np.clip(g[None, :] + days[:, None], 0, width - 1)
    if floor_idx is not None:
        target = np.maximum(target, floor_idx[:, None])
    # numpy.add.at(zeros, (row, target), rows) by numpy.bincount: each target from 0.0, adding its source days in
    # turn (the same sums, in the same order), without add.at's slow loop
    flat = (np.arange(n)[:, None] * width + target).ravel()
    out = np.bincount(flat, weights=np.asarray(rows, dtype=np.float64).ravel(), minlength=n * width)
    return out.reshape(n, width).astype(rows.dtype, copy=False)


def _shift_all(rows: np.ndarray, d: int) -> np.ndarray:
    """:func:`shift_days` of every row by the same ``d`` days (no floor), by columns: the same sums, in the same
    order, as its ``numpy.add.at`` (each target from 0.0, adding its source days in turn), without its slow loop."""
    width = rows.shape[1]
    out = np.zeros_like(rows)
    k = min(abs(d), width - 1)                      # source days beyond the first (or last) that pile on the end
    pile = slice(width - 1 - k, width) if d >= 0 else slice(0, k + 1)
    src = rows[:, pile]
    acc = 0.0 + src[:, 0]
    for j in range(1, src.shape[1]):
        acc = acc + src[:, j]
    if d >= 0:
        if d < width - 1:                           # one source day per target day: 0.0 + it
            out[:, d:width - 1] = 0.0 + rows[:, :width - 1 - d]
        out[:, width - 1] = acc
    else:
        if k < width - 1:
            out[:, 1:width - k] = 0.0 + rows[:, k + 1:]
        out[:, 0] = acc
    return out


def window_multiplier(grid: np.ndarray, starts: np.ndarray, lengths: np.ndarray, effects: np.ndarray) -> np.ndarray:
    """Hazard multiplier over ``grid`` of a set of actions: prod_s (1 + g_s) on days [start_s, start_s + k_s).

    ``starts``/``lengths``/``effects`` have shape (n_rows, n_actions) (NaN start = no action); returns (n_rows, G).
    """
    starts = np.atleast_2d(starts)
    on = (grid[None, None, :] >= starts[..., None]) & (grid[None, None, :] < (starts + lengths)[..., None])
    return np.prod(np.where(on, 1.0 + effects[..., None], 1.0), axis=1)


def recover(rows: np.ndarray, lo_idx: np.ndarray, hi_idx: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Add ``amount`` of paid mass, spread evenly over grid positions ``lo_idx <= g < hi_idx`` (a response window).

    ``amount`` is capped at each row's never-paid mass 1 - sum(row), so a row never sums above 1; the part of the
    window past the grid end is cut (what would arrive later is not paid within the grid). Rows whose window starts
    past the grid end are unchanged.

    >>> recover(np.array([[0.5, 0.0, 0.0]]), np.array([1]), np.array([3]), np.array([0.2]))
    array([[0.5, 0.1, 0.1]])
    """
    n, width = rows.shape
    lo = np.clip(lo_idx, 0, width)
    hi = np.clip(np.maximum(hi_idx, lo + 1), 0, width)
    full = np.maximum(np.asarray(hi_idx) - lo, 1)                  # window length before cutting at the grid end
    amount = np.clip(np.minimum(amount, 1.0 - rows.sum(axis=1)), 0.0, None)
    g = np.arange(width)
    on = (g[None, :] >= lo[:, None]) & (g[None, :] < hi[:, None])
    return rows + on * (amount / full)[:, None]


def forfeit(rows: np.ndarray, from_idx: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Remove ``amount`` of paid mass from grid positions ``g >= from_idx``, in proportion to what is there.

    The inverse of :func:`recover`: a plan that drops a recovering step loses what that step recovered. Never
    removes more than the mass on those days (rows stay >= 0).

    >>> forfeit(np.array([[0.5, 0.2, 0.2]]), np.array([1]), np.array([0.2]))
    array([[0.5, 0.1, 0.1]])
    """
    g = np.arange(rows.shape[1])
    after = g[None, :] >= np.asarray(from_idx)[:, None]
    there = (rows * after).sum(axis=1)
    keep = 1.0 - np.divide(np.clip(amount, 0.0, None), there, out=np.zeros_like(there), where=there > 0)
    return np.where(after, rows * np.clip(keep, 0.0, 1.0)[:, None], rows)


def cap_survival(rows: np.ndarray, survival: np.ndarray) -> np.ndarray:
    """Pay by an independent deadline at the latest: S'(g) = S(g) x B(g) on the law given eventual payment.

    ``survival`` (same shape as ``rows``) is B(g) = P(the deadline event has not brought payment by day g); the
    new pay day is the earlier of the invoice's own and the deadline's. Each row's sum is kept (the never-paid
    share is the row's own). Used for disputes resolved within their service level: B(g) = P(deadline + D > g),
    D the delay from resolution to payment.

    >>> cap_survival(np.array([[0.0, 0.5, 0.5]]), np.array([[1.0, 0.0, 0.0]]))
    array([[0., 1., 0.]])
    """
    paid = rows.sum(axis=1, keepdims=True)
    q = np.divide(rows, paid, out=np.zeros_like(rows), where=paid > 0)
    surv = np.clip(1.0 - np.cumsum(q, axis=1), 0.0, 1.0) * np.clip(survival, 0.0, 1.0)
    surv[:, -1] = 0.0                                                 # the grid's last day takes what is left
    before = np.concatenate([np.ones((rows.shape[0], 1)), surv[:, :-1]], axis=1)
    return (before - surv) * paid
