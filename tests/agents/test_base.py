"""agents.base.Agent: what the base owns for every agent, and the documented example agent."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from agents.bandits import UCB1
from agents.base import Agent
from agents.reinforce import MLPReinforce, TabularReinforce
from agents.tabular import QLearning

JOURNEY = "crm_envs/CustomerJourney-v1"


@pytest.mark.parametrize("cls", [QLearning, TabularReinforce, MLPReinforce, UCB1])
def test_every_agent_is_an_agent_and_refuses_unsupported_spaces(cls):
    assert issubclass(cls, Agent)
    env = gym.make("crm_envs/ROIAllocation-v0")  # Box actions: no agent here supports them
    with pytest.raises(TypeError, match=f"{cls.__name__} needs a Discrete action space"):
        cls(env)


@pytest.mark.parametrize("cls", [QLearning, TabularReinforce])
def test_one_seeding_convention(cls):
    # Same seed, same numbers; a second learn() call resets with seed + num_timesteps, so it
    # meets new episodes rather than replaying the first call's.
    a = cls(gym.make(JOURNEY), seed=3).learn(2_000)
    b = cls(gym.make(JOURNEY), seed=3).learn(2_000)
    np.testing.assert_array_equal(a.episode_returns, b.episode_returns)
    assert a.num_timesteps == b.num_timesteps >= 2_000
    assert a.reset_seed() == 3 + a.num_timesteps
    first = len(a.episode_returns)
    a.learn(2_000)
    assert a.num_timesteps >= 4_000 and len(a.episode_returns) > first


def test_the_callback_stops_training_and_the_steps_are_counted():
    agent = TabularReinforce(gym.make(JOURNEY), seed=0)
    agent.learn(10_000, callback=lambda frame: len(agent.episode_returns) < 3)
    assert len(agent.episode_returns) == 3
    assert agent.num_timesteps < 10_000


def test_the_documented_example_agent_runs():
    text = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text()
    start = text.index("A minimal agent, registered in-process.")
    code = text[start:].split("```python\n", 1)[1].split("```", 1)[0]
    from benchmarks import harness

    try:
        exec(compile(code, "docs/architecture.md", "exec"), {"__name__": "doc_example"})
        row = harness.run_one(harness.Run("crm_envs/PromotionBandit-v2", "greedy_arm", 0, 300, 2))
        assert row["error"] is None and row["scoring"] == "regret" and row["score"] > 0
    finally:
        harness.AGENTS.pop("greedy_arm", None)
