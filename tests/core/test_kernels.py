"""The shared driver of every env (crm_envs.core.kernels): compiled == pure Python."""

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from crm_envs.core.wrappers import TaskVectorEnv, encode_batch
from crm_envs.registration import ENV_INFO

IDS = [i.env_id for i in ENV_INFO]


def _actions(venv, info, rng):
    if "action_mask" in info:
        return np.array([rng.choice(np.flatnonzero(m)) for m in info["action_mask"]])
    venv.action_space.seed(int(rng.integers(2**31)))
    return venv.action_space.sample()


@pytest.mark.parametrize("env_id", IDS)
def test_parallel_serial_and_pure_python_drivers_agree(env_id):
    """The three builds of the driver step the same copies to the same outputs, bit for bit."""
    venv = gym.make_vec(env_id, num_envs=16, vectorization_mode="vector_entry_point").unwrapped
    assert isinstance(venv, TaskVectorEnv), f"{env_id} does not run on the shared driver"
    task = venv.task
    k = task.kernels
    _, info = venv.reset(seed=3)
    rng = np.random.default_rng(0)
    actions = []
    for _ in range(30):  # valid actions from a real rollout (masks follow the states)
        actions.append(encode_batch(task, _actions(venv, info, rng), 16))
        info = venv.step(actions[-1])[4]
    traces = []
    for reset, step in ((k.reset, k.step), (k.reset_serial, k.step_serial),
                        (k.reset_python, k.step_python)):  # fmt: skip
        venv.reset(seed=3)
        fstate, istate = venv._fstate.copy(), venv._state.copy()
        obs = np.zeros_like(venv._obs)
        rew, term, trunc = np.zeros(16), np.zeros(16, bool), np.zeros(16, bool)
        extra = tuple(np.zeros_like(a) for a in venv._extra())
        fstate0, istate0 = fstate.copy(), istate.copy()
        trace = []
        with np.errstate(over="ignore"):
            reset(task.kp, fstate0, istate0, obs, extra)  # the env's own reset requests
            for a in actions:
                step(task.kp, fstate0, istate0, a, obs, rew, term, trunc, extra)
                infos = [np.ravel(e).astype(float) for e in extra]
                trace.append(
                    np.concatenate([np.ravel(obs).astype(float), rew, term, trunc, *infos])
                )
        traces.append(np.array(trace))
    np.testing.assert_array_equal(traces[0], traces[1])
    np.testing.assert_array_equal(traces[0], traces[2])
    assert traces[0][:, -1].size and np.ptp(traces[0]) > 0
