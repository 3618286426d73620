"""How investment persistence kappa shapes the optimum and the policies (our extension).

Section 6 of Streukens et al. (2011) proposes a persistence factor kappa on the ADBUDG effect
of an investment but gives no value; the preset's 0.5 is our choice. This module recomputes,
for a range of kappa:

* the optimum with the CMV at its mean (no shocks): the exact plan of
  :func:`~crm_envs.envs.roi_allocation.planner.plan_investments` from the start of an episode,
  its expected profit, total spend and spend per quarter (the plan ignores the per-quarter cap
  of the action, so its profit bounds the capped optimum from above);
* the mean episode return of the env's reference policy (the plan re-played every quarter),
  the myopic policy and the look-ahead, on common episode seeds of the noisy env.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm.auto import tqdm

from crm_envs.core.oracle import Policy, evaluate
from crm_envs.core.params import check_int
from crm_envs.envs.roi_allocation.adbudg import adbudg
from crm_envs.envs.roi_allocation.params import ROIAllocationParams
from crm_envs.envs.roi_allocation.planner import plan_investments

__all__ = ["KappaRow", "kappa_markdown", "kappa_study", "plan_profit", "plot_kappa_study"]

POLICIES = ("plan", "myopic", "look-ahead")
"""The policies compared: the reference, the naive baseline and the look-ahead."""


def plan_profit(params: ROIAllocationParams, invest: NDArray[np.float64]) -> float:
    """Profit of a plan from the start of an episode with the CMV at its mean.

    Args:
        params: The model.
        invest: (quarters, n) investment per quarter and driver.

    Returns:
        Sum over quarters of ``cmv * sum_i lambda_i (y_i - y0_i)`` minus the investment.
    """
    stock, total = np.zeros(params.n_drivers), 0.0
    for x in np.asarray(invest, dtype=float):
        stock = params.kappa * stock + x
        levels = adbudg(params.maintenance_effort + stock, params.a, params.b, params.c, params.d)
        total += params.cmv * params.impacts @ (levels - params.levels0) - x.sum()
    return float(total)


@dataclass(frozen=True)
class KappaRow:
    """The optimum and the policies' returns at one persistence kappa.

    Attributes:
        kappa: Persistence of every driver.
        plan: (horizon, n) the optimal plan with the CMV at its mean.
        plan_profit: Its profit in dollars.
        returns: Policy name -> (episodes,) episode returns in dollars.
    """

    kappa: float
    plan: NDArray[np.float64]
    plan_profit: float
    returns: dict[str, NDArray[np.float64]]

    @property
    def plan_spend(self) -> float:
        """Total investment of the plan."""
        return float(self.plan.sum())

    def mean(self, policy: str) -> float:
        """Mean return of ``policy``."""
        return float(self.returns[policy].mean())

    def se(self, policy: str) -> float:
        """Standard error of the mean return of ``policy``."""
        r = self.returns[policy]
        return float(r.std(ddof=1) / np.sqrt(len(r)))

    def gap_in_se(self, policy: str, other: str) -> float:
        """Mean of ``policy`` minus ``other``, in standard errors of the paired difference."""
        diff = self.returns[policy] - self.returns[other]
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        return float(diff.mean() / se) if se > 0 else float("inf") * np.sign(diff.mean())


def kappa_markdown(rows: Sequence[KappaRow]) -> str:
    """The study as a Markdown table, returns in $1,000s (mean ± s.e.).

    Args:
        rows: :func:`kappa_study`'s rows (with all of :data:`POLICIES` played).

    Returns:
        One line per kappa: the optimal plan's profit, first-quarter spend and last quarter
        with investment; each policy's mean return; and the reference's gap over the better of
        myopic and look-ahead, in paired standard errors.
    """
    lines = [
        "| κ | optimal plan: profit | spend in quarter 1 | last quarter invested "
        "| plan (reference) | myopic | look-ahead | gap over the better one (s.e.) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        spend = r.plan.sum(axis=1)
        last = int(np.flatnonzero(spend > 1.0).max()) + 1 if np.any(spend > 1.0) else 0
        cells = [f"{r.mean(k) / 1e3:,.1f} ± {r.se(k) / 1e3:.1f}" for k in POLICIES]
        best = max(("myopic", "look-ahead"), key=r.mean)
        lines.append(
            f"| {r.kappa:g} | {r.plan_profit / 1e3:,.1f} | {spend[0] / 1e3:,.1f} | {last} | "
            + " | ".join(cells)
            + f" | {r.gap_in_se('plan', best):.1f} ({best}) |"
        )
    return "\n".join(lines)


def kappa_study(
    params: ROIAllocationParams,
    kappas: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0),
    horizon: int = 12,
    episodes: int = 100,
    seed: int = 0,
    policies: Sequence[str] = POLICIES,
    progress_bar: bool = True,
) -> list[KappaRow]:
    """The optimum and the policies at each kappa (see the module docstring).

    Args:
        params: The model (its kappa is replaced).
        kappas: Persistence values in [0, 1].
        horizon: Quarters per episode.
        episodes: Episodes per policy and kappa (>= 2), on common seeds.
        seed: Seed of the first episode.
        policies: Which of :data:`POLICIES` to play.
        progress_bar: Show a tqdm bar over kappa.

    Returns:
        One :class:`KappaRow` per kappa.
    """
    from crm_envs.envs.roi_allocation.env import ROIAllocationEnv

    horizon = check_int("horizon", horizon, low=1)
    unknown = sorted(set(policies) - set(POLICIES))
    if unknown:
        raise ValueError(f"policies must be among {POLICIES}, got {unknown}")
    rows = []
    for kappa in tqdm(list(kappas), desc="kappa", disable=not progress_bar):
        p = params.replace(kappa=float(kappa))
        plan = plan_investments(p, horizon, budget=p.budget)
        env = ROIAllocationEnv(params=p, horizon=horizon, reward_scale=1.0)
        task = env.task
        named = {
            "plan": task.oracle().policy,
            "look-ahead": Policy("look-ahead", lambda obs, info, t=task: t.lookahead_action(obs)),
        }
        named.update({pol.name: pol for role, pol in task.baselines(seed) if role == "naive"})

        def make(p: ROIAllocationParams = p) -> Any:
            return ROIAllocationEnv(params=p, horizon=horizon, reward_scale=1.0)

        returns = {name: evaluate(make, named[name], episodes, seed) for name in policies}
        rows.append(KappaRow(float(kappa), plan, plan_profit(p, plan), returns))
    return rows


def plot_kappa_study(rows: Sequence[KappaRow]) -> Any:
    """Spend per quarter of the optimal plan (left) and mean returns (right) against kappa.

    Args:
        rows: :func:`kappa_study`'s rows.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for r in rows:
        left.plot(np.arange(len(r.plan)), r.plan.sum(axis=1) / 1e3, marker=".",
                  label=f"κ = {r.kappa:g}")  # fmt: skip
    left.set_xlabel("quarter")
    left.set_ylabel("planned investment ($1,000s)")
    left.set_title("optimal plan, CMV at its mean", fontsize=9)
    left.legend(fontsize=7)
    k = [r.kappa for r in rows]
    right.plot(k, [r.plan_profit / 1e3 for r in rows], color="black", ls="--",
               label="optimal plan (no shocks, no cap)")  # fmt: skip
    for name in rows[0].returns:
        right.errorbar(k, [r.mean(name) / 1e3 for r in rows],
                       yerr=[1.96 * r.se(name) / 1e3 for r in rows], marker="o", capsize=3,
                       label=name)  # fmt: skip
    right.set_xlabel("persistence κ")
    right.set_ylabel("episode profit ($1,000s)")
    right.set_title("reference (plan) and naive policies", fontsize=9)
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig
