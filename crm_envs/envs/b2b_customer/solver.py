"""The (belief, TSLP) planner of B2BCustomer (Fan 2015, Essay 2, 2.4, Appendix A).

The planner's state is the belief ``b`` = P(high) and the recency class ``k`` (TSLP, with a
promotion flag when last month's purchase came with an offer; see
:mod:`~crm_envs.envs.b2b_customer.kernels`). Two planners, as in the dissertation:

* **POMDP** (adaptive learning): after spend ``m`` and purchase level ``y`` the belief moves
  by the Bayes filter ``b' = phi P1(y) / (phi P1(y) + (1 - phi) P0(y))``, ``phi = b q11 +
  (1 - b) q01`` (section 2.4.3);
* **HMM** (pure exploitation): the belief moves open loop, ``b' = phi`` (section 2.4.2).

Both are solved by value iteration on a belief grid (Appendix A; 40 points by default) with
the value linearly interpolated between grid points, for every TSLP 1..max_tslp, to a fixed
point. The stopping rule uses MacQueen's bounds (the span of the last update times
``gamma / (1 - gamma)``), which makes the discount of 0.99 cheap: the belief forgets fast.
Appendix A's regression approximation of the value is not offered (interpolation is exact at
the grid points and needs no functional form).

The env's reference policy is the POMDP planner's. The paper's studies that simulate the
planners against the true state (Appendix B: the value of learning, the customer portfolio)
are in :mod:`crm_envs.papers.fan2015`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from crm_envs.core.params import check_int, check_range_array, check_scalar
from crm_envs.envs.b2b_customer import kernels
from crm_envs.envs.b2b_customer.kernels import (
    emission_probs,
    next_class,
    q11_expected,
    transition_probs,
)
from crm_envs.envs.b2b_customer.params import B2BCustomerParams

__all__ = ["B2BSolution", "check_resolution", "month_tables", "solve", "solve_customer"]


EVAL_SWEEPS = 16
"""Policy-evaluation sweeps after each improvement sweep (modified policy iteration)."""


@njit(cache=True)
def month_tables(kp, cust, grid):
    """The month's probabilities for every spend level and recency class, computed once.

    Args:
        kp: Kernel parameters (``B2BCustomerParams.to_kernel()``).
        cust: The customer row (``kp.customer`` or a row of a customer base).
        grid: (K,) spend levels.

    Returns:
        ``(E, Q01, Q11P, Q11M)``: (2, K, L) purchase-level probabilities and (K, classes)
        low -> high, high -> high without and with maintenance.
    """
    n_act, n_class = grid.shape[0], kp.max_tslp + 1
    E = np.empty((2, n_act, kp.revenue.shape[0]))
    Q01 = np.empty((n_act, n_class))
    Q11P = np.empty((n_act, n_class))
    Q11M = np.empty((n_act, n_class))
    for a in range(n_act):
        emission_probs(kp, cust, 0, grid[a], E[0, a])
        emission_probs(kp, cust, 1, grid[a], E[1, a])
        for k in range(Q01.shape[1]):
            Q01[a, k], Q11P[a, k], Q11M[a, k] = transition_probs(kp, cust, grid[a], k)
    return E, Q01, Q11P, Q11M


@njit(cache=True, inline="always")
def _interp(v, b, n_grid):
    x = b * (n_grid - 1)
    i = min(int(x), n_grid - 2)
    return v[i] + (x - i) * (v[i + 1] - v[i])


@njit(cache=True)
def _sweep(kp, cust, E, Q01, Q11E, cost, adaptive, V, Vnew, policy, improve):
    """One Bellman sweep over every (recency class, belief grid point).

    With ``improve`` every spend level is tried and ``policy`` is updated; without, only the
    policy's spend is evaluated (a policy-evaluation sweep of modified policy iteration).
    """
    n_class, n_grid = V.shape
    n_act, n_lev = E.shape[1], E.shape[2]
    rho = cust[kernels.C_PROMO]
    gamma = kp.discount
    rev = kp.revenue
    # Value after a purchase: with a promotion offer (class 0) or without (class 1). The mix
    # is linear, so interpolating it equals mixing the interpolations.
    after = rho * V[0] + (1.0 - rho) * V[1]
    for k in range(n_class):
        v_none = V[next_class(kp, k, 0, False)]
        for g in range(n_grid):
            b = g / (n_grid - 1)
            best = -np.inf
            best_a = policy[k, g]
            a_lo, a_hi = (0, n_act) if improve else (best_a, best_a + 1)
            for a in range(a_lo, a_hi):
                phi = b * Q11E[a, k] + (1.0 - b) * Q01[a, k]
                r = 0.0
                cont = 0.0
                if adaptive:
                    for y in range(n_lev):
                        p1 = E[1, a, y]
                        py = phi * p1 + (1.0 - phi) * E[0, a, y]
                        if py <= 0.0:
                            continue
                        r += py * rev[y]
                        bp = phi * p1 / py
                        cont += py * _interp(v_none if y == 0 else after, bp, n_grid)
                else:
                    p_none = phi * E[1, a, 0] + (1.0 - phi) * E[0, a, 0]
                    for y in range(1, n_lev):
                        r += (phi * E[1, a, y] + (1.0 - phi) * E[0, a, y]) * rev[y]
                    cont = p_none * _interp(v_none, phi, n_grid)
                    cont += (1.0 - p_none) * _interp(after, phi, n_grid)
                val = r - cost[a] + gamma * cont
                if val > best:
                    best = val
                    best_a = a
            Vnew[k, g] = best
            policy[k, g] = best_a


@njit(cache=True)
def solve_customer(kp, cust, grid, tables, n_grid, adaptive, tol, max_iter, V, policy):
    """Modified policy iteration of one customer row to a fixed point, in place.

    Each round is one full Bellman sweep (all spend levels; MacQueen's bounds are read off
    it) followed by ``EVAL_SWEEPS`` cheap sweeps that evaluate the current policy only.

    Args:
        kp: Kernel parameters.
        cust: The customer row.
        grid: (K,) spend levels.
        tables: :func:`month_tables` of ``kp``, ``cust`` and ``grid``.
        n_grid: Belief grid points.
        adaptive: Bayes-updated (POMDP) or open-loop (HMM) belief.
        tol: Relative width of MacQueen's bounds at which to stop.
        max_iter: Improvement sweeps at most.
        V: (classes, n_grid) start value, overwritten with the solution's value.
        policy: (classes, n_grid) int array, overwritten with the solution's spend indices.

    Returns:
        ``(improvement sweeps, bound width)``.
    """
    E, Q01, Q11P, Q11M = tables
    n_act, n_class = Q01.shape
    Q11E = np.empty((n_act, n_class))
    for a in range(n_act):
        for k in range(n_class):
            Q11E[a, k] = q11_expected(cust, Q11P[a, k], Q11M[a, k])
    cost = grid * kp.spend_cost
    gamma = kp.discount
    factor = gamma / (1.0 - gamma)
    Vnew = np.empty_like(V)
    width = np.inf
    it = 0
    while it < max_iter:
        _sweep(kp, cust, E, Q01, Q11E, cost, adaptive, V, Vnew, policy, True)
        it += 1
        lo, hi, top = np.inf, -np.inf, 0.0
        for k in range(V.shape[0]):
            for g in range(n_grid):
                d = Vnew[k, g] - V[k, g]
                lo = min(lo, d)
                hi = max(hi, d)
                top = max(top, abs(Vnew[k, g]))
        width = factor * (hi - lo)
        mid = 0.5 * factor * (lo + hi)
        for k in range(V.shape[0]):
            for g in range(n_grid):
                V[k, g] = Vnew[k, g]
        if width <= tol * max(1.0, top):
            for k in range(V.shape[0]):  # MacQueen: the fixed point lies within the bounds
                for g in range(n_grid):
                    V[k, g] += mid
            break
        for _ in range(EVAL_SWEEPS):
            _sweep(kp, cust, E, Q01, Q11E, cost, adaptive, V, Vnew, policy, False)
            for k in range(V.shape[0]):
                for g in range(n_grid):
                    V[k, g] = Vnew[k, g]
    return it, width


@dataclass(frozen=True)
class B2BSolution:
    """A solved planner: value and policy over (recency class, belief grid).

    Attributes:
        params: The customer's parameters.
        adaptive: True for the POMDP planner (Bayes update), False for the HMM planner.
        grid: (G,) belief grid.
        values: (max_tslp + 1, G) value at each recency class and grid point (class 0 =
            TSLP 1 with a promotion offer, class k >= 1 = TSLP k without).
        policy: (max_tslp + 1, G) optimal spend index.
        iterations: Value-iteration sweeps run.
        bound: Width of MacQueen's bounds on the value at the end (dollars).
    """

    params: B2BCustomerParams
    adaptive: bool
    grid: NDArray[np.float64]
    values: NDArray[np.float64]
    policy: NDArray[np.int64]
    iterations: int
    bound: float

    def _index(self, tslp: int, promotion: bool) -> int:
        tslp = check_int("tslp", tslp, low=1, high=self.params.max_tslp)
        if promotion and tslp != 1:
            raise ValueError(f"a promotion flag needs tslp == 1 (it comes with a purchase), "
                             f"got tslp={tslp}")  # fmt: skip
        return 0 if promotion else tslp

    def value(self, belief: Any, tslp: int = 1, promotion: bool = False) -> NDArray[np.float64]:
        """Value at ``belief`` (scalar or array in [0, 1]), linearly interpolated."""
        b = _check_belief(belief)
        return np.interp(b, self.grid, self.values[self._index(tslp, promotion)])

    def action(self, belief: Any, tslp: int = 1, promotion: bool = False) -> NDArray[np.int64]:
        """Spend index at ``belief``: the policy of the nearest grid point (as simulated)."""
        b = _check_belief(belief)
        g = np.floor(b * (self.grid.size - 1) + 0.5).astype(np.int64)
        return self.policy[self._index(tslp, promotion)][g]

    def spend(self, belief: Any, tslp: int = 1, promotion: bool = False) -> NDArray[np.float64]:
        """Optimal monthly spend at ``belief`` (dollars)."""
        return self.params.spend_grid[self.action(belief, tslp, promotion)]

    def policy_map(self) -> NDArray[np.float64]:
        """(max_tslp, G) optimal spend for TSLP 1..max_tslp (no promotion flag) x belief grid."""
        return self.params.spend_grid[self.policy[1:]]


def _check_belief(belief: Any) -> NDArray[np.float64]:
    b = np.asarray(belief, dtype=np.float64)
    if not np.all(np.isfinite(b)):
        raise ValueError(f"belief must be finite and lie in [0, 1], got {belief!r}")
    check_range_array("belief", np.atleast_1d(b), 0.0, 1.0)
    return b


def check_resolution(resolution: int) -> int:
    """``resolution`` (belief grid points) as an int >= 2, or a ``ValueError``/``TypeError``."""
    return check_int("resolution", resolution, low=2)


def solve(
    params: B2BCustomerParams,
    adaptive: bool = True,
    resolution: int = 40,
    tol: float = 1e-7,
    max_iter: int = 100_000,
) -> B2BSolution:
    """Solve the POMDP (``adaptive=True``) or HMM planner of one customer (Appendix A).

    Args:
        params: The customer.
        adaptive: Bayes-updated belief (POMDP) or open-loop belief (HMM).
        resolution: Belief grid points (Fan: 40).
        tol: Stop when MacQueen's bound width is below ``tol`` times the largest value.
        max_iter: Sweep cap (a solution that hit it reports its bound width).

    Returns:
        The :class:`B2BSolution`.
    """
    if not isinstance(params, B2BCustomerParams):
        raise TypeError(f"params must be B2BCustomerParams, got {type(params).__name__}")
    n_grid = check_resolution(resolution)
    tol = check_scalar("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    kp = params.to_kernel()
    V = np.zeros((params.max_tslp + 1, n_grid))
    policy = np.zeros(V.shape, dtype=np.int64)
    grid = np.array(params.spend_grid)
    tables = month_tables(kp, kp.customer, grid)
    it, width = solve_customer(kp, kp.customer, grid, tables, n_grid, bool(adaptive), tol, max_iter,
                           V, policy)  # fmt: skip
    return B2BSolution(params, bool(adaptive), np.linspace(0.0, 1.0, n_grid), V, policy,
                       int(it), float(width))  # fmt: skip
