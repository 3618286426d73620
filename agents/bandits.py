"""Bandit learners, including the paper's epsilon-greedy learner (Mandania et al. 2025).

* :class:`EpsilonGreedy` -- a multi-armed bandit for an env with a ``Discrete`` action and no
  state (``PromotionBandit-v0``): epsilon-greedy arm choice, constant step ``alpha`` (or sample
  averages with ``alpha=None``), optional initial estimates (e.g. the survey's).
* :class:`CampaignLearner` -- the paper's approach on ``PromotionCampaign-v0``: keep an
  estimate of each segment's per-member uplift for every (promotion, duration) arm,
  initialised from the survey, plan with :func:`~crm_envs.envs.promotion.plan.plan` under the
  business rule, explore a random rule-abiding plan with probability epsilon, and move the
  estimates of the arms that ran towards the observed uplift with constant rate alpha.

Both follow the shape of Stable-Baselines3: ``Agent(env, ...)``, ``.learn(total_timesteps)``,
``.predict(obs, deterministic=True) -> (action, None)``; UCB1, Thompson sampling and gradient
bandits slot in beside them with the same interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from tqdm.auto import tqdm

from crm_envs.core.params import check_int, check_prob, check_scalar

__all__ = ["CampaignLearner", "EpsilonGreedy", "learning_curves", "plot_learning_curves"]


def _check_alpha(alpha: float | None) -> float | None:
    return None if alpha is None else check_scalar("alpha", alpha, low=0.0, high=1.0,
                                                    low_open=True)  # fmt: skip


class EpsilonGreedy:
    """Epsilon-greedy bandit over a ``Discrete`` action space.

    Args:
        env: A stateless env with a ``Discrete`` action space (e.g. ``PromotionBandit-v0``).
        epsilon: Probability of pulling a uniformly random arm, in [0, 1].
        alpha: Constant step size in (0, 1], or None for sample averages.
        initial: Initial estimate of every arm (default 0).
        seed: Seed of the exploration and of the env's first reset.
    """

    def __init__(
        self,
        env: gym.Env,
        epsilon: float = 0.1,
        alpha: float | None = 0.1,
        initial: Sequence[float] | None = None,
        seed: int = 0,
    ) -> None:
        if not isinstance(env.action_space, gym.spaces.Discrete):
            raise TypeError(f"EpsilonGreedy needs a Discrete action space, got {env.action_space}")
        self.env = env
        self.epsilon = check_prob("epsilon", epsilon)
        self.alpha = _check_alpha(alpha)
        n = int(env.action_space.n)
        self.q = np.zeros(n) if initial is None else np.array(initial, dtype=float)
        if self.q.shape != (n,):
            raise ValueError(f"initial must have one value per arm ({n}), got {self.q.shape}")
        self.counts = np.zeros(n)
        self.seed = check_int("seed", seed, low=0)
        self.rng = np.random.default_rng(seed)
        self.rewards: list[float] = []
        self.regrets: list[float] = []

    def learn(self, total_timesteps: int, progress_bar: bool = False, callback: Any = None):
        """Pull ``total_timesteps`` arms, updating the estimates; returns self."""
        total_timesteps = check_int("total_timesteps", total_timesteps, low=1)
        _, info = self.env.reset(seed=self.seed)
        for _ in tqdm(range(total_timesteps), disable=not progress_bar, desc="bandit"):
            if self.rng.random() < self.epsilon:
                arm = int(self.rng.integers(len(self.q)))
            else:
                arm = int(np.argmax(self.q))
            _, reward, term, trunc, info = self.env.step(arm)
            self.counts[arm] += 1
            step = self.alpha if self.alpha is not None else 1.0 / self.counts[arm]
            self.q[arm] += step * (reward - self.q[arm])
            self.rewards.append(float(reward))
            if "regret" in info:
                self.regrets.append(float(info["regret"]))
            if callback is not None and callback(locals()) is False:
                break
            if term or trunc:
                _, info = self.env.reset()
        return self

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[int, None]:
        """The greedy arm (or an epsilon-greedy one when ``deterministic=False``)."""
        if not deterministic and self.rng.random() < self.epsilon:
            return int(self.rng.integers(len(self.q))), None
        return int(np.argmax(self.q)), None


class CampaignLearner:
    """The paper's learner: plan under the business rule, explore, update lifts with alpha.

    The learner keeps, for every group g, promotion k and duration D, an estimate of the
    cumulative extra transactions per member that k brings in its first D months, starting
    from the survey's. After a cycle, each group's observed extra transactions (its members'
    transactions minus the CLV model's baseline, pooled over the contribution levels that ran
    the same arm) move the estimate of that arm by ``alpha``. Month-by-month lifts are the
    differences over D, the uplift table follows from the CLV model, and the next plan is
    :func:`~crm_envs.envs.promotion.plan.plan` under the business rule -- or, with probability
    ``epsilon``, a random rule-abiding plan.

    Args:
        env: A ``PromotionCampaign-v0`` env (``gym.make`` result or unwrapped).
        epsilon: Probability of running a random rule-abiding plan instead of the best one.
        alpha: Constant learning rate in (0, 1] of the lift estimates.
        prior: ``"survey"`` (the survey-based lifts), ``"zero"``, or a (G, K, S) array of
            month-by-month lift estimates.
        seed: Seed of the exploration and of the env's first reset.
    """

    def __init__(
        self,
        env: gym.Env,
        epsilon: float = 0.1,
        alpha: float = 0.1,
        prior: str | NDArray[np.float64] = "survey",
        seed: int = 0,
    ) -> None:
        self.env = env
        base = env.unwrapped
        if not hasattr(base, "setup") or not base.setup.campaign:
            raise TypeError("CampaignLearner needs a PromotionCampaign env")
        self.setup = base.setup
        self.model = self.setup.model
        self.epsilon = check_prob("epsilon", epsilon)
        self.alpha = _check_alpha(alpha)
        shape = self.model.lift.shape
        if isinstance(prior, str):
            if prior not in ("survey", "zero"):
                raise ValueError(f"prior must be 'survey', 'zero' or an array, got {prior!r}")
            lift = self.model.survey_lift if prior == "survey" else np.zeros(shape)
        else:
            lift = np.array(prior, dtype=float)
            if lift.shape != shape:
                raise ValueError(f"prior must have shape {shape} (groups, types, months)")
        self.cum_lift = np.cumsum(lift, axis=-1)
        self.seed = check_int("seed", seed, low=0)
        self.rng = np.random.default_rng(seed)
        self.history: list[float] = []  # true value of the greedy plan after each cycle

    @property
    def lift(self) -> NDArray[np.float64]:
        """(G, K, S) current month-by-month lift estimates."""
        return np.diff(self.cum_lift, axis=-1, prepend=0.0)

    def current_plan(self) -> NDArray[np.int64]:
        """(J,) arms of the best plan under the current estimates and the business rule."""
        from crm_envs.envs.promotion.plan import plan

        p = plan(self.model.uplift(self.lift), rule=self.setup.rule)
        s = self.model.horizon
        arms = np.where(p.promotion >= 0, 1 + p.promotion * s + p.duration - 1, 0)
        return arms.ravel().astype(np.int64)

    def plan_value(self, arms: NDArray[np.int64]) -> float:
        """True expected uplift of per-segment ``arms`` (a diagnostic for learning curves)."""
        true = self.setup.true_uplift_per_member()
        return float((true[np.arange(len(arms)), arms] * self.setup.members).sum())

    def _update(self, arms: NDArray[np.int64], per_member_counts: NDArray[np.float64]) -> None:
        n_g, n_c = self.model.members.shape
        s = self.model.horizon
        members = self.setup.members.reshape(n_g, n_c)
        counts = per_member_counts.reshape(n_g, n_c) * members
        arms = arms.reshape(n_g, n_c)
        expected_base = self.model.baseline.sum(axis=1)  # (G,) per member over the horizon
        for g in range(n_g):
            for arm in np.unique(arms[g]):
                if arm == 0:
                    continue
                ran = arms[g] == arm
                m = members[g, ran].sum()
                extra = counts[g, ran].sum() / m - expected_base[g]
                k, d = (arm - 1) // s, (arm - 1) % s
                self.cum_lift[g, k, d] += self.alpha * (extra - self.cum_lift[g, k, d])

    def learn(self, total_timesteps: int, progress_bar: bool = False, callback: Any = None):
        """Run ``total_timesteps`` campaign cycles; returns self."""
        total_timesteps = check_int("total_timesteps", total_timesteps, low=1)
        j = len(self.setup.segments)
        self.env.reset(seed=self.seed)
        greedy = self.current_plan()
        for _ in tqdm(range(total_timesteps), disable=not progress_bar, desc="campaign"):
            explore = self.rng.random() < self.epsilon
            arms = self.setup.random_allowed(self.rng) if explore else greedy
            obs, _, term, trunc, info = self.env.step(arms)
            if not info["rejected"]:
                self._update(arms, np.asarray(obs[:j], dtype=float))
                greedy = self.current_plan()
            self.history.append(self.plan_value(greedy))
            if callback is not None and callback(locals()) is False:
                break
            if term or trunc:
                self.env.reset()
        return self

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[NDArray[np.int64], None]:
        """The best plan's arms (a random rule-abiding plan w.p. epsilon if not deterministic)."""
        if not deterministic and self.rng.random() < self.epsilon:
            return self.setup.random_allowed(self.rng), None
        return self.current_plan(), None


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
        prior: Initial estimates (see :class:`CampaignLearner`).
        seed: Seed of every run.
        progress_bar: Show a bar over the runs.
        **env_kwargs: Further ``PromotionCampaign-v0`` arguments (``preset``, ``drift_sd``...).

    Returns:
        ``{(alpha, epsilon): (cycles,) array}``.
    """
    from crm_envs.envs.promotion.env import PromotionCampaignEnv
    from crm_envs.envs.promotion.plan import plan

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
