"""REINFORCE against the exact optimum of CustomerJourney-v1."""

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from agents.common import evaluate_policy
from agents.dp import backward_induction
from agents.reinforce import MLPReinforce, TabularReinforce
from crm_envs.core.oracle import evaluate, random_policy


@pytest.fixture(scope="module")
def optimal_value():
    mdp = gym.make("crm_envs/CustomerJourney-v1").unwrapped.model()
    return backward_induction(mdp).value(mdp.initial)


def _score(mean, optimal_value):
    """The harness's score: uniformly random moves = 0, the exact optimum = 1."""
    env = gym.make("crm_envs/CustomerJourney-v1")
    policy = random_policy(env.action_space, 0)
    rand = evaluate(lambda: gym.make("crm_envs/CustomerJourney-v1"), policy, 2000, 11).mean()
    return (mean - rand) / (optimal_value - rand)


def test_tabular_reinforce_with_baseline_reaches_95_percent(optimal_value):
    env = gym.make("crm_envs/CustomerJourney-v1")
    agent = TabularReinforce(env, baseline=True, seed=0).learn(200_000)
    res = evaluate_policy(agent, env, n_episodes=2000, seed=11)
    assert _score(res.mean, optimal_value) >= 0.95


def test_same_seed_same_policy_and_save_load(tmp_path):
    a = TabularReinforce(gym.make("crm_envs/CustomerJourney-v1"), seed=4).learn(5_000)
    b = TabularReinforce(gym.make("crm_envs/CustomerJourney-v1"), seed=4).learn(5_000)
    np.testing.assert_array_equal(a.theta, b.theta)
    a.save(tmp_path / "r.npz")
    c = TabularReinforce(gym.make("crm_envs/CustomerJourney-v1"), seed=4).load(tmp_path / "r.npz")
    np.testing.assert_array_equal(c.theta, a.theta)


@pytest.mark.slow
def test_mlp_reinforce_learns_the_journey(optimal_value):
    env = gym.make("crm_envs/CustomerJourney-v1")
    agent = MLPReinforce(env, seed=0).learn(60_000)
    res = evaluate_policy(agent, env, n_episodes=500, seed=3)
    assert _score(res.mean, optimal_value) >= 0.9
    with pytest.raises(ValueError, match="not in the observation space"):
        agent.predict(np.array([7, 0, 0, 0]))
