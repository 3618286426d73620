"""The journey kernels: tables and invariants (compiled == Python: tests/core/test_kernels.py)."""

import numpy as np
import pytest

from crm_envs.envs.customer_journey import get_preset, kernels
from crm_envs.envs.customer_journey.params import N_ACTIONS

P = get_preset("bonaccorso")


def _fresh(n, seed=0):
    from crm_envs.core.rng import seed_keys

    state = np.zeros((n, kernels.STATE_WIDTH), dtype=np.int64)
    state[:, kernels.KEY] = seed_keys(seed, n)
    state[:, kernels.CELL] = -1  # the reset requests: sample
    state[:, kernels.REGION] = -1
    return state


def _buffers(n):
    return (
        np.zeros((n, 4), np.int64),
        np.zeros(n),
        np.zeros(n, bool),
        np.zeros(n, bool),
        np.zeros((n, N_ACTIONS), np.int8),
    )


def test_kernel_tables_are_probabilities_and_finite():
    kp = P.to_kernel(10, "any")
    assert (np.diff(kp.next_cum, axis=1) >= 0).all()
    assert (kp.next_cum[:, -1] == 1.0).all() and (kp.next_cum >= 0).all()
    for arr in (kp.next_rho, kp.next_con, kp.env_discount, kp.con_discount):
        assert np.isfinite(arr).all()
    assert np.abs(kp.next_rho).max() <= 5.0
    assert kp.region_cum[-1] == pytest.approx(1.0)


def test_invariants_over_a_long_batched_run():
    kp = P.to_kernel(10, "any")
    n = 4096
    state = _fresh(n, seed=9)
    obs, rew, term, trunc, mask = _buffers(n)
    fstate = np.zeros((n, kernels.FLOAT_WIDTH))
    kernels.KERNELS.reset(kp, fstate, state, obs, (mask,))
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(200):
        actions = rng.integers(0, 4, n)
        kernels.KERNELS.step(kp, fstate, state, actions, obs, rew, term, trunc, (mask,))
        assert ((obs >= 0) & (obs < np.array([5, 15, 3, 11]))).all()
        assert np.isfinite(rew).all() and (np.abs(rew) <= 5.0 + 1.0).all()
        assert not (term & trunc).any()
        assert (trunc <= (obs[:, 3] == 10)).all()
        cells = obs[:, 0] * 15 + obs[:, 1]
        assert np.array_equal(mask, kp.valid[cells])
        assert (term == (kp.terminal[cells] == 1)).all()
        ended += int((term | trunc).sum())
    assert ended > n  # autoreset happened many times
