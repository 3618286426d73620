"""Task conformance over every registered id: a declared reference and naive baselines."""

import math

import gymnasium as gym
import numpy as np
import pytest

import crm_envs  # noqa: F401
from agents.dp import backward_induction, exact_policy
from benchmarks.headroom import baseline_policies, reference_policy
from crm_envs.core.oracle import KINDS, BaselineResult, Exact, Headroom, evaluate
from crm_envs.core.task import Task
from crm_envs.envs.promotion.task import VARIANT_DEFAULT

ENV_IDS = sorted(i for i in gym.registry if i.startswith("crm_envs/"))
ROLES = {"random", "constant", "naive", "oracle"}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_id_declares_a_reference_and_baselines(env_id):
    env = gym.make(env_id)
    vec = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    for task in (env.unwrapped.task, vec.unwrapped.task):
        assert isinstance(task, Task)
        assert task.observation_space == env.observation_space
        assert task.action_space == env.action_space
    ref = env.unwrapped.task.oracle()
    assert ref.kind in KINDS
    assert ref.description
    roles = [role for role, _ in env.unwrapped.task.baselines(seed=0)]
    assert set(roles) <= ROLES
    assert roles.count("random") == 1 and roles.count("naive") == 1
    assert roles.count("oracle") <= 1


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_declared_policy_plays_valid_actions(env_id):
    env = gym.make(env_id)
    policy, _ = reference_policy(env)
    for _, p in [("reference", policy), *baseline_policies(env, seed=0)]:
        obs, info = env.reset(seed=1)
        for _ in range(3):
            action = p.act(obs, info)
            assert env.action_space.contains(np.asarray(action, dtype=env.action_space.dtype)), (
                f"{p.name} played {action!r}"
            )
            obs, _, term, trunc, info = env.step(action)
            if term or trunc:
                break


def test_solved_exact_reference_earns_the_models_optimal_value():
    env = gym.make("crm_envs/CustomerJourney-v1")
    ref = env.unwrapped.task.oracle()
    assert isinstance(ref, Exact)
    value = backward_induction(ref.model).value(ref.model.initial)
    returns = evaluate(lambda: gym.make("crm_envs/CustomerJourney-v1"), exact_policy(ref), 4000, 0)
    se = returns.std(ddof=1) / math.sqrt(len(returns))
    assert abs(returns.mean() - value) < 4 * se


def test_headroom_arithmetic():
    # Paired differences of 1, 3, 1, 3 (mean 2, sd 2/sqrt(3)): s.e. = 1/sqrt(3).
    ref = BaselineResult("reference", "ref", np.array([2.0, 5.0, 3.0, 6.0]))
    naive = BaselineResult("naive", "naive", np.array([1.0, 2.0, 2.0, 3.0]))
    rand = BaselineResult("random", "random", np.array([0.0, 0.0, 1.0, 1.0]))
    worse = BaselineResult("constant", "c0", np.array([0.0, 1.0, 0.0, 1.0]))
    h = Headroom("x", {}, "exact", (ref, rand, worse, naive), episodes=4)
    assert h.best_naive is naive
    assert h.gap == pytest.approx(2.0)
    assert h.gap_se == pytest.approx(1 / math.sqrt(3))
    assert h.gap_in_se == pytest.approx(2 * math.sqrt(3))
    # sd of the difference is 2/sqrt(3); n = (2 * sd / gap)**2 = 4/3 -> at least 2.
    assert h.episodes_to_separate() == 2
    assert h.episodes_to_separate(z=6.0) == 12  # (6 * (2 / sqrt(3)) / 2)**2 = 36 / 3
    same = BaselineResult("reference", "same", naive.returns)
    no_gap = Headroom("x", {}, "exact", (same, rand, naive), episodes=4)
    assert no_gap.episodes_to_separate() == math.inf


def test_headroom_cli_prints_the_table_and_draws_the_plot(tmp_path, capsys):
    from benchmarks.cli import main

    plot = tmp_path / "headroom.png"
    code = main(["headroom", "--envs", "crm_envs/CustomerJourney-v1", "--episodes", "20",
                 "--plot", str(plot), "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and plot.stat().st_size > 0
    assert "Reference: exact" in out and "| naive | myopic |" in out


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_info_keys_are_the_same_in_the_single_and_the_vector_env(env_id):
    env = gym.make(env_id)
    vec = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point")
    _, info = env.reset(seed=0)
    _, vinfo = vec.reset(seed=0)
    assert sorted(info) == sorted(vinfo)
    _, _, _, _, info = env.step(env.action_space.sample())
    _, _, _, _, vinfo = vec.step(vec.action_space.sample())
    assert sorted(info) == sorted(vinfo)


# Constructor arguments that select a registered variant of a class (another preset, discrete
# actions): an id registering one of them differently from the class default is a variant.
VARIANT_ARGS = ("preset", "discrete", "campaign")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_class_defaults_equal_the_registered_defaults(env_id):
    # A class built with no arguments behaves like gym.make of the id whose preset it defaults
    # to (the B2B reward scale differed by 1000 between the two).
    import importlib
    import inspect

    spec = gym.spec(env_id)
    module, name = spec.entry_point.split(":")
    defaults: dict = {}
    for cls in getattr(importlib.import_module(module), name).__mro__:  # subclass first
        if "__init__" in vars(cls):
            for k, p in inspect.signature(cls.__init__).parameters.items():
                if p.default is not inspect.Parameter.empty:
                    defaults.setdefault(k, p.default)
    if any(spec.kwargs.get(key, defaults.get(key)) != defaults.get(key) for key in VARIANT_ARGS):
        pytest.skip("a variant of the class's defaults, declared by registration kwargs")
    bare = getattr(importlib.import_module(module), name)().task
    for key, value in spec.kwargs.items():
        if defaults[key] is VARIANT_DEFAULT:  # the variant's default: what the task chose
            assert getattr(bare, key) == value, f"{env_id}: {key} registered {value}"
        else:
            assert defaults[key] == value, (
                f"{env_id}: {key} registered {value}, class {defaults[key]}"
            )


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_env_takes_a_params_swap_at_reset(env_id):
    env = gym.make(env_id)
    params = env.unwrapped.task.params
    obs, _ = env.reset(seed=0, options={"params": params})
    assert env.observation_space.contains(obs)
    vec = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    obs, _ = vec.reset(seed=0, options={"params": params})
    assert vec.observation_space.contains(obs)
    with pytest.raises(TypeError, match="options\\['params'\\] must be"):
        env.reset(options={"params": object()})
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"bogus": 1})


def test_promotion_params_swap_changes_the_dynamics():
    from crm_envs.envs.promotion.presets import get_preset

    env = gym.make("crm_envs/PromotionBandit-v2")
    base = get_preset("mandania2025_ferry")
    richer = base.replace(contributions=tuple(2 * c for c in base.contributions))
    _, info = env.reset(seed=0)
    before = info["expected_rewards"].copy()
    _, info = env.reset(seed=0, options={"params": richer})
    assert not np.allclose(info["expected_rewards"], before)


def test_benchmarks_and_agents_read_references_only_through_the_task_contract():
    # The envs' own conveniences (reference_action, oracle_model, solution, best_action,
    # model) are for users and the paper folders; the harness, CLI, SB3 runner and agents
    # score with task.oracle() and task.baselines() only.
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    accessor = re.compile(r"\.(reference_actions?|oracle_model|solution|best_action)\(")
    found = [
        f"{path.relative_to(root)}:{i}: {line.strip()}"
        for folder in ("benchmarks", "agents")
        for path in sorted((root / folder).rglob("*.py"))
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if accessor.search(line)
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_stepping_leaves_the_spaces_unchanged(env_id):
    # The single env's action buffer must not share memory with its space (a MultiDiscrete's
    # ``start`` once became the buffer that every step wrote into).
    import copy

    env = gym.make(env_id)
    before = copy.deepcopy((env.action_space, env.observation_space))
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(3):
        env.step(env.action_space.sample())
    assert (env.action_space, env.observation_space) == before
