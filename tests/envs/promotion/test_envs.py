"""PromotionBandit-v0 / PromotionCampaign-v0: dynamics, rules, rewards, references."""

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from agents.bandits import EpsilonGreedy
from crm_envs.envs.promotion.env import PromotionBanditEnv, PromotionCampaignEnv
from crm_envs.envs.promotion.plan import plan
from crm_envs.envs.promotion.presets import get_preset
from crm_envs.envs.promotion.vector_env import PromotionBanditVectorEnv

P = get_preset("mandania2025_ferry")
M = P.build()


def test_bandit_rewards_average_to_the_true_expected_uplift():
    env = PromotionBanditVectorEnv(4000, horizon=5)
    _, _info = env.reset(seed=0)
    exp = gym.make("crm_envs/PromotionBandit-v0").unwrapped.setup.expected_rewards
    assert exp[0] == 0.0 and int(np.argmax(exp)) == 1 + 0 * 5 + 4  # 7% for 5 months
    np.testing.assert_allclose(exp[1:].reshape(4, 5), M.uplift().sum(axis=(0, 1)) * 1e-3)
    for arm in (0, 5, 7, 20):
        _, rew, *_ = env.step(np.full(4000, arm))
        se = rew.std() / np.sqrt(4000)
        assert abs(rew.mean() - exp[arm]) < 4 * se + 1e-9


def test_single_segment_bandit_and_regret_info():
    env = PromotionBanditEnv(segment=(12, 2))  # 5+/up to 1 month, high contribution
    env.reset(seed=0)
    exp = env.setup.expected_rewards
    assert exp.max() == 0.0  # every promotion loses money for the most frequent buyers
    _, _, _, _, info = env.step(5)
    assert info["regret"] == pytest.approx(exp.max() - exp[5]) and info["regret"] > 0


def test_epsilon_greedy_regret_is_the_exploration_cost_once_the_best_arm_is_found():
    env = PromotionBanditEnv(horizon=2000)
    survey = env.setup.survey_uplift_per_member()
    initial = np.concatenate([[0.0], (survey[:, 1:] * env.setup.members[:, None]).sum(0)]) * 1e-3
    agent = EpsilonGreedy(env, epsilon=0.1, alpha=0.1, initial=initial, seed=1).learn(2000)
    regret = np.cumsum(agent.regrets)
    assert len(regret) == 2000
    assert agent.predict(0)[0] == env.setup.expected_rewards.argmax()
    # With the greedy arm right, a pull costs only when exploring: epsilon * mean gap.
    exp = env.setup.expected_rewards
    per_pull = (regret[-1] - regret[999]) / 1000
    assert per_pull == pytest.approx(0.1 * (exp.max() - exp).mean(), rel=0.25)


def test_campaign_rejects_rule_breaking_actions_and_can_raise():
    env = PromotionCampaignEnv(rule=3)
    env.reset(seed=0)
    mixed = np.zeros(42, dtype=np.int64)
    mixed[0] = 5
    assert not env.allowed(mixed) and env.allowed(np.full(42, 5))
    _obs, _, _, _, info = env.step(mixed)
    assert info["rejected"]
    strict = PromotionCampaignEnv(rule=2, on_violation="raise")
    strict.reset(seed=0)
    two_types = np.full(42, 5)
    two_types[3] = 6 + 5  # another promotion type
    with pytest.raises(ValueError, match="breaks business rule 2"):
        strict.step(two_types)
    assert strict.allowed(np.zeros(42, dtype=np.int64))
    with pytest.raises(ValueError, match=r"arms must lie in 0..20"):
        strict.step(np.full(42, 21))


def test_campaign_observation_reports_transactions_and_profit():
    env = PromotionCampaignEnv(rule=1)
    env.reset(seed=0)
    obs, _reward, _, _, info = env.step(np.zeros(42, dtype=np.int64))
    assert obs.shape == (84,) and not info["rejected"]
    per_member = obs[:42].reshape(14, 3).mean(axis=1)
    np.testing.assert_allclose(per_member[0], M.baseline[0].sum(), rtol=0.1)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="rule must be one of"):
        PromotionCampaignEnv(rule=5)
    with pytest.raises(ValueError, match="segment"):
        PromotionBanditEnv(segment=(14, 0))
    with pytest.raises(ValueError, match="epsilon must lie in"):
        EpsilonGreedy(PromotionBanditEnv(), epsilon=1.5)


def test_reference_actions_are_the_exact_optima():
    vec = gym.make_vec("crm_envs/PromotionCampaign-v0", num_envs=3,
                       vectorization_mode="vector_entry_point")  # fmt: skip
    ref = vec.unwrapped.reference_action(None)
    setup = vec.unwrapped.setup
    true = setup.true_uplift_per_member()
    best = plan(setup.uplift_table(true), rule=1).total
    assert ref.shape == (3, 42)
    assert (true[np.arange(42), ref[0]] * setup.members).sum() == pytest.approx(best)
    bandit = gym.make_vec("crm_envs/PromotionBandit-v0", num_envs=2,
                          vectorization_mode="vector_entry_point")  # fmt: skip
    assert bandit.unwrapped.reference_action(None).tolist() == [5, 5]


def _expected_rewards_by_segment(setup, log_drift):
    """Rule-3 expected reward of every arm, summed segment by segment with scaled lifts."""
    m = setup.model
    out = np.zeros(setup.n_arms)
    for j, (g, c) in enumerate(setup.segments):
        table = m.uplift_per_member(m.lift * np.exp(log_drift[j]))[g, c].ravel()
        out[1:] += table * m.members[g, c]
    return out * setup.kp.reward_scale


@pytest.mark.parametrize("drift_sd", [0.3, 2.0, 50.0])
def test_drift_is_bounded_and_regret_uses_the_current_means(drift_sd):
    # Issue 13: the drift was an unbounded walk (inf rewards at drift_sd=2, or a lift stuck
    # at 0) and regret came from the drift-free means.
    env = PromotionBanditEnv(drift_sd=drift_sd, drift_max=3.0, horizon=60)
    _, info = env.reset(seed=4)
    setup = env.setup
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
    vec = PromotionBanditVectorEnv(3, drift_sd=0.5, horizon=10)
    vec.reset(seed=7)
    singles = [PromotionBanditEnv(drift_sd=0.5, horizon=10) for _ in range(3)]
    for i, e in enumerate(singles):
        e.reset(seed=7 + i)
    for t in range(8):
        arms = np.array([t, 2 * t % 21, 20 - t])
        _, _, _, _, info = vec.step(arms)
        for i, e in enumerate(singles):
            _, _, _, _, one = e.step(int(arms[i]))
            assert info["regret"][i] == pytest.approx(one["regret"], abs=1e-12)
            np.testing.assert_allclose(info["expected_rewards"][i], one["expected_rewards"])


@pytest.mark.parametrize(
    "make,error,match",
    [
        (lambda: PromotionCampaignEnv(segment=(0, 0)), ValueError, "bandit only"),
        (lambda: PromotionCampaignEnv(rule=True), TypeError, "rule must be an integer"),
        (lambda: PromotionBanditEnv(segment=3), TypeError, "segment must be a"),
        (lambda: PromotionBanditEnv(drift_max=1.0), ValueError, "drift_max must lie in"),
        (lambda: PromotionBanditEnv(drift_sd=float("inf")), ValueError, "drift_sd must be"),
    ],
)
def test_kwargs_are_not_ignored_or_coerced(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_campaign_observations_stay_in_finite_bounds():
    env = gym.make_vec(
        "crm_envs/PromotionCampaign-v0",
        num_envs=64,
        vectorization_mode="vector_entry_point",
        drift_sd=1.0,
        horizon=50,
    )
    space = env.single_observation_space
    assert np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(100):
        assert np.all((obs >= space.low) & (obs <= space.high))
        obs, *_ = env.step(rng.integers(0, 21, (64, 42)))
