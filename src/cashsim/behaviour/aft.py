"""Censored accelerated-failure-time (AFT) fit with empirical-Bayes customer and due-month effects.

The law of ``t = days from issue to the natural payment day + 1`` (units: days; the natural day is the one before
the customer's payment calendar holds it, :mod:`cashsim.behaviour.paydays`):

* ``log t = x'beta + u_customer + m_month + sigma_segment * W`` with ``W`` standard normal (log-normal times) or
  minimum extreme value (Weibull times, a lighter right tail); the fit keeps the family with the larger Laplace
  marginal likelihood on the history (methods.md 1.2 "compare by AIC"; both are densities of ``log t``).
* Invoices still open at ``as_of`` are right-censored: never dropped and never treated as paid. The likelihood is
  a cure mixture: a censored invoice contributes ``pi + (1 - pi) S(c)``, so an invoice that will never be paid
  does not stretch the tail of the others. A payment held to the customer's next payment day is interval-censored,
  ``F(hi) - F(lo)``. Each invoice carries its recency weight ``w``.
* **Customer effect, empirical Bayes.** ``u_j ~ N(0, tau_s^2)`` per segment ``s``: ``u_j`` is the posterior mode of
  ``sum_i w_i loglik_i(u_j) - u_j^2 / (2 tau_s^2)`` (Newton steps over all customers at once, jointly with ``beta``
  through a Schur complement) and ``tau_s^2`` maximises the Laplace-approximate marginal likelihood. A customer
  with 2 invoices is pulled toward its segment, one with 40 keeps its own behaviour. Never hard-coded.
* **Month effect.** ``m_month ~ N(0, tau_month^2)`` by due month, a crossed random effect in log-time units (a bad
  month slows every segment by the same factor), with the posterior variance of each month's effect. Optionally
  (``period_group``) scaled by a loading per segment, ``lambda_s m_month`` (1 for the reference segment, shrunk
  toward 1); :func:`cashsim.behaviour.fit.fit_behaviour` keeps it only where a likelihood ratio supports it.

>>> standard_cdf(np.array([0.0]), "weibull").round(4).tolist()
[0.6321]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse, special

from cashsim.errors import ModelError


@dataclass(frozen=True, eq=False)
class AFTFit:
    """A fitted log-normal AFT: ``log t = X beta + u[cluster] + sigma[scale] * e``.

    ``u`` are the customers' posterior modes, ``u_var`` their posterior variances (inverse curvature), ``tau2`` the
    between-customer variance per cluster group, ``loglik`` the Laplace approximation of the weighted marginal
    log-likelihood (comparable across families: both are densities of ``log t``).
    ``m`` are the period (due-month) effects in log-time units (``log t += m[period]``), ``tau2_period``
    their variance (0 when no period was given).
    """

    beta: np.ndarray
    sigma: np.ndarray
    u: np.ndarray
    u_var: np.ndarray
    tau2: np.ndarray
    loglik: float
    n_iter: int
    converged: bool
    m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tau2_period: float = 0.0
    family: str = "lognormal"
    #: posterior variances of the period effects, ``1 / (curvature + 1 / tau2_period)``
    m_var: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: the estimated law of ``W`` when ``family == "empirical"`` (:mod:`cashsim.behaviour.residuals`), else None
    residual: Any = None
    #: per loading group (segment), the factor ``lambda_g`` of the period effect (``log t += lambda_g m[period]``);
    #: empty when the effect is shared as it is (every ``lambda = 1``)
    m_loading: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: per period variance group (``period_var_group`` of :func:`fit_aft`), its own ``tau2``; empty when one
    #: ``tau2_period`` serves every period
    tau2_period_group: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def error_law(self) -> Any:
        """What :func:`standard_cdf` takes as ``family``: the estimated residual law, else the family's name."""
        return self.residual if self.residual is not None else self.family


#: Error laws of the AFT: ``lognormal`` (W normal) and ``weibull`` (W minimum extreme value: a lighter right tail).
FAMILIES = ("lognormal", "weibull")
#: The semi-parametric option: W's law estimated from the residuals (:mod:`cashsim.behaviour.residuals`).
EMPIRICAL = "empirical"
_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)
#: Prior sd of a period loading ``lambda_g`` around 1 (:func:`fit_aft`, ``period_group``): a group whose months carry
#: little information keeps ``lambda`` near 1.
LOADING_PRIOR_SD = 0.25


def standard_cdf(z: np.ndarray, family: Any = "lognormal", group: np.ndarray | None = None) -> np.ndarray:
    """CDF of the standardised error ``W`` of ``log t = eta + sigma W``: ``Phi(z)`` or ``1 - exp(-exp(z))``, or an
    estimated law (an object with ``cdf(z, group)``, :class:`cashsim.behaviour.residuals.ResidualLaw`; ``group``:
    each row's scale group, None for the pooled law).

    >>> standard_cdf(np.array([0.0]), "weibull").round(4).tolist()
    [0.6321]
    """
    z = np.asarray(z, float)
    if not isinstance(family, str):
        return family.cdf(z, group)
    if family == "weibull":
        return -np.expm1(-np.exp(np.minimum(z, 50.0)))
    return special.ndtr(z)


def _interval_terms(lo: np.ndarray, hi: np.ndarray, eta: np.ndarray, sigma: np.ndarray, family: str
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Log-likelihood of a payment known only to lie in ``[lo, hi)`` of ``log t`` (a payment held to the customer's
    next payment day: its natural day lies between the previous payment day, excluded, and the observed one) and
    its derivatives in eta (first, second) and log sigma.

    ``P = F(b) - F(a)``, ``a, b = (lo, hi - eta) / s``; ``d log P / d eta = (f(a) - f(b)) / (s P)``;
    ``d2 P / d eta2 = (f'(b) - f'(a)) / s^2`` with ``f'(z) = -z f(z)`` (normal) or ``(1 - e^z) f(z)`` (min extreme
    value); ``d log P / d log s = (a f(a) - b f(b)) / P``. ``z`` is clipped to [-40, 40] (``f`` = 0 there).
    """
    a = np.clip((lo - eta) / sigma, -40.0, 40.0)
    b = np.clip((hi - eta) / sigma, -40.0, 40.0)
    if family == "weibull":
        ea, eb = np.exp(a), np.exp(b)
        sa, sb = np.exp(-ea), np.exp(-eb)
        prob = sa * -np.expm1(ea - eb)              # S(a) - S(b) without cancellation in the right tail
        fa, fb = ea * sa, eb * sb
        dfa, dfb = fa * (1.0 - ea), fb * (1.0 - eb)
    else:
        sgn = np.where(a > 0, -1.0, 1.0)            # right tail: difference of survivals, no cancellation
        prob = sgn * (special.ndtr(sgn * b) - special.ndtr(sgn * a))
        fa = np.exp(-0.5 * a * a - _HALF_LOG_2PI)
        fb = np.exp(-0.5 * b * b - _HALF_LOG_2PI)
        dfa, dfb = -a * fa, -b * fb
    prob = np.maximum(prob, 1e-300)
    g = (fa - fb) / (sigma * prob)
    h = (dfb - dfa) / (sigma * sigma * prob) - g * g
    return np.log(prob), g, h, (a * fa - b * fb) / prob


def row_kinds(observed: np.ndarray, y: np.ndarray, lower: np.ndarray | None) -> np.ndarray:
    """0 = exact payment time, 1 = right-censored (open), 2 = interval-censored (``lower < y``) for each row."""
    kind = np.where(observed, 0, 1).astype(np.int8)
    if lower is not None:
        kind[observed & (lower < y)] = 2
    return kind


def _sorted_terms(y: np.ndarray, eta: np.ndarray, sigma: np.ndarray, w: np.ndarray, cure: np.ndarray, family: str,
                  lower: np.ndarray | None, n0: int, n1: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-invoice weighted log-likelihood of ``y = log t`` and its derivatives in eta (first, second) and in
    log sigma, ``z = (y - eta) / s``, on rows sorted by kind (:func:`row_kinds`): ``[:n0]`` exact, ``[n0:n1]``
    right-censored, ``[n1:]`` interval-censored -- contiguous slices, so the ~25 calls of a fit copy nothing.

    lognormal: exact ``l = -log s - z^2/2 - log(2 pi)/2``, survival ``S = Phi(-z)``;
    weibull: exact ``l = -log s + z - e^z``, survival ``S = exp(-e^z)``;
    censored: ``l = log(pi + (1 - pi) S)`` (cure mixture, ``pi`` = ``cure``);
    interval: ``l = log(F(z_y) - F(z_lower))`` (:func:`_interval_terms`).
    """
    z = (y - eta) / sigma
    ll = np.empty_like(z)
    d1 = np.empty_like(z)
    d2 = np.empty_like(z)
    ds = np.empty_like(z)
    o = slice(0, n0)
    zo, so = z[o], sigma[o]
    if family == "weibull":
        ez = np.exp(np.minimum(zo, 50.0))
        ll[o] = -np.log(so) + zo - ez
        d1[o] = (ez - 1.0) / so
        d2[o] = -ez / (so * so)
        ds[o] = zo * ez - zo - 1.0
    else:
        ll[o] = -np.log(so) - 0.5 * zo * zo - _HALF_LOG_2PI
        d1[o] = zo / so
        d2[o] = -1.0 / (so * so)
        ds[o] = zo * zo - 1.0
    c = slice(n0, n1)
    if n1 > n0:
        zc, sc, pic = z[c], sigma[c], cure[c]
        if family == "weibull":
            ez = np.exp(np.minimum(zc, 50.0))
            log_s = -ez
            lam = ez                                           # hazard of W: d(-log S)/dz
            dlam = ez
        else:
            log_s = special.log_ndtr(-zc)
            lam = np.exp(-0.5 * zc * zc - _HALF_LOG_2PI - log_s)  # inverse Mills ratio phi/(1 - Phi)
            dlam = lam * (lam - zc)
        surv = np.exp(log_s)
        q = (1 - pic) * surv / (pic + (1 - pic) * surv)        # P(will pay | not paid yet)
        ll[c] = np.log(pic + (1 - pic) * surv)
        g = lam / sc                                           # d log S / d eta
        h = -dlam / (sc * sc)                                  # d2 log S / d eta2
        d1[c] = q * g
        d2[c] = q * h + q * (1 - q) * g * g
        ds[c] = q * lam * zc
    iv = slice(n1, len(z))
    if len(z) > n1:
        ll[iv], d1[iv], d2[iv], ds[iv] = _interval_terms(lower[iv], y[iv], eta[iv], sigma[iv], family)
    return w * ll, w * d1, w * d2, w * ds


def fit_aft(log_t: np.ndarray, observed: np.ndarray, X: np.ndarray, *, scale: np.ndarray | None = None,
            cluster: np.ndarray | None = None, cluster_group: np.ndarray | None = None,
            period: np.ndarray | None = None, weights: np.ndarray | None = None,
            cure: np.ndarray | float = 0.0, family: str = "lognormal", log_t_lower: np.ndarray | None = None,
            period_group: np.ndarray | None = None, loading_sd: float = LOADING_PRIOR_SD,
            period_var_group: np.ndarray | None = None, offset: np.ndarray | None = None,
            start: AFTFit | None = None, max_iter: int = 100, tol: float = 1e-7) -> AFTFit:
    """Censored maximum likelihood for an AFT (log-normal or Weibull) with empirical-Bayes random intercepts.

    ``log_t``: log of days-since-issue + 1 (observed) or of the censoring point (open invoices); ``observed``: bool;
    ``X``: (n, p) covariates; ``scale``: index of each row's sigma (e.g. segment); ``cluster``: customer index;
    ``cluster_group``: each cluster's group, for its own ``tau^2``; ``cure``: never-paid probability per row;
    ``period``: index of a crossed random effect in log-time units (the due month: ``log t += m[period]``,
    ``m ~ N(0, tau_p^2)``), so the fixed part describes a *normal* month and ``tau_p^2`` the month-to-month spread;
    ``log_t_lower``: for observed rows, the lower edge of an interval-censored time (``log t`` in
    ``[log_t_lower, log_t)``; rows with ``log_t_lower >= log_t`` or NaN are exact).
    ``period_group``: each row's loading group (e.g. segment): the period effect is then ``lambda_g m[period]``, with
    ``lambda = 1`` for the group of largest weight (the reference: ``m`` is in its units) and a prior
    ``lambda_g ~ N(1, loading_sd^2)`` (a thin group stays near 1); the free ``lambda_g`` join the joint step (1)
    below (Gauss-Newton: the period design scaled by ``lambda``, the loadings' design ``m[period]`` on their rows).
    ``period_var_group``: each period's variance group (e.g. the segment of a segment x due-month period): the
    periods of group ``k`` are ``N(0, tau_p[k]^2)``, each ``tau_p[k]^2`` by marginal likelihood as the customers'
    ``tau_s^2`` (``AFTFit.tau2_period_group``; ``tau2_period`` is then their mean weighted by periods).
    ``offset``: a known term of each row's location (``log t += offset``), e.g. a shared month effect under
    segment deviations.
    ``start``: a fit of the same rows whose estimates start this one (every ``lambda`` starts at 1).

    Each iteration: (1) one joint Newton step on ``(beta, u)`` for the penalised log-likelihood
    ``sum_i w_i l_i - sum_j u_j^2 / (2 tau_g^2)``, solved through the Schur complement of the diagonal customer block
    (so every customer's mode moves at once, at the cost of p bincounts), with step halving; (2) a secant-Newton step
    on each ``log sigma``; (3) ``tau_g^2`` by marginal likelihood of the Laplace approximation (:func:`_tau2_update`).

    >>> rng = np.random.default_rng(0); n = 2000
    >>> t = np.exp(3 + 0.5 * rng.standard_normal(n)); c = np.full(n, 40.0)
    >>> fit = fit_aft(np.log(np.minimum(t, c)), t < c, np.ones((n, 1)))
    >>> bool(abs(fit.beta[0] - 3) < 0.05 and abs(fit.sigma[0] - 0.5) < 0.05)
    True
    """
    y = np.asarray(log_t, float)
    obs = np.asarray(observed, bool)
    X = np.asarray(X, float)
    n, p = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    scale = np.zeros(n, int) if scale is None else np.asarray(scale, int)
    n_scale = int(scale.max()) + 1 if n else 1
    cure = np.broadcast_to(np.asarray(cure, float), (n,))
    lower = None if log_t_lower is None else np.nan_to_num(np.asarray(log_t_lower, float), nan=np.inf)
    if not obs.any():
        raise ModelError("no paid invoice in the history: the payment-time law cannot be fitted")
    has_re = cluster is not None
    if has_re:
        cluster = np.asarray(cluster, int)
        n_cl = int(cluster.max()) + 1 if cluster_group is None else len(cluster_group)
        cgroup = np.zeros(n_cl, int) if cluster_group is None else np.asarray(cluster_group, int)
        n_grp = int(cgroup.max()) + 1
    else:
        cluster = np.zeros(n, int)
        n_cl, cgroup, n_grp = 1, np.zeros(1, int), 1
    u = np.zeros(n_cl)
    tau2 = np.full(n_grp, 0.1)
    has_per = period is not None
    period = np.asarray(period, int) if has_per else np.zeros(n, int)
    n_per = int(period.max()) + 1 if has_per else 0
    mper = np.zeros(max(n_per, 1))
    pvg = np.zeros(max(n_per, 1), int) if period_var_group is None else np.asarray(period_var_group, int)
    n_pvg = int(pvg.max()) + 1 if len(pvg) else 1
    tau2_p = np.full(n_pvg, 0.05)
    grouped_var = has_per and period_var_group is not None

    def tau2_per():
        """Each period's prior variance (one scalar without variance groups: main's arithmetic, bit for bit)."""
        return tau2_p[pvg] if grouped_var else tau2_p[0]
    has_lam = has_per and period_group is not None
    pgroup = np.asarray(period_group, int) if has_lam else np.zeros(n, int)
    n_lam = int(pgroup.max()) + 1 if has_lam else 1
    lam = np.ones(n_lam)
    free = np.zeros(n_lam, bool)
    if has_lam:
        free[:] = True
        free[int(np.argmax(np.bincount(pgroup, weights=w, minlength=n_lam)))] = False
    # rows grouped by kind once (exact, censored, interval): every likelihood call then works on slices
    kind = row_kinds(obs, y, lower)
    order = np.argsort(kind, kind="stable")
    n0, n1 = (int(v) for v in np.searchsorted(kind[order], [1, 2]))
    y, obs, X, w, scale, cure, cluster, period, pgroup = (a[order] for a in (y, obs, X, w, scale, cure, cluster,
                                                                            period, pgroup))
    off = None if offset is None else np.asarray(offset, float)[order]
    lower = None if lower is None else lower[order]
    # sparse indicators (customer, month, customer x month) for the sums of the Newton system: one pass each
    rows = np.arange(n)
    to_cl = sparse.csr_matrix((np.ones(n), (cluster, rows)), shape=(n_cl, n))
    to_per = sparse.csr_matrix((np.ones(n), (period, rows)), shape=(max(n_per, 1), n))
    to_clper = sparse.csr_matrix((np.ones(n), (cluster * max(n_per, 1) + period, rows)),
                                 shape=(n_cl * max(n_per, 1), n)) if has_per and has_re else None
    fi = np.flatnonzero(free)                   # the loadings estimated (all groups but the reference)
    if has_lam:                                 # indicators of group, month x group, customer x group
        to_grp = sparse.csr_matrix((np.ones(n), (pgroup, rows)), shape=(n_lam, n))
        to_pergrp = sparse.csr_matrix((np.ones(n), (period * n_lam + pgroup, rows)), shape=(n_per * n_lam, n))
        to_clgrp = sparse.csr_matrix((np.ones(n), (cluster * n_lam + pgroup, rows)),
                                     shape=(n_cl * n_lam, n)) if has_re else None
    beta, *_ = np.linalg.lstsq(X[obs] * np.sqrt(w[obs, None]), y[obs] * np.sqrt(w[obs]), rcond=None)
    resid_sd = np.sqrt(np.average((y[obs] - X[obs] @ beta) ** 2, weights=w[obs]) + 1e-6)
    log_sig = np.full(n_scale, np.log(resid_sd))
    if start is not None:
        beta, log_sig = start.beta.copy(), np.log(start.sigma)
        if has_re:
            u, tau2 = start.u.copy(), start.tau2.copy()
        if has_per:
            mper = start.m.copy()
            tau2_p = start.tau2_period_group.copy() if len(start.tau2_period_group) == n_pvg \
                else np.full(n_pvg, start.tau2_period)

    def period_term(mm, ll_=None):
        """Each row's period effect ``lambda_g m[period]`` (``ll_``: the loadings, default the current ones)."""
        if not has_per:
            return 0.0
        return mm[period] * (lam if ll_ is None else ll_)[pgroup] if has_lam else mm[period]

    def penalised(b, uu, ls, mm, ll_=None):
        sig = np.exp(ls)[scale]
        eta = X @ b + (uu[cluster] if has_re else 0.0) + period_term(mm, ll_)
        if off is not None:
            eta = eta + off
        ll, d1, d2, ds = _sorted_terms(y, eta, sig, w, cure, family, lower, n0, n1)
        return ll.sum() - penalty(uu, mm, ll_), d1, d2, ds

    def penalty(uu, mm, ll_=None):
        """The random effects' log prior (tau2 and tau2_p as they stand when called) and the loadings' prior."""
        pen = 0.5 * np.sum(uu * uu / tau2[cgroup]) if has_re else 0.0
        if has_lam:
            pen += 0.5 * np.sum((((lam if ll_ is None else ll_) - 1.0) / loading_sd) ** 2)
        if not has_per:
            return pen
        return pen + (0.5 * np.sum(mm * mm / tau2_p[pvg]) if grouped_var else 0.5 * np.sum(mm * mm) / tau2_p[0])

    obj, d1, d2, ds = penalised(beta, u, log_sig, mper)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        # (1) joint Newton step on (beta, u); negative curvature (possible with the cure term) is clipped
        D = np.maximum(-d2, 1e-10)
        XD = X * D[:, None]
        gb = X.T @ d1
        A = XD.T @ X
        q = p
        lr = lam[pgroup] if has_lam else None       # the period design, scaled by each row's loading
        if has_per:  # the period effects join the dense block, with their prior on the diagonal
            g_m = to_per @ (d1 * lr if has_lam else d1) - mper / tau2_per()
            A_bm = (to_per @ (XD * lr[:, None] if has_lam else XD)).T
            A_mm = np.diag(to_per @ (D * lr * lr if has_lam else D) + 1.0 / tau2_per())
            A = np.block([[A, A_bm], [A_bm.T, A_mm]])
            gb = np.concatenate([gb, g_m])
            q = p + n_per
        if has_lam:  # the free loadings join too (Gauss-Newton: d eta / d lambda_g = m[period] on g's rows)
            mrow = mper[period]
            Dm = D * mrow
            g_l = (to_grp @ (d1 * mrow) - (lam - 1.0) / loading_sd ** 2)[fi]
            A_bl = (to_grp @ (XD * mrow[:, None]))[fi]
            A_ml = (to_pergrp @ (Dm * lr)).reshape(n_per, n_lam)[:, fi]
            A_ll = np.diag((to_grp @ (Dm * mrow))[fi] + 1.0 / loading_sd ** 2)
            A = np.block([[A, np.vstack([A_bl.T, A_ml])], [np.hstack([A_bl, A_ml.T]), A_ll]])
            gb = np.concatenate([gb, g_l])
            q += len(fi)
        if has_re:
            prior = 1.0 / tau2[cgroup]
            gu = to_cl @ d1 - u * prior
            C = to_cl @ D + prior
            B = to_cl @ XD
            if has_per:
                B = np.hstack([B, (to_clper @ (D * lr if has_lam else D)).reshape(n_cl, n_per)])
            if has_lam:
                B = np.hstack([B, (to_clgrp @ Dm).reshape(n_cl, n_lam)[:, fi]])
            S = A - B.T @ (B / C[:, None])
            dx = np.linalg.solve(S + 1e-10 * np.eye(q), gb - B.T @ (gu / C))
            du = (gu - B @ dx) / C
        else:
            dx = np.linalg.solve(A + 1e-10 * np.eye(q), gb)
            du = np.zeros(n_cl)
        db, dm = dx[:p], (dx[p:p + n_per] if has_per else np.zeros_like(mper))
        dl = np.zeros(n_lam)
        dl[fi] = dx[p + n_per:] if has_lam else 0.0
        step = 1.0
        for _ in range(30):
            new = penalised(beta + step * db, u + step * du, log_sig, mper + step * dm, lam + step * dl)
            if new[0] >= obj - 1e-9 * abs(obj):
                break
            step *= 0.5
        beta, u, mper, lam = beta + step * db, u + step * du, mper + step * dm, lam + step * dl
        step_l = step * dl
        obj, d1, d2, ds = new
        # (2) secant-Newton on log sigma per scale group
        g_s = np.bincount(scale, weights=ds, minlength=n_scale)
        eps = 1e-4
        _, _, _, ds_e = penalised(beta, u, log_sig + eps, mper)
        h_s = (np.bincount(scale, weights=ds_e, minlength=n_scale) - g_s) / eps
        step_s = np.clip(np.where(h_s < 0, -g_s / np.minimum(h_s, -1e-12), np.sign(g_s) * 0.1), -0.5, 0.5)
        new = penalised(beta, u, log_sig + step_s, mper)
        if new[0] >= obj - 1e-9 * abs(obj):
            log_sig = log_sig + step_s
            obj, d1, d2, ds = new
        # (3) between-customer variances (they change the prior only: the likelihood terms stay valid)
        old_tau2, old_tau2_p = tau2, tau2_p
        old_pen = penalty(u, mper)
        if has_re:
            info = np.bincount(cluster, weights=np.maximum(-d2, 0.0), minlength=n_cl)
            tau2 = _tau2_update(u, info, tau2, cgroup, n_grp)
        if has_per:
            info_m = np.bincount(period, weights=np.maximum(-d2, 0.0) * (lam[pgroup] ** 2 if has_lam else 1.0),
                                 minlength=n_per)
            tau2_p = _tau2_update(mper, info_m, tau2_p, pvg, n_pvg)
        obj += old_pen - penalty(u, mper)
        moved = max(np.max(np.abs(step * db)), np.max(np.abs(step * du)) if has_re else 0.0,
                    np.max(np.abs(step * dm)) if has_per else 0.0, np.max(np.abs(step_s)), np.max(np.abs(step_l)),
                    np.max(np.abs(tau2 - old_tau2) / (old_tau2 + 1e-12)) if has_re else 0.0,
                    np.max(np.abs(tau2_p - old_tau2_p) / (old_tau2_p + 1e-12)) if has_per else 0.0)
        if moved < tol ** 0.5 * 1e-1 and it > 2:
            converged = True
            break
    if has_re:
        sig = np.exp(log_sig)[scale]
        _, _, d2, _ = _sorted_terms(y, X @ beta + u[cluster] + period_term(mper) + (0.0 if off is None else off),
                                    sig, w, cure,
                                    family, lower, n0, n1)
        u_var = 1.0 / (np.bincount(cluster, weights=np.maximum(-d2, 0.0), minlength=n_cl) + 1.0 / tau2[cgroup])
        # Laplace approximation of the marginal likelihood: penalised optimum - log sqrt(tau^2 * curvature)
        loglik = obj - 0.5 * np.sum(np.log(tau2[cgroup])) + 0.5 * np.sum(np.log(u_var))
    else:
        u_var, tau2, loglik = np.zeros(n_cl), np.zeros(n_grp), obj
    m_var = np.zeros(n_per)
    if has_per:
        loglik -= 0.5 * float(np.sum(np.log(tau2_p[pvg]))) if grouped_var else 0.5 * n_per * np.log(tau2_p[0])
        m_var = 1.0 / (np.bincount(period, weights=np.maximum(-d2, 0.0) * (lam[pgroup] ** 2 if has_lam else 1.0),
                                   minlength=n_per) + 1.0 / tau2_per())
    return AFTFit(beta=beta, sigma=np.exp(log_sig), u=u, u_var=u_var, tau2=tau2, loglik=float(loglik), n_iter=it,
                  converged=converged, m=mper[:n_per], tau2_period=float(np.mean(tau2_per())) if has_per else 0.0,
                  family=family, m_var=m_var, m_loading=lam if has_lam else np.zeros(0),
                  tau2_period_group=tau2_p if grouped_var else np.zeros(0))


def _tau2_update(u: np.ndarray, info: np.ndarray, tau2: np.ndarray, cgroup: np.ndarray, n_grp: int) -> np.ndarray:
    """Between-customer variance per group by marginal likelihood of the Gaussian (Laplace) approximation.

    Each customer's data act like an estimate ``m_j = u_j (info_j + 1/tau^2) / info_j`` of its effect with variance
    ``v_j = 1/info_j`` (``info`` = the data's curvature at the mode), so ``m_j ~ N(0, tau^2 + v_j)``; ``tau^2``
    solves ``sum_j (m_j^2 - v_j - tau^2) / (tau^2 + v_j)^2 = 0`` (fixed-point iterations, vectorised over customers).
    Customers without data carry no information and are left out.
    """
    has = info > 1e-10
    g = cgroup[has]
    v = 1.0 / info[has]
    m = u[has] * (info[has] + 1.0 / tau2[g]) * v
    t = tau2.copy()
    for _ in range(100):
        wgt = 1.0 / (t[g] + v) ** 2
        num = np.bincount(g, weights=wgt * (m * m - v), minlength=n_grp)
        den = np.bincount(g, weights=wgt, minlength=n_grp)
        new = np.where(den > 0, np.maximum(num / np.maximum(den, 1e-300), 1e-6), t)
        if np.max(np.abs(new - t) / (t + 1e-12)) < 1e-8:
            return new
        t = new
    return t
