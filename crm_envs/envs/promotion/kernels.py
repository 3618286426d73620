"""Numba kernel of a promotion campaign cycle (batch-first, preallocated).

One step = one campaign cycle over the planning horizon. Each segment j (group x contribution
level) runs the arm ``arms[i, j]``: 0 = no promotion, ``1 + k * S + (D - 1)`` = promotion k for
D months. In month s the segment's transactions are Poisson with mean
``members_j * (baseline[j, s] + [s < D] * lift[j, k, s] * drift[i, j])`` (Knuth's method below a
mean of 30, the normal approximation above; a negative normal draw, probability < 1e-7, counts
as 0). Profit is ``sum_s disc_s (c_j n_s - [s < D] cost_k fare_j n_s)``; the reward is the
profit of the counted segments minus their expected baseline profit, so its expectation is the
plan's uplift. With ``drift_sd > 0`` each segment's lift is multiplied by ``exp(x)``, where the
log multiplier ``x`` starts at 0 and after every cycle takes a normal step of s.d. ``drift_sd``,
reflected at ``+-log(drift_max)``: a bounded random walk, so the multiplier always lies in
``[1 / drift_max, drift_max]`` and never sticks at a bound.

Knuth's method stops at :data:`KNUTH_CAP` transactions (the normal branch's largest draw at a
mean of 30); a Poisson(30) draw exceeds it with probability below 1e-12. Every draw is thus
bounded (:func:`poisson_draw_bound`), which gives the campaign's finite observation bounds.

Float state (N, J): the log drift multipliers. Int state (N, 4): ``T`` (cycles done), ``DONE``,
random-stream key and counter.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from crm_envs.core.jit import parallel_and_serial
from crm_envs.core.rng import NORMAL_MAX, splitmix_normal, splitmix_uniform

T, DONE, KEY, CTR = 0, 1, 2, 3
INT_WIDTH = 4
NORMAL_BRANCH = 30.0
"""Poisson means from this value up are drawn by the normal approximation."""
KNUTH_CAP = float(np.floor(NORMAL_BRANCH + np.sqrt(NORMAL_BRANCH) * NORMAL_MAX + 0.5))
"""Largest draw of Knuth's branch (77): the normal branch's largest draw at its threshold."""


def poisson_draw_bound(lam: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """The largest number of events the kernel's Poisson sampler can return for mean ``lam``.

    Args:
        lam: Mean(s) >= 0.

    Returns:
        The bound(s), increasing in ``lam``.
    """
    lam = np.asarray(lam, dtype=np.float64)
    normal = np.floor(lam + np.sqrt(lam) * NORMAL_MAX + 0.5)
    return np.where(lam >= NORMAL_BRANCH, np.maximum(normal, KNUTH_CAP), KNUTH_CAP)


class PromoKernelParams(NamedTuple):
    """Arrays the kernel reads (built by ``PromotionSetup``).

    Attributes:
        baseline: (J, S) expected transactions per member and month without promotion.
        lift: (J, K, S) true extra transactions per member in each promotion month.
        members: (J,) customers per segment.
        contribution: (J,) contribution per transaction.
        fare: (J,) fare per transaction (contribution / commission).
        cost: (K,) promotion cost as a fraction of the fare.
        disc: (S,) discount factor of each month.
        base_profit: (J,) expected discounted baseline profit.
        counted: (J,) 1 for segments whose profit enters the reward.
        drift_sd: Standard deviation of the log lift multiplier's step per cycle.
        drift_log_max: The log multiplier is reflected into ``[-drift_log_max,
            drift_log_max]``.
        reward_scale: Multiplier of the reward (e.g. 1e-3 for thousands).
        horizon: Cycles per episode.
    """

    baseline: NDArray[np.float64]
    lift: NDArray[np.float64]
    members: NDArray[np.float64]
    contribution: NDArray[np.float64]
    fare: NDArray[np.float64]
    cost: NDArray[np.float64]
    disc: NDArray[np.float64]
    base_profit: NDArray[np.float64]
    counted: NDArray[np.int64]
    drift_sd: float
    drift_log_max: float
    reward_scale: float
    horizon: int


@njit(cache=True, inline="always")
def _normal(istate, i):
    z = splitmix_normal(istate[i, KEY], istate[i, CTR])
    istate[i, CTR] += 2
    return z


@njit(cache=True)
def _poisson(lam, istate, i):
    if lam <= 0.0:
        return 0.0
    if lam >= NORMAL_BRANCH:
        return max(0.0, np.floor(lam + np.sqrt(lam) * _normal(istate, i) + 0.5))
    limit = np.exp(-lam)
    k = 0.0
    prod = splitmix_uniform(istate[i, KEY], istate[i, CTR])
    istate[i, CTR] += 1
    while prod > limit and k < KNUTH_CAP:
        k += 1.0
        prod *= splitmix_uniform(istate[i, KEY], istate[i, CTR])
        istate[i, CTR] += 1
    return k


@njit(cache=True, inline="always")
def reflect(x, bound):
    """``x`` folded into ``[-bound, bound]`` by reflection at both ends (any size of step)."""
    period = 4.0 * bound
    y = (x + bound) % period
    if y > 2.0 * bound:
        y = period - y
    return y - bound


def _promo_reset(kp, fstate, istate, obs_out):
    """Start an episode: log drift multipliers 0, observation zeros.

    Args:
        kp: ``PromoKernelParams``.
        fstate: (N, J) float64 log drift multipliers, written.
        istate: (N, 4) int64 state, written (key and counter kept).
        obs_out: (N, 2 J) float32 observation, written.
    """
    for i in prange(fstate.shape[0]):
        for j in range(fstate.shape[1]):
            fstate[i, j] = 0.0
        for j in range(obs_out.shape[1]):
            obs_out[i, j] = 0.0
        istate[i, T] = 0
        istate[i, DONE] = 0


def _promo_step(kp, fstate, istate, arms, obs_out, rew_out, term_out, trunc_out):
    """Run one campaign cycle in every copy (ended copies are reset instead).

    Args:
        kp: ``PromoKernelParams``.
        fstate: (N, J) log drift multipliers, modified.
        istate: (N, 4) int state, modified.
        arms: (N, J) int64 arm of each segment (validated by the wrapper).
        obs_out: (N, 2 J) float32: transactions per member, then profit per member of each
            segment in this cycle.
        rew_out: (N,) profit over the expected baseline of the counted segments, scaled.
        term_out: (N,) always False.
        trunc_out: (N,) True after ``horizon`` cycles.
    """
    n_seg, n_s = kp.baseline.shape
    for i in prange(fstate.shape[0]):
        term_out[i] = False
        if istate[i, DONE] != 0:
            for j in range(n_seg):
                fstate[i, j] = 0.0
            for j in range(2 * n_seg):
                obs_out[i, j] = 0.0
            istate[i, T] = 0
            istate[i, DONE] = 0
            rew_out[i] = 0.0
            trunc_out[i] = False
            continue
        total = 0.0
        for j in range(n_seg):
            arm = arms[i, j]
            k = (arm - 1) // n_s
            dur = (arm - 1) % n_s + 1 if arm > 0 else 0
            profit = 0.0
            count = 0.0
            mult = np.exp(fstate[i, j]) if kp.drift_sd > 0.0 else 1.0
            for s in range(n_s):
                promoted = s < dur
                mean = kp.baseline[j, s]
                if promoted:
                    mean += kp.lift[j, k, s] * mult
                n = _poisson(kp.members[j] * mean, istate, i)
                value = kp.contribution[j]
                if promoted:
                    value -= kp.cost[k] * kp.fare[j]
                profit += kp.disc[s] * value * n
                count += n
            obs_out[i, j] = count / kp.members[j]
            obs_out[i, n_seg + j] = profit / kp.members[j]
            if kp.counted[j] != 0:
                total += profit - kp.base_profit[j]
            if kp.drift_sd > 0.0:
                step = kp.drift_sd * _normal(istate, i)
                fstate[i, j] = reflect(fstate[i, j] + step, kp.drift_log_max)
        rew_out[i] = total * kp.reward_scale
        istate[i, T] += 1
        trunc = istate[i, T] >= kp.horizon
        istate[i, DONE] = trunc
        trunc_out[i] = trunc


promo_reset, promo_reset_serial = parallel_and_serial(_promo_reset, "promo_reset")
promo_step, promo_step_serial = parallel_and_serial(_promo_step, "promo_step")
