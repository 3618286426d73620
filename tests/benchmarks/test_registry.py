"""The agent registry and suites as data: derived pairings, env configurations, headroom
filtering, regret scoring, sb3-contrib adapters and rliable aggregates."""

import inspect

import gymnasium as gym
import numpy as np
import pytest
from scipy import stats

from benchmarks import harness, registry
from benchmarks.registry import AGENTS, SUITES, Suite, parse_config, unsupported
from crm_envs.core.oracle import evaluate

JOURNEY = "crm_envs/CustomerJourney-v1"


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_suites_pair_only_agents_that_support_the_spaces(suite):
    runs, left_out = SUITES[suite].pairs([JOURNEY, "crm_envs/ROIAllocation-v0"])
    assert runs and left_out
    for config, agent, _ in runs:
        assert unsupported(registry.make_env(config), agent) is None
    for config, agent, reason in left_out:
        why = unsupported(registry.make_env(config), agent)
        if why is None:  # the spaces fit, so the suite must exclude it by name
            assert (config, agent) in SUITES[suite].exclude
            assert reason == f"excluded from this suite ({agent} on {config})"
        else:
            assert reason == why and agent in reason
    # A tabular agent is never paired with Box observations, and SAC never with Discrete actions.
    assert ("crm_envs/ROIAllocation-v0", "q_learning") not in {(c, a) for c, a, _ in runs}
    assert (JOURNEY, "sac") not in {(c, a) for c, a, _ in runs}


def test_every_registered_agent_spec_is_valid():
    for name, spec in AGENTS.items():
        assert spec.description, name
        assert set(spec.needs) <= set(registry.NEEDS)
    with pytest.raises(ValueError, match="unknown entries"):
        registry.AgentSpec("agents.tabular.QLearning", needs=("telepathy",))
    with pytest.raises(ValueError, match=r"module\.Class"):
        registry.AgentSpec("QLearning")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (JOURNEY, (JOURNEY, {})),
        ("crm_envs/B2BCustomer-v1[observation=purchase]", ("crm_envs/B2BCustomer-v1",
                                                           {"observation": "purchase"})),
        ("x-v0[horizon=5,continuous=true]", ("x-v0", {"horizon": 5, "continuous": True})),
    ],
)  # fmt: skip
def test_parse_config(config, expected):
    assert parse_config(config) == expected


@pytest.mark.parametrize("bad", ["x-v0[horizon]", "x-v0[a=1", "x-v0]", "x-v0[a=1][b=2]"])
def test_parse_config_rejects_malformed(bad):
    with pytest.raises(ValueError, match="configuration"):
        parse_config(bad)


def test_a_suite_leaves_out_configurations_without_headroom(tmp_path, monkeypatch):
    runs = [harness.Run(JOURNEY, "random", 0, 0, 30)]
    budgets = {JOURNEY: {"*": 10}}
    monkeypatch.setitem(SUITES, "strict", Suite("t", budgets, ("random",), min_headroom_se=1e9))
    monkeypatch.setitem(SUITES, "lax", Suite("t", budgets, ("random",), min_headroom_se=0.0))
    kept, left_out = harness.select(runs, "strict", tmp_path, progress_bar=False)
    assert kept == [] and [e["env_id"] for e in left_out] == [JOURNEY]
    assert "s.e. < 1e+09 at 30 episodes" in left_out[0]["reason"]
    assert (tmp_path / "headroom.json").exists() and (tmp_path / "suite.json").exists()
    # The cached headroom is reused: the lax suite keeps the run without re-measuring.
    monkeypatch.setattr(harness, "headroom_of", lambda *a: pytest.fail("not cached"))
    assert harness.select(runs, "lax", tmp_path, progress_bar=False) == (runs, [])


class _Bandit(gym.Env):
    """Three arms with known means; info as the promotion bandit gives it."""

    means = np.array([1.0, 2.0, 4.0])
    observation_space = gym.spaces.Discrete(1)
    action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        info = {"expected_rewards": self.means, "regret": float(4.0 - self.means[action])}
        return 0, float(self.means[action]), False, False, info


def test_regret_monitor_sums_regret_and_randoms_expected_regret():
    env = harness.RegretMonitor(_Bandit())
    env.reset(seed=0)
    for action in (0, 1, 2, 2):
        env.step(action)
    assert env.pulls == 4
    assert env.regret == pytest.approx(3.0 + 2.0)
    # Uniform random loses 4 - 7/3 per pull.
    assert env.random_regret == pytest.approx(4 * (4.0 - 7.0 / 3.0))


def test_masked_and_recurrent_sb3_contrib_policies(tmp_path):
    pytest.importorskip("sb3_contrib")
    env = gym.make(JOURNEY)
    masked = harness.policy_of("maskable_ppo", harness.train("maskable_ppo", env, 0, 0))
    obs, info = env.reset(seed=3)
    for _ in range(30):
        action = masked.act(obs, info)
        assert info["action_mask"][action] == 1  # never a move off the grid
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            obs, info = env.reset()
    config = "crm_envs/ROIAllocation-v0"
    recurrent = harness.policy_of("recurrent_ppo", harness.train(
        "recurrent_ppo", registry.make_env(config), 0, 0))  # fmt: skip
    assert recurrent.start is not None
    first = evaluate(lambda: registry.make_env(config), recurrent, 3, 7)
    again = evaluate(lambda: registry.make_env(config), recurrent, 3, 7)
    np.testing.assert_array_equal(first, again)  # memory starts afresh every episode


def test_aggregates_are_rliables_iqm_and_optimality_gap():
    pytest.importorskip("rliable")
    from benchmarks.report import aggregate

    rng = np.random.default_rng(0)
    scores = rng.normal(0.7, 0.3, size=(5, 3))
    rows = [
        {"env_id": f"e{t}", "agent": "a", "seed": s, "budget": 1, "score": float(scores[s, t]),
         "error": None, "skipped": None}
        for s in range(5) for t in range(3)
    ]  # fmt: skip
    agg = aggregate(rows, reps=500, seed=0)["a"]
    assert agg["runs"] == 5 and agg["tasks"] == ["e0", "e1", "e2"] and not agg["few_runs"]
    assert agg["iqm"] == pytest.approx(stats.trim_mean(scores.ravel(), 0.25))
    assert agg["gap"] == pytest.approx(np.mean(np.maximum(1.0 - scores, 0.0)))
    assert agg["iqm_ci"][0] < agg["iqm"] < agg["iqm_ci"][1]
    assert aggregate(rows[:6], reps=100)["a"]["few_runs"]  # 2 runs per env


def test_aggregate_intervals_are_reproducible_and_leave_numpys_global_state_alone():
    pytest.importorskip("rliable")
    from benchmarks.report import aggregate

    rng = np.random.default_rng(1)
    rows = [
        {"env_id": f"e{t}", "agent": a, "seed": s, "budget": 1, "score": float(rng.normal()),
         "error": None, "skipped": None}
        for a in ("a", "b") for s in range(5) for t in range(2)
    ]  # fmt: skip
    np.random.seed(123)  # noqa: NPY002 - the legacy global generator rliable reads
    before = np.random.get_state()[1].copy()  # noqa: NPY002 - the legacy global generator rliable reads
    first = aggregate(rows, reps=300, seed=4)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002 - the legacy global generator rliable reads
    np.random.seed(999)  # rliable's bootstrap reads the global generator: it must not matter  # noqa: NPY002 - the legacy global generator rliable reads
    again = aggregate(rows, reps=300, seed=4)
    for agent in ("a", "b"):
        assert first[agent]["iqm_ci"] == again[agent]["iqm_ci"]
        assert first[agent]["gap_ci"] == again[agent]["gap_ci"]
    other = aggregate(rows, reps=300, seed=5)
    assert other["a"]["iqm_ci"] != first["a"]["iqm_ci"]  # the seed does choose the resamples
    alone = aggregate([r for r in rows if r["agent"] == "b"], reps=300, seed=4)
    assert alone["b"]["iqm_ci"] == first["b"]["iqm_ci"]  # whichever other agents ran


def test_performance_profiles_png_is_the_same_on_every_call(tmp_path):
    pytest.importorskip("rliable")
    pytest.importorskip("matplotlib")
    from benchmarks.report import _plot_profiles, aggregate

    rng = np.random.default_rng(2)
    rows = [
        {"env_id": f"e{t}", "agent": "a", "seed": s, "budget": 1, "score": float(rng.normal()),
         "error": None, "skipped": None}
        for s in range(5) for t in range(2)
    ]  # fmt: skip
    agg = aggregate(rows, reps=100)
    first = _plot_profiles(agg, tmp_path).read_bytes()
    np.random.seed(7)  # noqa: NPY002 - the legacy global generator rliable reads
    assert _plot_profiles(agg, tmp_path).read_bytes() == first


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_sb3_rollouts_fill_the_bandits_pull_budget_exactly(suite):
    # A bandit is scored by its regret over the training pulls; SB3 finishes its last rollout,
    # so a budget that is not a whole number of rollouts gives its agents more pulls.
    runs, _ = SUITES[suite].pairs()
    checked = 0
    for config, agent, budget in runs:
        spec = AGENTS[agent]
        if harness.scoring(config) != "regret" or not spec.sb3 or budget == 0:
            continue
        default = inspect.signature(harness.sb3_class(spec).__init__).parameters.get("n_steps")
        if default is None:  # off-policy: no rollout to finish
            continue
        rollout = spec.kwargs.get("n_steps", default.default)  # regret runs train one copy
        assert budget % rollout == 0, (agent, budget, rollout)
        checked += 1
    assert checked > 0  # every suite runs PPO on the bandit
