"""Point-based POMDP value iteration against exact finite-horizon belief enumeration."""

import time

import numpy as np
import pytest

from agents.pomdp import belief_grid, solve
from crm_envs.core.models import TabularPOMDP

LISTEN, OPEN_LEFT, OPEN_RIGHT = 0, 1, 2


def tiger(gamma=0.95):
    """The classic Tiger problem (Kaelbling, Littman & Cassandra 1998); state 1 = tiger right."""
    P = np.stack([np.eye(2), np.full((2, 2), 0.5), np.full((2, 2), 0.5)])
    O = np.stack([[[0.85, 0.15], [0.15, 0.85]], np.full((2, 2), 0.5), np.full((2, 2), 0.5)])
    R = np.array([[-1.0, -1.0], [-100.0, 10.0], [10.0, -100.0]])
    return TabularPOMDP(P, O, R, gamma, initial=[0.5, 0.5])


def exact_value(m, b, h):
    """Finite-horizon optimal value by enumerating every action/observation branch."""
    if h == 0:
        return 0.0
    best = -np.inf
    for a in range(m.n_actions):
        val = float(m.R[a] @ b)
        pred = b @ m.P[a]
        for z in range(m.n_observations):
            joint = pred * m.O[a, :, z]
            pz = joint.sum()
            if pz > 1e-15:
                val += m.gamma * pz * exact_value(m, joint / pz, h - 1)
        best = max(best, val)
    return best


@pytest.mark.parametrize("b1", [0.5, 0.2, 0.93])
def test_finite_horizon_tiger_matches_exact_enumeration(b1):
    m = tiger()
    sol = solve(m, resolution=2000, horizon=5)
    b = np.array([1 - b1, b1])
    assert sol.value(b1) == pytest.approx(exact_value(m, b, 5), abs=1e-3)


def test_infinite_horizon_tiger_policy_and_speed():
    m = tiger()
    start = time.perf_counter()
    sol = solve(m, resolution=400, tol=1e-8)
    elapsed = time.perf_counter() - start
    assert sol.converged and elapsed < 30  # generous: includes numba compilation
    assert sol.action(0.5) == LISTEN
    assert sol.action(0.99) == OPEN_LEFT and sol.action(0.01) == OPEN_RIGHT
    # Symmetric problem, symmetric value; a finer grid changes the value only slightly.
    grid = np.linspace(0, 1, 21)
    np.testing.assert_allclose(sol.value(grid), sol.value(grid[::-1]), atol=1e-6)
    fine = solve(m, resolution=2000, tol=1e-8)
    assert abs(fine.value(0.5) - sol.value(0.5)) < 0.05


def test_three_state_model_matches_exact_enumeration():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=(2, 3))
    O = rng.dirichlet(np.ones(2), size=(2, 3))
    R = rng.normal(size=(2, 3))
    m = TabularPOMDP(P, O, R, 0.9, initial=[1 / 3] * 3)
    sol = solve(m, resolution=40, horizon=4)
    for b in ([1 / 3, 1 / 3, 1 / 3], [0.7, 0.2, 0.1], [0.0, 0.5, 0.5]):
        assert sol.value(np.array(b)) == pytest.approx(exact_value(m, np.array(b), 4), abs=2e-3)


def test_belief_grid_and_bad_beliefs():
    g = belief_grid(3, 4)
    assert len(g) == 15 and np.allclose(g.sum(1), 1)
    sol = solve(tiger(), resolution=20, horizon=2)
    with pytest.raises(ValueError, match="probability vector"):
        sol.value(1.5)
    with pytest.raises(ValueError, match="beliefs must have shape"):
        solve(tiger(), beliefs=np.ones((3, 3)) / 3)
