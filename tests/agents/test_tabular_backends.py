"""Tabular agents honour Gymnasium wrappers (issue 13, High 1).

The numba backend steps the unwrapped env's kernel, so it may run only where every wrapper is
known to pass steps through unchanged; everywhere else the agents step ``env.step``. Where both
backends are allowed, they are built to draw the same random numbers in the same order, so the
tests below demand bit-identical tables, not statistical agreement.
"""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import OrderEnforcing, TransformReward

import agents.tabular as tabular
import crm_envs  # noqa: F401
from agents.tabular import SARSA, DoubleQLearning, ExpectedSARSA, QLearning, select_backend
from crm_envs.envs.customer_journey.env import CustomerJourneyEnv

ID = "crm_envs/CustomerJourney-v1"
ALL = [QLearning, DoubleQLearning, SARSA, ExpectedSARSA]


def _time_index(agent):
    """Time step ``t`` (the observation's last entry) of every table row."""
    nvec = agent.indexer.nvec
    return np.unravel_index(np.arange(agent.indexer.n), tuple(nvec))[-1]


@pytest.mark.parametrize("cls", ALL)
def test_a_reward_wrapper_that_zeroes_rewards_leaves_every_q_value_at_zero(cls):
    env = TransformReward(gym.make(ID), lambda r: 0.0)
    agent = cls(env, seed=0).learn(20_000)
    assert agent.backend == "gymnasium"
    assert "TransformReward" in agent.backend_reason
    assert agent.counts.sum() == 20_000  # it did update, with the wrapped (zero) rewards
    assert np.all(agent.q == 0.0) and np.all(agent.q2 == 0.0)
    assert np.all(agent.episode_returns == 0.0)


def test_a_time_limit_shorter_than_the_horizon_cuts_the_training_episodes():
    env = gym.make(ID, max_episode_steps=2)
    agent = QLearning(env, seed=0).learn(5_000)
    assert agent.backend == "gymnasium"
    assert "TimeLimit(2)" in agent.backend_reason
    t = _time_index(agent)
    # Only observations at t = 0 and t = 1 are ever acted on: no episode reaches step 2.
    assert agent.counts[t >= 2].sum() == 0
    assert agent.counts[t < 2].sum() == 5_000
    # Every episode lasts at most 2 steps (the last one may be unfinished).
    assert len(agent.episode_returns) >= 5_000 // 2 - 1


def test_the_plain_gym_make_env_takes_the_numba_backend():
    for env in (
        gym.make(ID),
        gym.make(ID, disable_env_checker=True),
        gym.make(ID, max_episode_steps=10),  # == the horizon: never cuts an episode
        gym.make(ID, max_episode_steps=500),
        CustomerJourneyEnv(),
    ):
        agent = QLearning(env, seed=0).learn(1_000)
        assert agent.backend == "numba", (env, agent.backend_reason)
    assert select_backend(gym.make(ID, max_episode_steps=9))[0] == "gymnasium"
    assert select_backend(gym.make(ID, horizon=5, max_episode_steps=5))[0] == "numba"
    assert select_backend(gym.make("FrozenLake-v1"))[0] == "gymnasium"


class _Subclass(OrderEnforcing):
    """A subclass of a transparent wrapper may change anything: it is not skipped."""


class _ZeroRewardJourney(CustomerJourneyEnv):
    def step(self, action):
        obs, _, term, trunc, info = super().step(action)
        return obs, 0.0, term, trunc, info


def test_wrapper_subclasses_and_env_subclasses_that_override_step_are_not_skipped():
    backend, reason = select_backend(_Subclass(gym.make(ID)))
    assert backend == "gymnasium" and "_Subclass" in reason
    agent = QLearning(_ZeroRewardJourney(), seed=0).learn(5_000)
    assert agent.backend == "gymnasium" and "_ZeroRewardJourney" in agent.backend_reason
    assert np.all(agent.q == 0.0)


@pytest.mark.parametrize("threshold", [None, 1.0])
@pytest.mark.parametrize("cls", ALL)
def test_both_backends_learn_identical_tables(cls, threshold, monkeypatch):
    # A small CHUNK exercises the per-chunk reseeding, and two learn calls the continuation.
    monkeypatch.setattr(tabular, "CHUNK", 1_000)
    config = {"seed": 7, "explore_threshold": threshold, "epsilon_start": 0.5}
    fast = cls(gym.make(ID, max_episode_steps=10), **config)
    # An identity reward wrapper is not known to be transparent: it forces the Gymnasium loop.
    slow = cls(TransformReward(gym.make(ID), lambda r: r), **config)
    for steps in (2_500, 1_700):
        fast.learn(steps)
        slow.learn(steps)
        assert (fast.backend, slow.backend) == ("numba", "gymnasium")
        for name in ("q", "q2", "counts", "episode_returns"):
            np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    assert fast.num_timesteps == slow.num_timesteps == 4_200
    assert np.abs(fast.q).max() > 1.0  # something was learned


def test_backend_is_unset_before_learning_and_learn_checks_its_arguments():
    agent = QLearning(gym.make(ID))
    assert agent.backend is None and agent.backend_reason == ""
    with pytest.raises(TypeError, match="progress_bar must be True or False, got 'yes'"):
        agent.learn(10, progress_bar="yes")
    with pytest.raises(TypeError, match="callback must be callable or None, got 3"):
        agent.learn(10, callback=3)
    with pytest.raises(TypeError, match=r"needs a gymnasium\.Env"):
        QLearning("crm_envs/CustomerJourney-v1")


@pytest.mark.parametrize("cls", ALL)
def test_a_wrapper_returning_nan_rewards_stops_learning_instead_of_poisoning_the_table(cls):
    agent = cls(TransformReward(gym.make(ID), lambda r: float("nan")), seed=0)
    with pytest.raises(ValueError, match=rf"{cls.__name__} got the reward nan from the env"):
        agent.learn(100)
    assert not np.isnan(agent.q).any()
