"""Belief dynamics of the two-state customer relationship (Fan 2015, Essay 1, section 1.4.1).

The relationship is low (0) or high (1); ``b`` is the probability of high. Between months the
state moves by the transition probabilities ``q01`` (low -> high) and ``q11`` (high -> high);
a purchase observation O has likelihood ``p1 = P(O | high)`` and ``p0 = P(O | low)``.

* Open-loop ("HMM", pure exploitation) belief: ``phi = b q11 + (1 - b) q01``.
* Adaptive ("POMDP") belief after observing O: ``phi p1 / (phi p1 + (1 - phi) p0)``.
* Learning effect: ``|adaptive - open loop| = phi (1 - phi) |p1 - p0| / (phi p1 + (1 - phi) p0)``;
  it vanishes as phi -> 0 or 1 and is largest where ``phi / (1 - phi) = sqrt(p0 / p1)``.

Note on the peak: Fan (2015, 1.4.1) states the maximum at ``phi / (1 - phi) = sqrt(p1 / p0)``.
Setting the derivative of the learning effect to zero gives ``phi^2 (p1 - p0) + 2 phi p0 - p0 =
0``, i.e. ``phi = sqrt(p0) / (sqrt(p0) + sqrt(p1))``; the dissertation's own first-order
condition ``-p1 / (1 - phi)^2 + p0 / phi^2 = 0`` rearranges to the same. The stated ratio is
inverted; both agree only when p1 = p0. :func:`peak_belief` returns the exact maximiser, and
the tests check it against a fine grid.

All functions are numba-compiled scalar kernels, usable from the env, the solver and the
simulator alike, and callable from Python.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["bayes_update", "filter_step", "learning_effect", "open_loop", "peak_belief"]


@njit(cache=True)
def open_loop(b: float, q01: float, q11: float) -> float:
    """Belief of high next month without using any observation: ``b q11 + (1 - b) q01``."""
    return b * q11 + (1.0 - b) * q01


@njit(cache=True)
def bayes_update(phi: float, p1: float, p0: float) -> float:
    """Posterior probability of high given prior ``phi`` and likelihoods ``p1``, ``p0``."""
    num = phi * p1
    den = num + (1.0 - phi) * p0
    return num / den if den > 0.0 else phi


@njit(cache=True)
def filter_step(b: float, q01: float, q11: float, p1: float, p0: float) -> float:
    """One month of the Bayes filter (Essay 2, 2.4.3): predict with the transitions, update."""
    return bayes_update(open_loop(b, q01, q11), p1, p0)


@njit(cache=True)
def learning_effect(phi: float, p1: float, p0: float) -> float:
    """``|bayes_update - phi|`` in closed form (Essay 1, section 1.4.1)."""
    den = phi * p1 + (1.0 - phi) * p0
    return phi * (1.0 - phi) * abs(p1 - p0) / den if den > 0.0 else 0.0


@njit(cache=True)
def peak_belief(p1: float, p0: float) -> float:
    """Open-loop belief maximising the learning effect: ``sqrt(p0) / (sqrt(p0) + sqrt(p1))``.

    See the module docstring for why this differs from the ratio printed in Fan (2015).
    """
    r1, r0 = np.sqrt(p1), np.sqrt(p0)
    return r0 / (r1 + r0)
