"""Numba kernels of the multi-period ROIAllocation budget MDP (ABI of :mod:`crm_envs.core.kernels`).

Float state per copy (``fstate``, ``n + 4`` columns): the investment stock ``E_i`` of each
driver, this quarter's CMV, last quarter's CMV, the budget left and the spare normal shock
(below). Int state (``istate``):
``T`` (quarters done), then the driver's ``DONE``, random-stream key and counter. There are no
reset requests: every episode starts the same way (the only reset option, ``params``, swaps
the kernel parameters instead).

One quarter with investment ``x`` (dollars per driver): the kernel turns the validated actions
into dollars itself (Box ``a`` in [-1, 1], an (N, n) float32 or float64 array:
``x_i = (a_i + 1) max_effort / 2``; discrete ``k``, an (N,) int64 array: one ``increment`` to
driver ``k - 1``, none for 0). Then

* if ``sum(x)`` exceeds the budget left, ``x`` is scaled down to spend exactly what is left
  (the info array ``budget_limited`` reports it);
* ``E_i <- kappa_i E_i + x_i`` and ``y_i = ADBUDG(e0_i + E_i)`` (maintenance effort ``e0``
  plus the persisting investment; section 6 of Streukens et al. 2011);
* reward = ``(CMV_t * sum_i lambda_i (y_i - y0_i) - sum_i x_i) * reward_scale`` (Eq. 1a and the
  profit, in the env's units; the reward scale is applied here only);
* ``CMV_{t+1} = mu + phi1 (CMV_t - mu) + phi2 (CMV_{t-1} - mu) + sigma * mu * z`` with ``z``
  standard normal (Table 4's dynamic panel coefficients): the one random draw of a step.
  Quarters ``t = 0, 2, 4, ...`` draw a Box-Muller pair (two uniforms) and use its first normal;
  the next quarter uses its second, kept in the float state. The two are independent standard
  normals, so the CMV process is the same as with a fresh pair each quarter, at half the
  logarithms and square roots (issue 18: 11 of ROIAllocation's 28 ns per env-step at 65,536
  copies went to Box-Muller). Seeded trajectories differ from those before this change.

Observation (float32): levels ``y`` (n), ``CMV_t / mu``, ``CMV_{t-1} / mu``, budget left as a
fraction of the budget, ``t / H``. Outputs per copy besides it: ``extra = (budget_limited,)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from crm_envs.core.kernels import CTR, DRIVER_COLUMNS, KEY, make_kernels
from crm_envs.core.rng import splitmix_normal_pair

T = 0
STATE_WIDTH = 1 + DRIVER_COLUMNS
"""Columns of ``istate``: ``T``, then the driver's ``DONE``, key and counter."""


def float_width(n_drivers: int) -> int:
    """Columns of ``fstate`` for ``n_drivers`` drivers: stocks, two CMVs, budget left, spare."""
    return n_drivers + 4


class ROIKernelParams(NamedTuple):
    """Arrays and numbers the kernel reads (built by ``ROIAllocationParams.to_kernel``).

    Attributes:
        a: (n,) ADBUDG level at zero effort.
        b: (n,) ADBUDG level with unlimited effort.
        c: (n,) ADBUDG shape.
        d: (n,) ADBUDG effort scale.
        e0: (n,) maintenance effort.
        y0: (n,) pre-investment levels.
        impacts: (n,) total effects on loyalty.
        kappa: (n,) persistence of the investment stock.
        cmv_mean: Long-run aggregate CMV ``mu``.
        phi1: AR coefficient on last quarter's CMV.
        phi2: AR coefficient on the CMV two quarters back.
        noise_sd: Shock standard deviation in dollars (``cmv_noise * mu``).
        budget: Episode budget.
        horizon: Quarters per episode.
        discrete: Actions are ``Discrete(n + 1)`` indices, an (N,) array (else Box values in
            [-1, 1], an (N, n) array).
        half_effort: Half the largest Box investment per driver, ``max_effort / 2``.
        increment: Dollars of one discrete investment.
        reward_scale: Multiplier of the dollar profit.
    """

    a: NDArray[np.float64]
    b: NDArray[np.float64]
    c: NDArray[np.float64]
    d: NDArray[np.float64]
    e0: NDArray[np.float64]
    y0: NDArray[np.float64]
    impacts: NDArray[np.float64]
    kappa: NDArray[np.float64]
    cmv_mean: float
    phi1: float
    phi2: float
    noise_sd: float
    budget: float
    horizon: int
    discrete: bool
    half_effort: float
    increment: float
    reward_scale: float


@njit(cache=True, inline="always")
def _effort(kp, action, i, j):
    """Dollars the validated action of copy ``i`` invests in driver ``j``.

    ``action`` is the batch seen as 2-D: (N, 1) discrete indices or (N, n) Box values.
    """
    if kp.discrete:
        return kp.increment if action[i, 0] == j + 1 else 0.0
    return (np.float64(action[i, j]) + 1.0) * kp.half_effort


@njit(cache=True, inline="always")
def _level(kp, i, effort):
    c = kp.c[i]
    ec = effort if c == 1.0 else effort**c  # pow is the slowest operation of the step
    return kp.a[i] + (kp.b[i] - kp.a[i]) * ec / (kp.d[i] + ec)


@njit(cache=True, inline="always")
def _write_obs(kp, fstate, istate, i, obs, with_levels):
    n = kp.a.shape[0]
    if with_levels:
        for j in range(n):
            obs[i, j] = _level(kp, j, kp.e0[j] + fstate[i, j])
    obs[i, n] = fstate[i, n] / kp.cmv_mean
    obs[i, n + 1] = fstate[i, n + 1] / kp.cmv_mean
    obs[i, n + 2] = fstate[i, n + 2] / kp.budget if kp.budget > 0 else 0.0
    obs[i, n + 3] = istate[i, T] / kp.horizon


@njit(cache=True, inline="always")
def start_one(kp, fstate, istate, i, obs, extra):
    """Start copy ``i``: no investment stock, CMV at its mean, full budget (no random draw)."""
    n = kp.a.shape[0]
    for j in range(n):
        fstate[i, j] = 0.0
    fstate[i, n] = kp.cmv_mean
    fstate[i, n + 1] = kp.cmv_mean
    fstate[i, n + 2] = kp.budget
    fstate[i, n + 3] = 0.0  # no spare normal: quarter 0 draws a pair
    istate[i, T] = 0
    extra[0][i] = False
    _write_obs(kp, fstate, istate, i, obs, True)


@njit(cache=True, inline="always")
def advance_one(kp, fstate, istate, i, actions, obs, rew, extra):
    """Invest ``actions[i]`` for one quarter in copy ``i`` (see the module docstring).

    Never terminated; truncated after ``horizon`` quarters.
    """
    n = kp.a.shape[0]
    action = actions  # (N, 1) discrete indices or (N, n) Box values: the driver's 2-D view
    spend = 0.0
    for j in range(n):
        spend += _effort(kp, action, i, j)
    left = fstate[i, n + 2]
    scale = 1.0
    limited = spend > left
    if limited:
        scale = left / spend
        spend = left
    cmv = fstate[i, n]
    gain = 0.0
    for j in range(n):
        stock = kp.kappa[j] * fstate[i, j] + _effort(kp, action, i, j) * scale
        fstate[i, j] = stock
        level = _level(kp, j, kp.e0[j] + stock)
        obs[i, j] = level
        gain += kp.impacts[j] * (level - kp.y0[j])
    rew[i] = (cmv * gain - spend) * kp.reward_scale
    fstate[i, n + 2] = max(left - spend, 0.0)
    # CMV of the next quarter: AR(2) around the mean with a normal shock.
    if istate[i, T] % 2 == 0:  # a new Box-Muller pair; its second normal is next quarter's
        z, spare = splitmix_normal_pair(istate[i, KEY], istate[i, CTR])
        istate[i, CTR] += 2
        fstate[i, n + 3] = spare
    else:
        z = fstate[i, n + 3]
    mu = kp.cmv_mean
    nxt = mu + kp.phi1 * (cmv - mu) + kp.phi2 * (fstate[i, n + 1] - mu) + kp.noise_sd * z
    fstate[i, n + 1] = cmv
    fstate[i, n] = nxt
    istate[i, T] += 1
    extra[0][i] = limited
    _write_obs(kp, fstate, istate, i, obs, False)
    return False, istate[i, T] >= kp.horizon


KERNELS = make_kernels(start_one, advance_one, "roi")
"""The ROIAllocation compiled driver (reset and step, parallel and serial, pure Python)."""
