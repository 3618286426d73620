"""Learning curves of the campaign learner (Mandania et al. 2025): value over cycles.

For several learning and exploration rates, the true value of the learner's plan after each
campaign cycle, as a fraction of the optimal plan's, and the paper's figure of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm.auto import tqdm

from crm_envs.core.params import check_int
from crm_envs.envs.promotion.env import PromotionCampaignEnv
from crm_envs.envs.promotion.plan import plan
from crm_envs.papers.mandania2025.learner import CampaignLearner

__all__ = ["learning_curves", "plot_learning_curves"]


def learning_curves(
    alphas: Sequence[float] = (0.05, 0.2, 0.5),
    epsilons: Sequence[float] = (0.05, 0.2),
    cycles: int = 300,
    rule: int = 2,
    prior: str = "survey",
    seed: int = 0,
    progress_bar: bool = False,
    **env_kwargs: Any,
) -> dict[tuple[float, float], NDArray[np.float64]]:
    """True value of the learner's plan over cycles, as a fraction of the optimal plan's.

    Args:
        alphas: Learning rates to compare.
        epsilons: Exploration rates to compare.
        cycles: Campaign cycles per run.
        rule: Business rule.
        prior: Initial estimates, ``"survey"`` or ``"zero"`` (see
            :class:`~crm_envs.papers.mandania2025.learner.CampaignLearner`).
        seed: Seed of every run.
        progress_bar: Show a bar over the runs.
        **env_kwargs: Further ``PromotionCampaign-v0`` arguments (``preset``, ``drift_sd``...).

    Returns:
        ``{(alpha, epsilon): (cycles,) array}``.
    """
    out = {}
    runs = [(a, e) for a in alphas for e in epsilons]
    for alpha, eps in tqdm(runs, disable=not progress_bar, desc="learning curves"):
        env = PromotionCampaignEnv(rule=rule, horizon=cycles, **env_kwargs)
        setup = env.setup
        best = plan(setup.uplift_table(setup.true_uplift_per_member()), rule=rule).total
        learner = CampaignLearner(env, epsilon=eps, alpha=alpha, prior=prior, seed=seed)
        learner.learn(cycles)
        out[(alpha, eps)] = np.array(learner.history) / best
    return out


def plot_learning_curves(
    curves: dict[tuple[float, float], NDArray[np.float64]], window: int = 20, ax: Any = None
):
    """Plot learning curves (the paper's figure: value over time for several alpha, epsilon).

    Args:
        curves: Output of :func:`learning_curves`.
        window: Width of the trailing moving average, in cycles (1 = raw values).
        ax: Matplotlib Axes (default: a new figure).

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt

    window = check_int("window", window, low=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for (alpha, eps), values in curves.items():
        csum = np.cumsum(np.insert(values, 0, 0.0))
        lo = np.maximum(np.arange(1, len(values) + 1) - window, 0)
        smooth = (csum[1:] - csum[lo]) / (np.arange(1, len(values) + 1) - lo)
        ax.plot(np.arange(1, len(values) + 1), smooth, label=f"alpha={alpha}, epsilon={eps}")
    ax.axhline(1.0, color="black", lw=0.8, ls="--", label="optimal plan")
    ax.set_xlabel("campaign cycle")
    ax.set_ylabel(f"value of the learned plan / optimum ({window}-cycle mean)")
    ax.set_title("Learning the promotion lifts from customer responses")
    ax.legend(fontsize=8)
    return ax
