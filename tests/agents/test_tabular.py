"""Tabular TD agents on CustomerJourney-v0 against the backward-induction optimum.

What "reaching the optimal policy" means here. Under the optimal policy from the start cell,
slips make 270 (step, state) pairs reachable. Some are reached with probability below 1e-7, and
some separate their two best actions by 2e-4 or less (15 are exact ties). A learner that only
samples cannot tell such actions apart in any practical budget. The tests therefore check three
things for Q-learning and Double Q-learning, each with two seeds, within about 1.3 million
journeys (10 million steps, a few seconds in numba):

1. On the optimal journey of every region (the route the optimal policy plans from the start
   cell, as in Bonaccorso's figures), the learned greedy action is optimal at every step.
2. On every state the optimal policy visits with probability >= 0.1%, the greedy action is
   optimal wherever the best action leads by >= 0.1.
3. The exact value of the learned greedy policy, from policy evaluation on the model (no Monte
   Carlo error), lies within 0.1% of the optimum.
"""

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from agents.common import ObsIndexer, evaluate_policy
from agents.dp import backward_induction, policy_values
from agents.tabular import CHUNK, SARSA, DoubleQLearning, ExpectedSARSA, QLearning

CONFIG = {"lr_power": 0.51, "epsilon_start": 0.5, "epsilon_decay": 0.95}
# Slower learning-rate decay for the long run: step sizes 1 / (1 + n) ** 0.8.
CONVERGE = {"lr": 1.0, "lr_power": 0.8, "epsilon_start": 0.5, "epsilon_decay": 0.9}


@pytest.fixture(scope="module")
def optimum():
    env = gym.make("crm_envs/CustomerJourney-v0")
    u = env.unwrapped
    mdp = u.model()
    sol = backward_induction(mdp)
    h, s_n = sol.policy.shape
    visits = np.zeros((h, s_n))
    d = mdp.initial.copy()
    for t in range(h):
        visits[t] = d
        d = d @ mdp.P[sol.policy[t], np.arange(s_n)]
    return u, mdp, sol, visits


def _disagreements(agent, u, sol, visits, min_visit, min_gap):
    """States visited under the optimal policy where the agent's choice loses >= min_gap."""
    k = u.params.n_regions
    terminal = np.repeat(u.params.terminal_cells, k)
    bad = []
    for t in range(sol.policy.shape[0]):
        for s in np.flatnonzero((visits[t] >= min_visit) & ~terminal):
            cell, region = divmod(s, k)
            r, c = divmod(cell, u.params.n_cols)
            a = agent.predict(np.array([r, c, region, t]))[0]
            q = sol.Q[t, s]
            second = np.sort(q)[-2]
            if q.max() - second >= min_gap and q[a] < q.max():
                bad.append((t, (r, c), region))
    return bad


def _greedy_table(agent, u, h):
    """(H, S) greedy actions of a tabular agent on the model's state index."""
    k, n_cols = u.params.n_regions, u.params.n_cols
    pi = np.zeros((h, u.params.n_cells * k), dtype=np.int64)
    for t in range(h):
        for s in range(pi.shape[1]):
            cell, region = divmod(s, k)
            pi[t, s] = agent.predict(np.array([*divmod(cell, n_cols), region, t]))[0]
    return pi


def test_the_optimal_policy_visits_states_no_sampler_can_resolve(optimum):
    # The premise of the criterion above, recomputed from the model: reachable pairs with
    # tiny visit probabilities, and non-tied actions separated by less than 1e-3.
    u, _, sol, visits = optimum
    terminal = np.repeat(u.params.terminal_cells, u.params.n_regions)
    reached = (visits > 0) & ~terminal
    q = np.sort(sol.Q, axis=2)
    gaps = (q[..., -1] - q[..., -2])[reached]
    assert reached.sum() >= 250
    assert visits[reached].min() < 1e-6
    assert 0 < gaps[gaps > 1e-9].min() < 1e-3


def _off_journey(agent, u, sol):
    """Steps of every region's optimal journey from the start cell where the agent errs."""
    p, bad = u.params, []
    for region in range(p.n_regions):
        cells = p.intended_journey(sol.policy, p.start_cell, region)
        for t, (r, c) in enumerate(cells[: sol.policy.shape[0]]):
            s = (r * p.n_cols + c) * p.n_regions + region
            if p.terminal_cells[r * p.n_cols + c]:
                break
            q = sol.Q[t, s]
            if q[agent.predict(np.array([r, c, region, t]))[0]] < q.max() - 1e-12:
                bad.append((region, t, (r, c)))
    return bad


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("cls", [QLearning, DoubleQLearning])
def test_q_learning_matches_the_optimum_within_1_3m_journeys(cls, seed, optimum):
    u, mdp, sol, visits = optimum
    env = gym.make("crm_envs/CustomerJourney-v0")
    agent = cls(env, seed=seed, **CONVERGE).learn(10_000_000)
    assert 1_200_000 < len(agent.episode_returns) < 1_500_000
    # Every step of every region's optimal journey: the learned action is optimal.
    assert _off_journey(agent, u, sol) == []
    # Where the choice matters (the best action leads by >= 0.1) on every state the optimal
    # policy visits with probability >= 0.1%, the learned greedy action is optimal.
    assert _disagreements(agent, u, sol, visits, 1e-3, 0.1) == []
    # The learned greedy policy, evaluated exactly on the model, is within 0.1% of the optimum.
    v_learned = mdp.initial @ policy_values(mdp, _greedy_table(agent, u, mdp.horizon))[0]
    v_star = sol.value(mdp.initial)
    assert v_star - v_learned <= 1e-3 * v_star
    # ... and Monte Carlo play in the env agrees with that exact value.
    ev = evaluate_policy(agent, env, n_episodes=3000, seed=123)
    assert abs(ev.mean - v_learned) < 3 * ev.stderr


@pytest.mark.parametrize("cls", [QLearning, DoubleQLearning, SARSA, ExpectedSARSA])
def test_every_td_agent_reaches_the_optimal_value_with_the_papers_25000_journeys(cls, optimum):
    _, mdp, sol, _ = optimum
    env = gym.make("crm_envs/CustomerJourney-v0")
    agent = cls(env, seed=1, **CONFIG).learn(200_000)  # about 25,000 journeys
    ev = evaluate_policy(agent, env, n_episodes=3000, seed=7)
    assert ev.mean >= 0.98 * sol.value(mdp.initial)


def test_gymnasium_api_path_learns_frozenlake():
    # FrozenLake has no jit interface: the same agent runs over the Gymnasium API.
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = QLearning(env, gamma=0.95, lr=0.5, lr_power=0.0, epsilon_start=1.0,
                      epsilon_end=0.05, epsilon_decay=0.5, seed=0).learn(20_000)  # fmt: skip
    assert evaluate_policy(agent, env, n_episodes=20, seed=0).mean == 1.0


def test_exploration_threshold_rule_and_reproducibility():
    env = gym.make("crm_envs/CustomerJourney-v0")
    a = QLearning(env, seed=3, explore_threshold=1.0).learn(50_000)
    b = QLearning(gym.make("crm_envs/CustomerJourney-v0"), seed=3, explore_threshold=1.0)
    b.learn(50_000)
    np.testing.assert_array_equal(a.q, b.q)
    assert a.episode_returns.mean() > 0


def test_predict_validates_observations_and_save_load(tmp_path):
    env = gym.make("crm_envs/CustomerJourney-v0")
    agent = QLearning(env, seed=0).learn(20_000)
    with pytest.raises(ValueError, match="not in the observation space"):
        agent.predict(np.array([9, 0, 0, 0]))
    with pytest.raises(ValueError, match="not in the observation space"):
        agent.predict(np.array([0, 0, 0]))
    path = tmp_path / "q.npz"
    agent.save(path)
    clone = QLearning(env, seed=0).load(path)
    np.testing.assert_array_equal(clone.q, agent.q)
    with pytest.raises(ValueError, match="differs"):
        QLearning(env, seed=1).load(path)
    with pytest.raises(TypeError, match="unknown TabularConfig option"):
        QLearning(env, learning_rate=0.1)


def test_obs_indexer_matches_ravel_multi_index():
    env = gym.make("crm_envs/CustomerJourney-v0")
    ix = ObsIndexer(env.observation_space)
    for _ in range(100):
        obs = env.observation_space.sample()
        assert ix(obs) == np.ravel_multi_index(tuple(obs), tuple(env.observation_space.nvec))


def test_numba_path_calls_back_between_chunks_and_stops_early(capsys):
    make = lambda: QLearning(gym.make("crm_envs/CustomerJourney-v0"), seed=5)  # noqa: E731
    seen = []
    plain = make().learn(3 * CHUNK)
    watched = make().learn(3 * CHUNK, progress_bar=True, callback=lambda loc: seen.append(loc["t"]))
    assert seen == [CHUNK, 2 * CHUNK, 3 * CHUNK]
    assert "QLearning" in capsys.readouterr().err  # the tqdm bar
    # The bar and the callback do not change the numbers.
    np.testing.assert_array_equal(plain.q, watched.q)
    np.testing.assert_array_equal(plain.episode_returns, watched.episode_returns)
    stopped = make().learn(3 * CHUNK, callback=lambda loc: loc["t"] < 2 * CHUNK)
    assert stopped.num_timesteps == 2 * CHUNK
    np.testing.assert_array_equal(stopped.counts.sum(), 2 * CHUNK)
