"""Numba kernels of the CustomerJourney MDP: batch-first, preallocated, no Python objects.

State layout (int64, one row per journey): ``CELL``, ``REGION``, ``T`` (steps taken),
``DONE`` (1 after the journey ended: the next step resets it, Gymnasium's NEXT_STEP autoreset),
then the random-stream key and counter (:mod:`crm_envs.core.rng`).

Outputs per journey: observation ``(row, col, region, t)`` (int64), reward, terminated,
truncated and the action mask of the new cell (int8, one entry per move).

Before :func:`journey_reset`, the caller writes the requested start cell and region into the
``CELL`` and ``REGION`` columns, with -1 meaning "sample": the region from ``region_cum``, the
cell uniformly from ``start_cells``.

Each kernel body is written once, with ``prange``, and compiled twice: with ``parallel=True``
for the vector env and without for the single env, where starting a parallel region costs more
than the step itself (numba treats ``prange`` as ``range`` when not parallel). The per-journey
work is written inline rather than in helper functions: passing the parameter tuple to a helper
per journey made the serial loop ten times slower (reference counting of its arrays). Sampling
the outcome counts the cumulative probabilities below ``u`` instead of searching, which avoids
a mispredicted branch per step.
"""

from __future__ import annotations

from numba import njit, prange

from crm_envs.core.jit import parallel_and_serial
from crm_envs.core.rng import splitmix_uniform

CELL, REGION, T, DONE, KEY, CTR = 0, 1, 2, 3, 4, 5
STATE_WIDTH = 6


@njit(cache=True, inline="always")
def _start(kp, state, i, obs_out, mask_out):
    """Start journey ``i`` (requested cell/region in the state, -1 = sample)."""
    if state[i, REGION] < 0:
        u = splitmix_uniform(state[i, KEY], state[i, CTR])
        state[i, CTR] += 1
        k = 0
        for q in range(kp.region_cum.shape[0] - 1):
            k += u >= kp.region_cum[q]
        state[i, REGION] = k
    if state[i, CELL] < 0:
        n_start = kp.start_cells.shape[0]
        j = int(splitmix_uniform(state[i, KEY], state[i, CTR]) * n_start)
        state[i, CTR] += 1
        state[i, CELL] = kp.start_cells[min(j, n_start - 1)]
    cell = state[i, CELL]
    state[i, T] = 0
    state[i, DONE] = 0
    obs_out[i, 0] = kp.cell_row[cell]
    obs_out[i, 1] = kp.cell_col[cell]
    obs_out[i, 2] = state[i, REGION]
    obs_out[i, 3] = 0
    for a in range(kp.valid.shape[1]):
        mask_out[i, a] = kp.valid[cell, a]


def _journey_reset(kp, state, obs_out, mask_out):
    """Start a journey in every row of ``state`` (requests in CELL/REGION; -1 = sample).

    Args:
        kp: ``JourneyKernelParams``.
        state: (N, 6) int64 state, modified in place.
        obs_out: (N, 4) int64 observations, written.
        mask_out: (N, A) int8 action masks, written.
    """
    for i in prange(state.shape[0]):
        _start(kp, state, i, obs_out, mask_out)


def _journey_step(kp, state, action, obs_out, rew_out, term_out, trunc_out, mask_out):
    """Advance every journey by one touchpoint (ended journeys are reset instead).

    Args:
        kp: ``JourneyKernelParams``.
        state: (N, 6) int64 state, modified in place.
        action: (N,) int64 moves in {0: up, 1: right, 2: down, 3: left}.
        obs_out: (N, 4) int64 observations, written.
        rew_out: (N,) float64 rewards ``lambda_env**t * rho + lambda_con**t * M``, written.
        term_out: (N,) bool, True when a success or failure cell was entered.
        trunc_out: (N,) bool, True when the journey reached ``horizon`` steps.
        mask_out: (N, A) int8 action masks of the new cells, written.
    """
    n_act = kp.valid.shape[1]
    n_cells = kp.valid.shape[0]
    last = kp.next_cum.shape[1] - 1
    for i in prange(state.shape[0]):
        if state[i, DONE] != 0:
            state[i, CELL] = -1
            state[i, REGION] = -1
            _start(kp, state, i, obs_out, mask_out)
            rew_out[i] = 0.0
            term_out[i] = False
            trunc_out[i] = False
            continue
        cell = state[i, CELL]
        k = state[i, REGION]
        t = state[i, T]
        row = (k * n_cells + cell) * n_act + action[i]
        u = splitmix_uniform(state[i, KEY], state[i, CTR])
        state[i, CTR] += 1
        m = 0
        for q in range(last):
            m += u >= kp.next_cum[row, q]
        nxt = kp.next_cell[row, m]
        rew_out[i] = (
            kp.env_discount[t] * kp.next_rho[row, m] + kp.con_discount[t] * kp.next_con[row, m]
        )
        t += 1
        term = kp.terminal[nxt] != 0
        trunc = (not term) and t >= kp.horizon
        state[i, CELL] = nxt
        state[i, T] = t
        state[i, DONE] = term or trunc
        obs_out[i, 0] = kp.cell_row[nxt]
        obs_out[i, 1] = kp.cell_col[nxt]
        obs_out[i, 2] = k
        obs_out[i, 3] = t
        term_out[i] = term
        trunc_out[i] = trunc
        for a in range(n_act):
            mask_out[i, a] = kp.valid[nxt, a]


journey_reset, journey_reset_serial = parallel_and_serial(_journey_reset, "journey_reset")
journey_step, journey_step_serial = parallel_and_serial(_journey_step, "journey_step")
