"""The months' AR(1) persistence kept only when the data show it (``fit_behaviour(..., persistence_test=True)``,
:func:`cashsim.behaviour.months._month_dynamics` with ``alpha``): simulated month series with a known persistence,
and the option's path through the fit (docs/validation.md, "Key accounts' month 3")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim.behaviour.months import PERSISTENCE_ALPHA, _month_dynamics

N_WORLDS = 400


def _worlds(phi: float, n_months: int, seed: int, sd: float = 0.1) -> np.ndarray:
    """``N_WORLDS`` AR(1) month series (``phi`` = 0: independent months), each with its own stationary start."""
    rng = np.random.default_rng(seed)
    x = np.zeros((N_WORLDS, n_months))
    x[:, 0] = rng.normal(0.0, sd / np.sqrt(1.0 - phi ** 2), N_WORLDS)
    for t in range(1, n_months):
        x[:, t] = phi * x[:, t - 1] + rng.normal(0.0, sd, N_WORLDS)
    return x


def _phis(series: np.ndarray, alpha) -> np.ndarray:
    months = pd.period_range("2024-01", periods=series.shape[1], freq="M").strftime("%Y-%m").to_numpy()
    as_of = pd.Timestamp(months[-1]) + pd.offsets.MonthEnd(0)
    return np.array([_month_dynamics(s, months, as_of, alpha=alpha)[2] for s in series])


def test_independent_months_get_no_persistence():
    # 24 independent months (the demo's history at its middle origins): the true persistence is 0. Untested, the
    # lag-1 estimate is positive in about half the worlds (clipped at 0 below) and carries the last month on
    iid = _worlds(0.0, 24, seed=1)
    untested, tested = _phis(iid, None), _phis(iid, PERSISTENCE_ALPHA)
    assert np.mean(untested > 0) > 0.35
    assert np.mean(tested == 0) >= 1 - 2 * PERSISTENCE_ALPHA          # kept by chance in about alpha of the worlds
    # the forecast of the next month's level, c + phi (m_last - c), against the truth (0): what the persistence
    # adds to the squared error of the median alone is cut by more than half with the test (measured: 0.36)
    c = np.median(iid, axis=1)

    def error(phi: np.ndarray) -> float:
        return float(np.mean((c + phi * (iid[:, -1] - c)) ** 2))

    assert error(tested) - error(0 * tested) < 0.5 * (error(untested) - error(0 * untested))


def test_persistent_months_keep_their_persistence():
    # a lasting slow-down: true persistence 0.7 over 36 months is kept, and estimated as without the test
    ar = _worlds(0.7, 36, seed=2)
    untested, tested = _phis(ar, None), _phis(ar, PERSISTENCE_ALPHA)
    assert np.mean(tested > 0) >= 0.9
    kept = tested > 0
    assert np.array_equal(tested[kept], untested[kept])
    assert abs(np.median(tested) - 0.7) < 0.15


def test_fit_behaviour_tests_persistence_by_default(demo):
    # the demo's months are independent draws plus a stressed quarter: untested 0.27 at 2025-12-31, tested 0
    from cashsim.behaviour import fit_behaviour

    off = fit_behaviour(demo.ledger, "2025-12-31", persistence_test=False)
    tested = fit_behaviour(demo.ledger, "2025-12-31")
    assert off.month_persistence > 0.2
    assert tested.month_persistence == 0.0
    assert tested.month_center == off.month_center
    assert tested.month_effects.equals(off.month_effects)
    assert np.array_equal(tested.pmfs, off.pmfs)               # profiles are at a typical month: unchanged


def test_params_carry_the_persistence_test_to_the_fit():
    # behaviour.persistence_test (default true) reaches fit_behaviour through the fit settings (and the cache key)
    from cashsim.params import load_params
    from cashsim.pipeline import fit_settings

    params = load_params("params/demo.yml")
    assert fit_settings(params)["persistence_test"] is True
    kept = params.model_copy(update={"behaviour": params.behaviour.model_copy(update={"persistence_test": False})})
    assert fit_settings(kept)["persistence_test"] is False
