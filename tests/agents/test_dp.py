"""Exact DP against closed forms, an independent implementation and brute force."""

import itertools

import gymnasium as gym
import numpy as np
import pytest

from agents.dp import backward_induction, policy_values, value_iteration
from crm_envs.core.models import TabularMDP


def test_value_iteration_closed_form_two_state_chain():
    # Action 0 stays (reward 1 in state 0, 0 in state 1); action 1 moves 1 -> 0 (reward 0).
    g = 0.9
    P = np.zeros((2, 2, 2))
    P[0] = np.eye(2)
    P[1] = [[1, 0], [1, 0]]
    R = np.array([[1.0, 0.0], [0.0, 0.0]])
    sol = value_iteration(TabularMDP(P, R, gamma=g), tol=1e-12)
    v0 = 1 / (1 - g)
    np.testing.assert_allclose(sol.V, [v0, g * v0], atol=1e-10)
    assert sol.policy.tolist() == [0, 1] and sol.converged


def _frozenlake_mdp(gamma):
    env = gym.make("FrozenLake-v1", is_slippery=True).unwrapped
    n_s, n_a = env.observation_space.n, env.action_space.n
    P = np.zeros((n_a, n_s, n_s))
    R = np.zeros((n_a, n_s))
    for s in range(n_s):
        for a in range(n_a):
            for prob, s2, r, _done in env.P[s][a]:
                P[a, s, s2] += prob
                R[a, s] += prob * r
    # FrozenLake's holes and goal are absorbing in P with zero reward (done).
    for s in range(n_s):
        if env.desc.ravel()[s] in b"HG":
            P[:, s, :] = 0.0
            P[:, s, s] = 1.0
            R[:, s] = 0.0
    return P, R


def _independent_vi(P, R, gamma, sweeps=5000):
    v = np.zeros(P.shape[1])
    for _ in range(sweeps):
        v = (R + gamma * P @ v).max(axis=0)
    return v


def test_value_iteration_on_frozenlake_matches_an_independent_solver():
    P, R = _frozenlake_mdp(0.95)
    sol = value_iteration(TabularMDP(P, R, gamma=0.95), tol=1e-10)
    np.testing.assert_allclose(sol.V, _independent_vi(P, R, 0.95), atol=1e-8)
    # The goal is reachable from the start with a positive probability.
    assert 0.1 < sol.V[0] < 1.0


def _policy_value(P, R, policy, h):
    n_s = P.shape[-1]
    v = np.zeros(n_s)
    for t in range(h - 1, -1, -1):
        pt = P[t] if P.ndim == 4 else P
        rt = R[t] if R.ndim == 3 else R
        a = policy[t]
        v = rt[a, np.arange(n_s)] + pt[a, np.arange(n_s)] @ v
    return v


@pytest.mark.parametrize("seed", range(5))
def test_backward_induction_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_a, n_s, h = 2, 3, 3
    P = rng.dirichlet(np.ones(n_s), size=(h, n_a, n_s))
    R = rng.normal(size=(h, n_a, n_s))
    sol = backward_induction(TabularMDP(P, R, gamma=1.0, horizon=h))
    best = np.full(n_s, -np.inf)
    per_step = list(itertools.product(range(n_a), repeat=n_s))
    for pol in itertools.product(per_step, repeat=h):
        best = np.maximum(best, _policy_value(P, R, np.array(pol), h))
    np.testing.assert_allclose(sol.V[0], best, atol=1e-12)
    np.testing.assert_allclose(_policy_value(P, R, sol.policy, h), best, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_policy_values_equal_an_independent_recursion_for_any_policy(seed):
    rng = np.random.default_rng(seed)
    n_a, n_s, h = 3, 4, 5
    P = rng.dirichlet(np.ones(n_s), size=(h, n_a, n_s))
    R = rng.normal(size=(h, n_a, n_s))
    mdp = TabularMDP(P, R, gamma=1.0, horizon=h)
    pol = rng.integers(n_a, size=(h, n_s))
    np.testing.assert_allclose(policy_values(mdp, pol)[0], _policy_value(P, R, pol, h), atol=1e-12)
    stationary = pol[0]
    np.testing.assert_allclose(
        policy_values(mdp, stationary)[0], _policy_value(P, R, np.tile(stationary, (h, 1)), h)
    )


def test_policy_values_closed_form_and_bad_policies():
    # Two-state chain: staying in state 0 earns 1 a step; from state 1, action 1 moves to 0.
    g = 0.9
    P = np.zeros((2, 2, 2))
    P[0] = np.eye(2)
    P[1] = [[1, 0], [1, 0]]
    mdp = TabularMDP(P, np.array([[1.0, 0.0], [0.0, 0.0]]), gamma=g)
    np.testing.assert_allclose(policy_values(mdp, np.array([0, 1])), [10.0, 9.0])
    np.testing.assert_allclose(policy_values(mdp, np.array([0, 0])), [10.0, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="actions must lie"):
        policy_values(mdp, np.array([0, 2]))
    with pytest.raises(ValueError, match="policy must be integer"):
        policy_values(mdp, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="stationary"):
        policy_values(mdp, np.zeros((3, 2), np.int64))


def test_solvers_refuse_the_wrong_horizon():
    P = np.stack([np.eye(2)])
    with pytest.raises(ValueError, match="use backward_induction"):
        value_iteration(TabularMDP(P, np.zeros((1, 2)), gamma=1.0, horizon=3))
    with pytest.raises(ValueError, match="use value_iteration"):
        backward_induction(TabularMDP(P, np.zeros((1, 2)), gamma=0.9))


def test_policy_iteration_agrees_with_value_iteration_on_frozenlake():
    from agents.dp import policy_iteration

    P, R = _frozenlake_mdp(0.95)
    mdp = TabularMDP(P, R, gamma=0.95)
    pi_sol, vi_sol = policy_iteration(mdp), value_iteration(mdp, tol=1e-12)
    assert pi_sol.converged and pi_sol.iterations < 20
    np.testing.assert_allclose(pi_sol.V, vi_sol.V, atol=1e-9)


def test_tabular_policy_plays_the_optimum_through_evaluate_policy():
    from agents.common import evaluate_policy
    from agents.dp import TabularPolicy

    P, R = _frozenlake_mdp(0.99)
    sol = value_iteration(TabularMDP(P, R, gamma=0.99), tol=1e-10)
    env = gym.make("FrozenLake-v1", is_slippery=True)
    res = evaluate_policy(TabularPolicy(sol.policy), env, n_episodes=2000, seed=0)
    # The undiscounted success rate of the gamma = 0.99 optimal policy is about 0.74.
    assert res.mean > 0.65

    env = gym.make("crm_envs/CustomerJourney-v1")
    mdp = env.unwrapped.model()
    bi = backward_induction(mdp)
    policy = TabularPolicy(bi.policy, state_index=env.unwrapped.state_index)
    res = evaluate_policy(policy, env, n_episodes=3000, seed=1)
    assert abs(res.mean - bi.value(mdp.initial)) < 3 * res.stderr


def test_sparse_backup_equals_dense():
    import gymnasium as gym

    import crm_envs  # noqa: F401

    mdp = gym.make("crm_envs/CustomerJourney-v1").unwrapped.model()
    dense, sparse = backward_induction(mdp, sparse=False), backward_induction(mdp, sparse=True)
    np.testing.assert_allclose(sparse.V, dense.V, atol=1e-12)
    # Ties may break either way (the two sums round differently): the choice must be optimal.
    h, n_s = sparse.policy.shape
    chosen = dense.Q[np.arange(h)[:, None], np.arange(n_s)[None, :], sparse.policy]
    np.testing.assert_allclose(chosen, dense.Q.max(axis=2), atol=1e-12)
    rng = np.random.default_rng(0)
    P = np.zeros((3, 300, 300))
    for a in range(3):
        for s in range(300):
            nxt = rng.choice(300, 4, replace=False)
            P[a, s, nxt] = rng.dirichlet(np.ones(4))
    m = TabularMDP(P, rng.normal(size=(3, 300)), gamma=0.9)
    a_sol, b_sol = value_iteration(m, sparse=True), value_iteration(m, sparse=False)
    np.testing.assert_allclose(a_sol.V, b_sol.V, atol=1e-8)
