"""The exact finite-horizon MDP of a CustomerJourney configuration."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.models import TabularMDP
from crm_envs.envs.customer_journey.params import N_ACTIONS, CustomerJourneyParams

__all__ = ["conversion_probabilities", "expected_rewards", "journey_mdp"]


def expected_rewards(params: CustomerJourneyParams) -> tuple[NDArray, NDArray]:
    """Undiscounted expected sales-rep and constraint rewards of each (region, cell, action).

    Args:
        params: The journey parameters.

    Returns:
        ``(rho, con)``, each of shape (K, N, A). Invalid moves earn ``invalid_move_reward``
        and no constraint reward; terminal cells earn nothing.
    """
    p = params.transition_matrix()
    types = params.cell_types
    src = params.env_reward[:, types][:, :, types]  # (K, N, N): rho[from type(s), to type(s')]
    con = params.con_reward[:, types][:, :, types]
    rho_e = np.einsum("ksan,ksn->ksa", p, src)
    con_e = np.einsum("ksan,ksn->ksa", p, con)
    invalid = params.valid_moves == 0
    rho_e[:, invalid] = params.invalid_move_reward
    con_e[:, invalid] = 0.0
    term = params.terminal_cells
    rho_e[:, term] = 0.0
    con_e[:, term] = 0.0
    return rho_e, con_e


def journey_mdp(
    params: CustomerJourneyParams, horizon: int, start: str = "f2f", region: int | None = None
) -> TabularMDP:
    """Exact finite-horizon MDP over (cell, region) with time-indexed rewards.

    State index ``s = cell * K + region`` with ``cell = row * n_cols + col``, i.e.
    ``np.ravel_multi_index((row, col, region), (n_rows, n_cols, K))`` of the first three
    observation entries; the fourth entry (t) is the time index of the solution. Transitions are
    stationary (A, S, S); rewards are (H, A, S) with ``R[t] = lambda_env**t * E[rho] +
    lambda_con**t * E[M]``, so the undiscounted (gamma = 1) sum over ``horizon`` steps is the
    paper's two-discount return. Terminal cells are absorbing with zero reward.

    Args:
        params: The journey parameters.
        horizon: Maximum journey length H.
        start: Start mode of the initial distribution (``"f2f"``, ``"pauses"``, ``"any"``).
        region: Fix the initial region (None: ``params.region_distribution()``).

    Returns:
        The :class:`TabularMDP`.
    """
    k, n = params.n_regions, params.n_cells
    s = n * k
    p = params.transition_matrix()  # (K, N, A, N)
    big_p = np.zeros((N_ACTIONS, s, s))
    for kk in range(k):
        big_p[:, kk::k, kk::k] = p[kk].transpose(1, 0, 2)
    rho, con = expected_rewards(params)  # (K, N, A)
    t = np.arange(horizon, dtype=np.float64)
    rho_as = rho.transpose(2, 1, 0).reshape(N_ACTIONS, s)  # (A, N*K) with s = cell*K + k
    con_as = con.transpose(2, 1, 0).reshape(N_ACTIONS, s)
    big_r = (params.lambda_env**t)[:, None, None] * rho_as + (params.lambda_con**t)[
        :, None, None
    ] * con_as
    regions = params.region_distribution()
    if region is not None:
        regions = np.zeros(k)
        regions[region] = 1.0
    init = np.zeros((n, k))
    cells = params.start_cells(start)
    init[cells] = regions / len(cells)
    return TabularMDP(big_p, big_r, gamma=1.0, horizon=horizon, initial=init.ravel())


def conversion_probabilities(
    params: CustomerJourneyParams, horizon: int, policy: NDArray[np.integer] | None = None
) -> NDArray[np.float64]:
    """Exact probability that a journey ends in a success cell within ``horizon`` moves.

    Slips included, by backward recursion over the transition matrix (no sampling).

    Args:
        params: The journey parameters.
        horizon: Moves allowed.
        policy: (H, S) actions over the model's state index ``cell * K + region`` (e.g.
            ``backward_induction(journey_mdp(...)).policy``); None gives the largest
            probability any policy reaches from each cell.

    Returns:
        (K, N) probability by region and start cell (1 in success cells, 0 in failure cells).
    """
    p = params.transition_matrix()  # (K, N, A, N)
    k_regions, n = params.n_regions, params.n_cells
    if policy is not None and np.shape(policy) != (horizon, n * k_regions):
        raise ValueError(f"policy must have shape ({horizon}, {n * k_regions}), "
                         f"got {np.shape(policy)}")  # fmt: skip
    success = np.array([ch == "S" for row in params.layout for ch in row], dtype=float)
    live = ~params.terminal_cells
    out = np.empty((k_regions, n))
    for k in range(k_regions):
        v = success.copy()
        for t in reversed(range(horizon)):
            reach = p[k] @ v  # (N, A)
            if policy is None:
                chosen = reach.max(axis=1)
            else:
                actions = np.asarray(policy)[t, np.arange(n) * k_regions + k]
                chosen = reach[np.arange(n), actions]
            v = np.where(live, chosen, v)
        out[k] = v
    return out
