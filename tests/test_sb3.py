"""The SB3 adapter: same episodes as SB3's DummyVecEnv of single envs, SB3's checks, training."""

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.utils import check_for_correct_spaces
from stable_baselines3.common.vec_env import DummyVecEnv, VecCheckNan, VecMonitor

import crm_envs  # noqa: F401  (registers the ids)
from crm_envs.sb3 import SB3VecEnv, make_sb3_vec_env

VECTOR_IDS = sorted(
    i for i, spec in gym.registry.items() if i.startswith("crm_envs/") and spec.vector_entry_point
)
N = 4


def _actions(space, masks, rng):
    if masks is not None:
        return np.array([rng.choice(np.flatnonzero(m)) for m in masks])
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(space.n, size=N)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return rng.integers(space.nvec, size=(N, *space.nvec.shape))
    return rng.uniform(space.low, space.high, size=(N, *space.shape)).astype(space.dtype)


def _masks(venv):
    try:
        return np.stack(venv.env_method("action_masks"))
    except AttributeError:
        return None


class _Masks(gym.Wrapper):
    """The single env's last ``info["action_mask"]`` as ``action_masks()``, as for MaskablePPO."""

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.mask = info.get("action_mask")
        return obs, info

    def step(self, action):
        out = self.env.step(action)
        self.mask = out[4].get("action_mask")
        return out

    def action_masks(self):
        if self.mask is None:
            raise AttributeError("no action mask")
        return np.asarray(self.mask, dtype=bool)


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_adapter_plays_the_episodes_of_dummy_vec_env_of_single_envs(env_id):
    ours = make_sb3_vec_env(env_id, n_envs=N, seed=7)
    theirs = DummyVecEnv([lambda: _Masks(gym.make(env_id)) for _ in range(N)])
    theirs.seed(7)
    obs_a, obs_b = ours.reset(), theirs.reset()
    np.testing.assert_allclose(obs_a, obs_b, rtol=1e-6)
    rng = np.random.default_rng(0)
    ends = 0
    steps = 3 * ours.get_attr("task")[0].horizon + 5
    for _ in range(steps):
        actions = _actions(ours.action_space, _masks(ours), rng)
        if _masks(ours) is not None:
            np.testing.assert_array_equal(_masks(ours), _masks(theirs))
        obs_a, rew_a, done_a, info_a = ours.step(actions)
        obs_b, rew_b, done_b, info_b = theirs.step(actions)
        np.testing.assert_allclose(obs_a, obs_b, rtol=1e-6)
        np.testing.assert_allclose(rew_a, rew_b, rtol=1e-6)
        np.testing.assert_array_equal(done_a, done_b)
        assert rew_a.dtype == np.float32
        for a, b in zip(info_a, info_b, strict=True):
            assert set(a) == set(b)
            for key in set(a) - {"TimeLimit.truncated", "terminal_observation"}:  # env's own
                np.testing.assert_allclose(np.asarray(a[key], float), np.asarray(b[key], float),
                                           rtol=1e-6, err_msg=key)  # fmt: skip
            assert a["TimeLimit.truncated"] == b["TimeLimit.truncated"]
            assert ("terminal_observation" in a) == ("terminal_observation" in b)
            if "terminal_observation" in a:
                ends += 1
                np.testing.assert_allclose(
                    a["terminal_observation"], b["terminal_observation"], rtol=1e-6
                )
    assert ends > 0, "no episode ended: the test did not check the same-step reset"


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_adapter_passes_sb3_s_vec_env_checks(env_id):
    venv = make_sb3_vec_env(env_id, n_envs=N, seed=1)
    single = gym.make(env_id)
    check_for_correct_spaces(venv, single.observation_space, single.action_space)
    checked = VecMonitor(VecCheckNan(venv, raise_exception=True, warn_once=False))
    obs = checked.reset()
    assert obs.shape == (N, *single.observation_space.shape)
    rng = np.random.default_rng(1)
    for _ in range(50):
        obs, rew, done, infos = checked.step(_actions(venv.action_space, _masks(venv), rng))
        assert single.observation_space.contains(obs[0].astype(single.observation_space.dtype))
        assert len(infos) == N and rew.shape == (N,) and done.dtype == np.bool_


def test_ppo_and_a2c_train_on_the_adapter_and_seeded_runs_repeat():
    def run(algo, **kw):
        venv = make_sb3_vec_env("crm_envs/CustomerJourney-v1", n_envs=N, seed=0)
        model = algo("MlpPolicy", venv, seed=0, device="cpu", **kw).learn(256)
        return model.policy.parameters_to_vector()

    np.testing.assert_array_equal(
        run(PPO, n_steps=32, batch_size=64), run(PPO, n_steps=32, batch_size=64)
    )
    assert np.all(np.isfinite(run(A2C)))


def test_maskable_ppo_reads_the_masks_through_env_method():
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.maskable.utils import get_action_masks

    venv = make_sb3_vec_env("crm_envs/CustomerJourney-v1", n_envs=N, seed=0)
    venv.reset()
    masks = get_action_masks(venv)
    assert masks.shape == (N, 4) and masks.dtype == np.bool_ and masks.any(axis=1).all()
    MaskablePPO("MlpPolicy", venv, n_steps=32, batch_size=64, seed=0, device="cpu").learn(128)


def test_bad_input():
    with pytest.raises(TypeError, match="wraps a crm_envs vector env"):
        SB3VecEnv(make_vec_env("CartPole-v1", n_envs=2))
    with pytest.raises(ValueError, match="n_envs"):
        make_sb3_vec_env("crm_envs/CustomerJourney-v1", n_envs=0)
    venv = make_sb3_vec_env("crm_envs/CustomerJourney-v1", n_envs=2)
    with pytest.raises(RuntimeError, match="step_async"):
        venv.step_wait()
    with pytest.raises(AttributeError, match="no info"):
        make_sb3_vec_env("crm_envs/ROIAllocation-v0", n_envs=2).action_masks()
