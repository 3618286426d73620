"""B2BCustomer (Fan 2015, Essay 2): calibration, dynamics, planner, bad input."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.dp import value_iteration
from crm_envs.envs.b2b_customer.env import B2BCustomerEnv
from crm_envs.envs.b2b_customer.presets import REFERENCE, TABLE4, fan2015_essay1, fan2015_essay2
from crm_envs.envs.b2b_customer.solver import solve


def test_essay2_reproduces_table4_within_0005():
    p = fan2015_essay2()
    m, tslp = REFERENCE["spend"], REFERENCE["tslp"]
    trans = p.transition_matrix(m, tslp=tslp, promotion=False, maintenance=False)
    np.testing.assert_allclose(trans, TABLE4["transition"], atol=0.005)
    np.testing.assert_allclose(p.emission_matrix(m), TABLE4["emission"], atol=0.005)
    assert p.initial_high == pytest.approx(TABLE4["initial"][1], abs=0.005)


def test_table3_slopes_act_in_the_documented_direction():
    p = fan2015_essay2()
    base = p.transition_matrix(50, tslp=1)[0, 1]
    assert p.transition_matrix(50, tslp=1, promotion=True)[0, 1] > base  # offers help
    assert p.transition_matrix(50, tslp=12)[0, 1] > base  # ln(TSLP) > 0
    hh = p.transition_matrix(50, tslp=6, maintenance=False)[1, 1]
    assert p.transition_matrix(50, tslp=6, maintenance=True)[1, 1] > hh
    # Revenue rises with spend far more in the high state (smaller error scale).
    gain = (p.emission_matrix(150) - p.emission_matrix(0)) @ p.revenue
    assert gain[1] > 10 * gain[0] > 0


def _numpy_filter(p, spends, levels, promos):
    """An independent Bayes filter written from the model's matrices (maintenance averaged)."""
    b, tslp, promo = p.initial_high, 1, False
    out = []
    for m, y, pr in zip(spends, levels, promos, strict=True):
        T = p.transition_matrix(m, tslp=tslp, promotion=promo)
        O = p.emission_matrix(m)
        prior = np.array([1 - b, b]) @ T
        post = prior * O[:, y]
        b = post[1] / post.sum()
        out.append(b)
        tslp, promo = (1, pr) if y > 0 else (min(tslp + 1, p.max_tslp), False)
    return np.array(out)


@pytest.mark.parametrize("preset", ["fan2015_customer_a", "fan2015_essay2"])
def test_env_belief_is_the_exact_bayes_filter(preset):
    env = B2BCustomerEnv(preset=preset, observation="purchase")
    p = env.params
    env.reset(seed=5)
    rng = np.random.default_rng(0)
    spends, levels, promos, beliefs = [], [], [], []
    for _ in range(60):
        a = int(rng.integers(p.n_spend))
        obs, _, _, _, info = env.step(a)
        spends.append(p.spend_grid[a])
        levels.append(int(obs[0]))
        promos.append(bool(obs[2]))
        beliefs.append(info["belief"])
    assert max(levels) > 0
    np.testing.assert_allclose(beliefs, _numpy_filter(p, spends, levels, promos), atol=1e-10)


def test_oracle_bounds_the_pomdp_value():
    env = B2BCustomerEnv(observation="state")
    p = env.params
    oracle = value_iteration(env.unwrapped.oracle_model(), tol=1e-6)
    n_class = p.max_tslp + 1
    sol = solve(p, adaptive=True, resolution=101)
    for b in (0.0, 0.5, 1.0):
        v_oracle = (1 - b) * oracle.V[1] + b * oracle.V[n_class + 1]
        assert float(sol.value(b, tslp=1)) <= v_oracle + 1e-6 * abs(v_oracle)


@st.composite
def essay1_like(draw):
    """Random two-state models of Essay 1's form (no TSLP, promotion or maintenance)."""
    f = st.floats(-2.0, 2.0)
    return fan2015_essay1().replace(
        utility_intercept=np.array([draw(f), draw(f)]),
        utility_spend=np.array([draw(f), draw(f)]) / 2,
        low_high_intercept=draw(f), low_high_spend=draw(f) / 2,
        high_high_intercept=draw(f), high_high_spend=draw(f) / 2,
        revenue=np.array([0.0, draw(st.floats(0.0, 3.0)), draw(st.floats(0.0, 5.0))]),
        initial_high=draw(st.floats(0.0, 1.0)), discount=draw(st.floats(0.5, 0.95)),
    )  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(essay1_like())
def test_pomdp_value_is_at_least_the_hmm_value_at_every_belief(params):
    # Adaptive plans include every open-loop plan; the tolerance covers grid interpolation.
    pomdp = solve(params, adaptive=True, resolution=101)
    hmm = solve(params, adaptive=False, resolution=101)
    scale = max(1.0, float(np.abs(hmm.values).max()))
    assert np.all(pomdp.values[1] >= hmm.values[1] - 2e-3 * scale)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: fan2015_essay2().replace(promotion_rate=1.2), "promotion_rate"),
        (lambda: fan2015_essay2().replace(maintenance_rate=-0.1), "maintenance_rate"),
        (lambda: fan2015_essay2().replace(spend_grid=[-10.0, 0.0]), "spend_grid"),
        (lambda: fan2015_essay2().replace(spend_grid=np.array([0.0, 20.0, 10.0])), "spend_grid"),
        (lambda: fan2015_essay2().replace(cut_points=[0.0, 2.0, 1.0, 3.0]), "cut_points"),
        (lambda: fan2015_essay2().replace(utility_scale=[1.0, 0.0]), "utility_scale"),
        (lambda: fan2015_essay2().transition_matrix(-5.0), "spend"),
        (lambda: fan2015_essay2().emission_matrix(float("nan")), "spend"),
        (lambda: solve(fan2015_essay1()).value(1.5), "belief"),
        (lambda: B2BCustomerEnv(observation="beleif"), "Did you mean 'belief'"),
    ],
)
def test_bad_input_names_the_field(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_actions_raise():
    env = B2BCustomerEnv(continuous=True)
    env.reset(seed=0)
    for bad in ([-1.001], [float("nan")], [1.001], [151.0]):
        with pytest.raises(ValueError, match="must be finite and lie in"):
            env.step(np.array(bad, dtype=np.float32))
    env = gym.make("crm_envs/B2BCustomer-v1").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="Discrete"):
        env.step(16)


@pytest.mark.parametrize("top", [0.1, 150.0, 1.0 / 3.0])
def test_continuous_bounds_are_valid_actions_whatever_the_largest_spend(top):
    # Issue 13: with a largest spend not exact in float32 (0.1), step(action_space.high)
    # raised, so SB3's PPO (which clips to the bound) and reference_action crashed.
    params = fan2015_essay2().replace(spend_grid=np.linspace(0.0, top, 4))
    env = B2BCustomerEnv(params=params, continuous=True)
    obs, _ = env.reset(seed=0)
    for action in (env.action_space.high, env.action_space.low, env.reference_action(obs)):
        assert env.action_space.contains(np.asarray(action, dtype=np.float32))
        obs, *_ = env.step(action)
    # The bounds map exactly onto no spend and the largest spend.
    spends = env.unwrapped.task.spends(np.array([[-1.0], [1.0]], dtype=np.float32), 2)
    assert spends.tolist() == [0.0, params.max_spend]


def test_flags_are_not_read_by_truthiness():
    with pytest.raises(TypeError, match="continuous must be True or False"):
        B2BCustomerEnv(continuous="False")
    with pytest.raises(ValueError, match="positive largest spend"):
        B2BCustomerEnv(params=fan2015_essay2().replace(spend_grid=np.zeros(1)), continuous=True)


def _run_kernel(kernels, kp, actions):
    """Roll 64 copies through the driver ``kernels`` (a ``(reset, step)`` pair) with ``kp``."""
    from crm_envs.core.vector import seed_state
    from crm_envs.envs.b2b_customer import kernels as b2b

    n = actions.shape[1]
    fstate = np.zeros((n, b2b.float_width(kp.revenue.shape[0], continuous=True)))
    istate = np.zeros((n, b2b.STATE_WIDTH), dtype=np.int64)
    seed_state(istate, 3, np.random.default_rng(0), fresh=True)
    obs = np.zeros((n, 4), dtype=np.float32)
    info = (np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
    reset, step = kernels
    reset(kp, fstate, istate, obs, info)
    rew, term, trunc = np.zeros(n), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    out = []
    for a in actions:
        step(kp, fstate, istate, a, obs, rew, term, trunc, info)
        out.append(np.concatenate([obs.ravel(), rew, trunc, *info]))
    return np.array(out)


@pytest.mark.parametrize("preset", ["fan2015_customer_a", "fan2015_essay1"])
def test_tabled_month_equals_the_direct_computation(preset):
    # Issue 18: grid actions read the month's probabilities from tables; the Box path computes
    # them directly. The same spends through both paths give the same months.
    from crm_envs.envs.b2b_customer import kernels

    env = gym.make("crm_envs/B2BCustomer-v1", preset=preset, observation="purchase")
    task = env.unwrapped.task
    p, kp = task.params, task.kp
    model = p.to_kernel(task.horizon, kernels.OBS_PURCHASE)
    assert kernels.B2BDriverParams._fields[: len(model)] == model._fields  # model fields first
    for name, mine, theirs in zip(model._fields, kp.model(), model, strict=True):
        np.testing.assert_array_equal(mine, theirs, err_msg=name)
    # The tables hold what the model's functions return, entry by entry.
    emis = kp.emis.reshape(2, p.n_spend, p.n_levels)
    for a, m in enumerate(p.spend_grid):
        np.testing.assert_allclose(emis[:, a], p.emission_matrix(m), rtol=1e-12, atol=0)
        for k in range(p.max_tslp + 1):
            direct = kernels.transition_probs(kp, kp.customer, m, k)
            tabled = (kp.q01[a, k], kp.q11_plain[a, k], kp.q11_maint[a, k])
            np.testing.assert_allclose(tabled, direct, rtol=1e-12, atol=0)
    act = np.random.default_rng(1).integers(0, p.n_spend, (150, 64))
    spend = p.spend_grid[act]  # what Box actions reach the kernel as: dollars
    box = kp._replace(continuous=True)
    k = kernels.KERNELS
    for build in ((k.reset, k.step), (k.reset_serial, k.step_serial)):
        tabled = _run_kernel(build, kp, act)
        direct = _run_kernel(build, box, spend)
        np.testing.assert_allclose(tabled, direct, rtol=1e-12, atol=0)
    assert np.unique(tabled[:, -64:]).size > 1  # purchases happened
    # Both paths of the compiled driver equal its Python source.
    python = (k.reset_python, k.step_python)
    np.testing.assert_array_equal(_run_kernel(python, kp, act[:20]), tabled[:20])
    np.testing.assert_array_equal(_run_kernel(python, box, spend[:20]), direct[:20])
