"""Fan 2015, Essay 2: the simulated sequences are env episodes; the value-of-learning study."""

import numpy as np

from crm_envs.envs.b2b_customer.env import B2BCustomerEnv
from crm_envs.envs.b2b_customer.presets import fan2015_essay2
from crm_envs.envs.b2b_customer.solver import solve
from crm_envs.papers.fan2015.value_of_learning import simulate_sequences, value_of_learning


def test_simulator_equals_env_episodes_with_the_same_policy():
    p = B2BCustomerEnv().params  # the registered default customer (Table 6's A)
    sol = solve(p, adaptive=True)
    sims = simulate_sequences(p, sol, months=36, n_sims=3, seed=11)
    for j in range(3):
        env = B2BCustomerEnv(observation="belief", horizon=36, reward_scale=1.0)  # dollars
        obs, info = env.reset(seed=11 + j)
        rewards = []
        for _ in range(36):
            a = int(sol.action(info["belief"], int(obs[1]), bool(obs[2])))
            obs, r, _, _, info = env.step(a)
            rewards.append(r)
        np.testing.assert_allclose(sims[j, :, 6], rewards, rtol=0, atol=1e-9)


def test_value_of_learning_has_standard_errors_and_horizons():
    r = value_of_learning(fan2015_essay2(), horizon=[12, 60], n_sims=50, seed=0)
    assert r.horizons.tolist() == [12, 60]
    assert np.all(r.dcv_pomdp[1] > r.dcv_pomdp[0]) and np.all(r.se_vol >= 0)
    np.testing.assert_allclose(r.vol, r.dcv_pomdp - r.dcv_hmm, atol=1e-6)
