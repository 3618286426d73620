"""Fan 2015, Essay 2: the simulated sequences are env episodes; the value-of-learning study."""

import numpy as np
import pytest

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


def test_belief_draw_simulation_matches_the_hidden_chain_for_the_pomdp_only():
    from crm_envs.envs.b2b_customer.evaluate import policy_values
    from crm_envs.envs.b2b_customer.presets import get_preset
    from crm_envs.envs.b2b_customer.solver import solve
    from crm_envs.papers.fan2015.value_of_learning import exact_value_of_learning

    a = get_preset("fan2015_customer_a")
    chain = exact_value_of_learning(a, [12, 60])
    draw = exact_value_of_learning(a, [12, 60], simulation="belief_draw")
    # The Bayes belief is the exact predictive probability: the same purchases, same value.
    np.testing.assert_allclose(draw.dcv_pomdp, chain.dcv_pomdp, rtol=1e-9)
    # The HMM planner is credited with what it expects, not what it earns: a different value.
    assert abs(draw.dcv_hmm[1] - chain.dcv_hmm[1]) > 0.05 * chain.dcv_hmm[1]
    # Over a horizon long enough to forget the tail (0.99^1500 ~ 3e-7), each planner's
    # belief-drawn value is its own value function at the initial belief.
    for adaptive in (True, False):
        sol = solve(a, adaptive)
        v = policy_values(a, sol, 1500, state_from_belief=True).dcv()
        assert v == pytest.approx(float(sol.value(a.initial_high)), rel=2e-3)
    with pytest.raises(ValueError, match="simulation"):
        exact_value_of_learning(a, 12, simulation="appendix_b")
