"""What a caller of a vector env may keep (``copy``), and the partial reset (``reset_mask``)."""

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401  (registers the ids)

VECTOR_IDS = sorted(
    i for i, spec in gym.registry.items() if i.startswith("crm_envs/") and spec.vector_entry_point
)
N = 5


def _make(env_id, copy):
    return gym.make_vec(env_id, num_envs=N, vectorization_mode="vector_entry_point", copy=copy)


def _actions(env, info, rng):
    space = env.single_action_space
    if "action_mask" in info:
        return np.array([rng.choice(np.flatnonzero(m)) for m in info["action_mask"]])
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(space.n, size=N)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return rng.integers(space.nvec, size=(N, *space.nvec.shape))
    return rng.uniform(space.low, space.high, size=(N, *space.shape)).astype(space.dtype)


def _arrays(obs, info, *rest):
    """Every array a call returned, by name."""
    out = {"obs": obs, **{f"info.{k}": v for k, v in info.items() if isinstance(v, np.ndarray)}}
    out.update({name: a for name, a in zip(("rew", "term", "trunc"), rest, strict=False)})
    return out


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_copy_true_returns_arrays_the_env_never_writes_again(env_id):
    env, rng = _make(env_id, copy=True), np.random.default_rng(0)
    obs, info = env.reset(seed=3)
    kept = _arrays(obs, info)
    frozen = {k: v.copy() for k, v in kept.items()}
    for _ in range(4):
        obs, rew, term, trunc, info = env.step(_actions(env, info, rng))
        for name, a in _arrays(obs, info, rew, term, trunc).items():
            assert not any(np.shares_memory(a, b) for b in kept.values()), name
    for name, a in kept.items():
        np.testing.assert_array_equal(a, frozen[name], err_msg=name)


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_copy_false_keeps_a_call_s_arrays_through_the_next_call_and_equals_copy_true(env_id):
    fast, safe = _make(env_id, copy=False), _make(env_id, copy=True)
    rng_f, rng_s = np.random.default_rng(1), np.random.default_rng(1)
    _, info_f = fast.reset(seed=11)
    _, info_s = safe.reset(seed=11)
    prev, prev_frozen = None, None
    for _ in range(6):
        out_f = fast.step(_actions(fast, info_f, rng_f))
        out_s = safe.step(_actions(safe, info_s, rng_s))
        info_f, info_s = out_f[4], out_s[4]
        now = _arrays(out_f[0], info_f, *out_f[1:4])
        for name, a in now.items():  # same numbers as copy=True
            np.testing.assert_array_equal(a, _arrays(out_s[0], info_s, *out_s[1:4])[name])
        if prev is not None:  # the previous call's arrays were not touched by this one
            for name, a in prev.items():
                np.testing.assert_array_equal(a, prev_frozen[name], err_msg=name)
        prev, prev_frozen = now, {k: v.copy() for k, v in now.items()}
    nxt = fast.step(_actions(fast, info_f, rng_f))
    after = fast.step(_actions(fast, nxt[4], rng_f))
    assert np.shares_memory(after[0], out_f[0]), "two calls later the buffers are reused"


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_partial_reset_gives_the_copies_what_autoreset_would(env_id):
    """Copies reset by ``reset_mask`` start as NEXT_STEP autoreset starts them; others keep."""
    auto, masked = _make(env_id, copy=True), _make(env_id, copy=True)
    rng_a, rng_m = np.random.default_rng(2), np.random.default_rng(2)
    _, info_a = auto.reset(seed=5)
    _, info_m = masked.reset(seed=5)
    horizon = auto.unwrapped.task.horizon
    for _ in range(horizon + 1):
        _, _, term, trunc, info_a = auto.step(_actions(auto, info_a, rng_a))
        obs_m, _, _, _, info_m = masked.step(_actions(masked, info_m, rng_m))
        done = term | trunc
        if done.any():
            break
    assert done.any(), f"no episode ended within the horizon {horizon}"
    kept = obs_m.copy()
    reset_obs, reset_info = masked.reset(options={"reset_mask": done})
    next_obs, rew, *_, next_info = auto.step(_actions(auto, info_a, rng_a))  # autoreset
    np.testing.assert_array_equal(reset_obs[done], next_obs[done])
    np.testing.assert_array_equal(reset_obs[~done], kept[~done])
    np.testing.assert_array_equal(rew[done], 0.0)
    for key, value in reset_info.items():
        if not key.startswith("_"):
            np.testing.assert_array_equal(reset_info["_" + key], done)
            if key in next_info:  # what the reset copies report is what autoreset reports
                np.testing.assert_array_equal(value[done], np.asarray(next_info[key])[done])


def test_partial_reset_rejects_bad_masks_seeds_and_a_first_call():
    env = _make(VECTOR_IDS[0], copy=True)
    with pytest.raises(RuntimeError, match="without a mask first"):
        env.reset(options={"reset_mask": np.ones(N, dtype=bool)})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="bool array of shape"):
        env.reset(options={"reset_mask": np.ones(N)})
    with pytest.raises(ValueError, match="bool array of shape"):
        env.reset(options={"reset_mask": np.ones(N + 1, dtype=bool)})
    with pytest.raises(ValueError, match="no seed"):
        env.reset(seed=1, options={"reset_mask": np.ones(N, dtype=bool)})


def test_copy_must_be_a_bool():
    with pytest.raises(TypeError, match="copy must be True or False"):
        _make(VECTOR_IDS[0], copy="no")
