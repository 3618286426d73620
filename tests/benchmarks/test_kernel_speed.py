"""``benchmarks/kernel_speed.py``: the split of a vector step into kernel and Python, at small N."""

import pytest

from benchmarks.kernel_speed import DEFAULT_IDS, profile
from crm_envs.registration import ENV_INFO


def test_every_registered_id_is_profiled_by_default():
    assert DEFAULT_IDS == tuple(info.env_id for info in ENV_INFO)


@pytest.mark.parametrize("env_id", ["crm_envs/CustomerJourney-v1", "crm_envs/ROIAllocation-v0"])
def test_the_kernel_is_timed_inside_the_step(env_id):
    # The driver's entry point is wrapped, so its CPU time is counted, and it is part of the
    # step's: a broken wrapper (no kernel time) or a double count (more than the step) fails.
    r = profile(env_id, n=64, steps=20, copy=False, repeats=1)
    assert 0.0 < r["kernel"] <= r["total"]


def test_the_floor_reads_the_state_and_writes_every_output():
    # The floor stands for what any kernel with these arrays must do: a floor that skipped
    # an output or the state would understate it.
    import numpy as np

    from benchmarks.kernel_speed import touch_floor

    n = 8
    fstate, istate = np.ones((n, 3)), np.zeros((n, 5), dtype=np.int64)
    istate[:, 0] = 2
    istate[:, -2] = 10**15  # the stream key: drawn from, not summed
    actions = np.full((n, 2), 0.5, dtype=np.float32)
    obs, rew = np.full((n, 4), np.nan, dtype=np.float32), np.full(n, np.nan)
    term, trunc = np.ones(n, dtype=bool), np.ones(n, dtype=bool)
    extra = (np.full(n, np.nan), np.full((n, 3), -1, dtype=np.int8))
    touch_floor((None, fstate, istate, actions, obs, rew, term, trunc, extra))()
    # s = 3 (fstate) + 2 (istate's first column) + 1 (actions) + a uniform in [0, 1)
    assert ((rew >= 6.0) & (rew < 7.0)).all()
    assert np.array_equal(obs, np.repeat(rew[:, None], 4, axis=1).astype(np.float32))
    assert np.array_equal(fstate, np.repeat(rew[:, None], 3, axis=1))
    assert np.array_equal(extra[0], rew) and (extra[1] == 6).all()
    assert not term.any() and not trunc.any()
    # every int-state column but the key moves on, the counter included
    assert (istate[:, 0] == 3).all() and (istate[:, 1:3] == 1).all()
    assert (istate[:, -2] == 10**15).all() and (istate[:, -1] == 1).all()


def test_profile_reports_the_floor():
    r = profile("crm_envs/B2BCustomer-v1", n=64, steps=20, copy=False, repeats=1)
    assert r["floor"] > 0.0
