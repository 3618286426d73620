"""Journey logs: simulate them, and estimate the journey model from them by frequency counts.

The paper estimates each region's transition matrix from logged journeys by frequency counts
and simulates 25,000 journeys. :func:`simulate_journeys` produces such logs with the env's own
batched kernel; :func:`fit_journey_model` turns logs back into :class:`CustomerJourneyParams`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from tqdm.auto import tqdm

from crm_envs.core.params import check_int, check_prob, check_scalar
from crm_envs.envs.customer_journey.params import (
    N_ACTIONS,
    N_TYPES,
    CustomerJourneyParams,
)

__all__ = ["JourneyLog", "fit_journey_model", "simulate_journeys"]

Policy = Callable[[NDArray[np.int64], NDArray[np.int8]], ArrayLike]


@dataclass(frozen=True)
class JourneyLog:
    """Logged journeys, one row per touchpoint step (all arrays have the same length).

    Attributes:
        journey: Journey id of each step.
        region: Region index of the journey.
        t: Step number within the journey (0-based).
        cell: Cell index ``row * n_cols + col`` before the step.
        action: Move taken (0 up, 1 right, 2 down, 3 left).
        next_cell: Cell index after the step.
        rho: Sales-rep feedback on the transition (undiscounted, -5..5).
        con: Marketing-department constraint reward (undiscounted).
        terminated: Whether the step ended the journey in a success/failure cell.
    """

    journey: NDArray[np.int64]
    region: NDArray[np.int64]
    t: NDArray[np.int64]
    cell: NDArray[np.int64]
    action: NDArray[np.int64]
    next_cell: NDArray[np.int64]
    rho: NDArray[np.float64]
    con: NDArray[np.float64]
    terminated: NDArray[np.bool_]

    def __post_init__(self) -> None:
        n = len(self.journey)
        for name in self.__dataclass_fields__:
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"JourneyLog.{name} has {len(getattr(self, name))} rows, journey has {n}"
                )

    def __len__(self) -> int:
        return len(self.journey)

    @property
    def n_journeys(self) -> int:
        """Number of distinct journeys."""
        return int(np.unique(self.journey).size)


def _policy_actions(
    policy: Policy | NDArray | None,
    obs: NDArray[np.int64],
    mask: NDArray[np.int8],
    state_index: Callable[[NDArray], NDArray],
    rng: np.random.Generator,
    epsilon: float,
) -> NDArray[np.int64]:
    n = obs.shape[0]
    # Uniform choice among the valid moves of each journey.
    cum = np.cumsum(mask, axis=1)
    pick = (rng.random(n) * cum[:, -1]).astype(np.int64)
    random_valid = (cum <= pick[:, None]).sum(axis=1)
    if policy is None:
        return random_valid
    if callable(policy):
        act = np.asarray(policy(obs, mask), dtype=np.int64)
    else:
        table = np.asarray(policy)
        s = state_index(obs)
        act = table[obs[:, 3], s] if table.ndim == 2 else table[s]
        act = act.astype(np.int64)
    if act.shape != (n,):
        raise ValueError(f"policy must return one action per journey ({n},), got {act.shape}")
    if epsilon > 0:
        explore = rng.random(n) < epsilon
        act = np.where(explore, random_valid, act)
    return act


def simulate_journeys(
    params: CustomerJourneyParams,
    n: int,
    policy: Policy | NDArray | None = None,
    seed: int = 0,
    *,
    start: str = "f2f",
    horizon: int = 10,
    epsilon: float = 0.0,
    region: int | None = None,
    progress_bar: bool = False,
) -> JourneyLog:
    """Simulate ``n`` complete journeys with the env's batched kernel and log every step.

    Args:
        params: The journey model to simulate.
        n: Number of journeys (the paper simulates 25,000).
        policy: None (a uniformly random valid move), a policy table indexed ``[t, s]`` (as
            ``agents.dp.backward_induction`` returns) or ``[s]``, or a callable
            ``policy(obs (n, 4), action_mask (n, 4)) -> actions (n,)``.
        seed: Seed of the journeys and of the policy's randomness.
        start: Start mode (``"f2f"``, ``"pauses"``, ``"any"``).
        horizon: Maximum journey length.
        epsilon: Probability in [0, 1] of replacing the policy's move by a random valid one.
        region: Fix every journey's region (None: drawn from ``region_probs``).
        progress_bar: Show a tqdm bar over the steps.

    Returns:
        The :class:`JourneyLog`.
    """
    from crm_envs.envs.customer_journey.env import CustomerJourneyVectorEnv

    n = check_int("n", n, low=1)
    seed = check_int("seed", seed, low=0)
    epsilon = check_prob("epsilon", epsilon)
    env = CustomerJourneyVectorEnv(n, params=params, start=start, horizon=horizon)
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed, options={"region": region})
    active = np.ones(n, dtype=bool)
    rows: list[tuple[NDArray, ...]] = []
    types = params.cell_types
    ids = np.arange(n)
    for _ in tqdm(range(horizon), desc="simulating journeys", disable=not progress_bar):
        act = _policy_actions(policy, obs, info["action_mask"], env.state_index, rng, epsilon)
        nxt, _, term, trunc, info = env.step(act)
        idx = np.flatnonzero(active)
        cell = obs[idx, 0] * params.n_cols + obs[idx, 1]
        ncell = nxt[idx, 0] * params.n_cols + nxt[idx, 1]
        k, a = obs[idx, 2], act[idx]
        valid = params.valid_moves[cell, a] == 1
        rho = np.where(
            valid, params.env_reward[k, types[cell], types[ncell]], params.invalid_move_reward
        )
        con = np.where(valid, params.con_reward[k, types[cell], types[ncell]], 0.0)
        rows.append((ids[idx], k, obs[idx, 3], cell, a, ncell, rho, con, term[idx]))
        active &= ~(term | trunc)
        obs = nxt
        if not active.any():
            break
    cols = [np.concatenate(c) for c in zip(*rows, strict=True)]
    order = np.lexsort((cols[2], cols[0]))
    return JourneyLog(*(c[order] for c in cols))


def fit_journey_model(
    log: JourneyLog,
    layout: tuple[str, ...],
    region_names: tuple[str, ...],
    *,
    smoothing: float = 0.5,
    prior: CustomerJourneyParams | None = None,
    lambda_env: float = 0.75,
    lambda_con: float = 0.15,
) -> CustomerJourneyParams:
    """Estimate a journey model from logs by frequency counts (the paper's second approach).

    * Transitions of each (region, cell, valid move): counts of the next cells plus
      ``smoothing`` pseudo-counts on every valid grid neighbour, normalised. A pair never
      logged takes the prior's row if ``prior`` is given, else the smoothed (uniform) row.
    * Rewards: the mean logged ``rho`` and ``con`` of each (region, from type, to type);
      unlogged entries take the prior's value (or 0). Invalid moves give
      ``invalid_move_reward`` (mean of the logged ones, else the prior's or -1).
    * ``region_probs``: region frequencies of the logged journeys; ``start_cell``: the most
      frequent first cell; ``p_intended``: per region, the logged frequency of the intended
      move among valid moves (a summary: the fitted ``transition_probs`` drive the dynamics).

    Args:
        log: Logged journeys.
        layout: The grid the journeys ran on.
        region_names: Names of the regions (their number fixes K).
        smoothing: Additive (Laplace) pseudo-count per valid neighbour, >= 0.
        prior: Optional params used where the log has no data.
        lambda_env: Discount of the sales-rep rewards (not identifiable from raw feedback).
        lambda_con: Discount of the constraint rewards.

    Returns:
        :class:`CustomerJourneyParams` with ``transition_probs`` set.
    """
    smoothing = check_scalar("smoothing", smoothing, low=0.0)
    k = len(region_names)
    geo = CustomerJourneyParams(
        layout=layout,
        region_names=region_names,
        p_intended=(1.0,) * k,
        env_reward=np.zeros((k, N_TYPES, N_TYPES)),
        con_reward=np.zeros((k, N_TYPES, N_TYPES)),
        start_cell=_first_touchpoint(layout),
    )
    n_cells = geo.n_cells
    if len(log) == 0:
        raise ValueError("log is empty: nothing to fit")
    for name, arr, hi in (
        ("region", log.region, k - 1),
        ("cell", log.cell, n_cells - 1),
        ("next_cell", log.next_cell, n_cells - 1),
        ("action", log.action, N_ACTIONS - 1),
    ):
        if arr.min() < 0 or arr.max() > hi:
            raise ValueError(f"log.{name} must lie in [0, {hi}], found [{arr.min()}, {arr.max()}]")
    neighbour = np.array([[geo.neighbour(c, a) for a in range(N_ACTIONS)] for c in range(n_cells)])
    valid_tab = geo.valid_moves.astype(bool)
    valid = valid_tab[log.cell, log.action]
    adjacent = (neighbour[log.cell] == log.next_cell[:, None]).any(axis=1) | (
        log.next_cell == log.cell
    )
    if not adjacent.all():
        i = int(np.flatnonzero(~adjacent)[0])
        raise ValueError(
            f"log row {i} moves from cell {geo.cell_rc(log.cell[i])} to "
            f"{geo.cell_rc(log.next_cell[i])}: not a grid neighbour; wrong layout?"
        )
    counts = np.zeros((k, n_cells, N_ACTIONS, n_cells))
    np.add.at(
        counts, (log.region[valid], log.cell[valid], log.action[valid], log.next_cell[valid]), 1.0
    )
    nb_mask = np.zeros((n_cells, n_cells), dtype=bool)  # valid grid neighbours of each cell
    for c in range(n_cells):
        nb_mask[c, neighbour[c, valid_tab[c]]] = True
    smoothed = counts + smoothing * nb_mask[None, :, None, :] * valid_tab[None, :, :, None]
    totals = smoothed.sum(axis=-1, keepdims=True)
    uniform_rows = nb_mask / np.maximum(nb_mask.sum(axis=-1, keepdims=True), 1)
    probs = np.where(
        totals > 0, smoothed / np.where(totals > 0, totals, 1.0), uniform_rows[None, :, None, :]
    )
    logged = counts.sum(axis=-1) > 0
    if prior is not None:
        prior_p = prior.transition_matrix()
        probs = np.where(logged[..., None], probs, prior_p)
    probs[:, ~valid_tab] = 0.0  # invalid moves: rows ignored by the params

    types = geo.cell_types
    src, dst = types[log.cell], types[log.next_cell]
    rewards = []
    for field, values in (("env_reward", log.rho), ("con_reward", log.con)):
        total = np.zeros((k, N_TYPES, N_TYPES))
        num = np.zeros((k, N_TYPES, N_TYPES))
        np.add.at(total, (log.region[valid], src[valid], dst[valid]), values[valid])
        np.add.at(num, (log.region[valid], src[valid], dst[valid]), 1.0)
        base = getattr(prior, field) if prior is not None else np.zeros_like(total)
        rewards.append(np.where(num > 0, total / np.maximum(num, 1.0), base))
    if (~valid).any():
        invalid_reward = float(log.rho[~valid].mean())
    else:
        invalid_reward = prior.invalid_move_reward if prior is not None else -1.0

    first = log.t == 0
    region_counts = np.bincount(log.region[first], minlength=k).astype(float)
    start = int(np.bincount(log.cell[first], minlength=n_cells).argmax()) if first.any() else 0
    intended = log.next_cell == neighbour[log.cell, log.action]
    p_int = []
    for kk in range(k):
        sel = valid & (log.region == kk)
        p_int.append(float(intended[sel].mean()) if sel.any() else 1.0)
    return CustomerJourneyParams(
        layout=tuple(layout),
        region_names=tuple(region_names),
        p_intended=tuple(p_int),
        env_reward=rewards[0],
        con_reward=rewards[1],
        invalid_move_reward=invalid_reward,
        lambda_env=lambda_env,
        lambda_con=lambda_con,
        region_probs=tuple(region_counts / region_counts.sum()) if first.any() else None,
        start_cell=geo.cell_rc(start),
        transition_probs=probs,
    )


def _first_touchpoint(layout: tuple[str, ...]) -> tuple[int, int]:
    for r, row in enumerate(layout):
        for c, ch in enumerate(row):
            if ch not in "SX":
                return r, c
    raise ValueError("layout has no touchpoint cell")
