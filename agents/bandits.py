"""Bandit learners, including the paper's epsilon-greedy learner (Mandania et al. 2025).

* :class:`UCB1`, :class:`ThompsonSampling` (Beta-Bernoulli and Gaussian) and
  :class:`GradientBandit` -- the classic bandits, with the same interface and regret tracking.
* :class:`EpsilonGreedy` -- a multi-armed bandit for an env with a ``Discrete`` action and no
  state (``PromotionBandit-v0``): epsilon-greedy arm choice, constant step ``alpha`` (or sample
  averages with ``alpha=None``), optional initial estimates (e.g. the survey's).
* :class:`CampaignLearner` -- the paper's approach on ``PromotionCampaign-v0``: keep an
  estimate of each segment's per-member uplift for every (promotion, duration) arm,
  initialised from the survey, plan with :func:`~crm_envs.envs.promotion.plan.plan` under the
  business rule, explore a random rule-abiding plan with probability epsilon, and move the
  estimates of the arms that ran towards the observed uplift with constant rate alpha.

Both follow the shape of Stable-Baselines3: ``Agent(env, ...)``, ``.learn(total_timesteps)``,
``.predict(obs, deterministic=True) -> (action, None)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from tqdm.auto import tqdm

from agents.common import (
    SavableAgent,
    check_env,
    check_field,
    check_learn_args,
    check_reward,
    check_seed,
    config_from_kwargs,
)
from crm_envs.core.params import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_prob,
    check_scalar,
)

__all__ = [
    "UCB1",
    "CampaignLearner",
    "CampaignLearnerConfig",
    "EpsilonGreedy",
    "EpsilonGreedyConfig",
    "GradientBandit",
    "GradientBanditConfig",
    "ThompsonConfig",
    "ThompsonSampling",
    "UCB1Config",
    "learning_curves",
    "plot_learning_curves",
]


@dataclass(frozen=True)
class EpsilonGreedyConfig:
    """Configuration of :class:`EpsilonGreedy`.

    Every config of this module checks its fields when built: a wrong type raises
    ``TypeError``; NaN, an infinity or a value outside the stated range raises ``ValueError``.

    Attributes:
        epsilon: Probability of pulling a uniformly random arm, in [0, 1].
        alpha: Constant step size in (0, 1], or None for sample averages.
        initial: Initial estimate of every arm: finite numbers, one per arm (any sequence or
            array; stored as a tuple), or None for 0 everywhere.
        seed: Seed in [0, 2**32 - 1] of the exploration and of the env's first reset.
    """

    epsilon: float = 0.1
    alpha: float | None = 0.1
    initial: tuple[float, ...] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        check_field(self, "epsilon", check_prob)
        check_field(self, "alpha", _check_alpha)
        if self.initial is not None:
            values = check_array("initial", self.initial, shape=(None,))
            object.__setattr__(self, "initial", tuple(float(x) for x in values))
        check_field(self, "seed", check_seed)


@dataclass(frozen=True)
class UCB1Config:
    """Configuration of :class:`UCB1`.

    Attributes:
        scale: Range of the rewards (UCB1's bound assumes [0, 1]), finite and > 0.
        c: Multiplier of the exploration bonus (1 = UCB1), finite and >= 0.
        seed: Seed in [0, 2**32 - 1] of the env's first reset.
    """

    scale: float = 1.0
    c: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_field(self, "scale", check_scalar, low=0.0, low_open=True)
        check_field(self, "c", check_scalar, low=0.0)
        check_field(self, "seed", check_seed)


@dataclass(frozen=True)
class ThompsonConfig:
    """Configuration of :class:`ThompsonSampling`.

    Attributes:
        model: ``"gaussian"`` or ``"bernoulli"``.
        sigma: Gaussian model: noise standard deviation of a reward, in [1e-150, 1e150] (the
            posterior works with ``1 / sigma**2``, which must be a finite nonzero float).
        prior_mean: Gaussian model: prior mean of every arm (finite).
        prior_sd: Gaussian model: prior standard deviation, in [1e-150, 1e150] (as sigma).
        scale: Bernoulli model: upper end of the reward range, finite and > 0.
        seed: Seed in [0, 2**32 - 1] of the posterior draws and of the env's first reset.
    """

    model: str = "gaussian"
    sigma: float = 1.0
    prior_mean: float = 0.0
    prior_sd: float = 100.0
    scale: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.model, str):
            raise TypeError(f"model must be 'gaussian' or 'bernoulli', got {self.model!r}")
        check_field(self, "model", check_choice, choices=("gaussian", "bernoulli"))
        for name in ("sigma", "prior_sd"):
            check_field(self, name, check_scalar, low=SD_MIN, high=SD_MAX)
        check_field(self, "prior_mean", check_scalar)
        check_field(self, "scale", check_scalar, low=0.0, low_open=True)
        check_field(self, "seed", check_seed)


@dataclass(frozen=True)
class GradientBanditConfig:
    """Configuration of :class:`GradientBandit`.

    Attributes:
        alpha: Step size of the preferences, finite and > 0.
        baseline: Subtract the running average reward (True or False).
        seed: Seed in [0, 2**32 - 1] of the arm draws and of the env's first reset.
    """

    alpha: float = 0.1
    baseline: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        check_field(self, "alpha", check_scalar, low=0.0, low_open=True)
        check_field(self, "baseline", check_bool)
        check_field(self, "seed", check_seed)


@dataclass(frozen=True)
class CampaignLearnerConfig:
    """Configuration of :class:`CampaignLearner`.

    Attributes:
        epsilon: Probability in [0, 1] of running a random rule-abiding plan instead of the
            best one.
        alpha: Constant learning rate in (0, 1] of the lift estimates.
        prior: ``"survey"`` or ``"zero"`` initial lift estimates (``"array"`` records that
            :class:`CampaignLearner` was given an array of them).
        seed: Seed in [0, 2**32 - 1] of the exploration and of the env's first reset.
    """

    epsilon: float = 0.1
    alpha: float = 0.1
    prior: str = "survey"
    seed: int = 0

    def __post_init__(self) -> None:
        check_field(self, "epsilon", check_prob)
        check_field(self, "alpha", check_scalar, low=0.0, high=1.0, low_open=True)
        if not isinstance(self.prior, str):
            raise TypeError(f"prior must be 'survey', 'zero' or an array, got {self.prior!r}")
        check_field(self, "prior", check_choice, choices=("survey", "zero", "array"))
        check_field(self, "seed", check_seed)


#: Range of ThompsonConfig's ``sigma`` and ``prior_sd``: ``1 / sd**2`` stays a finite,
#: nonzero float64 throughout.
SD_MIN, SD_MAX = 1e-150, 1e150


def _check_alpha(name: str, alpha: float | None) -> float | None:
    return None if alpha is None else check_scalar(name, alpha, low=0.0, high=1.0,
                                                   low_open=True)  # fmt: skip


class _Bandit(SavableAgent):
    """Shared loop of the stateless bandits: pull, observe, update, track regret.

    Subclasses implement :meth:`_select` (the arm to pull) and :meth:`_observe` (the update).
    Regret is read from ``info["regret"]`` when the env reports it (``PromotionBandit-v0``).
    """

    _config_cls: type = EpsilonGreedyConfig

    def __init__(self, env: gym.Env, **config: Any) -> None:
        self.config = config_from_kwargs(self._config_cls, config)
        seed = self.config.seed
        check_env(env, type(self).__name__)
        if not isinstance(env.action_space, gym.spaces.Discrete):
            raise TypeError(
                f"{type(self).__name__} needs a Discrete action space, got {env.action_space}"
            )
        self.env = env
        self.n_arms = int(env.action_space.n)
        self.counts = np.zeros(self.n_arms)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.rewards: list[float] = []
        self.regrets: list[float] = []
        self.t = 0

    def _select(self) -> int:
        raise NotImplementedError

    def _observe(self, arm: int, reward: float) -> None:
        raise NotImplementedError

    def _best(self) -> int:
        raise NotImplementedError

    def learn(self, total_timesteps: int, progress_bar: bool = False, callback: Any = None):
        """Pull ``total_timesteps`` arms, updating the estimates; returns self."""
        total_timesteps = check_learn_args(total_timesteps, progress_bar, callback)
        self.env.reset(seed=self.seed + self.t)
        for _ in tqdm(range(total_timesteps), disable=not progress_bar, desc=type(self).__name__):
            arm = self._select()
            _, reward, term, trunc, info = self.env.step(arm)
            self.t += 1
            self.counts[arm] += 1
            reward = check_reward(reward, type(self).__name__)
            self._observe(arm, reward)
            self.rewards.append(reward)
            if "regret" in info:
                self.regrets.append(float(info["regret"]))
            if callback is not None and callback(locals()) is False:
                break
            if term or trunc:
                self.env.reset()
        return self

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[int, None]:
        """The arm believed best (the exploring choice when ``deterministic=False``)."""
        return (self._best() if deterministic else self._select()), None


class EpsilonGreedy(_Bandit):
    """Epsilon-greedy bandit over a ``Discrete`` action space.

    Args:
        env: A stateless env with a ``Discrete`` action space (e.g. ``PromotionBandit-v0``).
        **config: :class:`EpsilonGreedyConfig` fields.
    """

    _config_cls = EpsilonGreedyConfig
    _arrays = ("q", "counts")

    def __init__(self, env: gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        c = self.config
        self.epsilon = c.epsilon
        self.alpha = c.alpha
        initial = c.initial
        self.q = np.zeros(self.n_arms) if initial is None else np.array(initial, dtype=float)
        if self.q.shape != (self.n_arms,):
            raise ValueError(
                f"initial must have one value per arm ({self.n_arms}), got {self.q.shape}"
            )

    def _select(self) -> int:
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_arms))
        return self._best()

    def _best(self) -> int:
        return int(np.argmax(self.q))

    def _observe(self, arm: int, reward: float) -> None:
        step = self.alpha if self.alpha is not None else 1.0 / self.counts[arm]
        self.q[arm] += step * (reward - self.q[arm])


class UCB1(_Bandit):
    """UCB1 (Auer, Cesa-Bianchi & Fischer 2002).

    Pull each arm once, then the arm maximising ``mean + c * scale * sqrt(2 ln t / n)``.

    Args:
        env: A stateless env with a ``Discrete`` action space.
        **config: :class:`UCB1Config` fields.
    """

    _config_cls = UCB1Config
    _arrays = ("means", "counts")

    def __init__(self, env: gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.scale = self.config.scale
        self.c = self.config.c
        self.means = np.zeros(self.n_arms)

    def _select(self) -> int:
        untried = np.flatnonzero(self.counts == 0)
        if untried.size:
            return int(untried[0])
        bonus = self.c * self.scale * np.sqrt(2.0 * np.log(self.counts.sum()) / self.counts)
        return int(np.argmax(self.means + bonus))

    def _best(self) -> int:
        return int(np.argmax(np.where(self.counts > 0, self.means, -np.inf)))

    def _observe(self, arm: int, reward: float) -> None:
        self.means[arm] += (reward - self.means[arm]) / self.counts[arm]


class ThompsonSampling(_Bandit):
    """Thompson sampling with a Beta-Bernoulli or a Gaussian model of each arm.

    ``model="gaussian"``: normal rewards with known noise ``sigma`` and a normal prior
    N(``prior_mean``, ``prior_sd``^2) on each arm's mean. ``model="bernoulli"``: rewards in
    [0, ``scale``] are turned into successes with probability ``reward / scale`` (Agrawal &
    Goyal 2012) and each arm's success probability has a Beta(1, 1) prior.

    Args:
        env: A stateless env with a ``Discrete`` action space.
        **config: :class:`ThompsonConfig` fields.
    """

    _config_cls = ThompsonConfig
    _arrays = ("post_mean", "post_prec", "alpha_b", "beta_b", "counts")
    _positive = ("post_prec", "alpha_b", "beta_b")

    def __init__(self, env: gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        c = self.config
        self.model = c.model
        self.sigma = c.sigma
        self.prior_sd = c.prior_sd
        self.scale = c.scale
        self.post_mean = np.full(self.n_arms, c.prior_mean)
        self.post_prec = np.full(self.n_arms, 1.0 / self.prior_sd**2)
        self.alpha_b = np.ones(self.n_arms)
        self.beta_b = np.ones(self.n_arms)

    def _select(self) -> int:
        if self.model == "gaussian":
            draw = self.rng.normal(self.post_mean, 1.0 / np.sqrt(self.post_prec))
        else:
            draw = self.rng.beta(self.alpha_b, self.beta_b)
        return int(np.argmax(draw))

    def _best(self) -> int:
        if self.model == "gaussian":
            return int(np.argmax(self.post_mean))
        return int(np.argmax(self.alpha_b / (self.alpha_b + self.beta_b)))

    def _observe(self, arm: int, reward: float) -> None:
        if self.model == "gaussian":
            prec = self.post_prec[arm] + 1.0 / self.sigma**2
            self.post_mean[arm] = (self.post_prec[arm] * self.post_mean[arm]
                                   + reward / self.sigma**2) / prec  # fmt: skip
            self.post_prec[arm] = prec
            return
        p = reward / self.scale
        if not 0.0 <= p <= 1.0:
            raise ValueError(
                f"Bernoulli Thompson sampling needs rewards in [0, {self.scale}], got {reward}"
            )
        success = self.rng.random() < p
        self.alpha_b[arm] += success
        self.beta_b[arm] += 1 - success


class GradientBandit(_Bandit):
    """Gradient bandit (Sutton & Barto 2018, section 2.8).

    Softmax over preferences H, updated by ``H += alpha (r - baseline) (1[a] - pi)`` with the
    average reward as baseline.

    Args:
        env: A stateless env with a ``Discrete`` action space.
        **config: :class:`GradientBanditConfig` fields.
    """

    _config_cls = GradientBanditConfig
    _arrays = ("h", "counts")

    def __init__(self, env: gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.alpha = self.config.alpha
        self.baseline = self.config.baseline
        self.h = np.zeros(self.n_arms)
        self.mean_reward = 0.0

    def policy(self) -> NDArray[np.float64]:
        """Current softmax probabilities of the arms."""
        z = np.exp(self.h - self.h.max())
        return z / z.sum()

    def _select(self) -> int:
        return int(self.rng.choice(self.n_arms, p=self.policy()))

    def _best(self) -> int:
        return int(np.argmax(self.h))

    def _observe(self, arm: int, reward: float) -> None:
        self.mean_reward += (reward - self.mean_reward) / self.t
        base = self.mean_reward if self.baseline else 0.0
        grad = -self.policy()
        grad[arm] += 1.0
        self.h += self.alpha * (reward - base) * grad


class CampaignLearner(SavableAgent):
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
        **config: :class:`CampaignLearnerConfig` fields; ``prior`` may also be a (G, K, S)
            array of month-by-month lift estimates.
    """

    _arrays = ("cum_lift",)

    def __init__(self, env: gym.Env, **config: Any) -> None:
        prior = config.get("prior", "survey")
        if not isinstance(prior, str):
            config["prior"] = "array"
        self.config = config_from_kwargs(CampaignLearnerConfig, config)
        epsilon, alpha, seed = self.config.epsilon, self.config.alpha, self.config.seed
        check_env(env, "CampaignLearner")
        self.env = env
        base = env.unwrapped
        if not hasattr(base, "setup") or not base.setup.campaign:
            raise TypeError("CampaignLearner needs a PromotionCampaign env")
        self.setup = base.setup
        self.model = self.setup.model
        self.epsilon = epsilon
        self.alpha = alpha
        shape = self.model.lift.shape
        if isinstance(prior, str):
            if prior not in ("survey", "zero"):  # "array" is only set for an array prior
                raise ValueError(f"prior must be 'survey', 'zero' or an array, got {prior!r}")
            lift = self.model.survey_lift if prior == "survey" else np.zeros(shape)
        else:  # (groups, types, months) of finite numbers
            lift = np.array(check_array("prior", prior, shape=shape))
        self.cum_lift = np.cumsum(lift, axis=-1)
        self.seed = seed
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
        total_timesteps = check_learn_args(total_timesteps, progress_bar, callback)
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
