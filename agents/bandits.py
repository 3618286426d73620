"""Bandit learners for an env with a ``Discrete`` action and no state.

* :class:`EpsilonGreedy` -- epsilon-greedy arm choice, constant step ``alpha`` (or sample
  averages with ``alpha=None``), optional initial estimates (e.g. a survey's).
* :class:`UCB1`, :class:`ThompsonSampling` (Beta-Bernoulli and Gaussian) and
  :class:`GradientBandit` -- the classic bandits, with the same interface and regret tracking.

They use the Gymnasium API only (regret is read from ``info["regret"]`` when the env reports
it, e.g. ``PromotionBandit-v2``) and follow the shape of Stable-Baselines3: ``Agent(env,
...)``, ``.learn(total_timesteps)``, ``.predict(obs, deterministic=True) -> (action, None)``.
Mandania et al. (2025)'s campaign learner, which plans with the promotion model, is in
:mod:`crm_envs.papers.mandania2025.learner`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from tqdm.auto import tqdm

from agents.base import Agent
from agents.common import (
    SavableAgent,
    check_field,
    check_reward,
    check_seed,
)
from crm_envs.core.params import (
    check_array,
    check_bool,
    check_choice,
    check_prob,
    check_scalar,
)

__all__ = [
    "UCB1",
    "EpsilonGreedy",
    "EpsilonGreedyConfig",
    "GradientBandit",
    "GradientBanditConfig",
    "ThompsonConfig",
    "ThompsonSampling",
    "UCB1Config",
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


#: Range of ThompsonConfig's ``sigma`` and ``prior_sd``: ``1 / sd**2`` stays a finite,
#: nonzero float64 throughout.
SD_MIN, SD_MAX = 1e-150, 1e150


def _check_alpha(name: str, alpha: float | None) -> float | None:
    return None if alpha is None else check_scalar(name, alpha, low=0.0, high=1.0,
                                                   low_open=True)  # fmt: skip


class _Bandit(Agent, SavableAgent):
    """Shared loop of the stateless bandits: pull, observe, update, track regret.

    Subclasses implement :meth:`_select` (the arm to pull) and :meth:`_observe` (the update).
    ``episode_returns`` holds every pull's reward. Regret is read from ``info["regret"]`` when
    the env reports it (the promotion bandit does).

    Attributes:
        regrets: Regret of every pull, when the env reports it.
    """

    config_class: type = EpsilonGreedyConfig
    action_spaces = (gym.spaces.Discrete,)
    needs = ("bandit",)

    def __init__(self, env: gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.n_arms = int(env.action_space.n)
        self.counts = np.zeros(self.n_arms)
        self.regrets: list[float] = []

    @property
    def t(self) -> int:
        """Pulls so far (``num_timesteps``)."""
        return self.num_timesteps + self._pulls

    def _select(self) -> int:
        raise NotImplementedError

    def _observe(self, arm: int, reward: float) -> None:
        raise NotImplementedError

    def _best(self) -> int:
        raise NotImplementedError

    _pulls = 0  # pulls of the current learn call (``t`` counts them before they are added)

    def _learn(self, obs: Any, total: int, bar: tqdm, stop: Callable[[dict], bool]) -> int:
        """Pull ``total`` arms, updating the estimates; the callback runs after every pull."""
        self._pulls = 0
        try:
            for _ in range(total):
                arm = self._select()
                _, reward, term, trunc, info = self.env.step(arm)
                self._pulls += 1
                bar.update(1)
                self.counts[arm] += 1
                reward = check_reward(reward, type(self).__name__)
                self._observe(arm, reward)
                self._returns.append(reward)
                if "regret" in info:
                    self.regrets.append(float(info["regret"]))
                if stop(locals()):
                    break
                if term or trunc:
                    self.env.reset()
            return self._pulls
        finally:
            self._pulls = 0

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[int, None]:
        """The arm believed best (the exploring choice when ``deterministic=False``)."""
        return (self._best() if deterministic else self._select()), None


class EpsilonGreedy(_Bandit):
    """Epsilon-greedy bandit over a ``Discrete`` action space.

    Args:
        env: A stateless env with a ``Discrete`` action space (e.g. ``PromotionBandit-v2``).
        **config: :class:`EpsilonGreedyConfig` fields.
    """

    config_class = EpsilonGreedyConfig
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

    config_class = UCB1Config
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

    config_class = ThompsonConfig
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

    config_class = GradientBanditConfig
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
