"""ROIAllocation-v0 / ROIAllocationDiscrete-v0: dynamics, optimum, reference policy, input."""

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from crm_envs.core.kernels import KEY
from crm_envs.envs.roi_allocation import kernels
from crm_envs.envs.roi_allocation.adbudg import adbudg
from crm_envs.envs.roi_allocation.env import ROIAllocationEnv, ROIAllocationVectorEnv
from crm_envs.envs.roi_allocation.presets import get_preset
from crm_envs.envs.roi_allocation.solver import solve_allocation

P = get_preset("streukens2011")
QUIET = P.replace(cmv_noise=0.0)


def _action(effort, params=P):
    return (2.0 * np.asarray(effort) / params.max_effort - 1.0).astype(np.float32)


def test_one_quarter_without_noise_has_solve_allocations_optimum():
    env = ROIAllocationEnv(params=QUIET, horizon=1, reward_scale=1.0)
    best = solve_allocation(QUIET)
    obs, _ = env.reset(seed=0)
    _, reward, term, trunc, _ = env.step(_action(best.effort))
    assert reward == pytest.approx(best.profit, rel=1e-5)  # float32 actions
    assert trunc and not term
    np.testing.assert_allclose(env.reference_action(obs), _action(best.effort), atol=1e-6)
    rng = np.random.default_rng(0)
    for _ in range(50):
        env.reset()
        trial = np.clip(_action(best.effort) + rng.normal(0, 0.1, 7), -1, 1).astype(np.float32)
        assert env.step(trial)[1] <= reward + 1e-6


def test_levels_persist_with_kappa_and_decay_otherwise():
    half = QUIET.replace(kappa=np.full(7, 0.5))
    assert P.kappa.tolist() == [0.5] * 7  # the preset's documented choice
    env = ROIAllocationEnv(params=half, reward_scale=1.0)
    env.reset(seed=0)
    x = np.zeros(7)
    x[4] = 40_000.0
    obs, *_ = env.step(_action(x))
    e0 = P.maintenance_effort[4]
    assert obs[4] == pytest.approx(adbudg(e0 + 40_000, 0, 10, 1, 50_000), abs=1e-5)
    obs, *_ = env.step(_action(np.zeros(7)))
    assert obs[4] == pytest.approx(adbudg(e0 + 20_000, 0, 10, 1, 50_000), abs=1e-5)
    env = ROIAllocationEnv(params=QUIET.replace(kappa=1.0), reward_scale=1.0)
    env.reset(seed=0)
    env.step(_action(x))
    obs, reward, *_ = env.step(_action(np.zeros(7)))
    assert obs[4] == pytest.approx(adbudg(e0 + 40_000, 0, 10, 1, 50_000), abs=1e-5)
    # With kappa = 1 a one-off investment keeps paying: this quarter's reward is pure revenue.
    assert reward == pytest.approx(QUIET.revenue(x), rel=1e-5)


def test_budget_caps_spending_and_is_reported():
    small = QUIET.replace(budget=50_000.0)
    env = ROIAllocationEnv(params=small, reward_scale=1.0)
    env.reset(seed=0)
    obs, reward, _, _, info = env.step(np.ones(7, dtype=np.float32))  # 7 x $60,000 wanted
    assert info["budget_limited"] and obs[9] == 0.0
    spent = np.full(7, 50_000.0 / 7)
    assert reward == pytest.approx(QUIET.revenue(spent) - 50_000.0, rel=1e-6)
    _, reward2, _, _, info = env.step(np.ones(7, dtype=np.float32))
    carried = QUIET.levels(0.5 * spent) - QUIET.levels0  # kappa = 0.5 carries half the stock
    assert info["budget_limited"]
    assert reward2 == pytest.approx(QUIET.cmv * QUIET.impacts @ carried, rel=1e-6)


def test_cmv_follows_table4_dynamics():
    env = ROIAllocationVectorEnv(4000, horizon=12)
    obs, _ = env.reset(seed=3)
    path = [obs[:, 7]]
    zero = -np.ones((4000, 7), dtype=np.float32)
    for _ in range(11):
        obs, *_ = env.step(zero)
        path.append(obs[:, 7])
    y = np.array(path) - 1.0  # relative to the mean
    target, lag1, lag2 = y[2:].ravel(), y[1:-1].ravel(), y[:-2].ravel()
    coef, *_ = np.linalg.lstsq(np.column_stack([lag1, lag2]), target, rcond=None)
    np.testing.assert_allclose(coef, P.cmv_ar, atol=0.03)
    resid = target - np.column_stack([lag1, lag2]) @ coef
    assert resid.std() == pytest.approx(P.cmv_noise, rel=0.05)


def test_cmv_shocks_are_independent_standard_normals_in_every_quarter():
    # Quarters 0, 2, ... draw a Box-Muller pair and the next quarter uses its second normal:
    # the shocks recovered from the CMV path must be N(0, 1) in either kind of quarter and
    # uncorrelated between the two quarters sharing a pair.
    from scipy import stats

    n = 4000
    env = ROIAllocationVectorEnv(n, horizon=12)
    mu, (phi1, phi2), sd = P.cmv, P.cmv_ar, P.cmv_noise * P.cmv
    env.reset(seed=11)
    zero = -np.ones((n, 7), dtype=np.float32)
    shocks = []
    for _ in range(11):
        env.step(zero)
        shocks.append(env._fstate[:, 7:9].copy())  # (CMV_t, CMV_t-1) after the step
    z = []
    for t in range(1, 11):
        cmv_next, cmv, cmv_prev = shocks[t][:, 0], shocks[t - 1][:, 0], shocks[t - 1][:, 1]
        z.append((cmv_next - mu - phi1 * (cmv - mu) - phi2 * (cmv_prev - mu)) / sd)
    z = np.array(z)  # z[t - 1] is the shock drawn in quarter t
    for q in range(z.shape[0]):
        assert stats.kstest(z[q], "norm").pvalue > 1e-4, q
    for q in range(1, z.shape[0] - 1, 2):  # quarters 2q' and 2q' + 1 share a pair
        assert abs(np.corrcoef(z[q], z[q + 1])[0, 1]) < 4 / np.sqrt(n)
        assert abs(np.corrcoef(z[q] ** 2, z[q + 1] ** 2)[0, 1]) < 4 / np.sqrt(n)


def test_a_restarted_quarter_draws_a_fresh_box_muller_pair():
    # After a partial reset or a params swap, quarter 0 must draw a new pair (two uniforms),
    # never reuse the spare normal kept by the episode it replaced.
    from crm_envs.core.kernels import CTR, KEY
    from crm_envs.core.rng import splitmix_normal_pair

    n = 4
    env = ROIAllocationVectorEnv(n, horizon=12)
    zero = -np.ones((n, 7), dtype=np.float32)
    env.reset(seed=1)
    env.step(zero)  # quarter 0: a pair drawn, its second normal kept
    mask = np.array([True, False, True, False])
    env.reset(options={"reset_mask": mask})
    before = env._state[:, CTR].copy()
    env.step(zero)
    assert np.array_equal(env._state[:, CTR] - before, np.where(mask, 2, 0))
    sd = P.cmv_noise * P.cmv
    for i in np.flatnonzero(mask):  # quarter 0 starts at the mean: the shock alone moves it
        z = splitmix_normal_pair(env._state[i, KEY], before[i])[0]
        assert env._fstate[i, 7] == pytest.approx(P.cmv + sd * z, rel=1e-12)
    env.reset(options={"params": P.replace(cmv_noise=0.02)})  # restarts every copy
    before = env._state[:, CTR].copy()
    env.step(zero)
    assert (env._state[:, CTR] - before == 2).all()


def test_discrete_actions_invest_one_increment():
    env = ROIAllocationEnv(params=QUIET.replace(kappa=1.0), discrete=True, reward_scale=1.0)
    env.reset(seed=0)
    obs, reward, *_ = env.step(5)  # $5,000 into driver 5 (product-related quality)
    x = np.zeros(7)
    x[4] = 5_000.0
    assert obs[4] == pytest.approx(QUIET.levels(x)[4], abs=1e-5)
    assert reward == pytest.approx(QUIET.revenue(x) - 5_000.0, rel=1e-9)
    obs, reward, *_ = env.step(0)
    assert reward == pytest.approx(QUIET.revenue(x), rel=1e-9)


@pytest.mark.parametrize(
    "env_id", ["crm_envs/ROIAllocation-v0", "crm_envs/ROIAllocationDiscrete-v0"]
)
def test_reference_policy_beats_random(env_id):
    n = 100
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    returns = {}
    for name in ("random", "reference"):
        vec.action_space.seed(0)
        obs, _ = vec.reset(seed=0)
        total = np.zeros(n)
        for _ in range(12):
            act = vec.action_space.sample() if name == "random" else vec.reference_action(obs)
            obs, rew, *_ = vec.step(act)
            total += rew
        returns[name] = total.mean()
    assert returns["reference"] > returns["random"] + 10.0  # thousands of dollars
    assert returns["reference"] > 0


def test_lookahead_reduces_to_solve_allocation_and_values_persistence():
    from crm_envs.envs.roi_allocation.solver import lookahead_allocation

    np.testing.assert_allclose(lookahead_allocation(QUIET, 1), solve_allocation(QUIET).effort)
    np.testing.assert_allclose(
        lookahead_allocation(QUIET, 1, budget=10_000), solve_allocation(QUIET, 10_000).effort
    )
    longer = lookahead_allocation(QUIET, 4)
    assert longer.sum() > solve_allocation(QUIET).total  # effects carry into later quarters
    capped = lookahead_allocation(QUIET.replace(kappa=1.0), 12, cap=60_000, budget=100_000)
    assert capped.max() <= 60_000 + 1e-6 and capped.sum() == pytest.approx(100_000)


@pytest.mark.parametrize("discrete", [False, True])
def test_compiled_drivers_equal_pure_python_through_autoresets(discrete):
    # 5-quarter episodes over 12 steps: the driver's autoreset restarts every copy twice.
    kp = P.to_kernel(5, discrete=discrete, reward_scale=1e-3)
    k = kernels.KERNELS
    outs = []
    for reset, step in ((k.reset, k.step), (k.reset_serial, k.step_serial),
                        (k.reset_python, k.step_python)):  # fmt: skip
        f = np.zeros((16, kernels.float_width(7)))
        i = np.zeros((16, kernels.STATE_WIDTH), dtype=np.int64)
        i[:, KEY] = np.arange(16) * 7919
        obs = np.zeros((16, 11), dtype=np.float32)
        rew, term, trunc, lim = (np.zeros(16), np.zeros(16, bool), np.zeros(16, bool),
                                 np.zeros(16, bool))  # fmt: skip
        rng = np.random.default_rng(1)
        trace = []
        with np.errstate(over="ignore"):
            reset(kp, f, i, obs, (lim,))
            for _ in range(12):
                if discrete:
                    act = rng.integers(0, 8, 16)
                else:
                    act = rng.uniform(-1, 1, (16, 7))
                step(kp, f, i, act, obs, rew, term, trunc, (lim,))
                trace.append(np.concatenate([obs.ravel(), rew, term, trunc, lim]))
        outs.append(np.array(trace))
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])
    trunc_col = outs[0][:, 16 * 11 + 32 : 16 * 11 + 48]
    assert trunc_col[4].all() and trunc_col[10].all() and not trunc_col[5].any()
    assert not outs[0][:, 16 * 11 + 16 : 16 * 11 + 32].any()  # never terminated
    assert np.all(outs[0][5, 16 * 11 : 16 * 11 + 16] == 0.0)  # the autoreset step pays 0


def test_discrete_is_a_registered_constructor_argument():
    env = gym.make("crm_envs/ROIAllocationDiscrete-v0").unwrapped
    assert type(env) is ROIAllocationEnv and env.task.discrete
    assert env.action_space == gym.spaces.Discrete(8)
    vec = gym.make_vec("crm_envs/ROIAllocationDiscrete-v0", num_envs=2,
                       vectorization_mode="vector_entry_point")  # fmt: skip
    assert type(vec.unwrapped) is ROIAllocationVectorEnv and vec.unwrapped.task.discrete
    assert vec.single_action_space == gym.spaces.Discrete(8)
    box = gym.make("crm_envs/ROIAllocation-v0").unwrapped
    assert not box.task.discrete and box.action_space.shape == (7,)
    with pytest.raises(ValueError, match="applies to the discrete env only"):
        ROIAllocationEnv(increment=1000.0)
    with pytest.raises(TypeError):
        ROIAllocationEnv(discrete="yes")


def test_float32_float64_and_integer_box_actions_invest_the_same():
    rewards = []
    for dtype in (np.float32, np.float64, np.int64):
        env = ROIAllocationEnv(params=QUIET, reward_scale=1.0)
        env.reset(seed=0)
        action = np.array([-1, 0, 1, 0.5, -0.5, 0, 1]).astype(dtype)  # ints: -1, 0, 1 only
        rewards.append(env.step(action)[1])
    assert rewards[0] == rewards[1]
    # Integer actions truncate 0.5 and -0.5 to 0: a different, valid action.
    assert rewards[2] != rewards[0]
    with pytest.raises(ValueError, match="real numbers"):
        env.step(np.array(["0.5"] * 7))
    with pytest.raises(ValueError, match="real numbers"):
        env.step(np.ones(7, dtype=bool))


def test_bad_actions_and_options_raise():
    env = gym.make("crm_envs/ROIAllocation-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"lie in the action space Box\(-1.0, 1.0"):
        env.unwrapped.step(np.full(7, 1.5, dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        env.unwrapped.step(np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="finite"):
        env.unwrapped.step(np.full(7, np.nan, dtype=np.float32))
    denv = gym.make("crm_envs/ROIAllocationDiscrete-v0").unwrapped
    denv.reset(seed=0)
    with pytest.raises(ValueError, match=r"Discrete\(8\)"):
        denv.step(8)
    with pytest.raises(ValueError, match="unknown reset option"):
        denv.reset(options={"budget": 1})
    with pytest.raises(ValueError, match="Did you mean 'streukens2011'"):
        ROIAllocationEnv(preset="streukens2010")


def test_params_swap_at_reset():
    env = ROIAllocationEnv(reward_scale=1.0)
    env.reset(seed=0, options={"params": QUIET.replace(budget=0.0)})
    _, reward, _, _, info = env.step(np.ones(7, dtype=np.float32))
    assert info["budget_limited"] and reward == 0.0


@pytest.mark.parametrize("a", [0.0, 0.7, 1.3])
def test_reference_action_at_the_adbudg_minimum(a):
    # Issue 13: a driver starting at level == a (allowed) crashed reference_action, because
    # the float32 observation of 0.7 lies just below a.
    levels = np.where(np.arange(7) == 0, a, P.levels0)
    params = P.replace(a=np.full(7, a), levels0=levels)
    for env in (ROIAllocationEnv(params=params), ROIAllocationEnv(params=params, discrete=True)):
        obs, _ = env.reset(seed=0)
        action = env.reference_action(obs)
        assert env.action_space.contains(action)
        env.step(action)
    with pytest.raises(ValueError, match="obs must be one observation in Box"):
        env.reference_action(np.full(11, np.nan, dtype=np.float32))


def test_observation_bounds_are_finite_and_hold_on_long_rollouts():
    # Issue 13: the CMV ratios had +-inf bounds, so both env checkers warned.
    noisy = P.replace(cmv_noise=0.5)
    env = ROIAllocationVectorEnv(2048, params=noisy, horizon=40)
    space = env.single_observation_space
    assert np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))
    # The bound is the impulse response's absolute sum times the largest normal draw.
    phi1, phi2 = noisy.cmv_ar
    psi = [1.0, phi1]
    while len(psi) < 40:
        psi.append(phi1 * psi[-1] + phi2 * psi[-2])
    from crm_envs.core.rng import NORMAL_MAX

    assert noisy.cmv_ratio_bound(40) == pytest.approx(NORMAL_MAX * 0.5 * np.sum(np.abs(psi)))
    obs, _ = env.reset(seed=3)
    for _ in range(200):
        assert np.all((obs >= space.low) & (obs <= space.high))
        obs, *_ = env.step(env.action_space.sample())


def test_params_swap_must_keep_observations_inside_the_space():
    env = ROIAllocationEnv()
    env.reset(seed=0, options={"params": QUIET})  # narrower CMV bound: fine
    with pytest.raises(ValueError, match="would let observations leave the observation space"):
        env.reset(seed=0, options={"params": P.replace(cmv_noise=0.2)})
