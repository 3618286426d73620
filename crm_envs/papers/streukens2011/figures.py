"""Figure 2 of Streukens et al. (2011): investment effort vs revenue and profit."""

from __future__ import annotations

from typing import Any

import numpy as np

from crm_envs.envs.roi_allocation.params import ROIAllocationParams
from crm_envs.envs.roi_allocation.solver import allocate_total, solve_allocation

__all__ = ["investment_curve", "plot_investment_curve"]


def investment_curve(
    params: ROIAllocationParams, max_effort: float | None = None, points: int = 121
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Revenue and profit of the best allocation of each total effort level.

    Args:
        params: The model.
        max_effort: Largest total effort on the curve (default: 3x the unconstrained optimum).
        points: Number of effort levels.

    Returns:
        ``(effort, revenue, profit)`` arrays, with the effort optimally split at each level.
    """
    if max_effort is None:
        max_effort = 3.0 * max(solve_allocation(params).total, 1.0)
    effort = np.linspace(0.0, float(max_effort), int(points))
    revenue = np.array([allocate_total(params, e).revenue for e in effort])
    return effort, revenue, revenue - effort


def plot_investment_curve(
    params: ROIAllocationParams, max_effort: float | None = None, ax: Any = None
) -> Any:
    """Plot investment effort against investment revenue and profit (the paper's Figure 2).

    Args:
        params: The model.
        max_effort: Largest total effort on the curve.
        ax: Matplotlib Axes (default: a new figure).

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt

    effort, revenue, profit = investment_curve(params, max_effort)
    best = solve_allocation(params)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    ax.plot(effort, revenue, label="investment revenue")
    ax.plot(effort, profit, label="investment profit")
    ax.plot(effort, effort, ls=":", color="grey", label="investment effort")
    ax.axvline(best.total, ls="--", color="black", lw=0.8)
    ax.annotate(
        f"optimum ${best.total:,.0f}\nprofit ${best.profit:,.0f}",
        (best.total, best.profit), textcoords="offset points", xytext=(8, 8), fontsize=8,
    )  # fmt: skip
    ax.axhline(0.0, color="grey", lw=0.5)
    ax.set_xlabel("total investment effort ($)")
    ax.set_ylabel("$")
    ax.set_title("Investment effort, revenue and profit (optimal split at each effort)")
    ax.legend()
    return ax
