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
    for arr in (kp.value, kp.env_discount, kp.con_discount):
        assert np.isfinite(arr).all()
    assert np.abs(kp.value[..., 0]).max() <= 5.0
    assert kp.region_cum[-1] == pytest.approx(1.0)


def test_thresholds_and_records_give_the_transition_matrix():
    # The kernel draws outcome q with probability (threshold q - threshold q-1) / 2**53 and
    # moves to the cell in outcome[row, q]'s record: summed per cell, that must be the model's
    # transition matrix, to the resolution of a uniform.
    from crm_envs.envs.customer_journey.params import (
        CELL_BITS,
        COL_SHIFT,
        COORD_BITS,
        MASK_SHIFT,
        ROW_SHIFT,
        TERMINAL_SHIFT,
    )

    kp = P.to_kernel(10, "any")
    p = P.transition_matrix()  # (K, N, A, N)
    k, n, a = p.shape[:3]
    thr = kp.thresholds.astype(float) / 2.0**53
    assert (np.diff(thr, axis=1) >= 0).all() and ((thr >= 0) & (thr <= 1)).all()
    edges = np.concatenate([np.zeros((thr.shape[0], 1)), thr, np.ones((thr.shape[0], 1))], 1)
    probs = np.diff(edges, axis=1)  # (K*N*A, M)
    cells = kp.outcome & ((1 << CELL_BITS) - 1)
    implied = np.zeros((k * n * a, n))
    np.add.at(implied, (np.arange(k * n * a)[:, None], cells), probs)
    np.testing.assert_allclose(implied.reshape(p.shape), p, atol=2.0**-50)
    # A record holds its cell's grid position, terminal flag and action mask.
    rec = kp.cell_record
    coord = (1 << COORD_BITS) - 1
    assert np.array_equal((rec >> ROW_SHIFT) & coord, np.arange(n) // P.n_cols)
    assert np.array_equal((rec >> COL_SHIFT) & coord, np.arange(n) % P.n_cols)
    assert np.array_equal((rec >> TERMINAL_SHIFT) & 1, P.terminal_cells.astype(int))
    masks = (rec[:, None] >> (MASK_SHIFT + np.arange(a))) & 1
    assert np.array_equal(masks, P.valid_moves)
    assert np.array_equal(kp.outcome, rec[cells])


def test_a_grid_too_large_for_the_records_is_refused():
    from crm_envs.envs.customer_journey.params import cell_records

    rows = np.array([0, 4096])
    with pytest.raises(ValueError, match="too large"):
        cell_records(rows, np.zeros(2, np.int64), np.zeros(2, np.int64), np.ones((2, 4), np.int8))


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
        assert np.array_equal(mask, P.valid_moves[cells])
        assert (term == P.terminal_cells[cells]).all()
        ended += int((term | trunc).sum())
    assert ended > n  # autoreset happened many times


def test_integer_thresholds_draw_exactly_what_the_float_comparison_draws():
    # The kernel compares the uniform's 53-bit integer m with ceil(2**53 cum); the model's draw
    # compares u = m * 2**-53 with cum. At m = threshold - 1 and m = threshold (where a floor
    # instead of a ceil, or > instead of >=, would differ) both must pick the same outcome.
    from crm_envs.envs.customer_journey.params import N_ACTIONS

    kp = P.to_kernel(10, "any")
    p = P.transition_matrix()
    n = p.shape[1]
    checked = 0
    for row in range(kp.thresholds.shape[0]):
        kk, rest = divmod(row, n * N_ACTIONS)
        s, a = divmod(rest, N_ACTIONS)
        support = np.flatnonzero(p[kk, s, a] > 0)
        cum = np.cumsum(p[kk, s, a, support])
        cum[-1] = 1.0
        for t in kp.thresholds[row]:
            if t >= 2**53:
                continue  # padding: never reached by a 53-bit integer
            for m in (int(t) - 1, int(t)):
                by_int = int((m >= kp.thresholds[row]).sum())
                by_float = int((np.float64(m) * 2.0**-53 >= cum[:-1]).sum())
                assert by_int == by_float, (row, m)
                checked += 1
    assert checked > 1000
