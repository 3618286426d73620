"""Batched evaluation of a policy on the vector env equals its episode-by-episode evaluation."""

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401  (registers the ids)
from crm_envs.core.oracle import Policy, evaluate, evaluate_batch

VECTOR_IDS = sorted(
    i for i, spec in gym.registry.items() if i.startswith("crm_envs/") and spec.vector_entry_point
)


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_every_declared_constant_gives_the_same_returns_batched(env_id):
    task = gym.make(env_id).unwrapped.task
    constants = [p for role, p in task.baselines(0) if role == "constant"]
    if task.scoring == "regret":
        pytest.skip("a bandit is scored by regret and declares no constant baseline")
    assert constants, f"{env_id} declares no constant baseline"
    for policy in (constants[0], constants[-1]):
        assert policy.act_batch is not None
        single = evaluate(lambda: gym.make(env_id), policy, 6, seed=4)
        batched = evaluate_batch(env_id, {}, policy, 6, seed=4)
        np.testing.assert_allclose(batched, single, rtol=1e-12, atol=1e-12)


def test_a_later_episode_of_a_copy_is_not_counted():
    """Copies whose first episode ended keep stepping (autoreset); only episode one counts."""
    env_id = "crm_envs/CustomerJourney-v1"
    up = Policy("up", lambda o, i: 0, act_batch=lambda o, i: np.zeros(len(o), dtype=np.int64))
    single = evaluate(lambda: gym.make(env_id), up, 20, seed=0)
    np.testing.assert_allclose(evaluate_batch(env_id, {}, up, 20, seed=0), single, rtol=1e-12)


def test_evaluate_batch_needs_act_batch():
    with pytest.raises(ValueError, match="has no act_batch"):
        evaluate_batch("crm_envs/CustomerJourney-v1", {}, Policy("p", lambda o, i: 0), 2, 0)
