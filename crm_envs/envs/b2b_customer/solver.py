"""Planning over (belief, TSLP) and the value of learning (Fan 2015, Essay 2, 2.4-2.5, App. A-B).

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

The HMM planner's value is what it *expects*; what its policy earns is measured by simulation
against the true state (Appendix B), like the POMDP's. :func:`value_of_learning` and
:func:`portfolio` simulate both with common random numbers, using the same month function as
the environment: sequence ``j`` of a customer is exactly an episode of ``B2BCustomer-v0`` reset
with the corresponding seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from crm_envs.core.params import check_int, check_range_array, check_scalar
from crm_envs.core.rng import seed_keys, splitmix_uniform
from crm_envs.envs.b2b_customer import kernels
from crm_envs.envs.b2b_customer.kernels import (
    advance,
    emission_probs,
    next_class,
    q11_expected,
    transition_probs,
)
from crm_envs.envs.b2b_customer.params import B2BCustomerParams

__all__ = [
    "B2BSolution", "PortfolioResult", "VOLResult", "portfolio", "simulate_sequences", "solve",
    "value_of_learning",
]  # fmt: skip

#: Figure 15's planning horizons (months).
FIGURE15_HORIZONS = (12, 24, 36, 48, 60, 120)


EVAL_SWEEPS = 16
"""Policy-evaluation sweeps after each improvement sweep (modified policy iteration)."""


@njit(cache=True)
def _tables(kp, cust, grid):
    """The month's probabilities for every spend level and recency class, computed once.

    Returns ``(E, Q01, Q11P, Q11M)``: (2, K, L) purchase-level probabilities and (K, classes)
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
def _solve_one(kp, cust, grid, tables, n_grid, adaptive, tol, max_iter, V, policy):
    """Modified policy iteration to a fixed point; returns (improvement sweeps, bound width).

    Each round is one full Bellman sweep (all spend levels; MacQueen's bounds are read off
    it) followed by ``EVAL_SWEEPS`` cheap sweeps that evaluate the current policy only.
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


TRACE_COLUMNS = ("state", "belief", "force", "spend", "level", "promotion", "reward")
"""Columns of a simulated sequence (:func:`simulate_sequences` with ``trace=True``)."""


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
    tables = _tables(kp, cust, grid)
    E, Q01, Q11P, Q11M = tables
    n_class = Q01.shape[1]
    V = np.zeros((n_class, n_grid))
    pol_p = np.zeros((n_class, n_grid), dtype=np.int64)
    pol_h = np.zeros((n_class, n_grid), dtype=np.int64)
    it_p, _ = _solve_one(kp, cust, grid, tables, n_grid, True, tol, max_iter, V, pol_p)
    V[:] = 0.0
    it_h, _ = _solve_one(kp, cust, grid, tables, n_grid, False, tol, max_iter, V, pol_h)
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
    return it_p, it_h


_customer_sims_jit = njit(cache=True)(_customer_sims)


def _portfolio_kernel(kp, rows, grid, n_grid, tol, max_iter, keys, checkpoints, sums, iters):
    """Every customer of ``rows`` in parallel (``keys`` is (N, n_seq))."""
    for i in prange(rows.shape[0]):
        it_p, it_h = _customer_sims_jit(
            kp, rows[i], grid, n_grid, tol, max_iter, keys[i], checkpoints, sums[i]
        )
        iters[i, 0] = it_p
        iters[i, 1] = it_h


_portfolio_jit = njit(cache=True, parallel=True)(_portfolio_kernel)


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


def _check_resolution(resolution: int) -> int:
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
    n_grid = _check_resolution(resolution)
    tol = check_scalar("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    kp = params.to_kernel()
    V = np.zeros((params.max_tslp + 1, n_grid))
    policy = np.zeros(V.shape, dtype=np.int64)
    grid = np.array(params.spend_grid)
    tables = _tables(kp, kp.customer, grid)
    it, width = _solve_one(kp, kp.customer, grid, tables, n_grid, bool(adaptive), tol, max_iter,
                           V, policy)  # fmt: skip
    return B2BSolution(params, bool(adaptive), np.linspace(0.0, 1.0, n_grid), V, policy,
                       int(it), float(width))  # fmt: skip


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
    E, Q01, Q11P, Q11M = _tables(kp, kp.customer, grid)
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

    Both planners are solved (:func:`solve`); each policy is simulated ``n_sims`` times
    against the true state with common random numbers (sequence ``j`` of both uses the env
    stream of seed ``seed + j``), and the discounted value is read at every horizon.

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
        kp, kp.customer, np.array(params.spend_grid), _check_resolution(resolution), 1e-7,
        100_000, keys, checkpoints, sums,
    )  # fmt: skip
    mean, se = _moments(sums, n_sims)
    return VOLResult(checkpoints, mean[:, 0], mean[:, 1], mean[:, 2], se[:, 0], se[:, 1],
                     se[:, 2], n_sims, (int(it_p), int(it_h)))  # fmt: skip


#: Figure 18's relationship stages by (DCV high?, VOL high?).
QUADRANTS = {
    (False, False): "stranger",
    (False, True): "acquaintance",
    (True, True): "friend",
    (True, False): "best friend",
}


@dataclass(frozen=True)
class PortfolioResult:
    """DCV and VOL of every customer of a base (Figure 18).

    Attributes:
        dcv_pomdp: (N,) mean DCV under the POMDP policy.
        dcv_hmm: (N,) mean DCV under the HMM policy.
        vol: (N,) value of learning.
        se_vol: (N,) its standard error.
        horizon: Months simulated.
        n_sims: Sequences per customer and policy.
        seconds: Wall time of the solve-and-simulate kernel.
    """

    dcv_pomdp: NDArray[np.float64]
    dcv_hmm: NDArray[np.float64]
    vol: NDArray[np.float64]
    se_vol: NDArray[np.float64]
    horizon: int
    n_sims: int
    seconds: float

    def quadrants(
        self, dcv_split: float | None = None, vol_split: float | None = None
    ) -> NDArray[np.str_]:
        """Figure 18's stage of each customer, splitting DCV and VOL at their medians.

        Args:
            dcv_split: DCV threshold (default: median of ``dcv_pomdp``).
            vol_split: VOL threshold (default: median of ``vol``).
        """
        d = np.median(self.dcv_pomdp) if dcv_split is None else dcv_split
        v = np.median(self.vol) if vol_split is None else vol_split
        hi_d, hi_v = self.dcv_pomdp > d, self.vol > v
        return np.array([QUADRANTS[(bool(x), bool(y))] for x, y in zip(hi_d, hi_v, strict=True)])


def portfolio(
    customers: Mapping[str, Any],
    params: B2BCustomerParams | None = None,
    horizon: int = 60,
    n_sims: int = 100,
    seed: int = 0,
    resolution: int = 40,
    progress_bar: bool = False,
) -> PortfolioResult:
    """DCV and VOL for every customer of a covariate table, in parallel (numba ``prange``).

    Each customer's parameters come from :func:`~crm_envs.envs.b2b_customer.customers.
    customer_rows`; both planners are solved and simulated as in :func:`value_of_learning`.
    Customer ``i``'s sequence ``j`` uses the env stream of seed ``seed + i * n_sims + j``.

    Args:
        customers: Covariate columns (dict or pandas DataFrame), see ``customers.COVARIATES``.
        params: Base parameters (default ``fan2015_essay2``).
        horizon: Months simulated (Table 6: 60).
        n_sims: Sequences per customer and policy (Fan: 100).
        seed: Seed of the first sequence.
        resolution: Belief grid points.
        progress_bar: Show a tqdm bar over chunks of customers.

    Returns:
        The :class:`PortfolioResult`.
    """
    import time

    from crm_envs.envs.b2b_customer.customers import customer_rows
    from crm_envs.envs.b2b_customer.presets import fan2015_essay2

    base = fan2015_essay2() if params is None else params
    rows = customer_rows(base, customers)
    n = rows.shape[0]
    n_sims = check_int("n_sims", n_sims, low=2)
    checkpoints = _checkpoints(horizon)
    keys = seed_keys(check_int("seed", seed, low=0), n * n_sims).reshape(n, n_sims)
    sums = np.zeros((n, 1, 6))
    iters = np.zeros((n, 2), dtype=np.int64)
    kp = base.to_kernel()
    grid = np.array(base.spend_grid)
    n_grid = _check_resolution(resolution)
    chunk = max(1, min(n, 2_000)) if progress_bar else n
    start = time.perf_counter()
    bar = None
    if progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="customers", unit="cust")
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        _portfolio_jit(kp, rows[lo:hi], grid, n_grid, 1e-7, 100_000, keys[lo:hi], checkpoints,
                       sums[lo:hi], iters[lo:hi])  # fmt: skip
        if bar is not None:
            bar.update(hi - lo)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    mean, se = _moments(sums[:, 0], n_sims)
    return PortfolioResult(mean[:, 0], mean[:, 1], mean[:, 2], se[:, 2], int(checkpoints[0]),
                           n_sims, seconds)  # fmt: skip
