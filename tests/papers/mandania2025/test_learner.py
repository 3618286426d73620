"""Mandania et al. (2025): the campaign learner and its learning curves."""

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from crm_envs.envs.promotion.env import PromotionCampaignEnv
from crm_envs.envs.promotion.model import GROUPS
from crm_envs.envs.promotion.plan import plan
from crm_envs.papers.mandania2025.learner import CampaignLearner
from crm_envs.papers.mandania2025.learning_curves import learning_curves, plot_learning_curves

NAN = float("nan")


def test_learner_recovers_from_the_survey_under_rule2():
    env = PromotionCampaignEnv(rule=2, horizon=1500)
    setup = env.setup
    best = plan(setup.uplift_table(setup.true_uplift_per_member()), rule=2)
    learner = CampaignLearner(env, epsilon=0.1, alpha=0.1, prior="survey", seed=0)
    survey_plan = learner.current_plan()
    survey_value = learner.plan_value(survey_plan)
    learner.learn(1500)
    late = np.mean(learner.history[-500:])
    assert survey_value < 0.998 * best.total
    assert late > 0.999 * best.total > survey_value
    # The survey promoted the frequent buyers for 5 months; the learner cuts them to 1.
    final = learner.current_plan().reshape(14, 3)
    frequent = [i for i, g in enumerate(GROUPS) if g.name.startswith(("4/", "5+/"))]
    assert (survey_plan.reshape(14, 3)[frequent] == 1 + 4).any()
    assert ((final[frequent] - 1) % 5 + 1 == 1).all()


def test_learning_curves_are_one_call_and_a_plot():
    curves = learning_curves(alphas=(0.1, 0.3), epsilons=(0.1,), cycles=40, rule=2)
    assert set(curves) == {(0.1, 0.1), (0.3, 0.1)}
    assert all(len(v) == 40 and (v <= 1 + 1e-9).all() for v in curves.values())
    ax = plot_learning_curves(curves)
    assert len(ax.lines) == 3


def test_bad_learning_rate_raises():
    with pytest.raises(ValueError, match="alpha must lie in"):
        CampaignLearner(PromotionCampaignEnv(), alpha=0.0)


def test_campaign_learner_array_prior_must_be_finite_and_shaped():
    env = gym.make("crm_envs/PromotionCampaign-v0")
    shape = env.unwrapped.setup.model.lift.shape
    prior = np.zeros(shape)
    prior[0, 0, 0] = NAN
    with pytest.raises(ValueError, match=r"prior must be finite, found nan at index \(0, 0, 0\)"):
        CampaignLearner(env, prior=prior)
    with pytest.raises(ValueError, match="prior must have shape"):
        CampaignLearner(env, prior=np.zeros((1, 2)))
