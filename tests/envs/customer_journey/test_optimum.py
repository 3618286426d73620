"""The exact optimum of CustomerJourney-v1 (issue point 3) and the paper's optimal journeys."""

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from agents.dp import backward_induction, policy_values
from crm_envs.envs.customer_journey.model import conversion_probabilities, journey_mdp
from crm_envs.envs.customer_journey.params import CELL_LETTERS
from crm_envs.envs.customer_journey.presets import WARMTH

N_JOURNEYS = 10_000


@pytest.fixture(scope="module")
def solved():
    env = gym.make("crm_envs/CustomerJourney-v1").unwrapped
    mdp = env.model()
    return env, mdp, backward_induction(mdp)


def _greedy_path(env, sol, start, region):
    """Most likely journey under the optimal policy (every intended move succeeds)."""
    p = env.params
    cell, path = start[0] * p.n_cols + start[1], [start]
    for t in range(10):
        a = sol.policy[t, cell * p.n_regions + region]
        cell = p.neighbour(cell, a)
        path.append(p.cell_rc(cell))
        if p.layout[path[-1][0]][path[-1][1]] in "SX":
            break
    return path


def _region(env, name):
    return env.params.region_names.index(name)


def test_urban_optimum_is_the_papers_webinar_journey(solved):
    env, _, sol = solved
    path = _greedy_path(env, sol, (0, 0), _region(env, "urban"))
    # Bonaccorso: F2F (0,0) -> Pause (0,1) -> Conference (1,1) -> Webinar (2,1) -> Pause (2,2)
    # -> Success.
    assert path == [(0, 0), (0, 1), (1, 1), (2, 1), (2, 2), (3, 2)]
    assert "".join(env.params.layout[r][c] for r, c in path) == "FPCWPS"


def test_rural_optimum_follows_the_conference_with_f2f(solved):
    env, _, sol = solved
    path = _greedy_path(env, sol, (0, 0), _region(env, "rural"))
    # The paper's second journey differs in the action after the conference: F2F (1,2).
    assert path[0] == (0, 0) and path[1] in [(0, 1), (1, 0)]
    assert path[2:] == [(1, 1), (1, 2), (2, 2), (3, 2)]


@pytest.mark.parametrize("start", [(1, 13), (3, 11)])
def test_journeys_from_the_far_cells_reach_4_14_over_a_shared_tail(solved, start):
    env, _, sol = solved
    for region in range(env.params.n_regions):
        path = _greedy_path(env, sol, start, region)
        assert path[-1] == (4, 14)
        assert path[-2:] == [(4, 13), (4, 14)]


def test_value_is_the_best_over_all_actions_and_beats_random(solved):
    _env, mdp, sol = solved
    v0 = sol.value(mdp.initial)
    np.testing.assert_allclose(sol.V[:-1], sol.Q.max(axis=2))
    assert v0 > 0.0  # converting pays more than the touchpoints cost
    random_value = policy_values(mdp, np.zeros_like(sol.policy))  # always "up": no journey
    assert v0 > float(mdp.initial @ random_value[0])


def test_no_loop_of_touchpoints_pays(solved):
    # Issue 15: the old table paid +5 per round of P -> C -> W -> P, so 13 of 68 urban starts
    # cycled. Without the success bonus, no policy may earn more than the warmth end term of a
    # journey cut off by the horizon (lambda_env**H * max warmth).
    env, _, _ = solved
    p = env.params
    env_reward = p.env_reward.copy()
    success = CELL_LETTERS.index("S")
    for i, letter in enumerate(CELL_LETTERS[:5]):
        env_reward[:, i, success] = -WARMTH[letter]  # entering success: no bonus
    mdp = journey_mdp(p.replace(env_reward=env_reward), 10, "any")
    best = backward_induction(mdp).V[0].max()
    assert best <= p.lambda_env**10 * max(WARMTH.values()) + 1e-12


def test_every_start_converts_as_often_as_slips_allow(solved):
    # The paper: from any cell the optimal journey reaches success. With slips and 10 moves
    # some cells cannot be sure to convert; the optimal policy must come close to the most
    # any policy can do from every cell, in every region (exact probabilities).
    env, _, _ = solved
    p = env.params
    sol = backward_induction(journey_mdp(p, 10, "any"))
    got = conversion_probabilities(p, 10, sol.policy)
    most = conversion_probabilities(p, 10)
    live = ~p.terminal_cells
    assert np.all(got[:, live] >= 0.8 * most[:, live])
    urban = p.region_names.index("urban")
    assert got[urban, live].min() >= 0.85


def test_second_journey_through_the_pause_1_0_is_the_lower_alternative(solved):
    env, _, sol = solved
    p = env.params
    urban = _region(env, "urban")
    q = sol.Q[0, 0 * p.n_regions + urban]  # cell (0, 0)
    right, down = q[1], q[2]
    assert right > down  # first move to (0, 1) beats the first move to (1, 0)
    # After the first move down, the best journey is the paper's second one.
    path = [(0, 0), *p.intended_journey(sol.policy[1:], (1, 0), urban)]
    assert path == [(0, 0), (1, 0), (1, 1), (2, 1), (2, 2), (3, 2)]


def test_simulated_optimal_return_matches_the_computed_value(solved):
    _env, mdp, sol = solved
    vec = gym.make_vec(
        "crm_envs/CustomerJourney-v1", num_envs=N_JOURNEYS, vectorization_mode="vector_entry_point"
    )
    obs, _ = vec.reset(seed=99)
    returns = np.zeros(N_JOURNEYS)
    active = np.ones(N_JOURNEYS, dtype=bool)
    while active.any():
        actions = sol.policy[obs[:, 3], vec.unwrapped.state_index(obs)]
        obs, rew, term, trunc, _ = vec.step(actions)
        returns += np.where(active, rew, 0.0)
        active &= ~(term | trunc)
    se = returns.std(ddof=1) / np.sqrt(N_JOURNEYS)
    value = sol.value(mdp.initial)
    assert abs(returns.mean() - value) <= 3 * se, (returns.mean(), value, se)
    assert se < 0.05


def test_model_state_index_matches_observations(solved):
    env, mdp, _ = solved
    obs, _ = env.reset(seed=0, options={"region": 2, "cell": (3, 11)})
    s = int(env.state_index(obs))
    k = env.params.n_regions
    assert s == (3 * env.params.n_cols + 11) * k + 2
    assert mdp.initial[np.flatnonzero(mdp.initial)].sum() == pytest.approx(1.0)
    start = np.flatnonzero(mdp.initial)
    assert set(start // k) == {0}  # every journey starts in cell (0, 0)


def test_intended_journey_equals_the_tests_own_walk_and_checks_its_input(solved):
    env, _, sol = solved
    p = env.params
    for region in range(p.n_regions):
        for start in [(0, 0), (1, 13), (3, 11), (2, 4)]:
            assert p.intended_journey(sol.policy, start, region) == _greedy_path(
                env, sol, start, region
            )
    assert p.intended_journey(sol.policy, (2, 5), 0) == [(2, 5)]  # a terminal cell: no move
    with pytest.raises(ValueError, match="policy must be"):
        p.intended_journey(sol.policy[0], (0, 0), 0)
    with pytest.raises(ValueError, match="start col"):
        p.intended_journey(sol.policy, (0, p.n_cols), 0)
    with pytest.raises(TypeError, match="start row"):
        p.intended_journey(sol.policy, (0.5, 0), 0)
    with pytest.raises(ValueError, match="region"):
        p.intended_journey(sol.policy, (0, 0), p.n_regions)
