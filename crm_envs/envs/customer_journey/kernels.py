"""Numba kernels of the CustomerJourney MDP, in the ABI of :mod:`crm_envs.core.kernels`.

Integer state layout (one row per journey): ``CELL``, ``REGION``, ``T`` (steps taken), then
the driver's ``DONE``, random-stream key and counter. There is no float state (``fstate`` has 0
columns). Reset requests share the ``CELL`` and ``REGION`` columns: before a reset the env
writes the requested start cell and region there, -1 meaning "sample". When an episode
ends, ``advance_one`` writes -1 into both (nothing reads a finished journey's cell), so the
autoreset samples afresh. Separate request columns cost CustomerJourney 5-8% of its vector
speed at 65,536 copies (eight int64 columns a row instead of six).

Outputs per journey: observation ``(row, col, region, t)`` (int64), reward, terminated,
truncated, and the one declared info array ``extra = (action_mask,)``: the int8 mask of the
new cell, one entry per move.

The start region is drawn from ``region_cum``, the start cell uniformly from ``start_cells``.
Sampling an outcome counts the thresholds at or below the uniform instead of searching,
which avoids a mispredicted branch per step. Everything else a step needs of the new cell
comes from its packed record (:func:`~crm_envs.envs.customer_journey.params.cell_records`).
"""

from __future__ import annotations

from numba import njit

from crm_envs.core.kernels import CTR, DRIVER_COLUMNS, KEY, make_kernels
from crm_envs.core.rng import splitmix_bits, splitmix_uniform
from crm_envs.envs.customer_journey.params import (
    CELL_BITS,
    COL_SHIFT,
    COORD_BITS,
    MASK_SHIFT,
    N_ACTIONS,
    ROW_SHIFT,
    TERMINAL_SHIFT,
)

CELL, REGION, T = 0, 1, 2
STATE_WIDTH = 3 + DRIVER_COLUMNS
FLOAT_WIDTH = 0
_CELL = (1 << CELL_BITS) - 1
_COORD = (1 << COORD_BITS) - 1


@njit(cache=True, inline="always")
def _enter(record, i, k, t, obs, mask):
    """Write what copy ``i`` shows on entering the cell of ``record`` in region ``k`` at ``t``."""
    obs[i, 0] = (record >> ROW_SHIFT) & _COORD
    obs[i, 1] = (record >> COL_SHIFT) & _COORD
    obs[i, 2] = k
    obs[i, 3] = t
    for a in range(N_ACTIONS):
        mask[i, a] = (record >> (MASK_SHIFT + a)) & 1


@njit(cache=True, inline="always")
def start_one(kp, fstate, istate, i, obs, extra):
    """Start journey ``i`` at the requested cell/region (-1 = sample) in ``CELL``/``REGION``."""
    key = istate[i, KEY]
    k = istate[i, REGION]
    if k < 0:
        u = splitmix_uniform(key, istate[i, CTR])
        istate[i, CTR] += 1
        k = 0
        for q in range(kp.region_cum.shape[0] - 1):
            k += u >= kp.region_cum[q]
    cell = istate[i, CELL]
    if cell < 0:
        n_start = kp.start_cells.shape[0]
        j = int(splitmix_uniform(key, istate[i, CTR]) * n_start)
        istate[i, CTR] += 1
        cell = kp.start_cells[min(j, n_start - 1)]
    record = kp.cell_record[cell]
    istate[i, REGION] = k
    istate[i, CELL] = cell
    istate[i, T] = 0
    _enter(record, i, k, 0, obs, extra[0])


@njit(cache=True, inline="always")
def advance_one(kp, fstate, istate, i, actions, obs, rew, extra):
    """Move journey ``i`` by ``actions[i, 0]`` (0 up, 1 right, 2 down, 3 left).

    The reward is ``lambda_env**t * rho + lambda_con**t * M`` of the outcome; terminated on
    entering a success or failure cell, truncated after ``horizon`` steps. A finished journey's
    ``CELL`` and ``REGION`` become -1: the autoreset samples its start.
    """
    k = istate[i, REGION]
    t = istate[i, T]
    row = (k * kp.cell_record.shape[0] + istate[i, CELL]) * N_ACTIONS + actions[i, 0]
    m = splitmix_bits(istate[i, KEY], istate[i, CTR])
    istate[i, CTR] += 1
    q = 0
    for j in range(kp.thresholds.shape[1]):
        q += m >= kp.thresholds[row, j]
    record = kp.outcome[row, q]
    rew[i] = kp.env_discount[t] * kp.value[row, q, 0] + kp.con_discount[t] * kp.value[row, q, 1]
    t += 1
    term = ((record >> TERMINAL_SHIFT) & 1) != 0
    trunc = (not term) & (t >= kp.horizon)  # bitwise: no branch
    ended = term | trunc
    istate[i, CELL] = -1 if ended else record & _CELL
    istate[i, REGION] = -1 if ended else k
    istate[i, T] = t
    _enter(record, i, k, t, obs, extra[0])
    return term, trunc


KERNELS = make_kernels(start_one, advance_one, "journey")
"""The journey's compiled driver (reset and step, parallel and serial)."""
