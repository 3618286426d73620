"""Numba kernels of the CustomerJourney MDP, in the ABI of :mod:`crm_envs.core.kernels`.

Integer state layout (one row per journey): ``CELL``, ``REGION``, ``T`` (steps taken), then
the driver's ``DONE``, random-stream key and counter. There is no float state (``fstate`` has 0
columns). Reset requests share the ``CELL`` and ``REGION`` columns: before a reset the env
writes the requested start cell and region there, -1 meaning "sample". When an episode ends,
``advance_one`` writes -1 into both (nothing reads a finished journey's cell), so the
autoreset samples afresh. Separate request columns cost CustomerJourney 5-8% of its vector
speed at 65,536 copies (eight int64 columns a row instead of six).

Outputs per journey: observation ``(row, col, region, t)`` (int64), reward, terminated,
truncated, and the one declared info array ``extra = (action_mask,)``: the int8 mask of the
new cell, one entry per move.

The start region is drawn from ``region_cum``, the start cell uniformly from ``start_cells``.
Sampling an outcome counts the cumulative probabilities below ``u`` instead of searching,
which avoids a mispredicted branch per step.
"""

from __future__ import annotations

from numba import njit

from crm_envs.core.kernels import CTR, DRIVER_COLUMNS, KEY, make_kernels
from crm_envs.core.rng import splitmix_uniform

CELL, REGION, T = 0, 1, 2
STATE_WIDTH = 3 + DRIVER_COLUMNS
FLOAT_WIDTH = 0


@njit(cache=True, inline="always")
def start_one(kp, fstate, istate, i, obs, extra):
    """Start journey ``i`` at the requested cell/region (-1 = sample) in ``CELL``/``REGION``."""
    mask = extra[0]
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
    istate[i, REGION] = k
    istate[i, CELL] = cell
    istate[i, T] = 0
    obs[i, 0] = kp.cell_row[cell]
    obs[i, 1] = kp.cell_col[cell]
    obs[i, 2] = k
    obs[i, 3] = 0
    for a in range(kp.valid.shape[1]):
        mask[i, a] = kp.valid[cell, a]


@njit(cache=True, inline="always")
def advance_one(kp, fstate, istate, i, actions, obs, rew, extra):
    """Move journey ``i`` by ``actions[i, 0]`` (0 up, 1 right, 2 down, 3 left).

    The reward is ``lambda_env**t * rho + lambda_con**t * M`` of the outcome; terminated on
    entering a success or failure cell, truncated after ``horizon`` steps. A finished journey's
    ``CELL`` and ``REGION`` become -1: the autoreset samples its start.
    """
    mask = extra[0]
    n_act = kp.valid.shape[1]
    n_cells = kp.valid.shape[0]
    last = kp.next_cum.shape[1] - 1
    cell = istate[i, CELL]
    k = istate[i, REGION]
    t = istate[i, T]
    row = (k * n_cells + cell) * n_act + actions[i, 0]
    u = splitmix_uniform(istate[i, KEY], istate[i, CTR])
    istate[i, CTR] += 1
    m = 0
    for q in range(last):
        m += u >= kp.next_cum[row, q]
    nxt = kp.next_cell[row, m]
    rew[i] = kp.env_discount[t] * kp.next_rho[row, m] + kp.con_discount[t] * kp.next_con[row, m]
    t += 1
    term = kp.terminal[nxt] != 0
    trunc = (not term) and t >= kp.horizon
    ended = term or trunc
    istate[i, CELL] = -1 if ended else nxt
    istate[i, REGION] = -1 if ended else k
    istate[i, T] = t
    obs[i, 0] = kp.cell_row[nxt]
    obs[i, 1] = kp.cell_col[nxt]
    obs[i, 2] = k
    obs[i, 3] = t
    for a in range(n_act):
        mask[i, a] = kp.valid[nxt, a]
    return term, trunc


KERNELS = make_kernels(start_one, advance_one, "journey")
"""The journey's compiled driver (reset and step, parallel and serial)."""
