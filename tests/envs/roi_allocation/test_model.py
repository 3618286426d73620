"""Streukens et al. (2011): Table 5 from the model, path algebra, ADBUDG, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_envs.envs.roi_allocation.adbudg import (
    adbudg,
    adbudg_derivative,
    adbudg_from_interview,
    adbudg_inverse,
)
from crm_envs.envs.roi_allocation.paths import PathModel
from crm_envs.envs.roi_allocation.presets import TABLE5, get_preset
from crm_envs.envs.roi_allocation.solver import evaluate_allocation, solve_allocation

P = get_preset("streukens2011")


# ------------------------------------------------------------------ Table 5 (issue point 1)
def test_effort_to_maintain_row_to_the_dollar():
    np.testing.assert_array_equal(np.round(P.maintenance_effort), TABLE5["maintenance_effort"])


def test_impacts_are_table5s_total_effects():
    np.testing.assert_allclose(P.impacts, TABLE5["impacts"], atol=1e-12)


def test_unconstrained_optimum_matches_table5():
    a = solve_allocation(P)
    assert a.total == pytest.approx(TABLE5["optimal_total_effort"], rel=0.01)
    np.testing.assert_allclose(a.shares, TABLE5["optimal_shares"], atol=0.005)
    assert a.profit == pytest.approx(TABLE5["optimal_profit"], rel=0.01)
    assert abs(a.roi - TABLE5["optimal_roi"]) <= 0.005
    np.testing.assert_allclose(a.levels_after, TABLE5["optimal_levels_after"], atol=0.01)


def test_budgeted_optimum_matches_table5():
    a = solve_allocation(P, budget=TABLE5["budget"])
    np.testing.assert_allclose(a.shares, TABLE5["budget_shares"], atol=1e-9)
    assert a.total == pytest.approx(10_000.0)
    assert a.profit == pytest.approx(TABLE5["budget_profit"], rel=0.01)
    assert abs(a.roi - TABLE5["budget_roi"]) <= 0.005
    np.testing.assert_allclose(a.levels_after, TABLE5["budget_levels_after"], atol=0.01)
    assert a.marginal > 1.0  # the budget binds


def test_optimum_beats_every_perturbed_allocation():
    best = solve_allocation(P)
    rng = np.random.default_rng(0)
    for _ in range(200):
        x = np.maximum(best.effort + rng.normal(0, 3000, P.n_drivers), 0)
        assert evaluate_allocation(P, x).profit <= best.profit + 1e-6
    budgeted = solve_allocation(P, budget=25_000)
    for _ in range(200):
        x = rng.dirichlet(np.ones(P.n_drivers) * 0.3) * 25_000
        assert evaluate_allocation(P, x).profit <= budgeted.profit + 1e-6


def test_equal_marginal_returns_at_the_optimum():
    a = solve_allocation(P, budget=30_000)
    e = P.maintenance_effort + a.effort
    marginal = P.cmv * P.impacts * adbudg_derivative(e, P.a, P.b, P.c, P.d)
    funded = a.effort > 0
    np.testing.assert_allclose(marginal[funded], a.marginal, rtol=1e-8)
    assert (marginal[~funded] <= a.marginal + 1e-9).all()


def test_general_c_solver_agrees_with_closed_form_limit():
    near_one = P.replace(c=np.full(7, 1.0 - 1e-9))
    np.testing.assert_allclose(
        solve_allocation(near_one).effort, solve_allocation(P).effort, atol=1e-2
    )
    concave = P.replace(c=np.full(7, 0.8), d=np.full(7, 50_000.0**0.8))
    a = solve_allocation(concave)
    e = concave.maintenance_effort + a.effort
    m = concave.cmv * concave.impacts * adbudg_derivative(e, 0.0, 10.0, 0.8, 50_000.0**0.8)
    np.testing.assert_allclose(m[a.effort > 0], 1.0, rtol=1e-6)


# ------------------------------------------------------------------ path algebra (point 2)
@st.composite
def dags(draw):
    n = draw(st.integers(3, 7))
    arcs = {}
    for i in range(n):
        for j in range(i + 1, n):
            if draw(st.booleans()):
                arcs[(f"z{i}", f"z{j}")] = draw(st.floats(-2, 2, allow_nan=False))
    order = draw(st.permutations([f"z{i}" for i in range(n)]))
    return PathModel(tuple(order), arcs)


@settings(max_examples=60, deadline=None)
@given(dags())
def test_closed_form_total_effects_equal_path_enumeration(model):
    lam = model.total_effects()
    for p in model.nodes:
        for q in model.nodes:
            if p != q:
                expected = model.total_effect_by_paths(p, q)
                assert lam[model.index(p), model.index(q)] == pytest.approx(expected, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(dags(), st.floats(-0.5, 0.5, allow_nan=False), st.data())
def test_eq9_update_equals_recomputing_after_the_perturbation(model, delta, data):
    if not model.arcs:
        return
    arc = data.draw(st.sampled_from(sorted(model.arcs)))
    target = data.draw(st.sampled_from(model.nodes))
    sources = [n for n in model.nodes if n != target]
    updated = model.sensitivity_update(sources, target, arc, delta)
    moved = model.with_arc(*arc, model.arcs[arc] + delta)
    expected = [moved.total_effect(s, target) for s in sources]
    np.testing.assert_allclose(updated, expected, atol=1e-9)


def test_path_model_rejects_cycles_and_unknown_constructs():
    with pytest.raises(ValueError, match="acyclic"):
        PathModel(("a", "b", "c"), {("a", "b"): 1, ("b", "c"): 1, ("c", "a"): 1})
    with pytest.raises(ValueError, match="unknown construct 'd'"):
        PathModel(("a", "b"), {("a", "d"): 1})
    with pytest.raises(ValueError, match="self-loop"):
        PathModel(("a",), {("a", "a"): 1})


# ------------------------------------------------------------------ ADBUDG
def test_adbudg_inverse_derivative_and_interview():
    a, b, c, d = 1.0, 11.0, 0.7, 900.0
    e = np.array([0.0, 10.0, 1000.0, 1e6])
    y = adbudg(e, a, b, c, d)
    np.testing.assert_allclose(adbudg_inverse(y, a, b, c, d), e, atol=1e-6, rtol=1e-9)
    h = 1e-4
    x = np.array([10.0, 1000.0])
    numeric = (adbudg(x + h, a, b, c, d) - adbudg(x - h, a, b, c, d)) / (2 * h)
    np.testing.assert_allclose(adbudg_derivative(x, a, b, c, d), numeric, rtol=1e-6)
    e0 = 5000.0
    answers = (e0, float(adbudg(e0, a, b, c, d)), a, b, float(adbudg(2 * e0, a, b, c, d)))
    np.testing.assert_allclose(adbudg_from_interview(*answers), (a, b, c, d), rtol=1e-9)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"c": 0.0}, "c must be > 0"),
        ({"d": -1.0}, "d must be > 0"),
        ({"b": 0.0}, "b > a"),
        ({"levels0": np.full(7, 10.0)}, r"levels0\[0\] \(ordering\) = 10.0 must lie in \[a, b\)"),
        ({"kappa": 1.2}, r"kappa must lie in \[0.0, 1.0\]"),
        ({"cmv": -5.0}, "cmv must lie in"),
        ({"budget": -1.0}, "budget must lie in"),
    ],
)
def test_bad_params_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        P.replace(**kwargs)


def test_bad_efforts_and_interviews_raise():
    with pytest.raises(ValueError, match="effort must be finite and >= 0"):
        adbudg(-1.0, 0, 10, 1, 5)
    with pytest.raises(ValueError, match="investment must be 7 finite non-negative"):
        evaluate_allocation(P, np.array([np.nan] * 7))
    with pytest.raises(ValueError, match="level_at_double_effort"):
        adbudg_from_interview(100.0, 5.0, 1.0, 11.0, 4.0)
    with pytest.raises(ValueError, match="needs concave responses"):
        solve_allocation(P.replace(c=np.full(7, 2.0)))
    with pytest.raises(ValueError, match="budget must lie in"):
        solve_allocation(P, budget=-10)
