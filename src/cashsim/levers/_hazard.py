"""The compiled loop of :func:`cashsim.levers.transforms.scale_hazard`, in a module of its own: the lever specs
(imported by every params load and every command's parser) load no numba; the loop's module is imported the first
time a hazard is scaled."""

from __future__ import annotations

import numba


@numba.njit(nogil=True, cache=True)
def _scale_hazard_rows(rows, mult, paid, out):
    """:func:`_scale_hazard_numpy` row by row: every element goes through the same operations in the same order
    (running sums and products left to right, as ``numpy.cumsum`` / ``cumprod``), so the same numbers."""
    n, width = rows.shape
    for i in range(n):
        s = paid[i]
        acc = 0.0                       # sum of q before day g
        alive = 1.0                     # prod of (1 - h) before day g
        for g in range(width):
            q = rows[i, g] / s if s > 0 else 0.0
            surv = 0.0 if g == 0 else acc   # [0, cumsum(q)[:-1]] then 1 - it
            surv = 1.0 - surv
            h = q / surv if surv > 1e-12 else 1.0
            h *= mult[i, g]
            if h < 0.0:
                h = 0.0
            elif h > 1.0:
                h = 1.0
            if g == width - 1:
                h = 1.0
            out[i, g] = alive * h * s
            acc = q if g == 0 else acc + q
            alive = alive * (1.0 - h) if g > 0 else 1.0 - h
    return out
