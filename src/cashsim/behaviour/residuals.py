"""Semi-parametric AFT: the law of the standardised residual ``W`` estimated from the data (``family: empirical``).

``log t = eta + sigma W`` as in :mod:`cashsim.behaviour.aft`, but ``W``'s law ``G`` is not fixed (normal or minimum
extreme value): it is read from the history's standardised residuals ``z = (log t - eta) / sigma`` under the
log-normal fit's ``eta`` (fixed part, customer and due-month effects) and ``sigma`` (per segment), two stages:

1. the log-normal AFT gives ``eta`` and ``sigma`` (:func:`cashsim.behaviour.aft.fit_aft`);
2. ``G`` is the self-consistent (Turnbull) Kaplan-Meier estimate on bins of :data:`BIN` in ``z`` from the exact,
   right-censored (open) and interval-censored (held to a payment day) residuals, each with its recency weight.
   An open invoice counts as at risk with weight ``w q``, ``q = (1 - pi) S(z) / (pi + (1 - pi) S(z))`` its
   probability of being paid one day under the log-normal fit (the cure mixture's E-step), so a never-paid invoice
   does not stretch the tail. An interval row's payment is spread over the bins of its interval in proportion to
   the current ``G`` (:data:`TURNBULL_STEPS` self-consistency steps from the normal).

Where data are thin the log-normal is the fallback: beyond the last bin with :data:`TAIL_RISK` (weighted) invoices
still at risk the hazard is the normal's (``S(z) = S(z0) Phi(-z) / Phi(-z0)``), below the first :data:`TAIL_RISK`
payments the CDF is the normal's scaled (``F(z) = F(z1) Phi(z) / Phi(z1)``), and the whole law is shrunk to the
normal with a prior worth :data:`PRIOR_ROWS` invoices. The density is then smoothed by a Gaussian kernel of
bandwidth ``0.9 n^(-1/5)`` (Silverman's rule for a unit-variance law; never below one bin).

A segment's law is its own, shrunk to the pooled law of all segments with the same :data:`PRIOR_ROWS` weight.
The predictive law of an invoice is ``G`` read at ``(log t - eta) / s`` with ``s`` the predictive scale
(``sigma`` plus the month and customer-effect variances), the same rescaling as the Weibull family's.

>>> rng = np.random.default_rng(0); z = rng.standard_normal(20_000)
>>> law = residual_law(z, np.ones(20_000, bool))
>>> bool(abs(law.cdf(np.array([1.0]))[0] - 0.8413) < 0.01)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from cashsim.behaviour.aft import row_kinds

#: Bin width of the residual grid and its span (standardised units).
BIN, Z_MAX = 0.05, 8.0
#: Weighted invoices at risk (right tail) / paid (left tail) below which the normal's shape takes over.
TAIL_RISK = 50.0
#: Weight of the normal law, in invoices, in the shrinkage of a thin law (and of a segment's law to the pooled one).
PRIOR_ROWS = 200.0
#: Self-consistency (Turnbull) steps for interval-censored residuals.
TURNBULL_STEPS = 30

EDGES = np.arange(-Z_MAX, Z_MAX + BIN / 2, BIN)
_K = len(EDGES) - 1


@dataclass(frozen=True, eq=False)
class ResidualLaw:
    """A tabulated law of the standardised residual ``W``: one CDF row per scale group (segment) on :data:`EDGES`
    (``table[g]``), the normal beyond the edges. ``n[g]``: the weighted invoices behind group ``g``'s own law."""

    table: np.ndarray
    n: np.ndarray

    def cdf(self, z: np.ndarray, group: np.ndarray | int | None = None) -> np.ndarray:
        """``G(z)`` of group ``group`` (None or -1: the pooled law, the last row), linear between edges, normal
        outside."""
        z = np.asarray(z, float)
        if group is None or np.ndim(group) == 0:
            row = self.table[-1 if group is None else int(group)]
            out = np.interp(z, EDGES, row)
        else:
            g = np.broadcast_to(np.asarray(group, int).reshape(np.shape(group) + (1,) * (z.ndim - np.ndim(group))),
                                z.shape)
            pos = np.clip((z - EDGES[0]) / BIN, 0.0, _K - 1e-9)
            i = pos.astype(np.int64)
            frac = pos - i
            out = self.table[g, i] * (1 - frac) + self.table[g, i + 1] * frac
        outside = (z < EDGES[0]) | (z > EDGES[-1])
        if np.any(outside):
            out = np.where(outside, special.ndtr(z), out)
        return out


def _bin(z: np.ndarray) -> np.ndarray:
    return np.clip(np.floor((z - EDGES[0]) / BIN).astype(np.int64), 0, _K - 1)


def _turnbull(k_exact, w_exact, k_cens, w_cens, k_lo, k_hi, w_int
              ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Binned self-consistent Kaplan-Meier: pmf over the :data:`EDGES` bins, total weight, weighted at-risk counts
    and payments per bin.

    Exact payments die in their bin; a censored row is at risk through its bin; an interval row ``[k_lo, k_hi]``
    dies in each bin of its interval in proportion to the current pmf (difference arrays: no per-row loop)."""
    base = np.diff(special.ndtr(EDGES))
    pmf = base / base.sum()
    d_exact = np.bincount(k_exact, weights=w_exact, minlength=_K)
    r_exact = np.cumsum(d_exact[::-1])[::-1]
    r_cens = np.cumsum(np.bincount(k_cens, weights=w_cens, minlength=_K)[::-1])[::-1]
    steps = TURNBULL_STEPS if len(k_lo) else 1
    for _ in range(steps):
        cum = np.concatenate([[0.0], np.cumsum(pmf)])           # cum[k] = P(bin < k)
        p_int = np.maximum(cum[k_hi + 1] - cum[k_lo], 1e-300)
        c = w_int / p_int
        coef = np.cumsum(np.bincount(k_lo, weights=c, minlength=_K + 1)
                         - np.bincount(k_hi + 1, weights=c, minlength=_K + 1))[:_K]
        d_int = pmf * coef                                       # expected payments of interval rows per bin
        # at risk at bin k: rows whose interval starts at or after k, plus P(T >= k | interval) inside it
        start_after = np.cumsum(np.bincount(k_lo, weights=w_int, minlength=_K)[::-1])[::-1]
        inside = np.cumsum(np.bincount(k_lo + 1, weights=c * cum[k_hi + 1], minlength=_K + 1)
                           - np.bincount(k_hi + 1, weights=c * cum[k_hi + 1], minlength=_K + 1))[:_K]
        inside_cnt = np.cumsum(np.bincount(k_lo + 1, weights=c, minlength=_K + 1)
                               - np.bincount(k_hi + 1, weights=c, minlength=_K + 1))[:_K]
        r_int = start_after + inside - cum[:_K] * inside_cnt
        deaths = d_exact + d_int
        at_risk = r_exact + r_cens + np.maximum(r_int, 0.0)
        hazard = np.divide(deaths, at_risk, out=np.zeros(_K), where=at_risk > 1e-12)
        surv = np.cumprod(1.0 - np.clip(hazard, 0.0, 1.0))
        pmf = -np.diff(np.concatenate([[1.0], surv]))
    return np.maximum(pmf, 0.0), float(w_exact.sum() + w_cens.sum() + w_int.sum()), at_risk, deaths


def _with_normal_tails(pmf: np.ndarray, at_risk: np.ndarray, deaths: np.ndarray) -> np.ndarray:
    """CDF on :data:`EDGES` from a binned pmf, with the normal's shape where fewer than :data:`TAIL_RISK` invoices
    are at risk (right) or have paid (left)."""
    cdf = np.concatenate([[0.0], np.cumsum(pmf)])
    cdf = np.minimum(cdf, 1.0)
    phi = special.ndtr(EDGES)
    right = np.flatnonzero(at_risk >= TAIL_RISK)
    if len(right) == 0:
        return phi
    k0 = int(right[-1]) + 1                                  # edge after the last well-populated bin
    s0 = 1.0 - cdf[k0]
    cdf[k0:] = 1.0 - s0 * special.ndtr(-EDGES[k0:]) / max(special.ndtr(-EDGES[k0]), 1e-300)
    left = np.flatnonzero(np.cumsum(deaths) >= TAIL_RISK)
    if len(left):
        k1 = int(left[0]) + 1
        if k1 < k0:
            cdf[:k1] = cdf[k1] * phi[:k1] / max(phi[k1], 1e-300)
    return np.maximum.accumulate(np.clip(cdf, 0.0, 1.0))


def _smooth(cdf: np.ndarray, n: float) -> np.ndarray:
    """The CDF whose density is the binned density smoothed by a Gaussian kernel of bandwidth 0.9 n^(-1/5)."""
    bw = max(0.9 * max(n, 1.0) ** -0.2, BIN)
    pmf = np.diff(cdf)
    half = int(np.ceil(4 * bw / BIN))
    x = np.arange(-half, half + 1) * BIN
    kern = np.exp(-0.5 * (x / bw) ** 2)
    kern /= kern.sum()
    sm = np.convolve(np.pad(pmf, half, mode="constant"), kern, mode="same")[half:-half]
    lost = pmf.sum() - sm.sum()
    out = np.concatenate([[cdf[0]], cdf[0] + np.cumsum(sm)])
    out[-1] += lost
    return np.maximum.accumulate(np.clip(out, 0.0, 1.0))


def _group_cdf(z, kind, z_lo, w) -> tuple[np.ndarray, float]:
    """One group's smoothed CDF on :data:`EDGES` (before shrinkage) and its weight."""
    ex, ce, iv = kind == 0, kind == 1, kind == 2
    k_lo = _bin(z_lo[iv])
    k_hi = np.maximum(_bin(z[iv]), k_lo)
    pmf, n, at_risk, deaths = _turnbull(_bin(z[ex]), w[ex], _bin(z[ce]), w[ce], k_lo, k_hi, w[iv])
    if n <= 0:
        return special.ndtr(EDGES), 0.0
    return _smooth(_with_normal_tails(pmf, at_risk, deaths), n), n


def residual_law(z: np.ndarray, observed: np.ndarray, *, z_lower: np.ndarray | None = None,
                 weights: np.ndarray | None = None, cure: np.ndarray | float = 0.0,
                 group: np.ndarray | None = None) -> ResidualLaw:
    """The estimated law of the standardised residuals ``z`` (module docstring).

    ``observed``: paid (``z`` exact, or the upper edge of an interval when ``z_lower < z``); open rows are
    right-censored at ``z``, counted with the weight ``q`` of the cure mixture (``cure`` = their ``pi``).
    ``group``: scale group per row (e.g. segment); row ``g`` of the result is group ``g``'s law shrunk to the
    pooled one, and the pooled law (shrunk to the normal) is the last row.
    """
    z = np.asarray(z, float)
    obs = np.asarray(observed, bool)
    n = len(z)
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    pi = np.broadcast_to(np.asarray(cure, float), (n,))
    z_lo = np.full(n, np.nan) if z_lower is None else np.asarray(z_lower, float)
    kind = row_kinds(obs, z, z_lo)   # NaN lower (exact payment) is never below z
    surv = special.ndtr(-z)
    q = np.where(kind == 1, (1 - pi) * surv / np.maximum(pi + (1 - pi) * surv, 1e-300), 1.0)
    w = w * q
    group = np.zeros(n, int) if group is None else np.asarray(group, int)
    n_grp = int(group.max()) + 1 if n else 1
    normal = special.ndtr(EDGES)
    pooled, n_all = _group_cdf(z, kind, z_lo, w)
    pooled = (n_all * pooled + PRIOR_ROWS * normal) / (n_all + PRIOR_ROWS)
    rows, sizes = [], []
    for g in range(n_grp):
        sel = group == g
        own, n_g = _group_cdf(z[sel], kind[sel], z_lo[sel], w[sel]) if sel.any() else (pooled, 0.0)
        rows.append((n_g * own + PRIOR_ROWS * pooled) / (n_g + PRIOR_ROWS))
        sizes.append(n_g)
    table = np.vstack(rows + [pooled])
    table[:, 0], table[:, -1] = np.minimum(table[:, 0], normal[0]), np.maximum(table[:, -1], normal[-1])
    return ResidualLaw(table=table, n=np.array(sizes + [n_all]))
