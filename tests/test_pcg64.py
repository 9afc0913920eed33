"""The engine's random numbers are numpy's own: the compiled PCG64 step and ziggurat against ``Generator(PCG64)``."""

from __future__ import annotations

import numpy as np
import pytest

from cashsim.simulate._pcg64 import pcg64_state, standard_normals


@pytest.mark.parametrize("seed", [0, 7, 2026])
def test_kernel_normals_are_numpys_own_stream(seed):
    """The compiled generator is numpy's PCG64 with numpy's ziggurat: from any state, the same numbers as
    ``Generator(PCG64).standard_normal``, bit for bit, including the rare tail and wedge draws (a million
    draws take the wedge test thousands of times and the tail hundreds), and the state continues where numpy's
    would."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    rng.standard_normal(3)                                    # start mid-stream
    state = pcg64_state(rng.bit_generator)
    mine = np.empty((1000, 1000))
    standard_normals(state, mine)
    theirs = rng.standard_normal((1000, 1000))
    assert np.array_equal(mine, theirs)
    assert (np.abs(theirs) > 3.6541528853610088).sum() > 100  # beyond the ziggurat's base strip: the tail branch
    assert np.array_equal(state, pcg64_state(rng.bit_generator))


@pytest.mark.parametrize("sizes", [[100, 100, 100, 77], [100, 50, 100], [30], [100, 100, 100, 100, 100]])
def test_kernel_blocks_draw_their_own_streams(sizes):
    """The kernel's ``_draw`` (two blocks' streams interleaved when neighbours have the same size, one at a time
    otherwise): block ``b`` gets its own stream's next normals in its own columns, invoice after invoice, and its
    state continues where numpy's would, whatever the number and sizes of the blocks."""
    from cashsim.simulate.kernel import _draw

    gens = [np.random.Generator(np.random.PCG64(np.random.SeedSequence([9, b]))) for b in range(len(sizes))]
    states = np.vstack([pcg64_state(g.bit_generator) for g in gens])
    cols = np.cumsum([0] + sizes).astype(np.int64)
    e = np.empty(cols[-1])
    for _ in range(3):                                        # three invoices
        _draw(states, cols, e)
        expected = np.concatenate([g.standard_normal(size) for g, size in zip(gens, sizes, strict=True)])
        assert np.array_equal(e, expected)
    assert np.array_equal(states, np.vstack([pcg64_state(g.bit_generator) for g in gens]))


def test_signed_width_table_gives_numpys_candidate_bit_for_bit():
    """The ziggurat's candidate is looked up with its sign (``rabs * _ZIG_WS[j]``, ``j`` the output's low 9 bits)
    instead of numpy's ``x = rabs * wi[j & 255]``, then ``-x`` when bit 8 is set: the same double for every layer
    and sign, bits compared (so ``-0.0`` for a zero magnitude with the sign bit, as numpy's ``-(0 * w)``), and the
    acceptance bound of ``j`` is layer ``j & 255``'s."""
    from cashsim.simulate._pcg64 import _U52, _ZIG_K, _ZIG_KS, _ZIG_W, _ZIG_WS

    rabs = np.r_[0, 1, 2, 3, 2 ** 51, int(_U52), np.random.default_rng(5).integers(0, int(_U52), 200)]
    for j in range(512):
        numpys = np.array([float(r) * float(_ZIG_W[j & 255]) for r in rabs])
        if j >> 8:
            numpys = -numpys
        mine = rabs.astype(np.float64) * _ZIG_WS[j]
        assert np.array_equal(mine.view(np.int64), numpys.view(np.int64)), j
        assert _ZIG_KS[j] == _ZIG_K[j & 255]
