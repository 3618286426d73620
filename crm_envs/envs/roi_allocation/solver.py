"""Exact profit-maximising allocation of Streukens et al. (2011), section 4.5.

Streukens et al. (2011, section 4.5) allocate effort by equalising the marginal profit of the
drivers that receive any. With concave ADBUDG responses (c <= 1) this is the KKT solution of

    max_x  sum_i v_i (y_i(e0_i + x_i) - y0_i) - sum_i x_i   s.t. x >= 0, sum_i x_i <= B,

with ``v_i = cmv * lambda_i``: for a multiplier ``nu >= 1`` every driver gets the effort at
which its marginal revenue ``v_i y_i'(e0_i + x_i)`` equals ``nu`` (or nothing if even its first
dollar earns less), and ``nu`` is 1 without a binding budget or else the value that spends the
budget exactly ("water-filling"). For c = 1 each driver's effort is in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq

from crm_envs.core.params import check_scalar
from crm_envs.envs.roi_allocation.adbudg import adbudg_derivative
from crm_envs.envs.roi_allocation.params import ROIAllocationParams

__all__ = [
    "Allocation",
    "allocate_total",
    "calibrate_cmv",
    "cmv_forecast",
    "evaluate_allocation",
    "lookahead_allocation",
    "solve_allocation",
]


@dataclass(frozen=True)
class Allocation:
    """An investment allocation and its consequences.

    Attributes:
        effort: (n,) investment per driver, on top of the maintenance effort.
        levels_before: (n,) pre-investment levels.
        levels_after: (n,) post-investment levels.
        revenue: Investment revenue (Eq. 1a).
        profit: Investment profit = revenue - total effort.
        roi: Profit / total effort (Eq. 8), NaN when nothing is invested.
        budget: The budget constraint (None = unconstrained).
        marginal: The common marginal revenue ``nu`` of the funded drivers (1 if unconstrained).
    """

    effort: NDArray[np.float64]
    levels_before: NDArray[np.float64]
    levels_after: NDArray[np.float64]
    revenue: float
    profit: float
    roi: float
    budget: float | None
    marginal: float

    @property
    def total(self) -> float:
        """Total investment effort."""
        return float(self.effort.sum())

    @property
    def shares(self) -> NDArray[np.float64]:
        """(n,) share of the total effort per driver."""
        t = self.total
        return self.effort / t if t > 0 else np.zeros_like(self.effort)


def _effort_at_marginal(params: ROIAllocationParams, values: NDArray, nu: float) -> NDArray:
    """Effort per driver at which its marginal revenue equals ``nu`` (0 if below already)."""
    e0 = params.maintenance_effort
    out = np.zeros(params.n_drivers)
    for i in range(params.n_drivers):
        a, b, c, d = params.a[i], params.b[i], params.c[i], params.d[i]
        if values[i] <= 0 or values[i] * adbudg_derivative(e0[i], a, b, c, d) <= nu:
            continue
        if c == 1.0:
            out[i] = np.sqrt(values[i] * (b - a) * d / nu) - d - e0[i]
            continue

        def gap(x: float, i: int = i, a: float = a, b: float = b, c: float = c, d: float = d):
            return values[i] * adbudg_derivative(e0[i] + x, a, b, c, d) - nu

        hi = max(d, 1.0)
        while gap(hi) > 0:
            hi *= 2.0
        out[i] = brentq(gap, 0.0, hi, xtol=1e-9, rtol=1e-14)
    return np.maximum(out, 0.0)


def evaluate_allocation(
    params: ROIAllocationParams,
    effort: NDArray[np.float64],
    budget: float | None = None,
    marginal: float = float("nan"),
    impacts: NDArray[np.float64] | None = None,
) -> Allocation:
    """Levels, revenue, profit and ROI of a given investment ``effort``.

    Args:
        params: The model.
        effort: (n,) investment per driver.
        budget: Budget to record (None = unconstrained).
        marginal: Marginal revenue to record.
        impacts: Driver impacts to use instead of ``params.impacts`` (sensitivity analysis).

    Returns:
        The :class:`Allocation`.
    """
    effort = np.asarray(effort, dtype=float)
    after = params.levels(effort)
    revenue = params.revenue(effort, impacts)
    total = float(effort.sum())
    profit = revenue - total
    return Allocation(
        effort=effort, levels_before=params.levels0.copy(), levels_after=after, revenue=revenue,
        profit=profit, roi=profit / total if total > 0 else float("nan"), budget=budget,
        marginal=marginal,
    )  # fmt: skip


def solve_allocation(params: ROIAllocationParams, budget: float | None = None) -> Allocation:
    """The profit-maximising investment and its split over drivers (exact KKT solution).

    Args:
        params: The model (every driver needs c <= 1).
        budget: Upper bound on the total investment (None = no budget).

    Returns:
        The optimal :class:`Allocation`.
    """
    if np.any(params.c > 1.0):
        i = int(np.flatnonzero(params.c > 1.0)[0])
        raise ValueError(
            f"solve_allocation needs concave responses (c <= 1); driver {params.driver_names[i]} "
            f"has c = {params.c[i]} (S-shaped), where equal marginal returns need not be optimal"
        )
    if budget is not None:
        budget = check_scalar("budget", budget, low=0.0)
    values = params.cmv * params.impacts
    effort = _effort_at_marginal(params, values, 1.0)
    if budget is not None and effort.sum() > budget:
        best = allocate_total(params, budget)
        return evaluate_allocation(params, best.effort, budget=budget, marginal=best.marginal)
    return evaluate_allocation(params, effort, budget=budget, marginal=1.0)


def allocate_total(params: ROIAllocationParams, total: float) -> Allocation:
    """The best split of exactly ``total`` effort: equal marginal revenue across funded drivers.

    Below the unconstrained optimum this is the budget-constrained optimum; above it, it is
    the least wasteful way to over-invest (the common marginal revenue is then below 1).

    Args:
        params: The model (every driver needs c <= 1).
        total: Total effort to spend, >= 0.

    Returns:
        The :class:`Allocation` (``marginal`` is the common marginal revenue).
    """
    total = check_scalar("total", total, low=0.0)
    if total == 0.0:
        return evaluate_allocation(params, np.zeros(params.n_drivers), marginal=float("inf"))
    values = params.cmv * params.impacts
    if not np.any(values > 0):
        raise ValueError("no driver has a positive impact on loyalty: nothing worth funding")

    def spent(log_nu: float) -> float:
        return float(_effort_at_marginal(params, values, np.exp(log_nu)).sum()) - total

    lo, hi = -1.0, 1.0
    while spent(lo) < 0:
        lo *= 2.0
    while spent(hi) > 0:
        hi *= 2.0
    log_nu = brentq(spent, lo, hi, xtol=1e-13, rtol=1e-15)
    effort = _effort_at_marginal(params, values, float(np.exp(log_nu)))
    effort *= total / effort.sum()  # remove the root finder's last rounding
    return evaluate_allocation(params, effort, marginal=float(np.exp(log_nu)))


def cmv_forecast(params: ROIAllocationParams, cmv: float, cmv_prev: float, quarters: int):
    """Expected CMV of this and the next ``quarters - 1`` quarters under the AR(2) model.

    Args:
        params: The model (``cmv`` is the long-run mean, ``cmv_ar`` the coefficients).
        cmv: This quarter's CMV.
        cmv_prev: Last quarter's CMV.
        quarters: Number of quarters to forecast (>= 1).

    Returns:
        (quarters,) expected CMV, starting with ``cmv`` itself.
    """
    mu, (phi1, phi2) = params.cmv, params.cmv_ar
    out, a, b = [], cmv - mu, cmv_prev - mu
    for _ in range(quarters):
        out.append(mu + a)
        a, b = phi1 * a + phi2 * b, a
    return np.array(out)


def lookahead_allocation(
    params: ROIAllocationParams,
    quarters_left: int,
    stock: NDArray[np.float64] | None = None,
    cmv: float | None = None,
    cmv_prev: float | None = None,
    budget: float | None = None,
    cap: float | None = None,
) -> NDArray[np.float64]:
    """This quarter's investment when no later investment will follow (exact KKT solution).

    Investing ``x`` now sets the stock to ``kappa * stock + x``; it then decays by ``kappa``
    per quarter, and the expected revenue over the ``quarters_left`` quarters (this one
    included) is ``sum_k E[CMV_k] lambda_i (y_i(e0 + kappa^k (kappa stock + x)) - y0)``. This
    is concave in ``x`` for c <= 1, so equal marginal values with per-driver caps and a budget
    multiplier give the exact maximiser. With one quarter left and no stock this is
    :func:`solve_allocation`. It is one step of policy improvement over "invest nothing from now
    on"; it over-invests now, since later quarters could top the stock up. The Box env declares
    it as a baseline and the discrete env as its reference;
    :func:`~crm_envs.envs.roi_allocation.planner.plan_investments` is the exact plan.

    Args:
        params: The model (every driver needs c <= 1).
        quarters_left: Quarters of revenue the investment earns, >= 1.
        stock: (n,) current investment stock (default 0).
        cmv: This quarter's CMV (default: its mean).
        cmv_prev: Last quarter's CMV (default: ``cmv``).
        budget: Most that may be spent now (None = no limit).
        cap: Most per driver (None = no limit).

    Returns:
        (n,) investment per driver.
    """
    quarters_left = int(quarters_left)
    if quarters_left < 1:
        raise ValueError(f"quarters_left must be >= 1, got {quarters_left}")
    n = params.n_drivers
    stock = np.zeros(n) if stock is None else np.asarray(stock, dtype=float)
    cmv = params.cmv if cmv is None else float(cmv)
    cmv_prev = cmv if cmv_prev is None else float(cmv_prev)
    weights = cmv_forecast(params, cmv, cmv_prev, quarters_left)  # (L,)
    decay = params.kappa[None, :] ** np.arange(quarters_left)[:, None]  # (L, n)
    base = params.kappa * stock
    e0, a, b, c, d = params.maintenance_effort, params.a, params.b, params.c, params.d
    lam = params.impacts
    upper = np.inf if cap is None else float(cap)

    def marginal(i: int, x: float) -> float:
        eff = e0[i] + decay[:, i] * (base[i] + x)
        return float(
            lam[i] * weights @ (decay[:, i] * adbudg_derivative(eff, a[i], b[i], c[i], d[i]))
        )

    def efforts(nu: float) -> NDArray[np.float64]:
        out = np.zeros(n)
        for i in range(n):
            if lam[i] <= 0 or marginal(i, 0.0) <= nu:
                continue
            hi = max(d[i], 1.0)
            while hi < upper and marginal(i, hi) > nu:
                hi *= 2.0
            if hi >= upper and marginal(i, upper) >= nu:
                out[i] = upper
                continue
            out[i] = brentq(lambda x, i=i: marginal(i, x) - nu, 0.0, min(hi, upper), xtol=1e-9)
        return out

    x = efforts(1.0)
    if budget is not None and x.sum() > budget:
        if budget <= 0:
            return np.zeros(n)
        lo, hi = 0.0, 1.0
        while efforts(np.exp(hi)).sum() > budget:
            hi *= 2.0
        log_nu = brentq(lambda v: efforts(np.exp(v)).sum() - budget, lo, hi, xtol=1e-12)
        x = efforts(float(np.exp(log_nu)))
        x *= budget / x.sum() if x.sum() > 0 else 0.0
    return x


def calibrate_cmv(params: ROIAllocationParams, optimal_total_effort: float) -> float:
    """The aggregate customer monetary value at which the optimal total effort is as given.

    The optimal total effort grows with ``cmv`` (each funded driver's effort does), so the
    value is unique; Streukens et al. do not print it, only the optimum it leads to.

    Args:
        params: The model (its ``cmv`` is ignored).
        optimal_total_effort: Target optimal total effort (> 0).

    Returns:
        The calibrated ``cmv``.
    """
    target = check_scalar("optimal_total_effort", optimal_total_effort, low=0.0, low_open=True)

    def gap(log_cmv: float) -> float:
        return solve_allocation(params.replace(cmv=float(np.exp(log_cmv)))).total - target

    return float(np.exp(brentq(gap, np.log(1e2), np.log(1e12), xtol=1e-14, rtol=1e-15)))
