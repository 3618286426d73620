"""Mandania et al. (2025): the campaign learner recovers the survey's gap (issue 17)."""

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from agents.base import Agent
from crm_envs.envs.promotion.env import PromotionEnv
from crm_envs.envs.promotion.model import GROUPS
from crm_envs.papers.mandania2025.learner import CampaignLearner
from crm_envs.papers.mandania2025.learning_curves import (
    cycles_to_reach,
    learning_curves,
    plot_learning_curves,
    survey_gap,
)

NAN = float("nan")
HALF_GAP_CYCLES = 10
"""The stated bound: from the survey prior, alpha = 0.2 gains half the gap within this."""


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learner_gains_half_the_survey_gap_within_10_cycles_under_rule2(seed):
    best, survey = survey_gap(rule=2)
    assert survey < 0.7 * best  # the wrong survey assumption matters
    env = PromotionEnv(campaign=True, rule=2, horizon=HALF_GAP_CYCLES)
    learner = CampaignLearner(env, epsilon=0.05, alpha=0.2, prior="survey", seed=seed)
    assert learner.plan_value(learner.current_plan()) == pytest.approx(survey)
    learner.learn(HALF_GAP_CYCLES)
    assert learner.history[-1] >= survey + 0.5 * (best - survey)
    # The survey promoted the frequent buyers for 5 months; the learner cuts them to 1.
    final = learner.current_plan().reshape(14, 3)
    frequent = [i for i, g in enumerate(GROUPS) if g.name.startswith(("4/", "5+/"))]
    assert ((final[frequent] - 1) % 5 + 1 == 1).all()


def test_exploration_recovers_what_greed_cannot():
    # The survey understates some groups so much that greedy plans never try them; only
    # exploration finds them (the paper: without exploration a policy can get trapped).
    curves = learning_curves(alphas=(0.5,), epsilons=(0.0, 0.2), cycles=120, rule=2,
                             seeds=(0, 1))  # fmt: skip
    greedy, exploring = curves[(0.5, 0.0)], curves[(0.5, 0.2)]
    assert greedy[0] == pytest.approx(exploring[0]) and greedy[0] < 0.7
    assert greedy[-1] < 0.93
    assert exploring[-20:].mean() > 0.97
    assert cycles_to_reach(exploring, 0.95) is not None
    assert cycles_to_reach(greedy, 0.95) is None


@pytest.mark.parametrize("rule", [1, 4])
def test_learner_respects_the_budget_and_improves_on_the_survey(rule):
    full = PromotionEnv(campaign=True, rule=rule).task
    budget = 0.5 * float(full.resource_used(np.asarray(full.best_action()))[0])
    best, survey = survey_gap(rule=rule, budget=budget)
    env = PromotionEnv(campaign=True, rule=rule, budget=budget, horizon=40)
    learner = CampaignLearner(env, epsilon=0.3, alpha=0.3, seed=0)
    rejected = []

    def record(local):
        rejected.append(local["info"]["rejected"])

    learner.learn(40, callback=record)
    assert not any(rejected)  # neither its plans nor its exploration break the budget
    assert env.task.resource_used(learner.current_plan())[0] <= budget * (1 + 1e-9)
    assert np.mean(learner.history[-10:]) > survey + 0.5 * (best - survey)


def test_cycles_to_reach_and_the_plot():
    assert cycles_to_reach(np.array([0.5, 0.96, 0.9, 0.97, 0.99]), 0.95) == 3
    assert cycles_to_reach(np.array([0.5, 0.9]), 0.95) is None
    assert cycles_to_reach(np.array([0.96, 0.99]), 0.95) == 0
    curves = learning_curves(alphas=(0.1, 0.3), epsilons=(0.1,), cycles=20, rule=2)
    assert set(curves) == {(0.1, 0.1), (0.3, 0.1)}
    assert all(len(v) == 21 and (v <= 1 + 1e-9).all() for v in curves.values())
    ax = plot_learning_curves(curves)
    assert len(ax.lines) == 4  # two curves, the optimum and the 95% level


def test_bad_learning_rate_raises():
    with pytest.raises(ValueError, match="alpha must lie in"):
        CampaignLearner(PromotionEnv(campaign=True), alpha=0.0)
    with pytest.raises(ValueError, match="seeds must name"):
        learning_curves(seeds=())


def test_campaign_learner_array_prior_must_be_finite_and_shaped():
    env = gym.make("crm_envs/PromotionCampaign-v2")
    shape = env.unwrapped.task.model.lift.shape
    prior = np.zeros(shape)
    prior[0, 0, 0] = NAN
    with pytest.raises(ValueError, match=r"prior must be finite, found nan at index \(0, 0, 0\)"):
        CampaignLearner(env, prior=prior)
    with pytest.raises(ValueError, match="prior must have shape"):
        CampaignLearner(env, prior=np.zeros((1, 2)))


class _RecordResets(gym.Wrapper):
    """Records the seed of every reset."""

    def __init__(self, env):
        super().__init__(env)
        self.seeds = []

    def reset(self, *, seed=None, options=None):
        self.seeds.append(seed)
        return self.env.reset(seed=seed, options=options)


def test_the_learner_is_an_agent_with_the_bases_seeding_and_per_cycle_returns():
    env = _RecordResets(PromotionEnv(campaign=True, rule=2, horizon=3))
    learner = CampaignLearner(env, epsilon=0.5, alpha=0.2, seed=7)
    assert isinstance(learner, Agent) and learner.needs == ("campaign",)
    rewards = []
    learner.learn(4, progress_bar=True, callback=lambda local: rewards.append(local["reward"]))
    # One env step is one campaign cycle; episode_returns holds each cycle's reward.
    assert learner.num_timesteps == 4 and len(learner.history) == 4
    np.testing.assert_array_equal(learner.episode_returns, rewards)
    assert len(set(rewards)) == 4
    learner.learn(2)
    assert env.seeds == [7, None, 7 + 4]  # a reset after cycle 3 (horizon), then seed + steps
    assert learner.num_timesteps == 6 and len(learner.episode_returns) == 6
    # The benchmark's learning curve reads episode_returns: the per-cycle rewards.
    from benchmarks.harness import learning_curve

    assert learning_curve(learner) == pytest.approx(list(learner.episode_returns))
    # Same seed, same numbers.
    again = CampaignLearner(PromotionEnv(campaign=True, rule=2, horizon=3), epsilon=0.5, alpha=0.2,
                            seed=7).learn(4).learn(2)  # fmt: skip
    np.testing.assert_array_equal(again.episode_returns, learner.episode_returns)
    np.testing.assert_array_equal(again.cum_lift, learner.cum_lift)


def test_the_callback_stops_after_a_cycle():
    learner = CampaignLearner(PromotionEnv(campaign=True, rule=2, horizon=10), seed=0)
    learner.learn(10, callback=lambda local: len(local["self"].history) < 2)
    assert learner.num_timesteps == 2 and len(learner.episode_returns) == 2


def test_the_learner_refuses_envs_that_are_not_campaigns():
    with pytest.raises(TypeError, match="CampaignLearner needs a MultiDiscrete action space"):
        CampaignLearner(gym.make("crm_envs/PromotionBandit-v2"))

    class Lookalike(gym.Env):
        action_space = gym.spaces.MultiDiscrete([3, 3])
        observation_space = gym.spaces.Box(0.0, 1.0, (2,))

    with pytest.raises(TypeError, match="CampaignLearner needs a PromotionCampaign env"):
        CampaignLearner(Lookalike())


def test_save_and_load_restore_the_estimates_and_refuse_other_files(tmp_path):
    from agents.bandits import ThompsonSampling

    env = PromotionEnv(campaign=True, rule=2, horizon=10)
    learner = CampaignLearner(env, epsilon=0.2, alpha=0.3, seed=1).learn(5)
    fresh = CampaignLearner(env, epsilon=0.2, alpha=0.3, seed=1)
    assert not np.array_equal(fresh.cum_lift, learner.cum_lift)
    assert learner.save(tmp_path / "campaign") == tmp_path / "campaign.npz"
    fresh.load(tmp_path / "campaign")
    np.testing.assert_array_equal(fresh.cum_lift, learner.cum_lift)
    np.testing.assert_array_equal(fresh.current_plan(), learner.current_plan())
    with pytest.raises(ValueError, match="differs from this agent's"):
        CampaignLearner(env, epsilon=0.2, alpha=0.5, seed=1).load(tmp_path / "campaign")
    ThompsonSampling(gym.make("crm_envs/PromotionBandit-v2"), seed=0).save(tmp_path / "ts")
    with pytest.raises(ValueError, match="holds a saved 'ThompsonSampling' agent, not a Campaign"):
        fresh.load(tmp_path / "ts")
