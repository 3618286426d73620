"""Fan (2015), Essay 1: the analytic belief results, over many random models (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.pomdp import solve
from crm_envs.core.models import TabularPOMDP
from crm_envs.envs.b2b_customer.belief import (
    bayes_update,
    filter_step,
    learning_effect,
    open_loop,
    peak_belief,
)

prob = st.floats(0.01, 0.99)


@settings(deadline=None)
@given(prob, prob, prob, prob, prob)
def test_filter_is_bayes_rule_on_the_joint(b, q01, q11, p1, p0):
    joint_high = (b * q11 + (1 - b) * q01) * p1
    joint_low = (b * (1 - q11) + (1 - b) * (1 - q01)) * p0
    assert filter_step(b, q01, q11, p1, p0) == pytest.approx(joint_high / (joint_high + joint_low))
    assert open_loop(b, q01, q11) == pytest.approx(b * q11 + (1 - b) * q01)


@settings(deadline=None)
@given(prob, prob, prob)
def test_learning_effect_closed_form(phi, p1, p0):
    assert learning_effect(phi, p1, p0) == pytest.approx(abs(bayes_update(phi, p1, p0) - phi))


@settings(deadline=None)
@given(prob, prob)
def test_learning_effect_vanishes_at_the_ends_and_peaks_at_the_exact_maximiser(p1, p0):
    for end in (1e-9, 1 - 1e-9):
        assert learning_effect(end, p1, p0) < 1e-7
    grid = np.linspace(1e-4, 1 - 1e-4, 20001)
    effects = np.array([learning_effect(x, p1, p0) for x in grid])
    star = peak_belief(p1, p0)
    # The exact maximiser: phi / (1 - phi) = sqrt(p0 / p1). Fan (2015) prints the inverse
    # ratio, which is not the maximum unless p1 = p0 (see crm_envs.envs.b2b_customer.belief).
    assert star / (1 - star) == pytest.approx(np.sqrt(p0 / p1))
    if abs(p1 - p0) > 0.05:
        printed = np.sqrt(p1) / (np.sqrt(p1) + np.sqrt(p0))
        assert learning_effect(printed, p1, p0) < learning_effect(star, p1, p0)
    assert learning_effect(star, p1, p0) >= effects.max() - 1e-9
    if abs(p1 - p0) > 0.05:
        assert abs(grid[effects.argmax()] - star) < 1e-3


@st.composite
def two_state_pomdps(draw):
    n_a, n_z = draw(st.integers(2, 3)), draw(st.integers(2, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    P = rng.dirichlet(np.ones(2), size=(n_a, 2))
    O = rng.dirichlet(np.ones(n_z) * 0.7, size=(n_a, 2))
    R = rng.normal(size=(n_a, 2))
    return TabularPOMDP(P, O, R, 0.9, initial=[0.5, 0.5])


@settings(max_examples=20, deadline=None)
@given(two_state_pomdps())
def test_pomdp_value_is_at_least_the_hmm_value_at_every_belief(m):
    adaptive = solve(m, resolution=100, tol=1e-9)
    hmm = solve(m, resolution=100, tol=1e-9, open_loop=True)
    grid = np.linspace(0, 1, 101)
    assert (adaptive.value(grid) >= hmm.value(grid) - 1e-9).all()
