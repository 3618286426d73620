"""The benchmark harness: every agent on every env, scored against the exact optimum.

One *run* = (env id, agent, seed, budget): build the agent, train it for ``budget`` env steps,
evaluate it on held-out episodes (seeds ``seed + 10_000 + i``) and score it as
``(mean - random) / (reference - random)``. Random is the mean return of uniformly random
actions of the action space (no action masks) on the same episodes; the reference is the
exact optimum where the env has ``model()`` (backward induction or value iteration),
otherwise the env's ``reference_action`` policy (exact for the promotion envs, a baseline for
ROIAllocation).

Results are appended to ``results.jsonl`` in the output folder as each run finishes, so a
crashed or interrupted benchmark resumes where it stopped: a rerun skips every run that
already has a row without error. A run that raises is a row with its error, never a gap.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

import crm_envs  # noqa: F401  (registers the ids)

__all__ = [
    "AGENTS",
    "SUITES",
    "Run",
    "load_results",
    "plan_runs",
    "reference_kind",
    "run_benchmark",
    "run_one",
]

EVAL_OFFSET = 10_000
RESULTS = "results.jsonl"


@dataclass(frozen=True)
class Run:
    """One benchmark run.

    Attributes:
        env_id: Environment id.
        agent: Agent name (a key of :data:`AGENTS`).
        seed: Training seed.
        budget: Training env steps (0 for agents that do not learn).
        eval_episodes: Held-out evaluation episodes.
    """

    env_id: str
    agent: str
    seed: int
    budget: int
    eval_episodes: int = 200

    @property
    def key(self) -> tuple[str, str, int, int]:
        """Identity of the run in the results file."""
        return (self.env_id, self.agent, self.seed, self.budget)


# --------------------------------------------------------------------------- agents
def _ours(cls_path: str, **kw: Any) -> Callable[[gym.Env, int, int], Any]:
    def make(env: gym.Env, seed: int, budget: int) -> Any:
        module, name = cls_path.rsplit(".", 1)
        cls = getattr(__import__(module, fromlist=[name]), name)
        agent = cls(env, seed=seed, **kw)
        return agent.learn(budget)

    return make


def _sb3(algo: str) -> Callable[[gym.Env, int, int], Any]:
    def make(env: gym.Env, seed: int, budget: int) -> Any:
        import stable_baselines3 as sb3
        import torch
        from stable_baselines3.common.monitor import Monitor

        torch.set_num_threads(1)
        monitored = Monitor(env)
        model = getattr(sb3, algo)("MlpPolicy", monitored, seed=seed, verbose=0)
        model.learn(total_timesteps=budget)
        model.episode_returns = monitored.get_episode_rewards()  # for the learning curve
        return model

    return make


class _Random:
    def __init__(self, env: gym.Env, seed: int) -> None:
        self.space = env.action_space
        self.space.seed(seed)

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[Any, None]:
        return self.space.sample(), None


class _Reference:
    def __init__(self, env: gym.Env) -> None:
        from agents.dp import TabularPolicy, backward_induction, value_iteration

        base = env.unwrapped
        if hasattr(base, "model"):
            mdp = base.model()
            sol = backward_induction(mdp) if mdp.horizon is not None else value_iteration(mdp)
            self.policy = TabularPolicy(sol.policy, state_index=getattr(base, "state_index", None))
        elif hasattr(base, "reference_action"):
            self.policy = None
            self.base = base
        elif hasattr(base, "setup"):
            self.policy = None
            self.base = base.setup
        else:
            raise ValueError(f"{env.spec.id if env.spec else env} has no model() or reference")

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[Any, None]:
        if self.policy is not None:
            return self.policy.predict(obs)
        if hasattr(self.base, "reference_action"):
            return self.base.reference_action(obs), None
        return self.base.best_action(), None


#: Agent name -> factory(env, seed, budget) returning a trained object with ``predict``.
AGENTS: dict[str, Callable[[gym.Env, int, int], Any]] = {
    "random": lambda env, seed, budget: _Random(env, seed),
    "reference": lambda env, seed, budget: _Reference(env),
    "q_learning": _ours("agents.tabular.QLearning"),
    "double_q": _ours("agents.tabular.DoubleQLearning"),
    "sarsa": _ours("agents.tabular.SARSA"),
    "expected_sarsa": _ours("agents.tabular.ExpectedSARSA"),
    "reinforce": _ours("agents.reinforce.TabularReinforce"),
    "reinforce_mlp": _ours("agents.reinforce.MLPReinforce"),
    "epsilon_greedy": _ours("agents.bandits.EpsilonGreedy", epsilon=0.1, alpha=None),
    "ucb1": _ours("agents.bandits.UCB1", scale=100.0, c=0.1),
    "thompson": _ours("agents.bandits.ThompsonSampling", sigma=1.5, prior_sd=100.0),
    "campaign_learner": _ours("agents.bandits.CampaignLearner"),
    "ppo": _sb3("PPO"),
    "a2c": _sb3("A2C"),
    "dqn": _sb3("DQN"),
    "sac": _sb3("SAC"),
}

#: Suites: (env id, agent, budget) triples. ``quick`` finishes in minutes on 2 cores.
SUITES: dict[str, list[tuple[str, str, int]]] = {
    "quick": [
        ("crm_envs/CustomerJourney-v0", "random", 0),
        ("crm_envs/CustomerJourney-v0", "reference", 0),
        ("crm_envs/CustomerJourney-v0", "q_learning", 200_000),
        ("crm_envs/CustomerJourney-v0", "double_q", 200_000),
        ("crm_envs/CustomerJourney-v0", "reinforce", 100_000),
        ("crm_envs/CustomerJourney-v0", "ppo", 20_000),
        ("crm_envs/ROIAllocation-v0", "random", 0),
        ("crm_envs/ROIAllocation-v0", "reference", 0),
        ("crm_envs/ROIAllocation-v0", "ppo", 20_000),
        ("crm_envs/PromotionBandit-v0", "random", 0),
        ("crm_envs/PromotionBandit-v0", "ucb1", 2_000),
        ("crm_envs/PromotionBandit-v0", "thompson", 2_000),
        ("crm_envs/PromotionBandit-v0", "epsilon_greedy", 2_000),
        ("crm_envs/PromotionBandit-v0", "ppo", 2_000),
        ("crm_envs/ROIAllocationDiscrete-v0", "random", 0),
        ("crm_envs/ROIAllocationDiscrete-v0", "reference", 0),
        ("crm_envs/ROIAllocationDiscrete-v0", "reinforce_mlp", 6_000),
        ("crm_envs/ROIAllocationDiscrete-v0", "dqn", 6_000),
        ("crm_envs/PromotionCampaign-v0", "random", 0),
        ("crm_envs/PromotionCampaign-v0", "campaign_learner", 100),
        ("crm_envs/PromotionCampaign-v0", "ppo", 2_000),
        ("crm_envs/B2BCustomer-v0", "random", 0),
        ("crm_envs/B2BCustomer-v0", "reference", 0),
        ("crm_envs/B2BCustomer-v0", "reinforce_mlp", 12_000),
        ("crm_envs/B2BCustomer-v0", "ppo", 12_000),
        ("crm_envs/B2BCustomerEssay1-v0", "random", 0),
        ("crm_envs/B2BCustomerEssay1-v0", "reference", 0),
        ("crm_envs/B2BCustomerEssay1-v0", "reinforce_mlp", 12_000),
        ("crm_envs/B2BCustomerEssay1-v0", "ppo", 12_000),
    ],
}
SUITES["standard"] = SUITES["quick"] + [
    ("crm_envs/CustomerJourney-v0", "sarsa", 200_000),
    ("crm_envs/CustomerJourney-v0", "expected_sarsa", 200_000),
    ("crm_envs/CustomerJourney-v0", "dqn", 100_000),
    ("crm_envs/CustomerJourney-v0", "a2c", 100_000),
    ("crm_envs/ROIAllocation-v0", "sac", 20_000),
    ("crm_envs/ROIAllocationDiscrete-v0", "dqn", 50_000),
    ("crm_envs/PromotionCampaign-v0", "campaign_learner", 300),
    ("crm_envs/B2BCustomer-v0", "a2c", 50_000),
    ("crm_envs/B2BCustomer-v0", "dqn", 50_000),
    ("crm_envs/B2BCustomerEssay1-v0", "dqn", 50_000),
]


# --------------------------------------------------------------------------- running
CURVE_POINTS = 100


def learning_curve(trained: Any) -> list[float] | None:
    """Training returns of an agent, block-averaged to at most ``CURVE_POINTS`` points.

    Episodes for most agents, pulls for bandits, cycles for the campaign learner; None when
    the agent records none.
    """
    for attr in ("episode_returns", "history", "rewards"):
        values = getattr(trained, attr, None)
        if values is not None and len(values) > 0:
            v = np.asarray(values, dtype=float)
            blocks = np.array_split(v, min(CURVE_POINTS, len(v)))
            return [float(b.mean()) for b in blocks]
    return None


def _episode_returns(policy: Any, env_id: str, episodes: int, seed: int) -> np.ndarray:
    from agents.common import evaluate_policy

    env = gym.make(env_id)
    return evaluate_policy(policy, env, n_episodes=episodes, seed=seed).returns


def reference_kind(env_id: str) -> str:
    """``"exact optimum"`` when the env has ``model()``, else ``"reference policy"``."""
    return "exact optimum" if hasattr(gym.make(env_id).unwrapped, "model") else "reference policy"


@lru_cache(maxsize=64)
def _baselines(env_id: str, episodes: int, seed: int) -> tuple[float, float]:
    """Mean return of random actions and of the reference on the evaluation episodes."""
    env = gym.make(env_id)
    rand = _episode_returns(_Random(env, seed), env_id, episodes, seed).mean()
    ref = _episode_returns(_Reference(env), env_id, episodes, seed).mean()
    return float(rand), float(ref)


def run_one(run: Run) -> dict[str, Any]:
    """Train and evaluate one run; returns its results row (with ``error`` on failure)."""
    row: dict[str, Any] = {**asdict(run), "error": None}
    start = time.perf_counter()
    try:
        if run.agent not in AGENTS:
            raise ValueError(f"unknown agent {run.agent!r}; known: {sorted(AGENTS)}")
        env = gym.make(run.env_id)
        trained = AGENTS[run.agent](env, run.seed, run.budget)
        train_time = time.perf_counter() - start
        eval_seed = run.seed + EVAL_OFFSET
        returns = _episode_returns(trained, run.env_id, run.eval_episodes, eval_seed)
        rand, ref = _baselines(run.env_id, run.eval_episodes, eval_seed)
        gap = ref - rand
        row.update(
            mean=float(returns.mean()),
            stderr=float(returns.std(ddof=1) / np.sqrt(len(returns))),
            random=rand,
            reference=ref,
            score=float((returns.mean() - rand) / gap) if gap != 0 else float("nan"),
            train_seconds=train_time,
            curve=learning_curve(trained),
            env_steps=run.budget,
            steps_per_s=run.budget / train_time if run.budget and train_time > 0 else None,
        )
    except Exception as exc:
        row["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    row["wall_seconds"] = time.perf_counter() - start
    return row


def load_results(out: Path) -> list[dict[str, Any]]:
    """Every row of ``out/results.jsonl`` (empty if there is none)."""
    path = Path(out) / RESULTS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plan_runs(
    suite: str,
    seeds: int,
    envs: Iterable[str] | None = None,
    agents: Iterable[str] | None = None,
    eval_episodes: int = 200,
) -> list[Run]:
    """The runs of a suite, filtered by env ids and agent names, for seeds 0..seeds-1."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; known: {sorted(SUITES)}")
    env_set, agent_set = set(envs or []), set(agents or [])
    unknown = sorted(agent_set - set(AGENTS))
    if unknown:
        raise ValueError(f"unknown agent(s) {unknown}; known: {sorted(AGENTS)}")
    runs = []
    for env_id, agent, budget in SUITES[suite]:
        if (env_set and env_id not in env_set) or (agent_set and agent not in agent_set):
            continue
        runs += [Run(env_id, agent, s, budget, eval_episodes) for s in range(seeds)]
    return runs


def run_benchmark(
    runs: list[Run],
    out: str | Path,
    jobs: int = 1,
    backend: str = "local",
    ray_address: str | None = None,
    progress_bar: bool = True,
) -> list[dict]:
    """Run everything not yet done, appending a row to ``out/results.jsonl`` per finished run.

    Args:
        runs: The runs (see :func:`plan_runs`).
        out: Output folder (created).
        jobs: Parallel worker processes for the local backend.
        backend: ``"local"`` (processes) or ``"ray"`` (Ray tasks; a local Ray instance, or
            ``ray_address``).
        ray_address: Address of a Ray cluster for the ray backend.
        progress_bar: Show runs done and time left.

    Returns:
        The rows written by this call.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done = {tuple(r[k] for k in ("env_id", "agent", "seed", "budget")) for r in load_results(out)
            if not r.get("error")}  # fmt: skip
    todo = [r for r in runs if r.key not in done]
    written: list[dict] = []
    path = out / RESULTS
    bar = tqdm(total=len(todo), disable=not progress_bar, desc="benchmark runs")

    def record(row: dict) -> None:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        written.append(row)
        bar.update(1)

    if backend == "ray":
        import ray

        ray.init(address=ray_address, ignore_reinit_error=True, log_to_driver=False,
                 include_dashboard=False)  # fmt: skip
        remote = ray.remote(run_one)
        pending = {remote.remote(r): r for r in todo}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            record(ray.get(ready[0]))
            pending.pop(ready[0])
    elif backend == "local" and jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for fut in as_completed([pool.submit(run_one, r) for r in todo]):
                record(fut.result())
    elif backend == "local":
        for r in todo:
            record(run_one(r))
    else:
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    bar.close()
    return written
