"""Month effects scaled by segment (issue 15): ``log t += lambda_s m_month``, recovered on simulated worlds, kept
only where the data support it, carried into the forecast law and the month loading of the copula."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from aft_worlds import segment_world

from cashsim.behaviour import fit_aft, fit_behaviour
from cashsim.behaviour.fit import _segment_loadings


def _aft_world(lam: tuple[float, ...], seed: int = 11, n_months: int = 36, month_sd: float = 0.15):
    """Rows of a censored AFT world (:func:`aft_worlds.segment_world`, the first segment the reference) with a
    due-month shock ``m ~ N(0, month_sd^2)`` felt as ``lam[s] * m`` by segment ``s``. Returns the arrays ``fit_aft``
    takes and the true shocks."""
    shocks = {}

    def effect(rng, seg, per):
        shocks["m"] = rng.normal(0.0, month_sd, n_months)
        return np.asarray(lam)[seg] * shocks["m"][per]

    y, obs, X, kw, seg, per = segment_world(effect, seed, n_months)
    return y, obs, X, {**kw, "period": per}, seg, shocks["m"]


def test_segment_loadings_of_the_month_effect_are_recovered():
    """Known loadings 1 / 0.5 / 1.6: each within 0.12 of the truth (the reference is exactly 1), the shared
    effects correlate with the truth, and the likelihood ratio keeps them."""
    y, obs, X, kw, seg, m = _aft_world((1.0, 0.5, 1.6))
    assert 0.04 < (~obs).mean() < 0.15
    fit = fit_aft(y, obs, X, **kw, period_group=seg)
    assert fit.m_loading[0] == 1.0
    np.testing.assert_allclose(fit.m_loading, [1.0, 0.5, 1.6], atol=0.12)
    assert np.corrcoef(fit.m, m)[0, 1] > 0.97
    shared = fit_aft(y, obs, X, **kw)
    kept, info = _segment_loadings(shared, lambda **k: fit_aft(y, obs, X, **kw, **k), seg, ["a", "b", "c"])
    assert info["month_loading_kept"] and info["month_loading_lr"] > 100
    np.testing.assert_allclose(kept.m_loading, fit.m_loading, atol=0.02)   # warm start: the same optimum
    # one shared effect for all three misreads the month spread: the scaled fit's residual variance is smaller
    assert fit.loglik > shared.loglik


def test_without_segment_scaling_the_loadings_stay_near_one_and_are_not_kept():
    """A world whose segments all feel the month as it is: every loading within 0.1 of 1 and the likelihood ratio
    below its 95% point, so the shared effect is kept unchanged."""
    y, obs, X, kw, seg, _ = _aft_world((1.0, 1.0, 1.0), seed=12)
    shared = fit_aft(y, obs, X, **kw)
    kept, info = _segment_loadings(shared, lambda **k: fit_aft(y, obs, X, **kw, **k), seg, ["a", "b", "c"])
    np.testing.assert_allclose(info["month_loading_fitted"]["b"], 1.0, atol=0.1)
    np.testing.assert_allclose(info["month_loading_fitted"]["c"], 1.0, atol=0.1)
    assert not info["month_loading_kept"] and info["month_loading_lr"] < info["month_loading_threshold"]
    assert kept is shared and len(kept.m_loading) == 0


def test_without_month_effects_a_thin_segment_keeps_its_prior():
    """No month shock at all (the IBM case, ``tau_month^2`` at its floor): nothing to scale, every loading 1 to
    0.05 (the prior pulls toward 1)."""
    y, obs, X, kw, seg, _ = _aft_world((1.0, 1.0, 1.0), seed=13, month_sd=0.0)
    fit = fit_aft(y, obs, X, **kw, period_group=seg)
    np.testing.assert_allclose(fit.m_loading, 1.0, atol=0.05)


@pytest.fixture(scope="module")
def month_world():
    from test_behaviour import _world

    ledger, as_of, _ = _world(seed=8, month_sd=0.25)
    return ledger, as_of


def test_fit_behaviour_option_and_the_forecast_law_carry_the_loadings(month_world):
    """On a ledger whose two segments share one month shock the option is tested and not kept (the model is the
    shared one: same laws); with loadings set, an invoice's month variance and its month loading scale by
    ``lambda_s^2`` and its location by ``lambda_s``."""
    ledger, as_of = month_world
    plain = fit_behaviour(ledger, as_of)
    opt = fit_behaviour(ledger, as_of, month_by_segment=True)
    d = opt.diagnostics
    assert not d["month_loading_kept"] and d["month_loading_lr"] < d["month_loading_threshold"]
    assert set(d["month_loading_fitted"]) == {"a", "b"} and len(opt.month_loading) == 0
    np.testing.assert_array_equal(plain.pmfs, opt.pmfs)
    scaled = replace(plain, month_loading=plain.month_loading.reindex(["a", "b"]).fillna(0.5).astype(float))
    cust, seg = np.array(["C000", "C001"]), np.array(["a", "b"])
    due = np.array(["2099-01", "2099-01"])                           # a month to come: tau_month^2 unknown
    lm0, _ = plain.loadings(cust, seg, due)
    lm1, _ = scaled.loadings(cust, seg, due)
    tau2, s2 = plain._fit.tau2_period, plain._fit.tau2_period / lm0
    np.testing.assert_allclose(lm1, 0.25 * tau2 / (s2 - 0.75 * tau2))
    eta0, _ = plain._eta_sigma(cust, seg, np.array([30.0, 30.0]), np.array(["", ""]), np.array(["transfer"] * 2),
                               due)
    eta1, _ = scaled._eta_sigma(cust, seg, np.array([30.0, 30.0]), np.array(["", ""]),
                                np.array(["transfer"] * 2), due)
    level = plain.month_level(due, 2)
    np.testing.assert_allclose(eta1 - eta0, -0.5 * level)
