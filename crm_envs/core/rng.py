"""Counter-based random numbers for the numba kernels.

Design decision (a measured deviation from passing ``np.random.Generator`` into kernels):
unboxing a Generator costs about 13 µs per numba call on the reference machine — more than a
whole ``CartPole-v1`` step — and one shared Generator is not safe inside ``prange``. Instead,
each environment copy owns a 64-bit *key* and a *counter*; the n-th uniform of that copy is
SplitMix64 (Steele, Lea & Flood 2014) evaluated at position n of the stream seeded by the key.
This is

* deterministic: the same seed gives the same numbers, jitted or pure Python;
* thread-safe: every copy has its own stream, so ``prange`` needs no locking;
* layout-independent: sub-env ``i`` of a vector env reset with ``seed`` draws exactly what a
  single env reset with ``seed + i`` draws (Gymnasium's vector seeding convention).

Keys come from :func:`seed_keys` (a seeded reset) or from the wrapper's ``np_random``
Generator (an unseeded first reset), so Gymnasium's seeding semantics hold.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = [
    "NORMAL_MAX",
    "keys_from_generator",
    "seed_keys",
    "splitmix_bits",
    "splitmix_normal",
    "splitmix_normal_pair",
    "splitmix_uniform",
]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53

NORMAL_MAX = float(np.sqrt(-2.0 * np.log(_INV53)))
"""The largest ``|z|`` :func:`splitmix_normal` can return (about 8.57).

Its first uniform is at least 2**-53, so Box-Muller's radius is at most ``sqrt(106 ln 2)``,
which bounds both normals of :func:`splitmix_normal_pair`.
Kernels use this to state finite observation bounds without clipping anything.
"""


@njit(cache=True, inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def splitmix_bits(key: np.int64, counter: np.int64) -> np.int64:
    """Return the ``counter``-th uniform of the stream keyed by ``key`` as 53-bit integer ``m``.

    :func:`splitmix_uniform` is exactly ``m * 2**-53``; a kernel that needs the integer (an
    alias-table draw) takes it here without the round trip through a float.

    Args:
        key: The stream key (int64 bits, reinterpreted as uint64).
        counter: Position in the stream (0, 1, 2, ...).

    Returns:
        An int64 in [0, 2**53).
    """
    z = np.uint64(key) + (np.uint64(counter) + np.uint64(1)) * _GAMMA
    return np.int64(_mix(z) >> _S11)


@njit(cache=True, inline="always")
def splitmix_uniform(key: np.int64, counter: np.int64) -> float:
    """Return the ``counter``-th uniform in [0, 1) of the stream keyed by ``key``.

    Args:
        key: The stream key (int64 bits, reinterpreted as uint64).
        counter: Position in the stream (0, 1, 2, ...).

    Returns:
        A float64 in [0, 1) with 53 random bits.
    """
    return splitmix_bits(key, counter) * _INV53


@njit(cache=True, inline="always")
def splitmix_normal_pair(key: np.int64, counter: np.int64) -> tuple[float, float]:
    """Two independent standard normals from draws ``counter`` and ``counter + 1`` (Box-Muller).

    Box-Muller turns two uniforms into a radius ``r`` and an angle ``theta``; ``r cos theta``
    and ``r sin theta`` are independent standard normals (Box & Muller 1958). A kernel that
    needs one normal a step can keep the second for its next step, halving the logarithms
    and square roots.

    Args:
        key: The stream key.
        counter: Position of the first of the two uniforms used.

    Returns:
        ``(r cos theta, r sin theta)``; the first is :func:`splitmix_normal`.
    """
    u1 = 1.0 - splitmix_uniform(key, counter)  # in (0, 1]: log is finite
    u2 = splitmix_uniform(key, counter + 1)
    r = np.sqrt(-2.0 * np.log(u1))
    angle = 2.0 * np.pi * u2
    return r * np.cos(angle), r * np.sin(angle)


@njit(cache=True, inline="always")
def splitmix_normal(key: np.int64, counter: np.int64) -> float:
    """Standard normal from the stream's draws ``counter`` and ``counter + 1`` (Box-Muller).

    Args:
        key: The stream key.
        counter: Position of the first of the two uniforms used.

    Returns:
        A float64 standard normal draw, the first of :func:`splitmix_normal_pair`.
    """
    return splitmix_normal_pair(key, counter)[0]


def seed_keys(seed: int, n: int) -> NDArray[np.int64]:
    """Keys of ``n`` env copies seeded with ``seed, seed + 1, ..., seed + n - 1``.

    Args:
        seed: Non-negative integer seed of copy 0.
        n: Number of copies.

    Returns:
        An int64 array of keys (the uint64 bits of ``mix(seed + i)``).
    """
    with np.errstate(over="ignore"):
        z = (np.arange(n, dtype=np.uint64) + np.uint64(seed)) * _GAMMA + _GAMMA
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        z = z ^ (z >> _S31)
    return z.view(np.int64)


def keys_from_generator(rng: np.random.Generator, n: int) -> NDArray[np.int64]:
    """Draw ``n`` fresh stream keys from a Generator (used for unseeded resets).

    Args:
        rng: The wrapper's ``np_random``.
        n: Number of keys.

    Returns:
        An int64 array of keys.
    """
    return rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=n, dtype=np.int64)
