"""Mandania et al. (2025)'s campaign learner on ``PromotionCampaign-v2``.

The paper's approach: keep an estimate of each group's extra transactions per member in each
month of each promotion type (the paper's lift parameters), initialised from the survey, plan
with :func:`~crm_envs.envs.promotion.plan.plan` under the business rule and the budget,
explore a random plan that obeys both with probability epsilon, and move the estimates of
the arms that ran towards the observed response with constant rate alpha.

It is paper-specific, not a generic agent: it plans with the env's promotion model (CLV
baseline, survey lifts, business rules) and, for its learning curve, scores each plan with the
true lifts (:meth:`CampaignLearner.plan_value`).
"""

from __future__ import annotations

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
    check_seed,
    config_from_kwargs,
)
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


class CampaignLearner(SavableAgent):
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

    Args:
        env: A ``PromotionCampaign-v2`` env (``gym.make`` result or unwrapped).
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
        """(J,) arms of the best plan by the current estimates, under the rule and budget."""
        per_member = self.setup.per_member_uplift(self.lift)
        return np.asarray(self.setup.best_action_for(per_member), dtype=np.int64)

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
        lift = self.lift
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
                lift[g, k, :d] += self.alpha * error / d
        self.cum_lift = np.cumsum(lift, axis=-1)

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
