"""Simulated sequences and the value of learning (Fan 2015, Essay 2, 2.5, Appendix B, Fig. 15).

The HMM planner's value is what it *expects*; what its policy earns is measured by simulation
against the true state (Appendix B), like the POMDP's. :func:`value_of_learning` solves both
planners (:func:`~crm_envs.envs.b2b_customer.solver.solve`) and simulates both with common
random numbers, using the same month function as the environment: sequence ``j`` of a customer
is exactly an episode of ``B2BCustomer-v0`` reset with the corresponding seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from crm_envs.core.params import check_choice, check_int
from crm_envs.core.rng import seed_keys, splitmix_uniform
from crm_envs.envs.b2b_customer import kernels
from crm_envs.envs.b2b_customer.evaluate import PolicyValues, policy_values
from crm_envs.envs.b2b_customer.kernels import advance, next_class, q11_expected
from crm_envs.envs.b2b_customer.params import B2BCustomerParams
from crm_envs.envs.b2b_customer.solver import (
    B2BSolution,
    check_resolution,
    month_tables,
    solve,
    solve_customer,
)

__all__ = [
    "FIGURE15_HORIZONS", "SIMULATIONS", "TRACE_COLUMNS", "ExactVOL", "VOLResult",
    "exact_value_of_learning", "simulate_sequences", "value_of_learning",
]  # fmt: skip

#: Figure 15's planning horizons (months).
FIGURE15_HORIZONS = (12, 24, 36, 48, 60, 120)

SIMULATIONS = ("hidden_chain", "belief_draw")
"""How :func:`exact_value_of_learning` simulates a policy: ``"hidden_chain"`` follows the
customer's true state, which persists from month to month (the correct simulation of the
model); ``"belief_draw"`` draws each month's state afresh from the planner's own belief, as
Fan's Appendix B describes (step 4). Under the belief draw the POMDP's value is unchanged and
the HMM planner earns what it expects, so the VOL differs (see
:mod:`crm_envs.envs.b2b_customer.evaluate`)."""


TRACE_COLUMNS = ("state", "belief", "force", "spend", "level", "promotion", "reward")
"""Columns of a sequence simulated by :func:`simulate_sequences`."""


@njit(cache=True)
def _run(kp, cust, grid, E, Q01, Q11P, Q11M, policy, open_loop_decisions, key, months,
         checkpoints, out, trace):  # fmt: skip
    """Simulate one sequence (Appendix B) and write discounted returns at the checkpoints.

    The stream use matches the environment's: one uniform at reset, four a month.
    """
    n_grid = policy.shape[1]
    b0 = cust[kernels.C_INITIAL]
    s = 1 if splitmix_uniform(key, 0) < b0 else 0
    ctr = 1
    k = 1
    b = b0
    bo = b0
    total = 0.0
    disc = 1.0
    c = 0
    for t in range(months):
        belief = bo if open_loop_decisions else b
        a = policy[k, int(belief * (n_grid - 1) + 0.5)]
        q01, q11p, q11m = Q01[a, k], Q11P[a, k], Q11M[a, k]
        s2, level, promoted, b2, bo2, r = advance(
            s, b, bo, k, q01, q11p, q11m, cust, E[0, a], E[1, a], kp.revenue,
            kp.spend_cost * grid[a], key, ctr,
        )  # fmt: skip
        if trace.shape[0] > 0:
            trace[t, 0] = s2
            trace[t, 1] = belief
            trace[t, 2] = b * q11_expected(cust, q11p, q11m) + (1.0 - b) * q01
            trace[t, 3] = grid[a]
            trace[t, 4] = level
            trace[t, 5] = 1.0 if promoted else 0.0
            trace[t, 6] = r
        ctr += kernels.RANDOM_PER_MONTH
        total += disc * r
        disc *= kp.discount
        s, b, bo = s2, b2, bo2
        k = next_class(kp, k, level, promoted)
        while c < checkpoints.shape[0] and checkpoints[c] == t + 1:
            out[c] = total
            c += 1


def _customer_sims(kp, cust, grid, n_grid, tol, max_iter, keys, checkpoints, sums):
    """Solve both planners for one customer and simulate both on common random numbers.

    Writes ``sums[h, j]`` for checkpoint ``h``: j = 0/1/2 sum of POMDP, HMM, difference
    returns and j = 3/4/5 their sums of squares. Returns the two solutions' iteration counts.
    """
    tables = month_tables(kp, cust, grid)
    pol_p, pol_h, it_p, it_h = _solve_both(kp, cust, grid, tables, n_grid, tol, max_iter)
    _paired_sims(kp, cust, grid, tables, pol_p, pol_h, keys, checkpoints, sums)
    return it_p, it_h


def _solve_both(kp, cust, grid, tables, n_grid, tol, max_iter):
    """The POMDP and HMM policy tables of one customer row and their iteration counts."""
    n_class = tables[1].shape[1]
    V = np.zeros((n_class, n_grid))
    pol_p = np.zeros((n_class, n_grid), dtype=np.int64)
    pol_h = np.zeros((n_class, n_grid), dtype=np.int64)
    it_p, _ = solve_customer(kp, cust, grid, tables, n_grid, True, tol, max_iter, V, pol_p)
    V[:] = 0.0
    it_h, _ = solve_customer(kp, cust, grid, tables, n_grid, False, tol, max_iter, V, pol_h)
    return pol_p, pol_h, it_p, it_h


def _paired_sims(kp, cust, grid, tables, pol_p, pol_h, keys, checkpoints, sums):
    """Simulate both policies on common random numbers (see :func:`_customer_sims`)."""
    E, Q01, Q11P, Q11M = tables
    n_h = checkpoints.shape[0]
    ret_p = np.empty(n_h)
    ret_h = np.empty(n_h)
    no_trace = np.empty((0, 7))
    months = checkpoints[-1]
    for j in range(keys.shape[0]):
        _run(kp, cust, grid, E, Q01, Q11P, Q11M, pol_p, False, keys[j], months, checkpoints,
             ret_p, no_trace)  # fmt: skip
        _run(kp, cust, grid, E, Q01, Q11P, Q11M, pol_h, True, keys[j], months, checkpoints,
             ret_h, no_trace)  # fmt: skip
        for h in range(n_h):
            d = ret_p[h] - ret_h[h]
            sums[h, 0] += ret_p[h]
            sums[h, 1] += ret_h[h]
            sums[h, 2] += d
            sums[h, 3] += ret_p[h] * ret_p[h]
            sums[h, 4] += ret_h[h] * ret_h[h]
            sums[h, 5] += d * d


_solve_both = njit(cache=True)(_solve_both)
_paired_sims = njit(cache=True)(_paired_sims)
_customer_sims_jit = njit(cache=True)(_customer_sims)


def _checkpoints(horizon: int | Sequence[int]) -> NDArray[np.int64]:
    hs = [horizon] if isinstance(horizon, (int, np.integer)) else list(horizon)
    if not hs:
        raise ValueError("horizon must be a positive int or a non-empty list of them")
    arr = np.array([check_int("horizon", h, low=1) for h in hs], dtype=np.int64)
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"horizons must be strictly increasing, got {arr.tolist()}")
    return arr


def simulate_sequences(
    params: B2BCustomerParams,
    solution: B2BSolution,
    months: int = 36,
    n_sims: int = 1,
    seed: int = 0,
    open_loop_decisions: bool | None = None,
) -> NDArray[np.float64]:
    """Simulate ``n_sims`` sequences of a solved policy against the true state (Appendix B).

    Sequence ``j`` uses the random stream of an env reset with ``seed + j``, so it is exactly
    that episode of ``B2BCustomer-v0`` played with this policy.

    Args:
        params: The customer (the true dynamics).
        solution: The policy to follow.
        months: Months per sequence.
        n_sims: Number of sequences.
        seed: Seed of sequence 0.
        open_loop_decisions: Decide on the open-loop belief (default: ``not
            solution.adaptive``, as each planner assumes).

    Returns:
        (n_sims, months, 7) array with columns :data:`TRACE_COLUMNS`: true state after the
        month, the belief the decision used, the force toward high ``phi`` (Bayes belief
        propagated, Figure 14's grey bars), spend, purchase level, promotion offer, reward.
    """
    months = check_int("months", months, low=1)
    n_sims = check_int("n_sims", n_sims, low=1)
    if open_loop_decisions is None:
        open_loop_decisions = not solution.adaptive
    kp = params.to_kernel()
    grid = np.array(params.spend_grid)
    E, Q01, Q11P, Q11M = month_tables(kp, kp.customer, grid)
    keys = seed_keys(check_int("seed", seed, low=0), n_sims)
    out = np.zeros((n_sims, months, len(TRACE_COLUMNS)))
    ret = np.zeros(1)
    for j in range(n_sims):
        _run(kp, kp.customer, grid, E, Q01, Q11P, Q11M, solution.policy, bool(open_loop_decisions),
             keys[j], months, np.array([months]), ret, out[j])  # fmt: skip
    return out


@dataclass(frozen=True)
class VOLResult:
    """DCV of both policies and the value of learning, per horizon (Figure 15).

    Attributes:
        horizons: (H,) months.
        dcv_pomdp: (H,) mean discounted customer value under the POMDP policy.
        dcv_hmm: (H,) the same under the HMM policy.
        vol: (H,) ``dcv_pomdp - dcv_hmm`` (common random numbers).
        se_pomdp: (H,) standard errors of ``dcv_pomdp``.
        se_hmm: (H,) standard errors of ``dcv_hmm``.
        se_vol: (H,) standard errors of ``vol`` (paired).
        n_sims: Sequences simulated per policy.
        iterations: Sweeps of the POMDP and HMM solutions.
    """

    horizons: NDArray[np.int64]
    dcv_pomdp: NDArray[np.float64]
    dcv_hmm: NDArray[np.float64]
    vol: NDArray[np.float64]
    se_pomdp: NDArray[np.float64]
    se_hmm: NDArray[np.float64]
    se_vol: NDArray[np.float64]
    n_sims: int
    iterations: tuple[int, int]


def _moments(sums: NDArray[np.float64], n: int) -> tuple[NDArray[np.float64], ...]:
    mean = sums[..., :3] / n
    var = np.maximum(sums[..., 3:] / n - mean**2, 0.0) * (n / max(n - 1, 1))
    return mean, np.sqrt(var / n)


def value_of_learning(
    params: B2BCustomerParams,
    horizon: int | Sequence[int] = 60,
    n_sims: int = 100,
    seed: int = 0,
    resolution: int = 40,
) -> VOLResult:
    """DCV under the POMDP and HMM policies and their difference, the value of learning.

    Both planners are solved (:func:`~crm_envs.envs.b2b_customer.solver.solve`); each policy
    is simulated ``n_sims`` times against the true state with common random numbers
    (sequence ``j`` of both uses the env stream of seed ``seed + j``), and the discounted
    value is read at every horizon.

    Args:
        params: The customer.
        horizon: Months, or an increasing list (Figure 15: :data:`FIGURE15_HORIZONS`).
        n_sims: Sequences per policy (Fan: 100).
        seed: Seed of sequence 0.
        resolution: Belief grid points.

    Returns:
        The :class:`VOLResult`.
    """
    if not isinstance(params, B2BCustomerParams):
        raise TypeError(f"params must be B2BCustomerParams, got {type(params).__name__}")
    checkpoints = _checkpoints(horizon)
    n_sims = check_int("n_sims", n_sims, low=2)
    kp = params.to_kernel()
    sums = np.zeros((checkpoints.size, 6))
    keys = seed_keys(check_int("seed", seed, low=0), n_sims)
    it_p, it_h = _customer_sims_jit(
        kp, kp.customer, np.array(params.spend_grid), check_resolution(resolution), 1e-7,
        100_000, keys, checkpoints, sums,
    )  # fmt: skip
    mean, se = _moments(sums, n_sims)
    return VOLResult(checkpoints, mean[:, 0], mean[:, 1], mean[:, 2], se[:, 0], se[:, 1],
                     se[:, 2], n_sims, (int(it_p), int(it_h)))  # fmt: skip


@dataclass(frozen=True)
class ExactVOL:
    """DCV of both policies and the value of learning per horizon, exact (no sampling).

    Attributes:
        horizons: (H,) months.
        dcv_pomdp: (H,) expected DCV under the POMDP policy.
        dcv_hmm: (H,) expected DCV under the HMM policy.
        vol: (H,) ``dcv_pomdp - dcv_hmm``.
        pomdp: The POMDP policy's exact monthly path (rewards, states, spends, beliefs).
        hmm: The HMM policy's.
    """

    horizons: NDArray[np.int64]
    dcv_pomdp: NDArray[np.float64]
    dcv_hmm: NDArray[np.float64]
    vol: NDArray[np.float64]
    pomdp: PolicyValues
    hmm: PolicyValues


def exact_value_of_learning(
    params: B2BCustomerParams,
    horizon: int | Sequence[int] = 60,
    resolution: int = 40,
    simulation: str = "hidden_chain",
) -> ExactVOL:
    """The value of learning by exact policy evaluation (forward propagation, no Monte Carlo).

    Both planners are solved and each policy's expected discounted value against the true
    hidden chain is computed by
    :func:`~crm_envs.envs.b2b_customer.evaluate.policy_values`; :func:`value_of_learning` is
    its paired Monte Carlo counterpart, with standard errors.

    Args:
        params: The customer.
        horizon: Months, or an increasing list (Figure 15: :data:`FIGURE15_HORIZONS`).
        resolution: Belief grid points of the planners.
        simulation: One of :data:`SIMULATIONS`: ``"hidden_chain"`` (default, correct) or
            ``"belief_draw"`` (Fan's Appendix B: the state drawn from the planner's belief
            each month).

    Returns:
        The :class:`ExactVOL`.
    """
    if not isinstance(params, B2BCustomerParams):
        raise TypeError(f"params must be B2BCustomerParams, got {type(params).__name__}")
    draw = check_choice("simulation", simulation, SIMULATIONS) == "belief_draw"
    hs = _checkpoints(horizon)
    months = int(hs[-1])
    pomdp = policy_values(params, solve(params, True, resolution), months,
                          state_from_belief=draw)  # fmt: skip
    hmm = policy_values(params, solve(params, False, resolution), months,
                        state_from_belief=draw)  # fmt: skip
    dp = np.array([pomdp.dcv(int(h)) for h in hs])
    dh = np.array([hmm.dcv(int(h)) for h in hs])
    return ExactVOL(hs, dp, dh, dp - dh, pomdp, hmm)
