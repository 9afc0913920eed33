"""Compiled lever transforms give numpy's numbers bit for bit (so a lever study's books, tables and plans do not
change when a transform is compiled)."""

from __future__ import annotations

import numpy as np
import pytest

from cashsim.levers.transforms import _scale_hazard_numpy, scale_hazard


@pytest.mark.parametrize("seed", range(5))
def test_compiled_scale_hazard_is_the_numpy_rule_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n, width = int(rng.integers(1, 30)), int(rng.integers(1, 60))
        rows = rng.random((n, width)) * (rng.random((n, width)) < 0.6)
        rows /= rows.sum(axis=1, keepdims=True) + rng.random((n, 1))      # some never-paid mass
        rows[rng.random(n) < 0.1] = 0.0                                   # never paid at all
        mult = rng.choice([0.0, 0.5, 1.0, 2.0, 3.7, -0.5, 1e9], size=(n, width))
        got, want = scale_hazard(rows, mult), _scale_hazard_numpy(rows, mult)
        assert got.tobytes() == want.tobytes()
        assert np.allclose(got.sum(axis=1), rows.sum(axis=1))            # the row sums are kept


def test_scale_hazard_broadcasts_its_multiplier_and_keeps_the_input():
    rows = np.array([[0.2, 0.3, 0.4], [0.0, 0.5, 0.5]])
    before = rows.copy()
    mult = np.array([[2.0, 1.0, 1.0]])
    assert scale_hazard(rows, mult).tobytes() == _scale_hazard_numpy(rows, np.broadcast_to(mult, rows.shape)).tobytes()
    assert np.array_equal(rows, before)
