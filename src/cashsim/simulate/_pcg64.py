"""numpy's normal stream, compiled (*générateur de nombres aléatoires*): the PCG64 step and numpy's ziggurat inline.

The rule: from a :class:`numpy.random.PCG64` state, :func:`standard_normals` (and the kernel's inline
:func:`_normal`) give exactly the numbers ``Generator(PCG64).standard_normal`` would, bit for bit, and leave the
state where numpy would (``tests/test_pcg64.py`` compares them, tail and wedge draws included).

* **PCG64 step** (``pcg64_random_r``): a 128-bit LCG ``s <- s * PCG_DEFAULT_MULTIPLIER_128 + inc`` with the XSL-RR
  output ``rotr(hi ^ lo, hi >> 58)``, written with LLVM's ``i128`` (an intrinsic: numba has no 128-bit integers).
  The state travels as four uint64 ``[state_hi, state_lo, inc_hi, inc_lo]`` (:func:`pcg64_state`).
* **Ziggurat** (``random_standard_normal``): numpy's 256-layer tables (numba's copy of them); a draw is accepted at
  once when its 52-bit magnitude is below ``ki[idx]`` (99.3 % of draws), else the wedge or tail test runs out of
  line (:func:`_normal_tail`) so the hot loop keeps its registers. The sign comes with the width: one look-up in
  ``wi`` followed by ``-wi`` (:data:`_ZIG_WS`), the same doubles as numpy's negation, instead of a test and a select.
* Speed: about 3 ns a normal with the state in registers, against 4.3 through the bit generator's function pointer;
  1.6 ns in the kernel's ``_draw``, which interleaves two blocks' streams (docs/scale.md). The Gaussian copula
  stays exact, with no ``Phi^-1``.

Example::

    >>> rng = np.random.Generator(np.random.PCG64(1))
    >>> state, out = pcg64_state(rng.bit_generator), np.empty(3)
    >>> standard_normals(state, out)
    >>> bool((out == rng.standard_normal(3)).all())
    True
"""

from __future__ import annotations

import numba
import numba.np.random._constants as _zig
import numpy as np
from llvmlite import ir as llvm_ir
from numba import types
from numba.extending import intrinsic

#: numpy's PCG64 multiplier (``PCG_DEFAULT_MULTIPLIER_128``) and the ziggurat tables numba copied from numpy.
_PCG_MULT = (2549297995355413924 << 64) | 4865540595714422341
_ZIG_K, _ZIG_W, _ZIG_F = _zig.ki_double.copy(), _zig.wi_double.copy(), _zig.fi_double.copy()
_ZIG_R, _ZIG_INV_R = float(_zig.ziggurat_nor_r), float(_zig.ziggurat_nor_inv_r)
_U52 = np.uint64(0x000FFFFFFFFFFFFF)
#: The layer widths signed by the draw's sign bit, indexed by the output's low 9 bits ``j`` (layer ``j & 255``, sign
#: bit ``j >> 8``): ``rabs * _ZIG_WS[j]`` is numpy's ``x = rabs * wi[idx]``, negated when the bit is set, bit for
#: bit (an IEEE product's sign is the XOR of its factors' signs, its magnitude rounded the same either way, zero
#: included: ``0 * -w`` is ``-0.0`` as numpy's ``-(0 * w)``). ``_ZIG_KS``: the acceptance bounds on the same index.
_ZIG_WS, _ZIG_KS = np.concatenate([_ZIG_W, -_ZIG_W]), np.concatenate([_ZIG_K, _ZIG_K])
_LOW9 = np.uint64(0x1FF)


@intrinsic
def _pcg64_next(typingctx, hi, lo, inc_hi, inc_lo):
    """``(hi, lo, out)``: one step of numpy's PCG64 (128-bit LCG, XSL-RR output) on the state ``hi:lo`` with
    increment ``inc_hi:inc_lo``, as ``pcg64_random_r`` does it; the 128-bit product is LLVM's ``i128`` (a
    ``mulx`` and two ``imul``), which numba does not expose."""
    u64 = types.uint64
    sig = types.UniTuple(u64, 3)(u64, u64, u64, u64)

    def codegen(context, builder, signature, args):
        i128, i64 = llvm_ir.IntType(128), llvm_ir.IntType(64)
        c64 = llvm_ir.Constant(i128, 64)

        def join(h, low):
            return builder.or_(builder.shl(builder.zext(h, i128), c64), builder.zext(low, i128))

        state = builder.add(builder.mul(join(args[0], args[1]), llvm_ir.Constant(i128, _PCG_MULT)),
                            join(args[2], args[3]))
        new_hi, new_lo = builder.trunc(builder.lshr(state, c64), i64), builder.trunc(state, i64)
        x, rot = builder.xor(new_hi, new_lo), builder.lshr(new_hi, llvm_ir.Constant(i64, 58))
        back = builder.and_(builder.sub(llvm_ir.Constant(i64, 64), rot), llvm_ir.Constant(i64, 63))
        out = builder.or_(builder.lshr(x, rot), builder.shl(x, back))
        return context.make_tuple(builder, signature.return_type, (new_hi, new_lo, out))

    return sig, codegen


@numba.njit(nogil=True, inline="always")
def _pcg64_double(hi, lo, ih, il):
    """numpy's ``next_double``: the top 53 bits of one output, in [0, 1)."""
    hi, lo, r = _pcg64_next(hi, lo, ih, il)
    return hi, lo, np.float64(r >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(nogil=True, inline="always")
def _ziggurat_step(hi, lo, ih, il):
    """One candidate of numpy's ziggurat: ``(hi, lo, j, rabs, x)`` from one PCG64 output ``r``: ``j = r & 0x1FF``
    (layer ``j & 255``, sign bit ``j >> 8``), the 52-bit magnitude ``rabs = (r >> 9) & (2^52 - 1)`` and the
    signed candidate ``x = rabs * wi[layer]`` (negated when the sign bit is set: :data:`_ZIG_WS`); accepted at
    once when ``rabs < ki[layer]`` (:data:`_ZIG_KS`). numpy's own steps (``idx = r & 0xFF; r >>= 8; rabs = (r >> 1)
    & 0x000fffffffffffff; x = rabs * wi[idx]; if r & 0x1: x = -x``) with one table look-up for the sign."""
    hi, lo, r = _pcg64_next(hi, lo, ih, il)
    j = r & _LOW9
    rabs = (r >> np.uint64(9)) & _U52
    return hi, lo, j, rabs, np.float64(rabs) * _ZIG_WS[j]


@numba.njit(nogil=True, cache=True)
def _normal_tail(hi, lo, ih, il, j, rabs, x):
    """The rest of numpy's ziggurat after a draw failed its first test (0.7 % of draws): the wedge or tail test,
    then whole new draws until one is accepted. Kept out of line so the hot loop keeps its registers."""
    while True:
        idx = j & np.uint64(0xFF)
        if idx == 0:
            while True:
                hi, lo, u1 = _pcg64_double(hi, lo, ih, il)
                hi, lo, u2 = _pcg64_double(hi, lo, ih, il)
                xx = -_ZIG_INV_R * np.log1p(-u1)
                yy = -np.log1p(-u2)
                if yy + yy > xx * xx:
                    if (rabs >> np.uint64(8)) & np.uint64(1):
                        return hi, lo, -(_ZIG_R + xx)
                    return hi, lo, _ZIG_R + xx
        else:
            hi, lo, u = _pcg64_double(hi, lo, ih, il)
            if (_ZIG_F[idx - 1] - _ZIG_F[idx]) * u + _ZIG_F[idx] < np.exp(-0.5 * x * x):
                return hi, lo, x
        hi, lo, j, rabs, x = _ziggurat_step(hi, lo, ih, il)
        if rabs < _ZIG_KS[j]:
            return hi, lo, x


@numba.njit(nogil=True, inline="always")
def _normal(hi, lo, ih, il):
    """``(hi, lo, x)``: the next ``Generator(PCG64).standard_normal()`` of the stream in state ``hi:lo`` --
    numpy's ziggurat (``random_standard_normal``) on numpy's PCG64, bit for bit, with the state in registers
    instead of behind the bit generator's function pointer (tests check the numbers against numpy's)."""
    hi, lo, j, rabs, x = _ziggurat_step(hi, lo, ih, il)
    if rabs < _ZIG_KS[j]:
        return hi, lo, x
    return _normal_tail(hi, lo, ih, il, j, rabs, x)


def pcg64_state(bit_generator: np.random.PCG64) -> np.ndarray:
    """A PCG64's state as four uint64 ``[state_hi, state_lo, inc_hi, inc_lo]`` (the kernel's form)."""
    s = bit_generator.state["state"]
    mask = (1 << 64) - 1
    return np.array([s["state"] >> 64, s["state"] & mask, s["inc"] >> 64, s["inc"] & mask], np.uint64)


@numba.njit(nogil=True, cache=True)
def standard_normals(state, out):
    """Fill the C-contiguous ``out`` with the stream's standard normals in memory order (what
    ``Generator(PCG64).standard_normal(out.shape)`` gives) and advance ``state`` (:func:`pcg64_state`)."""
    flat = out.reshape(-1)
    hi, lo, ih, il = state[0], state[1], state[2], state[3]
    for k in range(flat.shape[0]):
        hi, lo, x = _normal(hi, lo, ih, il)
        flat[np.uintp(k)] = x
    state[0], state[1] = hi, lo
