"""PromotionBandit-v2 / PromotionCampaign-v2: dynamics, rules, budget, rewards, references."""

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from crm_envs.envs.promotion.env import (
    PromotionEnv,
    PromotionVectorEnv,
)
from crm_envs.envs.promotion.plan import plan
from crm_envs.envs.promotion.presets import get_preset
from crm_envs.envs.promotion.task import VARIANT_DEFAULTS, PromotionTask

P = get_preset("mandania2025_ferry")
M = P.build()
BANDIT, CAMPAIGN = "crm_envs/PromotionBandit-v2", "crm_envs/PromotionCampaign-v2"


def test_bandit_pull_is_a_batch_of_customers_in_the_cohorts_mix():
    exp = gym.make(BANDIT).unwrapped.task.expected_rewards
    assert exp[0] == 0.0 and int(np.argmax(exp)) == 1 + 0 * 5 + 4  # 7% for 5 months
    per_customer = M.uplift().sum(axis=(0, 1)) / M.members.sum()  # (K, S)
    np.testing.assert_allclose(exp[1:].reshape(4, 5), 1000 * per_customer, rtol=1e-12)
    whole = PromotionEnv(batch_size=None, reward_scale=1e-3).task.expected_rewards
    np.testing.assert_allclose(whole[1:].reshape(4, 5), M.uplift().sum(axis=(0, 1)) * 1e-3)


def test_bandit_rewards_have_the_stated_mean_and_standard_deviation():
    env = PromotionVectorEnv(4000, horizon=5)
    env.reset(seed=0)
    setup = env.task
    exp, sd = setup.expected_rewards, setup.reward_sd()
    for arm in (0, 5, 7, 20):
        _, rew, *_ = env.step(np.full(4000, arm))
        assert abs(rew.mean() - exp[arm]) < 4 * rew.std() / np.sqrt(4000)
        assert rew.std() == pytest.approx(sd[arm], rel=0.06)


def test_default_bandit_is_a_real_bandit_problem():
    # Issue 17: v0's best arm was 7.3 reward s.d. ahead; one pull per arm identified it.
    setup = gym.make(BANDIT).unwrapped.task
    exp, sd = setup.expected_rewards, setup.reward_sd()
    second = np.sort(exp)[-2]
    assert 0.3 < (exp.max() - second) / sd[exp.argmax()] <= 1.0
    assert setup.difficulty() == pytest.approx((exp.max() - second) / sd[exp.argmax()])
    whole = PromotionEnv(batch_size=None).task.difficulty()
    assert whole > 10  # a whole-cohort pull is easy: the reason a pull is a batch
    # Difficulty grows with the square root of the batch.
    small = PromotionEnv(batch_size=250.0).task.difficulty()
    assert small == pytest.approx(setup.difficulty() / 2, rel=1e-9)
    assert setup.scoring == "regret"


def test_single_segment_bandit_and_regret_info():
    env = PromotionEnv(segment=(12, 2))  # 5+/up to 1 month, high contribution
    env.reset(seed=0)
    exp = env.task.expected_rewards
    assert exp.max() == 0.0  # every promotion loses money for the most frequent buyers
    _, _, _, _, info = env.step(5)
    assert info["regret"] == pytest.approx(exp.max() - exp[5]) and info["regret"] > 0
    assert info["best_arm"] == 0


def test_campaign_rejects_rule_breaking_actions_and_can_raise():
    env = PromotionEnv(campaign=True, rule=3)
    env.reset(seed=0)
    mixed = np.zeros(42, dtype=np.int64)
    mixed[0] = 5
    assert not env.allowed(mixed) and env.allowed(np.full(42, 5))
    _obs, _, _, _, info = env.step(mixed)
    assert info["rejected"] and not info["over_budget"]
    strict = PromotionEnv(campaign=True, rule=2, on_violation="raise")
    strict.reset(seed=0)
    two_types = np.full(42, 5)
    two_types[3] = 6 + 5  # another promotion type
    with pytest.raises(ValueError, match="breaks business rule 2"):
        strict.step(two_types)
    assert strict.allowed(np.zeros(42, dtype=np.int64))
    with pytest.raises(ValueError, match=r"actions must lie in the action space MultiDiscrete"):
        strict.step(np.full(42, 21))


def test_rule4_needs_everyone_or_no_one_promoted_with_free_choices():
    env = PromotionEnv(campaign=True, rule=4)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    free = rng.integers(1, 21, 42)
    assert env.allowed(free) and env.allowed(np.zeros(42, dtype=np.int64))
    some = free.copy()
    some[7] = 0
    assert not env.allowed(some)
    assert env.step(some)[4]["rejected"]
    ref = env.task.best_action()
    assert (ref > 0).all() and env.allowed(ref)


def test_budget_is_enforced_by_the_env_and_the_reference_respects_it():
    full = PromotionEnv(campaign=True, rule=1).task
    best = np.asarray(full.best_action())
    budget = 0.5 * float(full.resource_used(best)[0])
    env = PromotionEnv(campaign=True, rule=1, budget=budget)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(best)  # rule-abiding but over budget
    assert info["rejected"] and info["over_budget"]
    # Rejected: nothing is promoted, so the reward is noise around 0.
    assert abs(reward) < 0.02 * full.expected_rewards.max() + 5
    ref = np.asarray(env.task.best_action())
    assert env.task.resource_used(ref)[0] <= budget * (1 + 1e-9)
    _, _, _, _, info = env.step(ref)
    assert not info["rejected"] and not info["over_budget"]
    # The resource is the discount on customary sales: cost x fare x baseline months x members.
    arms = np.full(42, 1 + 0 * 5 + 2)  # 7% for 3 months everywhere
    want = (0.07 * M.fare * M.baseline[:, :3].sum(1)[:, None] * M.members).sum()
    assert env.task.resource_used(arms)[0] == pytest.approx(want)
    raising = PromotionEnv(campaign=True, rule=1, budget=budget, on_violation="raise")
    raising.reset(seed=0)
    with pytest.raises(ValueError, match="exceeds the budget"):
        raising.step(best)
    with pytest.raises(ValueError, match="apply to the campaign env only"):
        PromotionEnv(budget=1.0)  # a bandit pull has no plan to budget


def test_random_exploration_obeys_rule_and_budget():
    full = PromotionEnv(campaign=True, rule=4).task
    budget = 0.3 * float(full.resource_used(np.asarray(full.best_action()))[0])
    setup = PromotionEnv(campaign=True, rule=4, budget=budget).task
    rng = np.random.default_rng(1)
    plans = np.array([setup.random_allowed(rng) for _ in range(50)])
    assert setup.allowed(plans).all() and not setup.over_budget(plans).any()
    assert (plans > 0).all(axis=1).any()  # not only the empty plan


def test_campaign_observation_reports_transactions_and_profit():
    env = PromotionEnv(campaign=True, rule=1)
    env.reset(seed=0)
    obs, _reward, _, _, info = env.step(np.zeros(42, dtype=np.int64))
    assert obs.shape == (84,) and not info["rejected"]
    per_member = obs[:42].reshape(14, 3).mean(axis=1)
    np.testing.assert_allclose(per_member[0], M.baseline[0].sum(), rtol=0.1)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="rule must be one of"):
        PromotionEnv(campaign=True, rule=5)
    with pytest.raises(ValueError, match="segment"):
        PromotionEnv(segment=(14, 0))
    with pytest.raises(ValueError, match="batch_size must"):
        PromotionEnv(batch_size=0.0)
    with pytest.raises(ValueError, match="budget must"):
        PromotionEnv(campaign=True, budget=-5.0)


def test_reference_actions_are_the_exact_optima():
    vec = gym.make_vec(CAMPAIGN, num_envs=3, vectorization_mode="vector_entry_point")
    setup = vec.unwrapped.task
    ref = np.atleast_2d(setup.best_action())
    true = setup.true_uplift_per_member()
    best = plan(setup.uplift_table(true), rule=1).total
    assert ref.shape == (1, 42)
    assert (true[np.arange(42), ref[0]] * setup.members).sum() == pytest.approx(best)
    bandit = gym.make_vec(BANDIT, num_envs=2, vectorization_mode="vector_entry_point")
    assert bandit.unwrapped.task.best_action() == 5


def _expected_rewards_by_segment(setup, log_drift):
    """Rule-3 expected reward of every arm, summed segment by segment with scaled lifts."""
    m = setup.model
    out = np.zeros(setup.n_arms)
    for j, (g, c) in enumerate(setup.segments):
        table = m.uplift_per_member(m.lift * np.exp(log_drift[j]))[g, c].ravel()
        out[1:] += table * setup.kp.members[j]
    return out * setup.kp.reward_scale


@pytest.mark.parametrize("drift_sd", [0.3, 2.0, 50.0])
def test_drift_is_bounded_and_regret_uses_the_current_means(drift_sd):
    env = PromotionEnv(drift_sd=drift_sd, drift_max=3.0, horizon=60)
    _, info = env.reset(seed=4)
    setup = env.task
    moved = False
    for t in range(60):
        log_drift = env._fstate[0].copy()
        assert np.all(np.abs(log_drift) <= np.log(3.0) + 1e-12)
        want = _expected_rewards_by_segment(setup, log_drift)
        _, reward, _, _, info = env.step(t % setup.n_arms)
        assert np.isfinite(reward)
        np.testing.assert_allclose(info["expected_rewards"], want, rtol=1e-9, atol=1e-9)
        assert info["regret"] == pytest.approx(want.max() - want[t % setup.n_arms], abs=1e-9)
        moved |= not np.allclose(want, setup.expected_rewards)
    assert moved


def test_vector_bandit_regret_equals_single_envs_with_drift():
    vec = PromotionVectorEnv(3, drift_sd=0.5, horizon=10)
    vec.reset(seed=7)
    singles = [PromotionEnv(drift_sd=0.5, horizon=10) for _ in range(3)]
    for i, e in enumerate(singles):
        e.reset(seed=7 + i)
    for t in range(8):
        arms = np.array([t, 2 * t % 21, 20 - t])
        _, _, _, _, info = vec.step(arms)
        for i, e in enumerate(singles):
            _, _, _, _, one = e.step(int(arms[i]))
            assert info["regret"][i] == pytest.approx(one["regret"], rel=1e-12, abs=1e-9)
            assert info["best_arm"][i] == one["best_arm"]
            np.testing.assert_allclose(info["expected_rewards"][i], one["expected_rewards"])


@pytest.mark.parametrize(
    "make,error,match",
    [
        (lambda: PromotionEnv(campaign=True, params=object()), TypeError, "params must be"),
        (lambda: PromotionEnv(campaign=True, rule=True), TypeError, "rule must be an integer"),
        (lambda: PromotionEnv(segment=3), TypeError, "segment must be a"),
        (lambda: PromotionEnv(drift_max=1.0), ValueError, "drift_max must lie in"),
        (lambda: PromotionEnv(drift_sd=float("inf")), ValueError, "drift_sd must be"),
    ],
)
def test_kwargs_are_not_ignored_or_coerced(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_campaign_observations_stay_in_finite_bounds():
    env = gym.make_vec(CAMPAIGN, num_envs=64, vectorization_mode="vector_entry_point",
                       drift_sd=1.0, horizon=50)  # fmt: skip
    space = env.single_observation_space
    assert np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(100):
        assert np.all((obs >= space.low) & (obs <= space.high))
        obs, *_ = env.step(rng.integers(0, 21, (64, 42)))


@pytest.mark.parametrize("env_id,campaign", [(BANDIT, False), (CAMPAIGN, True)])
def test_one_task_with_the_variant_as_an_argument_defaults_to_the_registered_values(
    env_id, campaign
):
    task = PromotionTask(campaign=campaign)
    registered = gym.make(env_id).unwrapped.task
    for key, value in gym.spec(env_id).kwargs.items():
        if key != "preset":
            assert getattr(task, key) == value, key
    for key in VARIANT_DEFAULTS["campaign" if campaign else "bandit"]:
        assert getattr(task, key) == getattr(registered, key), key
    assert task.campaign is campaign and task.kernels is registered.kernels
    assert task.action_space == registered.action_space
    assert task.observation_space == registered.observation_space
    np.testing.assert_array_equal(task.kp.exp0, registered.kp.exp0)


def test_single_and_vector_envs_report_the_same_info_at_reset_and_step():
    env = PromotionEnv(drift_sd=0.3)
    vec = PromotionVectorEnv(2, drift_sd=0.3)
    obs, info = env.reset(seed=3)
    vobs, vinfo = vec.reset(seed=3)
    assert sorted(info) == sorted(vinfo) == ["best_arm", "expected_rewards", "regret"]
    assert obs == 0 and isinstance(obs, np.integer) and env.observation_space.contains(obs)
    assert info["regret"] == 0.0 and info["best_arm"] == int(np.argmax(info["expected_rewards"]))
    np.testing.assert_array_equal(info["expected_rewards"], vinfo["expected_rewards"][0])
    assert isinstance(info["best_arm"], int) and isinstance(info["regret"], float)
    obs, _, _, _, info = env.step(3)
    vobs, _, _, _, vinfo = vec.step(np.array([3, 0]))
    assert sorted(info) == sorted(vinfo) and obs == 0 and np.all(vobs == 0)
    assert info["regret"] == vinfo["regret"][0] > 0.0
    camp, vcamp = PromotionEnv(campaign=True, rule=3), PromotionVectorEnv(2, campaign=True, rule=3)
    assert sorted(camp.reset(seed=0)[1]) == sorted(vcamp.reset(seed=0)[1])
    mixed = np.arange(42) % 21
    _, _, _, _, info = camp.step(mixed)
    _, _, _, _, vinfo = vcamp.step(np.stack([mixed, np.zeros(42, np.int64)]))
    assert info == {"rejected": True, "over_budget": False}
    assert vinfo["rejected"].tolist() == [True, False] and sorted(vinfo) == sorted(info)


def test_a_restarted_campaign_copy_runs_no_plan_and_rejects_nothing():
    vec = PromotionVectorEnv(2, campaign=True, rule=3, horizon=1)
    vec.reset(seed=0)
    mixed = np.tile(np.arange(42) % 21, (2, 1))
    _, _, _, trunc, info = vec.step(mixed)
    assert trunc.all() and info["rejected"].all()
    obs, reward, _, trunc, info = vec.step(mixed)  # NEXT_STEP autoreset: the plan is ignored
    assert not trunc.any() and np.all(reward == 0.0) and np.all(obs == 0.0)
    assert not info["rejected"].any() and not info["over_budget"].any()


def test_a_rule_breaking_plan_raises_before_the_vector_env_moves():
    vec = PromotionVectorEnv(3, campaign=True, rule=2, on_violation="raise")
    vec.reset(seed=0)
    state, fstate = vec._state.copy(), vec._fstate.copy()
    plans = np.full((3, 42), 5)
    plans[2, 0] = 6 + 5  # another promotion type in one copy
    with pytest.raises(ValueError, match="breaks business rule 2"):
        vec.step(plans)
    np.testing.assert_array_equal(vec._state, state)
    np.testing.assert_array_equal(vec._fstate, fstate)
    plans[2, 0] = 5
    _, _, _, _, info = vec.step(plans)
    assert not info["rejected"].any()
    with pytest.raises(ValueError, match=r"actions must lie in the action space MultiDiscrete"):
        vec.step(np.full((3, 42), -1, dtype=np.int8))


def test_tabular_agents_learn_the_same_on_the_bandits_numba_and_gymnasium_backends():
    from gymnasium.wrappers import TransformReward

    from agents.tabular import QLearning

    env = gym.make(BANDIT, horizon=300)
    it_env = env.unwrapped
    it_env.reset(seed=0)
    it = it_env.jit_interface()
    assert it.obs.shape == (1, 1) and np.shares_memory(it.obs, it_env._obs)
    fast = QLearning(gym.make(BANDIT, horizon=300), seed=4, epsilon_start=0.5).learn(1_000)
    slow = QLearning(TransformReward(gym.make(BANDIT, horizon=300), lambda r: r), seed=4,
                     epsilon_start=0.5).learn(1_000)  # fmt: skip
    assert (fast.backend, slow.backend) == ("numba", "gymnasium")
    for name in ("q", "counts", "episode_returns"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    assert len(fast.episode_returns) == 3 and np.abs(fast.q).max() > 1.0


def test_kernel_tables_are_built_once_per_params_and_arguments():
    # gym.make must not rebuild the sampling tables (they took the campaign 125 ms a make):
    # envs of the same params and arguments share one kernel-parameter tuple, other
    # arguments get their own, and a pickled params object carries none of them.
    import pickle

    for env_id in (BANDIT, CAMPAIGN):
        first, second = (gym.make(env_id).unwrapped.task.kp for _ in range(2))
        assert first is second
        with pytest.raises(ValueError, match="read-only"):  # shared: nobody may write them
            first.alias[0] = 0
    bandit = gym.make(BANDIT).unwrapped.task
    other = PromotionTask(batch_size=500.0).kp
    assert other is not bandit.kp and not np.array_equal(other.members, bandit.kp.members)
    assert "_kernel_params" not in pickle.loads(pickle.dumps(P)).__dict__
    # A sweep over budgets reuses the sampling tables and keeps at most MEMO_SIZE entries.
    from crm_envs.envs.promotion.params import MEMO_SIZE

    budgets = [PromotionTask(campaign=True, budget=b).kp for b in range(1, MEMO_SIZE + 3)]
    assert all(kp.alias is budgets[0].alias for kp in budgets)
    assert [kp.budget for kp in budgets] == list(range(1, MEMO_SIZE + 3))
    assert len(P.__dict__["_kernel_params"]) <= MEMO_SIZE


def test_pooled_bandit_draws_give_the_segment_by_segment_reward_distribution():
    # Without drift the bandit draws one count per pool of equally valued segments and month;
    # a drift too small to move the means draws segment by segment. Their rewards must share
    # the mean (the arm's expected reward) and the standard deviation (reward_sd).
    kwargs = {"batch_size": None, "reward_scale": 1e-3}
    pooled = PromotionTask(**kwargs)
    assert pooled.kp.pool_weight.shape[0] < len(pooled.segments)  # pools are formed
    n, arm = 50_000, 11
    exp, sd = pooled.expected_rewards[arm], pooled.reward_sd()[arm]
    for drift in (0.0, 1e-300):
        env = PromotionVectorEnv(num_envs=n, drift_sd=drift, **kwargs)
        env.reset(seed=3)
        r = np.concatenate([env.step(np.full(n, arm))[1] for _ in range(2)])
        assert abs(r.mean() - exp) < 4 * sd / np.sqrt(r.size), drift
        assert r.std() == pytest.approx(sd, rel=0.03), drift
