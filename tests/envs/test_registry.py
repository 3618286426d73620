"""Contract tests over every registered crm_envs id."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import crm_envs
from crm_envs.registration import ENV_INFO

ENV_IDS = sorted(i for i in gym.registry if i.startswith("crm_envs/"))


def test_every_catalogued_id_is_registered():
    assert ENV_IDS, "importing crm_envs registered no ids"
    assert ENV_IDS == sorted(info.env_id for info in ENV_INFO)
    crm_envs.register_envs()  # idempotent
    assert sorted(i for i in gym.registry if i.startswith("crm_envs/")) == ENV_IDS


def _masked_actions(info, rng, space):
    """Random valid actions: by the action mask where the env has one, else from the space."""
    if "action_mask" in info:
        mask = info["action_mask"]
        if mask.ndim == 1:
            return int(rng.choice(np.flatnonzero(mask)))
        return np.array([rng.choice(np.flatnonzero(m)) for m in mask])
    if isinstance(space, gym.spaces.Discrete):
        return int(rng.integers(space.n))
    if isinstance(space, gym.spaces.MultiDiscrete):
        return rng.integers(space.nvec)
    return rng.uniform(space.low, space.high).astype(space.dtype)


def _rollout(env, seed, steps):
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    out = [obs]
    for _ in range(steps):
        obs, rew, term, trunc, info = env.step(_masked_actions(info, rng, env.action_space))
        out.append((obs, rew, term, trunc))
        if term or trunc:
            obs, info = env.reset()
            out.append(obs)
    return out


def _flat(records):
    out = []
    for rec in records:
        for item in rec if isinstance(rec, tuple) else (rec,):
            out.append(np.asarray(item, dtype=float).ravel())
    return np.concatenate(out)


def _same(a, b):
    fa, fb = _flat(a), _flat(b)
    return fa.shape == fb.shape and np.array_equal(fa, fb)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env(env_id):
    check_env(gym.make(env_id).unwrapped, skip_render_check=False)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env(env_id):
    sb3_check_env(gym.make(env_id).unwrapped, warn=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_seeded_determinism(env_id):
    a = _rollout(gym.make(env_id), seed=3, steps=300)
    b = _rollout(gym.make(env_id), seed=3, steps=300)
    c = _rollout(gym.make(env_id), seed=4, steps=300)
    assert _same(a, b)
    assert not _same(a, c)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_round_trip_continues_identically(env_id):
    env = gym.make(env_id)
    rng = np.random.default_rng(0)
    _, info = env.reset(seed=11)
    env.step(_masked_actions(info, rng, env.action_space))
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(30):
        a = _masked_actions(info, rng, env.action_space)
        o1, r1, t1, u1, info = env.step(a)
        o2, r2, t2, u2, _ = clone.step(a)
        assert np.array_equal(o1, o2) and r1 == r2 and (t1, u1) == (t2, u2)
        if t1 or u1:
            o1, info = env.reset()
            o2, _ = clone.reset()
            assert np.array_equal(o1, o2)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_equals_single_envs_for_the_same_seed(env_id):
    n, seed, max_steps = 5, 21, 1000
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    singles = [gym.make(env_id) for _ in range(n)]
    vobs, vinfo = vec.reset(seed=seed)
    sobs = []
    for i, env in enumerate(singles):
        o, _ = env.reset(seed=seed + i)
        sobs.append(o)
    assert np.array_equal(vobs, np.stack(sobs))
    rng = np.random.default_rng(0)
    just_ended = np.zeros(n, dtype=bool)
    episodes_ended = 0
    steps = 0
    while (episodes_ended < n or steps < 60) and steps < max_steps:
        steps += 1
        actions = _masked_actions(vinfo, rng, vec.action_space)
        vobs, vrew, vterm, vtrunc, vinfo = vec.step(actions)
        for i, env in enumerate(singles):
            if just_ended[i]:  # NEXT_STEP autoreset: this step reset copy i
                o, _ = env.reset()
                assert np.array_equal(vobs[i], o)
                assert vrew[i] == 0.0 and not vterm[i] and not vtrunc[i]
                continue
            o, r, term, trunc, _ = env.step(actions[i])
            assert np.array_equal(vobs[i], o)
            assert vrew[i] == r and vterm[i] == term and vtrunc[i] == trunc
        episodes_ended += int((vterm | vtrunc).sum())
        just_ended = vterm | vtrunc
    assert episodes_ended >= n  # autoreset was exercised


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_outputs_are_not_overwritten_by_later_steps(env_id):
    vec = gym.make_vec(env_id, num_envs=4, vectorization_mode="vector_entry_point")
    obs0, info = vec.reset(seed=0)
    kept = obs0.copy()
    for _ in range(5):
        _, _, _, _, info = vec.step(
            _masked_actions(info, np.random.default_rng(1), vec.action_space)
        )
    assert np.array_equal(obs0, kept)
