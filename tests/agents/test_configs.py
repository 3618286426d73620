"""Every agent config field refuses NaN, infinities, wrong types and out-of-range values.

Issue 13, Medium 9: NaN ``lr``, ``lr_power``, ``initial_q`` or bandit priors used to be
accepted; Q tables then became NaN and ``predict`` answered action 0. Every field must raise a
ValueError/TypeError naming the field, the value and what is allowed. The table below lists
every field of every config; a test fails if a config gains a field that is not in it.
"""

import dataclasses
import math
import re

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from agents.bandits import (
    UCB1,
    EpsilonGreedy,
    EpsilonGreedyConfig,
    GradientBandit,
    GradientBanditConfig,
    ThompsonConfig,
    ThompsonSampling,
    UCB1Config,
)
from agents.common import evaluate_policy
from agents.dp import TabularPolicy, value_iteration
from agents.pomdp import solve
from agents.reinforce import MLPReinforce, ReinforceConfig, TabularReinforce
from agents.tabular import QLearning, TabularConfig
from crm_envs.core.models import TabularMDP, TabularPOMDP
from crm_envs.papers.mandania2025.learner import CampaignLearner, CampaignLearnerConfig

NAN, INF = math.nan, math.inf

# field kind -> (allowed-range text in the message, out-of-range values)
UNIT = (r"\[0\.0, 1\.0\]", [-0.1, 1.5])
POSITIVE = (r"\(0\.0, inf\]", [0.0, -1.0])
NONNEG = (r"\[0\.0, inf\]", [-1e-9])
STEP = (r"\(0\.0, 1\.0\]", [0.0, 1.01])
SD = (r"\[1e-150, 1e\+150\]", [0.0, 1e-200, 1e200])
ANY = (r"\[-inf, inf\]", [])
SEED = (r"\[0, 4294967295\]", [-1, 2**32])
COUNT = (r"\[1, inf\]", [0, -3])

FLOATS = {
    TabularConfig: {
        "gamma": UNIT,
        "lr": POSITIVE,
        "lr_power": NONNEG,
        "epsilon_start": UNIT,
        "epsilon_end": UNIT,
        "epsilon_decay": UNIT,
        "explore_threshold": ANY,
        "initial_q": ANY,
    },
    EpsilonGreedyConfig: {"epsilon": UNIT, "alpha": STEP},
    UCB1Config: {"scale": POSITIVE, "c": NONNEG},
    ThompsonConfig: {"sigma": SD, "prior_mean": ANY, "prior_sd": SD, "scale": POSITIVE},
    GradientBanditConfig: {"alpha": POSITIVE},
    CampaignLearnerConfig: {"epsilon": UNIT, "alpha": STEP},
    ReinforceConfig: {"gamma": UNIT, "lr": POSITIVE, "baseline_lr": STEP},
}
INTS = {
    TabularConfig: {"seed": SEED},
    EpsilonGreedyConfig: {"seed": SEED},
    UCB1Config: {"seed": SEED},
    ThompsonConfig: {"seed": SEED},
    GradientBanditConfig: {"seed": SEED},
    CampaignLearnerConfig: {"seed": SEED},
    ReinforceConfig: {"seed": SEED, "batch_episodes": COUNT, "hidden": COUNT},
}
BOOLS = {GradientBanditConfig: ["baseline"], ReinforceConfig: ["baseline"]}
CHOICES = {ThompsonConfig: {"model": "poisson"}, CampaignLearnerConfig: {"prior": "surveys"}}
SEQUENCES = {EpsilonGreedyConfig: ["initial"]}
CONFIGS = list(FLOATS)


def _cases(table):
    return [(cls, name, spec) for cls, fields in table.items() for name, spec in fields.items()]


def test_the_tables_cover_every_field_of_every_config():
    for cls in CONFIGS:
        covered = (set(FLOATS.get(cls, {})) | set(INTS.get(cls, {})) | set(BOOLS.get(cls, []))
                   | set(CHOICES.get(cls, {})) | set(SEQUENCES.get(cls, [])))  # fmt: skip
        assert covered == {f.name for f in dataclasses.fields(cls)}, cls.__name__


@pytest.mark.parametrize(("cls", "name", "spec"), _cases(FLOATS))
def test_real_fields_refuse_nan_inf_wrong_types_and_out_of_range(cls, name, spec):
    allowed, out_of_range = spec
    for bad in (NAN, INF, -INF, np.float32("nan")):
        with pytest.raises(ValueError, match=rf"{name} must be a finite number in {allowed}, "
                                             rf"got -?(nan|inf)"):  # fmt: skip
            cls(**{name: bad})
    for bad in ("0.5", True, [0.5], 1j):
        with pytest.raises(TypeError, match=rf"{name} must be a real number, got "
                                            + re.escape(repr(bad))):  # fmt: skip
            cls(**{name: bad})
    for bad in out_of_range:
        with pytest.raises(ValueError, match=rf"{name} must lie in {allowed}, got "):
            cls(**{name: bad})


@pytest.mark.parametrize(("cls", "name", "spec"), _cases(INTS))
def test_integer_fields_refuse_floats_bools_and_out_of_range(cls, name, spec):
    allowed, out_of_range = spec
    for bad in (1.5, NAN, "3", True, None):
        with pytest.raises(TypeError, match=rf"{name} must be an integer, got "):
            cls(**{name: bad})
    for bad in out_of_range:
        with pytest.raises(ValueError, match=rf"{name} must be an integer in {allowed}, "
                                             rf"got {bad}"):  # fmt: skip
            cls(**{name: bad})


@pytest.mark.parametrize(("cls", "name"), [(c, n) for c, ns in BOOLS.items() for n in ns])
def test_flag_fields_refuse_truthy_stand_ins(cls, name):
    for bad in ("False", 0, 1.0, None):
        with pytest.raises(TypeError, match=rf"{name} must be True or False, got {bad!r}"):
            cls(**{name: bad})
    assert getattr(cls(**{name: np.bool_(False)}), name) is False


@pytest.mark.parametrize(("cls", "name", "typo"), [(c, *kv) for c, d in CHOICES.items()
                                                   for kv in d.items()])  # fmt: skip
def test_choice_fields_refuse_unknown_names_and_non_strings(cls, name, typo):
    with pytest.raises(ValueError, match=rf"{name} must be one of .*got '{typo}'"):
        cls(**{name: typo})
    with pytest.raises(TypeError, match=rf"{name} must be .*got 3"):
        cls(**{name: 3})


def test_epsilon_greedy_initial_estimates_must_be_finite_numbers():
    with pytest.raises(ValueError, match=r"initial must be finite, found nan at index \(1,\)"):
        EpsilonGreedyConfig(initial=[0.0, NAN])
    with pytest.raises(ValueError, match=r"initial must be finite, found inf"):
        EpsilonGreedyConfig(initial=(INF, 1.0))
    with pytest.raises(TypeError, match="initial must be array-like of float64"):
        EpsilonGreedyConfig(initial=["a", "b"])
    with pytest.raises(ValueError, match=r"initial must have shape \(any\), got \(\)"):
        EpsilonGreedyConfig(initial=2.0)
    assert EpsilonGreedyConfig(initial=np.array([1, 2])).initial == (1.0, 2.0)
    env = gym.make("crm_envs/PromotionBandit-v2")
    with pytest.raises(ValueError, match="initial must have one value per arm"):
        EpsilonGreedy(env, initial=[0.0, 1.0])


def test_tabular_lr_may_not_make_the_first_step_overshoot():
    with pytest.raises(ValueError, match=r"lr / 2 \*\* lr_power .* must be <= 1, got lr=3\.0"):
        TabularConfig(lr=3.0, lr_power=0.0)
    assert TabularConfig(lr=2.0, lr_power=1.0).lr == 2.0  # first step 1


ENV_AGENTS = [
    (QLearning, "crm_envs/CustomerJourney-v1", {"lr": NAN}, "lr must be a finite number"),
    (QLearning, "crm_envs/CustomerJourney-v1", {"lr_power": INF}, "lr_power must be a finite"),
    (QLearning, "crm_envs/CustomerJourney-v1", {"initial_q": NAN}, "initial_q must be a finite"),
    (TabularReinforce, "crm_envs/CustomerJourney-v1", {"lr": NAN}, "lr must be a finite"),
    (MLPReinforce, "crm_envs/CustomerJourney-v1", {"lr": INF}, "lr must be a finite"),
    (ThompsonSampling, "crm_envs/PromotionBandit-v2", {"prior_mean": NAN}, "prior_mean must be"),
    (ThompsonSampling, "crm_envs/PromotionBandit-v2", {"prior_sd": INF}, "prior_sd must be"),
    (UCB1, "crm_envs/PromotionBandit-v2", {"c": NAN}, "c must be a finite"),
    (GradientBandit, "crm_envs/PromotionBandit-v2", {"baseline": "no"}, "baseline must be True"),
    (EpsilonGreedy, "crm_envs/PromotionBandit-v2", {"initial": [NAN] * 2}, "initial must be"),
    (CampaignLearner, "crm_envs/PromotionCampaign-v2", {"alpha": NAN}, "alpha must be a finite"),
]


@pytest.mark.parametrize(("cls", "env_id", "kwargs", "message"), ENV_AGENTS)
def test_agents_refuse_bad_configs_before_touching_the_env(cls, env_id, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        cls(gym.make(env_id), **kwargs)


def test_numpy_scalars_are_accepted_and_stored_as_python_numbers(tmp_path):
    env = gym.make("crm_envs/CustomerJourney-v1")
    agent = QLearning(env, seed=np.int64(3), lr=np.float32(0.5), gamma=np.float64(1.0))
    assert type(agent.config.seed) is int and type(agent.config.lr) is float
    agent.save(tmp_path / "q")  # the config is JSON: numpy scalars would not serialise
    QLearning(env, seed=3, lr=0.5).load(tmp_path / "q")


def _tiger():
    p = np.stack([np.eye(2), np.full((2, 2), 0.5), np.full((2, 2), 0.5)])
    o = np.stack([[[0.85, 0.15], [0.15, 0.85]], np.full((2, 2), 0.5), np.full((2, 2), 0.5)])
    r = np.array([[-1.0, -1.0], [-100.0, 10.0], [10.0, -100.0]])
    return TabularPOMDP(p, o, r, 0.95, initial=[0.5, 0.5])


def test_solvers_and_policies_refuse_nan_and_truthy_stand_ins():
    with pytest.raises(ValueError, match=r"beliefs must be finite, found nan"):
        solve(_tiger(), beliefs=np.array([[0.5, 0.5], [NAN, 0.5]]), horizon=2)
    with pytest.raises(TypeError, match="open_loop must be True or False, got 'yes'"):
        solve(_tiger(), resolution=4, horizon=2, open_loop="yes")
    sol = solve(_tiger(), resolution=4, horizon=2)
    with pytest.raises(ValueError, match="probability vector"):
        sol.value(NAN)
    with pytest.raises(ValueError, match="probability vector"):
        sol.action([NAN, 0.5])
    mdp = TabularMDP(P=np.stack([np.eye(2)] * 2), R=np.ones((2, 2)), gamma=0.9)
    with pytest.raises(TypeError, match="sparse must be True or False, got 'no'"):
        value_iteration(mdp, sparse="no")
    with pytest.raises(TypeError, match="policy must be an integer"):
        TabularPolicy(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="policy actions must be >= 0, got -1"):
        TabularPolicy(np.array([0, -1]))


def test_evaluate_policy_checks_seed_and_deterministic():
    env = gym.make("crm_envs/CustomerJourney-v1")
    with pytest.raises(TypeError, match="deterministic must be True or False, got 'False'"):
        evaluate_policy(lambda obs: 0, env, n_episodes=2, deterministic="False")
    with pytest.raises(TypeError, match=r"seed must be an integer, got 1\.5"):
        evaluate_policy(lambda obs: 0, env, n_episodes=2, seed=1.5)


@pytest.mark.parametrize(
    "make",
    [
        lambda env: UCB1(env),
        lambda env: EpsilonGreedy(env),
        lambda env: ThompsonSampling(env),
        lambda env: GradientBandit(env),
    ],
    ids=["UCB1", "EpsilonGreedy", "ThompsonSampling", "GradientBandit"],
)
def test_bandits_refuse_infinite_rewards(make):
    from gymnasium.wrappers import TransformReward

    env = TransformReward(gym.make("crm_envs/PromotionBandit-v2"), lambda r: math.inf)
    agent = make(env)
    with pytest.raises(ValueError, match=r"got the reward inf from the env"):
        agent.learn(5)


def test_reinforce_refuses_nan_rewards():
    from gymnasium.wrappers import TransformReward

    env = TransformReward(gym.make("crm_envs/CustomerJourney-v1"), lambda r: NAN)
    with pytest.raises(ValueError, match=r"TabularReinforce got the reward nan"):
        TabularReinforce(env).learn(50)
