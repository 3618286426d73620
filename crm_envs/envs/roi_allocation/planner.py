"""Exact investment plan over the quarters left of the multi-period ROIAllocation env.

The plan maximises the expected profit of the rest of the episode when the customer monetary
value (CMV) follows its forecast:

    max_x  sum_t sum_i w_t lambda_i (y_i(e0_i + S_ti) - y0_i) - sum_t sum_i x_ti
    s.t.   S_ti = kappa_i S_(t-1)i + x_ti,  x_ti >= 0,  sum_t sum_i x_ti <= B,

with ``w_t`` the expected CMV of quarter t (:func:`~crm_envs.envs.roi_allocation.solver.
cmv_forecast`), ``S_0`` the stock the quarter starts with and ``B`` the budget left. With
concave responses (c <= 1) this is a concave programme, solved exactly as follows.

**Stock space.** The total investment is ``sum_t x_t = (1 - kappa) sum_(t<H) S_t + S_H -
kappa S_0`` per driver: a unit of stock costs ``1 - kappa`` a quarter (invest it, and invest
``kappa`` less the quarter after), except in the last quarter, where it costs 1. So with a
budget multiplier ``nu`` the problem splits by driver, and each driver's problem is a sum of
concave functions of its stocks ``S_t`` under the chain constraints ``S_t >= kappa S_(t-1)``
(no negative investment).

**Pool adjacent violators.** In ``u_t = S_t / kappa^t`` the chain constraints say ``u`` is
non-decreasing, so the problem is a (generalised) isotonic regression, which the
pool-adjacent-violators algorithm solves exactly: maximise each quarter alone; wherever a
quarter's stock falls below ``kappa`` times the one before, pool the two into a block (invest at
its first quarter, then coast) and maximise the block's one-dimensional concave objective;
repeat. The given ``S_0`` is a fixed first block. The algorithm runs in the stock
coordinates, which stay finite for every ``kappa`` in [0, 1].

**Budget.** The plan's total investment falls as ``nu`` grows; ``nu = 0`` if the budget does
not bind, else ``nu`` is found by bisection so that the plan spends exactly ``B``.

The per-quarter cap on an action (``max_effort``) is not a constraint of the plan: the env's
reference policy re-plans every quarter and clips the first quarter's investment to the cap
(model-predictive control), and reports how often that happens.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from crm_envs.envs.roi_allocation.params import ROIAllocationParams
from crm_envs.envs.roi_allocation.solver import cmv_forecast

__all__ = ["plan_investments"]

_HUGE = 1e15  # stock cap of a block whose marginal cost is 0 (kappa = 1 before the last quarter)


@njit(cache=True)
def _slope(w, lam, a, b, c, d, e0, kappa, cost, t0, t1, s):
    """d/ds of the block [t0, t1]'s objective with stock s invested at t0, then coasting."""
    g = 0.0
    k = 1.0
    for t in range(t0, t1 + 1):
        e = e0 + k * s
        ec = e if c == 1.0 else e**c
        dy = (b - a) * c * d * (1.0 if c == 1.0 else e ** (c - 1.0)) / ((d + ec) * (d + ec))
        g += k * (w[t] * lam * dy - cost[t])
        k *= kappa
    return g


@njit(cache=True)
def _block_stock(w, lam, a, b, c, d, e0, kappa, cost, t0, t1):
    """The block's best stock at t0 (>= 0: a negative optimum is pooled away anyway)."""
    if _slope(w, lam, a, b, c, d, e0, kappa, cost, t0, t1, 0.0) <= 0.0:
        return 0.0
    hi = max(d, 1.0)
    while hi < _HUGE and _slope(w, lam, a, b, c, d, e0, kappa, cost, t0, t1, hi) > 0.0:
        hi *= 2.0
    if hi >= _HUGE:
        return _HUGE
    lo = 0.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if _slope(w, lam, a, b, c, d, e0, kappa, cost, t0, t1, mid) > 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-9 * max(hi, 1.0):
            break
    return 0.5 * (lo + hi)


@njit(cache=True)
def _driver_stocks(w, lam, a, b, c, d, e0, kappa, s0, price, out):
    """Pool adjacent violators for one driver: optimal stocks ``out[t]`` at unit price ``price``."""
    h = w.shape[0]
    cost = np.empty(h)
    for t in range(h):
        cost[t] = price * (1.0 - kappa) if t < h - 1 else price
    start = np.empty(h + 1, dtype=np.int64)  # block k covers quarters start[k] .. start[k+1]-1
    value = np.empty(h + 1)  # stock at the block's first quarter
    start[0] = -1  # the fixed block: the stock S_0 the episode carries in
    value[0] = s0
    top = 0
    for t in range(h):
        top += 1
        start[top] = t
        value[top] = _block_stock(w, lam, a, b, c, d, e0, kappa, cost, t, t)
        while top >= 1 and value[top] < kappa ** (start[top] - start[top - 1]) * value[top - 1]:
            top -= 1  # pool block top + 1 into block top
            if top > 0:
                value[top] = _block_stock(w, lam, a, b, c, d, e0, kappa, cost, start[top], t)
    for k in range(top + 1):
        first = start[k]
        last = start[k + 1] - 1 if k < top else h - 1
        for t in range(max(first, 0), last + 1):
            out[t] = kappa ** (t - first) * value[k]


@njit(cache=True)
def _plan(w, lam, a, b, c, d, e0, kappa, s0, price, stocks, invest):
    """Stocks and investments of every driver at unit price ``price``; returns the total."""
    n = lam.shape[0]
    h = w.shape[0]
    total = 0.0
    col = np.empty(h)
    for i in range(n):
        if lam[i] <= 0.0:
            for t in range(h):
                stocks[t, i] = kappa[i] ** (t + 1) * s0[i]
                invest[t, i] = 0.0
            continue
        _driver_stocks(w, lam[i], a[i], b[i], c[i], d[i], e0[i], kappa[i], s0[i], price, col)
        prev = s0[i]
        for t in range(h):
            stocks[t, i] = col[t]
            x = col[t] - kappa[i] * prev
            invest[t, i] = x if x > 0.0 else 0.0  # rounding of the pooled blocks
            total += invest[t, i]
            prev = col[t]
    return total


def plan_investments(
    params: ROIAllocationParams,
    quarters_left: int,
    stock: NDArray[np.float64] | None = None,
    cmv: float | None = None,
    cmv_prev: float | None = None,
    budget: float | None = None,
) -> NDArray[np.float64]:
    """The investment plan that maximises expected profit over the quarters left (exact).

    See the module docstring for the method. With one quarter left this is
    :func:`~crm_envs.envs.roi_allocation.solver.solve_allocation` (and with a budget, its
    budgeted optimum).

    Args:
        params: The model (every driver needs c <= 1).
        quarters_left: Quarters of the plan, >= 1 (this one included).
        stock: (n,) investment stock carried in, before this quarter's decay (default 0).
        cmv: This quarter's CMV (default: its long-run mean).
        cmv_prev: Last quarter's CMV (default: ``cmv``).
        budget: Most that may be spent over the plan (None = no limit).

    Returns:
        (quarters_left, n) investment per quarter and driver.
    """
    if np.any(params.c > 1.0):
        raise ValueError(
            "plan_investments needs concave responses (c <= 1); an S-shaped driver "
            f"(c = {params.c.max()}) makes the plan non-concave"
        )
    quarters_left = int(quarters_left)
    if quarters_left < 1:
        raise ValueError(f"quarters_left must be >= 1, got {quarters_left}")
    n = params.n_drivers
    s0 = np.zeros(n) if stock is None else np.asarray(stock, dtype=float)
    if s0.shape != (n,) or not np.all(np.isfinite(s0)) or np.any(s0 < 0):
        raise ValueError(f"stock must be {n} finite non-negative numbers, got {stock}")
    cmv = params.cmv if cmv is None else float(cmv)
    cmv_prev = cmv if cmv_prev is None else float(cmv_prev)
    w = np.maximum(cmv_forecast(params, cmv, cmv_prev, quarters_left), 0.0)
    args = (w, params.impacts, params.a, params.b, params.c, params.d, params.maintenance_effort,
            params.kappa, s0)  # fmt: skip
    stocks, invest = np.zeros((quarters_left, n)), np.zeros((quarters_left, n))
    total = _plan(*args, 1.0, stocks, invest)
    if budget is None or total <= budget:
        return invest
    if budget <= 0.0:
        return np.zeros((quarters_left, n))
    lo, hi = 1.0, 2.0
    while _plan(*args, hi, stocks, invest) > budget:
        lo, hi = hi, 2.0 * hi
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if _plan(*args, mid, stocks, invest) > budget:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    spent = _plan(*args, hi, stocks, invest)
    return invest * (budget / spent) if spent > 0 else invest
