"""Behaviour, options, rendering and bad input of CustomerJourney-v1."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from crm_envs.envs.customer_journey import (
    CustomerJourneyEnv,
    CustomerJourneyParams,
    CustomerJourneyVectorEnv,
    get_preset,
)
from crm_envs.envs.customer_journey.presets import BONACCORSO_LAYOUT

P = get_preset("bonaccorso")


def test_spaces_and_first_observation():
    env = gym.make("crm_envs/CustomerJourney-v1")
    obs, info = env.reset(seed=0)
    assert env.observation_space.dtype == np.int64
    assert list(env.observation_space.nvec) == [5, 15, 3, 11]
    assert env.action_space.n == 4
    assert obs[:2].tolist() == [0, 0] and obs[3] == 0
    assert info["action_mask"].tolist() == [0, 1, 1, 0]  # corner: only right and down
    assert info["action_mask"].dtype == np.int8


def test_reward_is_the_two_discount_sum_of_rho_and_m():
    env = CustomerJourneyEnv(params=P.replace(p_intended=(1.0, 1.0, 1.0)))
    env.reset(seed=0, options={"region": 0})
    rewards = [env.step(a)[1] for a in (1, 2, 2)]  # F->P, P->C, C->W
    rho = P.env_reward[0]
    con = P.con_reward[0]
    F, W, C, Pz = 0, 2, 3, 4
    expected = [
        rho[F, Pz] + con[F, Pz],
        0.75 * rho[Pz, C] + 0.15 * con[Pz, C],
        0.75**2 * rho[C, W] + 0.15**2 * con[C, W],
    ]
    np.testing.assert_allclose(rewards, expected)


def test_invalid_move_stays_costs_and_counts_a_step():
    env = CustomerJourneyEnv()
    obs, _ = env.reset(seed=0)
    obs2, rew, term, trunc, _info = env.step(0)  # up, off the grid
    assert obs2[:3].tolist() == obs[:3].tolist() and obs2[3] == 1
    assert rew == P.invalid_move_reward
    assert not term and not trunc


def test_journeys_truncate_after_ten_steps():
    env = CustomerJourneyEnv()
    env.reset(seed=0)
    for t in range(10):
        obs, _, term, trunc, _ = env.step(0)  # keep bumping into the top edge
        assert obs[3] == t + 1
        assert trunc == (t == 9) and not term
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(1)


def test_success_terminates():
    env = CustomerJourneyEnv(params=P.replace(p_intended=(1.0, 1.0, 1.0)))
    env.reset(seed=0, options={"cell": (2, 2), "region": 0})
    _, rew, term, trunc, _ = env.step(2)  # down into the success cell (3, 2)
    # Success pays +5 less the warmth the pause (2, 2) already had (0.25 in the preset); the
    # constraint reward of entering a success cell is 0.
    assert term and not trunc and rew == pytest.approx(5.0 - 0.25)


def test_slips_follow_p_intended():
    env = CustomerJourneyVectorEnv(20_000)
    obs, _ = env.reset(seed=1, options={"region": 2, "cell": (1, 1)})
    obs, *_ = env.step(np.full(20_000, 2))  # down from the conference (1,1) to (2,1)
    hit = (obs[:, 0] == 2) & (obs[:, 1] == 1)
    assert abs(hit.mean() - 0.7) < 0.01  # rural p_intended
    others = {(0, 1), (1, 0), (1, 2)}
    assert {tuple(x) for x in obs[~hit, :2].tolist()} == others


@pytest.mark.parametrize("start,expected", [("pauses", "P"), ("any", "FEWCP")])
def test_start_modes(start, expected):
    env = CustomerJourneyVectorEnv(500, start=start)
    obs, _ = env.reset(seed=0)
    letters = {BONACCORSO_LAYOUT[r][c] for r, c in obs[:, :2]}
    assert letters <= set(expected)
    if start == "pauses":
        on_edge = (obs[:, 0] % 4 == 0) | (obs[:, 1] == 0) | (obs[:, 1] == 14)
        assert on_edge.all()
    else:
        assert len({tuple(x) for x in obs[:, :2].tolist()}) > 40


def test_region_option_and_sampling():
    env = CustomerJourneyVectorEnv(3000)
    obs, _ = env.reset(seed=0)
    freq = np.bincount(obs[:, 2], minlength=3) / 3000
    np.testing.assert_allclose(freq, 1 / 3, atol=0.03)
    obs, _ = env.reset(options={"region": [0, 1, 2] * 1000})
    assert obs[:, 2].tolist() == [0, 1, 2] * 1000


def test_params_swap_at_reset_changes_dynamics_not_spaces():
    env = CustomerJourneyEnv()
    sure = P.replace(p_intended=(1.0, 1.0, 1.0))
    env.reset(seed=0, options={"params": sure, "region": 1})
    for _ in range(20):
        obs, *_ = env.step(1)
        if obs[1] != 1:
            break
    assert env.params is sure
    small = CustomerJourneyParams(
        layout=("FS",), region_names=("a",), p_intended=(1.0,),
        env_reward=np.zeros((1, 7, 7)), con_reward=np.zeros((1, 7, 7)),
    )  # fmt: skip
    with pytest.raises(ValueError, match="keep the grid size"):
        env.reset(options={"params": small})


@pytest.mark.parametrize(
    "change,match",
    [
        ({"p_intended": (0.9, 1.2, 0.7)}, r"p_intended\[1\] must lie in \[0.0, 1.0\], got 1.2"),
        ({"p_intended": (0.9, 0.8)}, "one entry per region"),
        ({"layout": ("FPE", "PQS")}, r"cell \(1, 1\) has unknown letter 'Q'"),
        ({"layout": ("FPE", "PCW")}, "at least one success cell"),
        ({"layout": ("FPE", "PS")}, "equal length"),
        ({"lambda_env": 1.5}, r"lambda_env must lie in \[0.0, 1.0\], got 1.5"),
        ({"invalid_move_reward": -6}, "invalid_move_reward must lie in"),
        ({"region_probs": (0.5, 0.5, 0.5)}, "sum to 1"),
        ({"start_cell": (3, 2)}, "terminal cell"),
        ({"start_cell": (5, 0)}, r"start_cell\[0\] must be an integer in \[0, 4\], got 5"),
    ],
)
def test_bad_params_raise_naming_the_field(change, match):
    fields = {f.name: getattr(P, f.name) for f in dataclasses.fields(P)}
    if "layout" in change:
        fields.update(start_cell=(0, 0))
    fields.update(change)
    with pytest.raises(ValueError, match=match):
        CustomerJourneyParams(**fields)


def test_rewards_outside_the_scale_raise():
    bad = P.env_reward.copy()
    bad[1, 2, 3] = 6.0
    with pytest.raises(
        ValueError, match=r"env_reward must lie in \[-5.0, 5.0\]; entry \(1, 2, 3\)"
    ):
        P.replace(env_reward=bad)


def test_transition_table_must_stay_on_neighbours():
    t = P.transition_matrix().copy()
    t[0, 0, 1, :] = 0.0
    t[0, 0, 1, 40] = 1.0
    with pytest.raises(ValueError, match="not a neighbour"):
        P.replace(transition_probs=t)
    t = P.transition_matrix().copy()
    t[0, 0, 1, 1] = 0.5
    with pytest.raises(ValueError, match="sum to 1"):
        P.replace(transition_probs=t)


def test_bad_constructor_arguments_and_reset_options():
    with pytest.raises(ValueError, match="Did you mean 'bonaccorso'"):
        gym.make("crm_envs/CustomerJourney-v1", preset="bonacorso")
    with pytest.raises(ValueError, match="start must be one of"):
        CustomerJourneyEnv(start="anywhere")
    env = CustomerJourneyEnv()
    with pytest.raises(ValueError, match=r"options\['region'\].*\[0, 2\], got 3"):
        env.reset(options={"region": 3})
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"regoin": 1})
    with pytest.raises(ValueError, match="terminal cell"):
        env.reset(options={"cell": (4, 14)})


@pytest.mark.parametrize("vector", [False, True])
def test_a_refused_reset_leaves_the_running_journeys_as_they_were(vector):
    # The reset requests share the state columns of the running journey: a reset refused for
    # a bad option must change nothing, so the journeys step on exactly as an untouched twin.
    def make():
        if vector:
            env = gym.make_vec(
                "crm_envs/CustomerJourney-v1", num_envs=3, vectorization_mode="vector_entry_point"
            )
        else:
            env = gym.make("crm_envs/CustomerJourney-v1").unwrapped
        env.reset(seed=4, options={"cell": (1, 1), "region": 1})
        return env

    env, twin = make(), make()
    action = np.full(3, 1) if vector else 1
    env.step(action), twin.step(action)
    bad_params = dataclasses.replace(P, layout=("FPE", "PCS"), start_cell=(0, 0))
    for options in (
        {"region": 1, "cell": (4, 14)},  # a valid region, then a terminal cell
        {"region": 7},
        {"cell": (0, 0), "params": bad_params},  # the swap is refused: other grid size
    ):
        with pytest.raises(ValueError):
            env.reset(options=options)
    for _ in range(4):
        a, b = env.step(action), twin.step(action)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        assert env.observation_space.contains(a[0])


def test_bad_actions_raise():
    env = gym.make("crm_envs/CustomerJourney-v1")
    env.reset(seed=0)
    for bad in (4, -1, 1.5, "up"):
        with pytest.raises(ValueError, match=r"Discrete\(4\)"):
            env.unwrapped.step(bad)
    vec = CustomerJourneyVectorEnv(3)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions\[2\] = 7"):
        vec.step(np.array([0, 1, 7]))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        vec.step(np.array([0, 1]))


def test_render_ansi_and_rgb():
    env = gym.make("crm_envs/CustomerJourney-v1", render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert text.splitlines()[0].startswith("[F] P ")
    env = gym.make("crm_envs/CustomerJourney-v1", render_mode="rgb_array")
    env.reset(seed=0, options={"cell": (2, 2)})
    img = env.render()
    assert img.shape == (5 * 24, 15 * 24, 3) and img.dtype == np.uint8
    # The current cell (2, 2) is framed in black; other cells are not.
    assert (img[48:72, 48:51] == 0).all()
    assert not (img[0:24, 24:27] == 0).all()


@pytest.mark.parametrize(
    "start_cell,error,match",
    [
        ((0.7, 0), TypeError, r"start_cell\[0\] must be an integer, got 0.7"),
        ((0, "1"), TypeError, r"start_cell\[1\] must be an integer"),
        ((0, 0, 0), TypeError, r"start_cell must be a \(row, col\) pair"),
        (0, TypeError, r"start_cell must be a \(row, col\) pair"),
    ],
)
def test_start_cell_is_never_truncated(start_cell, error, match):
    # Issue 13: (0.7, 0) silently became (0, 0).
    fields = {f.name: getattr(P, f.name) for f in dataclasses.fields(P)}
    fields.update(start_cell=start_cell)
    with pytest.raises(error, match=match):
        CustomerJourneyParams(**fields)
