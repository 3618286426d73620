"""Mandania et al. (2025)'s campaign learner on ``PromotionCampaign-v2``.

The paper's approach: keep an estimate of each group's extra transactions per member in each
month of each promotion type (the paper's lift parameters), initialised from the survey, plan
with :func:`~crm_envs.envs.promotion.plan.plan` under the business rule and the budget,
explore a random plan that obeys both with probability epsilon, and move the estimates of
the arms that ran towards the observed response with constant rate alpha.

It is an :class:`agents.base.Agent` like the generic agents, but paper-specific, so it lives
here rather than in ``agents/``: it plans with the env's promotion model (CLV baseline, survey
lifts, business rules) and, for the paper's learning curve, scores each plan with the true
lifts (:meth:`CampaignLearner.plan_value`).
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
from agents.common import SavableAgent, check_field, check_reward, check_seed
from crm_envs.core.params import check_array, check_choice, check_prob, check_scalar

__all__ = ["CampaignLearner", "CampaignLearnerConfig"]


@dataclass(frozen=True)
class CampaignLearnerConfig:
    """Configuration of :class:`CampaignLearner`.

    Attributes:
        epsilon: Probability in [0, 1] of running a random plan that obeys the rule and the
            budget instead of the best one.
        alpha: Constant learning rate in (0, 1] of the lift estimates.
        prior: ``"survey"`` or ``"zero"`` initial lift estimates (``"array"`` records that
            :class:`CampaignLearner` was given an array of them).
        seed: Seed in [0, 2**32 - 1] of the exploration (``rng``) and of the env's reset at
            the start of every ``learn`` call (``seed + num_timesteps``, the agents' one
            convention).
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


class CampaignLearner(Agent, SavableAgent):
    """The paper's learner: plan under the rule and budget, explore, update lifts with alpha.

    The learner keeps, for every group g, promotion k and month s, an estimate of the extra
    transactions per member that k brings in its s-th month, starting from the survey's
    (equal in every month). After a cycle, each group's observed extra transactions (its
    members' transactions over the horizon minus the CLV model's baseline, pooled over the
    contribution levels that ran the same arm) move the arm's cumulative estimate (the sum
    over its D months) by ``alpha`` towards the observation, the error spread evenly over
    those D months: a normalised least-mean-squares step, so that a 5-month promotion also
    teaches the 1- to 4-month ones. The uplift table follows from the CLV model, and the next
    plan is :func:`~crm_envs.envs.promotion.plan.plan` under the business rule and the
    env's budget -- or, with probability ``epsilon``, a random plan obeying both. Months a
    promotion never ran keep their estimate: only exploration corrects an estimate too
    pessimistic to be tried.

    It is an :class:`agents.base.Agent`: the base owns the seeding, ``num_timesteps`` (one
    env step is one campaign cycle), the callback (``callback(locals())`` after every cycle;
    ``False`` stops), the progress bar and ``episode_returns``, and ``save``/``load`` are
    :class:`~agents.common.SavableAgent`'s (the learned array is ``cum_lift``).

    Args:
        env: A ``PromotionCampaign-v2`` env (``gym.make`` result or unwrapped).
        **config: :class:`CampaignLearnerConfig` fields; ``prior`` may also be a (G, K, S)
            array of month-by-month lift estimates.

    Attributes:
        episode_returns: The env's reward of every training cycle (the realised campaign
            return, exploration included): what the benchmark's learning curve shows.
        history: The true expected value of the greedy plan after every training cycle,
            scored with the true lifts (:meth:`plan_value`; ground truth, a diagnostic for the
            paper's Figure 11 learning curves, never used by the learner itself).
        cum_lift: (G, K, S) cumulative lift estimates over the months (the saved state).
    """

    _arrays = ("cum_lift",)
    config_class = CampaignLearnerConfig
    action_spaces = (gym.spaces.MultiDiscrete,)
    observation_spaces = (gym.spaces.Box,)
    needs = ("campaign",)

    def __init__(self, env: gym.Env, **config: Any) -> None:
        prior = config.get("prior", "survey")
        if not isinstance(prior, str):
            config["prior"] = "array"
        super().__init__(env, **config)
        self.task = env.unwrapped.task
        self.model = self.task.model
        shape = self.model.lift.shape
        if isinstance(prior, str):
            if prior not in ("survey", "zero"):  # "array" is only set for an array prior
                raise ValueError(f"prior must be 'survey', 'zero' or an array, got {prior!r}")
            lift = self.model.survey_lift if prior == "survey" else np.zeros(shape)
        else:  # (groups, types, months) of finite numbers
            lift = np.array(check_array("prior", prior, shape=shape))
        self.cum_lift = np.cumsum(lift, axis=-1)
        self.history: list[float] = []

    @classmethod
    def unsupported(cls, env: gym.Env) -> str | None:
        """Why the learner cannot train on ``env``: spaces, or not a promotion campaign."""
        reason = super().unsupported(env)
        if reason is None and not getattr(getattr(env.unwrapped, "task", None), "campaign", False):
            reason = f"{cls.__name__} needs a PromotionCampaign env, got {env}"
        return reason

    @property
    def lift(self) -> NDArray[np.float64]:
        """(G, K, S) current month-by-month lift estimates."""
        return np.diff(self.cum_lift, axis=-1, prepend=0.0)

    def current_plan(self) -> NDArray[np.int64]:
        """(J,) arms of the best plan by the current estimates, under the rule and budget."""
        per_member = self.task.per_member_uplift(self.lift)
        return np.asarray(self.task.best_action_for(per_member), dtype=np.int64)

    def plan_value(self, arms: NDArray[np.int64]) -> float:
        """True expected uplift of per-segment ``arms`` (a diagnostic for learning curves)."""
        true = self.task.true_uplift_per_member()
        return float((true[np.arange(len(arms)), arms] * self.task.members).sum())

    def _update(self, arms: NDArray[np.int64], per_member_counts: NDArray[np.float64]) -> None:
        n_g, n_c = self.model.members.shape
        s = self.model.horizon
        members = self.task.members.reshape(n_g, n_c)
        counts = per_member_counts.reshape(n_g, n_c) * members
        arms = arms.reshape(n_g, n_c)
        expected_base = self.model.baseline.sum(axis=1)  # (G,) per member over the horizon
        lift = self.lift
        alpha = self.config.alpha
        for g in range(n_g):
            for arm in np.unique(arms[g]):
                if arm == 0:
                    continue
                ran = arms[g] == arm
                m = members[g, ran].sum()
                extra = counts[g, ran].sum() / m - expected_base[g]
                k, d = (arm - 1) // s, (arm - 1) % s + 1
                # The arm's cumulative lift moves by alpha towards the observed extra
                # transactions; the error is spread evenly over the months that ran.
                error = extra - lift[g, k, :d].sum()
                lift[g, k, :d] += alpha * error / d
        self.cum_lift = np.cumsum(lift, axis=-1)

    def _learn(self, obs: Any, total: int, bar: tqdm, stop: Callable[[dict], bool]) -> int:
        """``total`` campaign cycles (env steps); the callback runs after each cycle."""
        j = len(self.task.segments)
        epsilon = self.config.epsilon
        greedy = self.current_plan()
        cycles = 0
        while cycles < total:
            explore = self.rng.random() < epsilon
            arms = self.task.random_allowed(self.rng) if explore else greedy
            obs, reward, term, trunc, info = self.env.step(arms)
            cycles += 1
            bar.update(1)
            self._returns.append(check_reward(reward, type(self).__name__))
            if not info["rejected"]:
                self._update(arms, np.asarray(obs[:j], dtype=float))
                greedy = self.current_plan()
            self.history.append(self.plan_value(greedy))
            if stop(locals()):
                break
            if term or trunc:
                obs, _ = self.env.reset()
        return cycles

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[NDArray[np.int64], None]:
        """The best plan's arms (a random rule-abiding plan w.p. epsilon if not deterministic)."""
        if not deterministic and self.rng.random() < self.config.epsilon:
            return self.task.random_allowed(self.rng), None
        return self.current_plan(), None
