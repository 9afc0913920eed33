"""Semi-parametric AFT (``family: empirical``): the residual law estimated from censored data recovers a known
non-normal law; thin data fall back to the normal."""

from __future__ import annotations

import numpy as np
from scipy import special

from cashsim.behaviour import fit_aft, grid_pmf
from cashsim.behaviour.residuals import PRIOR_ROWS, residual_law

PROBS = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])


def _skewed(rng: np.random.Generator, n: int) -> np.ndarray:
    """A right-skewed, heavy-right-tailed law of W (a two-component normal mixture, mean 0, sd about 1): most
    invoices a little early on their median, a quarter much later -- the shape of reminders and broken promises."""
    late = rng.random(n) < 0.25
    return np.where(late, 1.1 + 0.9 * rng.standard_normal(n), -0.37 + 0.55 * rng.standard_normal(n))


def _true_quantiles(n: int = 2_000_000) -> np.ndarray:
    return np.quantile(_skewed(np.random.default_rng(99), n), PROBS)


def _law_quantiles(law, group=None) -> np.ndarray:
    z = np.linspace(-6, 6, 24001)
    cdf = law.cdf(z, group)
    return np.interp(PROBS, cdf, z)


def test_residual_law_recovers_a_skewed_law_under_right_and_interval_censoring():
    """Direct: 40,000 residuals, a third right-censored at random points, a fifth known only within a window of
    0.4 (a payment held to a payment day). Tolerance: every quantile from 5% to 95% within 0.06 (in units of W)."""
    rng = np.random.default_rng(7)
    n = 40_000
    w = _skewed(rng, n)
    c = rng.uniform(-1.0, 5.0, n)
    obs = w < c
    z = np.where(obs, w, c)
    held = obs & (rng.random(n) < 0.2)
    z_hi = np.where(held, w + rng.uniform(0, 0.4, n), z)       # upper edge of the window containing w
    z_lo = np.where(held, z_hi - 0.4, np.nan)
    law = residual_law(z_hi, obs, z_lower=z_lo)
    truth = _true_quantiles()
    got = _law_quantiles(law)
    assert np.max(np.abs(got - truth)) < 0.06, (got, truth)
    normal = special.ndtri(PROBS)                              # the fixed normal family misses them
    assert np.max(np.abs(normal - truth)) > 0.25


def test_semiparametric_aft_recovers_the_quantiles_of_a_non_normal_world():
    """Two stages on a world with customer effects and censoring at an as-of date: the log-normal AFT gives the
    location and scale, the residual law the shape. Truth: ``log t = 3.4 + u_j + 0.35 W``, ``W`` skewed
    (:func:`_skewed`), ``u_j ~ N(0, 0.25^2)``, 150 customers x 10-60 invoices, issue dates uniform over a year
    and open invoices censored at its end. Tolerance: the quantiles (5% to 95%) of ``log t`` of new invoices of
    these customers within 0.035 in log time (3.5% in days) of the truth; the log-normal's are off by more than
    0.07 (0.09 on this world)."""
    rng = np.random.default_rng(17)
    n_cust = 150
    sizes = rng.integers(10, 60, n_cust)
    cust = np.repeat(np.arange(n_cust), sizes)
    n = len(cust)
    u = 0.25 * rng.standard_normal(n_cust)
    w = _skewed(rng, n)
    log_t = 3.4 + u[cust] + 0.35 * w
    issue_age = rng.uniform(0, 365, n)                         # days from issue to the as-of date
    obs = np.exp(log_t) < issue_age + 1
    y = np.where(obs, log_t, np.log(issue_age + 1))
    assert 0.05 < (~obs).mean() < 0.3
    X = np.ones((n, 1))
    fit = fit_aft(y, obs, X, cluster=cust)
    eta = fit.beta[0] + fit.u[cust]
    law = residual_law((y - eta) / fit.sigma[0], obs)
    # new invoices of the same customers: 400 each, truth vs the predictive law eta_j + s_j W (s_j^2 = sigma^2
    # + Var(u_j), as PayerModel's), W read from the estimated law (semi) or the normal (log-normal AFT)
    draws = np.random.default_rng(1)
    cc = np.repeat(np.arange(n_cust), 400)
    truth = np.quantile(3.4 + u[cc] + 0.35 * _skewed(draws, len(cc)), PROBS)
    p = draws.random(len(cc))
    loc, s = fit.beta[0] + fit.u[cc], np.sqrt(fit.sigma[0] ** 2 + fit.u_var[cc])
    z = np.linspace(-6, 6, 24001)
    semi = np.quantile(loc + s * np.interp(p, law.cdf(z), z), PROBS)
    lognormal = np.quantile(loc + s * special.ndtri(p), PROBS)
    assert np.max(np.abs(semi - truth)) < 0.035, (semi, truth)
    assert np.max(np.abs(lognormal - truth)) > 0.07


def test_thin_data_fall_back_to_the_normal_and_groups_shrink_to_the_pool():
    """30 residuals: the law stays within 0.02 of the normal's CDF (prior worth PRIOR_ROWS invoices, normal tails);
    a group with 30 residuals is close to the pooled law of 20,000, not to its own."""
    rng = np.random.default_rng(3)
    thin = residual_law(_skewed(rng, 30), np.ones(30, bool))
    z = np.linspace(-4, 4, 161)
    assert PRIOR_ROWS >= 100
    assert np.max(np.abs(thin.cdf(z) - special.ndtr(z))) < 0.05
    big = _skewed(rng, 20_000)
    small = rng.standard_normal(30)
    law = residual_law(np.r_[big, small], np.ones(20_030, bool), group=np.r_[np.zeros(20_000, int), np.ones(30, int)])
    pooled = law.cdf(z)
    assert np.max(np.abs(law.cdf(z, 1) - pooled)) < np.max(np.abs(special.ndtr(z) - pooled)) / 3


def test_grid_pmf_reads_the_estimated_law_per_row_group():
    """grid_pmf with a residual law: each row reads its own group's CDF (row 1 = group 1), a proper pmf."""
    rng = np.random.default_rng(5)
    z = np.r_[_skewed(rng, 5000), rng.standard_normal(5000)]
    law = residual_law(z, np.ones(10_000, bool), group=np.repeat([0, 1], 5000))
    eta, sig, terms = np.full(2, np.log(31.0)), np.full(2, 0.3), np.full(2, 30.0)
    pmf = grid_pmf(eta, sig, terms, family=law, group=np.array([0, 1]))
    assert np.allclose(pmf.sum(axis=1), 1.0, atol=1e-3)
    one = grid_pmf(eta[:1], sig[:1], terms[:1], family=law, group=np.array([1]))
    assert np.allclose(pmf[1], one[0])
    assert not np.allclose(pmf[0], pmf[1], atol=1e-3)


def test_fit_behaviour_empirical_finds_no_shape_in_a_log_normal_world():
    """End to end (``fit_behaviour(family="empirical")``) on test_behaviour's world, whose true times are
    log-normal: each segment's estimated law stays within 0.025 of the normal CDF (0.009 measured), the segments'
    medians and shares late within 1 day / 0.03 of the log-normal fit's, and the laws are proper pmfs."""
    from test_behaviour import _world

    from cashsim.behaviour import fit_behaviour

    ledger, as_of, _ = _world()
    base = fit_behaviour(ledger, as_of)
    emp = fit_behaviour(ledger, as_of, family="empirical")
    assert emp.diagnostics["family"] == "empirical" and base.diagnostics["family"] == "lognormal"
    law = emp._fit.residual
    assert law.table.shape[0] == len(emp.segments) + 1             # one law per segment, then the pooled one
    z = np.linspace(-3, 3, 121)
    for g in range(law.table.shape[0]):
        assert np.max(np.abs(law.cdf(z, g) - special.ndtr(z))) < 0.025
    a, b = emp.segments, base.segments
    assert (np.abs(a["median_days_late"] - b["median_days_late"]) <= 1).all()
    assert (np.abs(a["share_late"] - b["share_late"]) < 0.03).all()
    assert np.allclose(emp.pmfs.sum(axis=1) + emp.p_never, 1)
