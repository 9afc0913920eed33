"""Randomness in cashsim: one way to turn what a caller gives as a seed into numpy streams.

Every stochastic entry point (:func:`cashsim.simulate.simulate`, :func:`cashsim.behaviour.fit_behaviour`,
:func:`cashsim.backtest.run_backtest`, :func:`cashsim.demo.demo_company`, the lever comparisons) takes
``seed: SeedLike`` -- an ``int`` (reproducible: the same int gives the same numbers, bit for bit), a
``numpy.random.SeedSequence`` (used as it is), a ``numpy.random.Generator`` (a new sequence is drawn from it, so the
generator advances, as numpy's own ``spawn`` does) or ``None`` (fresh entropy from the operating system: a different
result on every call). No global state is ever read or set. Streams are children of one ``SeedSequence``, so results
do not depend on chunking, threads or the backend (docs/design.md).

>>> seed_sequence(42).entropy
42
>>> a, b = rng(7).normal(size=2), rng(np.random.SeedSequence(7)).normal(size=2)
>>> bool((a == b).all())
True
>>> child(42, 738000).entropy, child(42, 738000).spawn_key     # an int keeps its historical key layout
([42, 738000], ())
"""

from __future__ import annotations

from typing import Union

import numpy as np

from cashsim.errors import InputError

#: What cashsim accepts wherever it draws random numbers.
SeedLike = Union[int, np.integer, np.random.SeedSequence, np.random.Generator, None]  # noqa: UP007 (runtime alias)


def seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """The :class:`numpy.random.SeedSequence` of ``seed`` (see the module docstring for each kind)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**32, size=4, dtype=np.uint64).tolist())
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and int(seed) >= 0:
        return np.random.SeedSequence(int(seed))
    raise InputError(f"seed must be a non-negative int, a numpy SeedSequence or Generator, or None; got {seed!r}",
                     key="seed")


def rng(seed: SeedLike) -> np.random.Generator:
    """A PCG64 :class:`numpy.random.Generator` on :func:`seed_sequence` (for an int, ``default_rng(int)`` exactly)."""
    return np.random.default_rng(seed_sequence(seed))


def child(seed: SeedLike, *keys: int) -> np.random.SeedSequence:
    """A sequence of its own for ``keys`` (e.g. a backtest origin), the same for the same seed and keys.

    An int seed gives ``SeedSequence([seed, *keys])`` (the streams cashsim has always used); any other seed the
    child at ``spawn_key + keys`` of its sequence.
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        seed_sequence(seed)  # validates
        return np.random.SeedSequence([int(seed), *map(int, keys)])
    ss = seed_sequence(seed)
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, *map(int, keys)))


def recorded(seed: SeedLike, ss: np.random.SeedSequence) -> int | np.random.SeedSequence:
    """What a result records as its seed: the int given, else the sequence (which reproduces the run)."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return int(seed)
    return ss


__all__ = ["SeedLike", "child", "recorded", "rng", "seed_sequence"]
