"""Learning curves of the campaign learner (Mandania et al. 2025, Figure 11): value by cycle.

For a grid of learning rates alpha and exploration rates epsilon, the true value of the
learner's greedy plan at each campaign cycle as a fraction of the optimal plan's, starting at
cycle 0 from the survey plan's value, averaged over seeds; the cycles each needs to reach a
level (e.g. 95%); and the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from tqdm.auto import tqdm

from crm_envs.core.params import check_int, check_prob
from crm_envs.envs.promotion.env import PromotionEnv
from crm_envs.papers.mandania2025.learner import CampaignLearner

__all__ = ["cycles_to_reach", "learning_curves", "plot_learning_curves", "survey_gap"]


def survey_gap(rule: int = 2, **env_kwargs: Any) -> tuple[float, float]:
    """The optimum and the survey plan's true value under a rule (and budget).

    Args:
        rule: Business rule 1-4.
        **env_kwargs: Further ``PromotionCampaign-v2`` arguments (``preset``, ``budget``...).

    Returns:
        ``(optimal uplift, survey plan's true uplift)`` per campaign cycle, in pounds.
    """
    setup = PromotionEnv(campaign=True, rule=rule, **env_kwargs).task
    true = setup.true_uplift_per_member()
    rows = np.arange(len(setup.segments))

    def value(arms: NDArray[np.int64]) -> float:
        return float((true[rows, np.asarray(arms)] * setup.members).sum())

    survey = setup.best_action_for(setup.survey_uplift_per_member())
    return value(setup.best_action()), value(survey)


def learning_curves(
    alphas: Sequence[float] = (0.05, 0.2, 0.5),
    epsilons: Sequence[float] = (0.0, 0.05, 0.2),
    cycles: int = 200,
    rule: int = 2,
    prior: str = "survey",
    seeds: Sequence[int] = (0,),
    progress_bar: bool = False,
    **env_kwargs: Any,
) -> dict[tuple[float, float], NDArray[np.float64]]:
    """True value of the learner's plan by cycle, as a fraction of the optimal plan's.

    Args:
        alphas: Learning rates to compare.
        epsilons: Exploration rates to compare.
        cycles: Campaign cycles per run.
        rule: Business rule.
        prior: Initial estimates, ``"survey"`` or ``"zero"`` (see
            :class:`~crm_envs.papers.mandania2025.learner.CampaignLearner`).
        seeds: Seeds of the runs averaged per (alpha, epsilon).
        progress_bar: Show a bar over the runs.
        **env_kwargs: Further ``PromotionCampaign-v2`` arguments (``preset``, ``budget``,
            ``drift_sd``...).

    Returns:
        ``{(alpha, epsilon): (cycles + 1,) array}``: entry 0 is the initial plan's value
        (the survey plan's with ``prior="survey"``), entry t the greedy plan's after t cycles.
    """
    cycles = check_int("cycles", cycles, low=1)
    if len(seeds) == 0:
        raise ValueError("seeds must name at least one seed")
    out = {}
    runs = [(a, e, s) for a in alphas for e in epsilons for s in seeds]
    best, _ = survey_gap(rule, **env_kwargs)
    for alpha, eps, seed in tqdm(runs, disable=not progress_bar, desc="learning curves"):
        check_prob("epsilon", eps)
        env = PromotionEnv(campaign=True, rule=rule, horizon=cycles, **env_kwargs)
        learner = CampaignLearner(env, epsilon=eps, alpha=alpha, prior=prior, seed=seed)
        start = learner.plan_value(learner.current_plan())
        learner.learn(cycles)
        curve = np.array([start, *learner.history]) / best
        out[(alpha, eps)] = out.get((alpha, eps), 0.0) + curve / len(seeds)
    return out


def cycles_to_reach(curve: NDArray[np.float64], level: float = 0.95) -> int | None:
    """First cycle at which a learning curve reaches ``level`` and stays there, or None."""
    curve = np.asarray(curve)
    below = np.flatnonzero(curve < level)
    if below.size == 0:
        return 0
    if below[-1] == len(curve) - 1:
        return None
    return int(below[-1] + 1)


def plot_learning_curves(
    curves: dict[tuple[float, float], NDArray[np.float64]],
    window: int = 1,
    level: float | None = 0.95,
    ax: Any = None,
):
    """Plot learning curves (the paper's Figure 11: value by cycle for several alpha, epsilon).

    Args:
        curves: Output of :func:`learning_curves` (entry 0: the starting plan's value).
        window: Width of the trailing moving average, in cycles (1 = raw values).
        level: Draw this fraction of the optimum as a dotted line (None: no line).
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
        n = np.arange(1, len(values) + 1)
        lo = np.maximum(n - window, 0)
        smooth = (csum[1:] - csum[lo]) / (n - lo)
        reach = cycles_to_reach(values, level) if level is not None else None
        label = f"α={alpha}, ε={eps}" + ("" if level is None else
                                         f" ({'never' if reach is None else reach})")  # fmt: skip
        ax.plot(np.arange(len(values)), smooth, label=label)
    ax.axhline(1.0, color="black", lw=0.8, ls="--", label="optimal plan")
    if level is not None:
        ax.axhline(level, color="grey", lw=0.8, ls=":", label=f"{level:.0%} (cycles to reach)")
    ax.set_xlabel("campaign cycle (0 = the survey plan)")
    ax.set_ylabel("value of the learned plan / optimum" + ("" if window == 1 else
                                                            f" ({window}-cycle mean)"))  # fmt: skip
    ax.set_title("Learning the promotion lifts from customer responses")
    ax.legend(fontsize=7, ncol=2)
    return ax
