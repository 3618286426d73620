"""Fan (2015)'s figures, one call each.

Policy maps (Figure 13), a simulated sequence (Figure 14), DCV and VOL over horizons (Figure
15) and the DCV-VOL map of a customer base (Figure 18).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from crm_envs.envs.b2b_customer.params import B2BCustomerParams
from crm_envs.envs.b2b_customer.solver import solve
from crm_envs.papers.fan2015.portfolio import QUADRANTS, PortfolioResult
from crm_envs.papers.fan2015.value_of_learning import TRACE_COLUMNS, VOLResult, simulate_sequences

__all__ = ["plot_policy_maps", "plot_portfolio", "plot_sequence", "plot_vol"]


def plot_policy_maps(params: B2BCustomerParams, resolution: int = 40) -> Any:
    """Optimal spend over (belief, TSLP) for the POMDP and the HMM planner (Figure 13).

    Args:
        params: The customer.
        resolution: Belief grid points (Fan: 40).

    Returns:
        The matplotlib Figure (two heat maps with a shared colour scale).
    """
    import matplotlib.pyplot as plt

    sols = [solve(params, adaptive=a, resolution=resolution) for a in (True, False)]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True, constrained_layout=True)
    vmax = params.max_spend
    for ax, sol, name in zip(axes, sols, ("a. POMDP policy", "b. HMM policy"), strict=True):
        img = ax.imshow(
            sol.policy_map(), origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=vmax,
            extent=(0.0, 1.0, 0.5, params.max_tslp + 0.5),
        )  # fmt: skip
        ax.set_title(name)
        ax.set_xlabel("belief P(high)")
    axes[0].set_ylabel("time since last purchase (months)")
    fig.colorbar(img, ax=axes, label="optimal monthly spend")
    return fig


def plot_sequence(
    params: B2BCustomerParams, months: int = 36, seed: int = 0, adaptive: bool = True
) -> Any:
    """One simulated sequence under the optimal policy (Figure 14).

    Bars: the force toward the high state ``phi``; markers: the true state, purchase levels
    and promotion offers; line: the spend.

    Args:
        params: The customer.
        months: Months simulated (Fan: 36).
        seed: Seed of the sequence (the env stream of this seed).
        adaptive: POMDP (True) or HMM (False) policy.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    sol = solve(params, adaptive=adaptive)
    tr = simulate_sequences(params, sol, months=months, n_sims=1, seed=seed)[0]
    col = {c: tr[:, j] for j, c in enumerate(TRACE_COLUMNS)}
    t = np.arange(1, months + 1)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True, constrained_layout=True)
    ax1.bar(t, col["force"], color="lightgrey", label="force toward high (phi)")
    ax1.step(t, col["state"], where="mid", color="black", lw=1, label="true state (1 = high)")
    ax1.plot(t, col["belief"], "o-", ms=3, color="tab:blue", label="belief used")
    promo = col["promotion"] > 0
    ax1.plot(t[promo], np.full(promo.sum(), 1.05), "v", color="gold", label="promotion offer")
    ax1.set_ylim(0, 1.15)
    ax1.set_ylabel("probability / state")
    ax1.legend(loc="upper right", fontsize=8, ncols=2)
    ax2.plot(t, col["spend"], "-", color="tab:red", label="spend")
    ax2.set_ylabel("spend ($)")
    twin = ax2.twinx()
    twin.bar(t, col["level"], color="tab:green", alpha=0.5, label="purchase level")
    twin.set_ylabel("purchase level")
    twin.set_ylim(0, params.n_levels)
    ax2.set_xlabel("month")
    kind = "adaptive learning (POMDP)" if adaptive else "pure exploitation (HMM)"
    ax1.set_title(f"Simulated optimal marketing sequence, {kind}")
    return fig


def plot_vol(result: VOLResult) -> Any:
    """DCV under both policies and the value of learning over horizons (Figure 15).

    Args:
        result: From :func:`~crm_envs.papers.fan2015.value_of_learning.value_of_learning` with
            several horizons.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    x = np.arange(result.horizons.size)
    fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
    w = 0.38
    ax.bar(x - w / 2, result.dcv_hmm, w, yerr=1.96 * result.se_hmm, label="DCV, HMM")
    ax.bar(x + w / 2, result.dcv_pomdp, w, yerr=1.96 * result.se_pomdp, label="DCV, POMDP")
    ax.set_xticks(x, [str(h) for h in result.horizons])
    ax.set_xlabel("planning horizon (months)")
    ax.set_ylabel("discounted customer value ($)")
    twin = ax.twinx()
    twin.errorbar(x, result.vol, yerr=1.96 * result.se_vol, color="black", marker="o",
                  label="VOL (right axis)")  # fmt: skip
    twin.axhline(0.0, color="grey", lw=0.5)
    twin.set_ylabel("value of learning ($)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8)
    ax.set_title(f"DCV and VOL by horizon ({result.n_sims} sequences, 95% intervals)")
    return fig


def plot_portfolio(result: PortfolioResult, by: str = "exact", max_bars: int = 300) -> Any:
    """The DCV-VOL map of a customer base with Figure 18's four relationship stages.

    Left: each customer's DCV and VOL (exact if computed), coloured by stage
    (:meth:`~crm_envs.papers.fan2015.portfolio.PortfolioResult.quadrants` with ``by``), the
    median splits dashed. Right (when both exact and Monte Carlo values exist): the Monte
    Carlo VOL with its 95% interval against the exact VOL for up to ``max_bars`` customers,
    which shows how much of the simulated spread is noise.

    Args:
        result: From :func:`~crm_envs.papers.fan2015.portfolio.portfolio`.
        by: Classification of the stages: "exact", "monte_carlo" or "confident".
        max_bars: Customers drawn with error bars on the right (evenly spaced by index).

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    stage = result.quadrants(by=by)
    exact = by == "exact"
    dcv = result.exact_dcv_pomdp if exact else result.dcv_pomdp
    vol = result.exact_vol if exact else result.vol
    both = result.has_exact and result.n_sims > 0
    fig, axes = plt.subplots(1, 2 if both else 1, figsize=(13 if both else 7, 5),
                             constrained_layout=True, squeeze=False)  # fmt: skip
    ax = axes[0, 0]
    for name in QUADRANTS.values():
        sel = stage == name
        ax.scatter(dcv[sel], vol[sel], s=6, alpha=0.6, label=f"{name} ({sel.sum()})")
    ax.axvline(np.median(dcv), color="grey", ls="--", lw=0.8)
    if by != "confident":
        ax.axhline(np.median(vol), color="grey", ls="--", lw=0.8)
    ax.set_xlabel("DCV under the POMDP policy ($)")
    ax.set_ylabel(f"value of learning, VOL ($, {'exact' if exact else 'Monte Carlo'})")
    ax.set_title(f"Relationship stages of {vol.size:,} customers ({result.horizon} months, "
                 f"by {by.replace('_', ' ')})", fontsize=10)  # fmt: skip
    ax.legend(fontsize=8, markerscale=3)
    if both:
        ax = axes[0, 1]
        idx = np.unique(np.linspace(0, vol.size - 1, min(max_bars, vol.size)).astype(int))
        ax.errorbar(result.exact_vol[idx], result.vol[idx], yerr=1.96 * result.se_vol[idx],
                    fmt="o", ms=2, lw=0.5, alpha=0.5, color="C0")  # fmt: skip
        lo, hi = float(result.exact_vol.min()), float(result.exact_vol.max())
        ax.plot([lo, hi], [lo, hi], color="black", lw=1, label="Monte Carlo = exact")
        ax.axhline(0.0, color="grey", lw=0.5)
        ax.set_xlabel("exact VOL ($)")
        ax.set_ylabel(f"Monte Carlo VOL, {result.n_sims} sequences, 95% interval ($)")
        pos = int(result.vol_positive(0.95).sum())
        ax.set_title(f"{len(idx)} customers; Monte Carlo VOL > 0 at 95% for {pos:,} of "
                     f"{vol.size:,}", fontsize=10)  # fmt: skip
        ax.legend(fontsize=8)
    return fig
