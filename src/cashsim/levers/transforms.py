"""Pure row operations on pmfs (laws of the pay day over the grid), vectorised over rows, and a discount's annual cost.

A pmf row has one column per grid day (calendar days relative to the due date; G = grid length). Every transform
takes rows of shape (n, G) and returns rows of the same shape with **each row's sum kept**: a lever changes when
an invoice is paid, never whether it is. Arguments after ``rows`` are per row (grid positions, shares, days).

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
    never-paid mass is kept: the lever acts on timing only.
    """
    paid = rows.sum(axis=1, keepdims=True)
    q = np.divide(rows, paid, out=np.zeros_like(rows), where=paid > 0)
    surv_before = 1.0 - np.concatenate([np.zeros((rows.shape[0], 1)), np.cumsum(q, axis=1)[:, :-1]], axis=1)
    h = np.divide(q, surv_before, out=np.ones_like(q), where=surv_before > 1e-12)
    h = np.clip(h * multiplier, 0.0, 1.0)
    h[:, -1] = 1.0
    surv = np.cumprod(1.0 - h, axis=1)
    alive = np.concatenate([np.ones((rows.shape[0], 1)), surv[:, :-1]], axis=1)
    return alive * h * paid


def shift_days(rows: np.ndarray, days: np.ndarray, floor_idx: np.ndarray | None = None) -> np.ndarray:
    """Move each row's mass ``days`` grid days later (negative: earlier), piling at the grid ends (or ``floor_idx``)."""
    n, width = rows.shape
    g = np.arange(width)
    target = np.clip(g[None, :] + days[:, None], 0, width - 1)
    if floor_idx is not None:
        target = np.maximum(target, floor_idx[:, None])
    out = np.zeros_like(rows)
    np.add.at(out, (np.repeat(np.arange(n), width), target.ravel()), rows.ravel())
    return out


def window_multiplier(grid: np.ndarray, starts: np.ndarray, lengths: np.ndarray, effects: np.ndarray) -> np.ndarray:
    """Hazard multiplier over ``grid`` of a set of actions: prod_s (1 + g_s) on days [start_s, start_s + k_s).

    ``starts``/``lengths``/``effects`` have shape (n_rows, n_actions) (NaN start = no action); returns (n_rows, G).
    """
    starts = np.atleast_2d(starts)
    on = (grid[None, None, :] >= starts[..., None]) & (grid[None, None, :] < (starts + lengths)[..., None])
    return np.prod(np.where(on, 1.0 + effects[..., None], 1.0), axis=1)
