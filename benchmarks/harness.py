"""The benchmark harness: every agent on every env, scored against the exact optimum.

One *run* = (env id, agent, seed, budget): build the agent, train it for ``budget`` env steps,
evaluate it on held-out episodes (seeds ``seed + 10_000 + i``) and score it as
``(mean - random) / (reference - random)``. Random is the mean return of uniformly random
actions of the action space (no action masks) on the same episodes; the reference is the one
the env's task declares (``task.oracle()``, :mod:`crm_envs.core.oracle`): an exact optimum, a
planner, or a heuristic (which a learner may beat). Every row records the reference's kind.

Results are appended to ``results.jsonl`` in the output folder as each run finishes, so a
crashed or interrupted benchmark resumes where it stopped: a rerun skips every run that
already has a row without error. A run that raises is a row with its error, never a gap. An
agent that does not support an env's spaces is a row with ``skipped`` (the reason), not run.

The results file:

* is strict JSON Lines: a value that is not a finite number (a NaN score, say) is ``null``;
* may end in a half-written line (a crash mid-write): readers skip it with a warning, and the
  next append removes it. A line that does not parse anywhere else is an error naming the
  file and the line;
* may hold several rows of one run (retries, or concurrent writers before this was fixed):
  readers keep one per run key (env, agent, seed, budget), the newest success, else the
  newest row;
* is safe to share between concurrent ``run_benchmark`` calls (several ``crm-bench run`` on
  one ``--out``): each run is claimed in ``claims.json`` under an exclusive lock
  (``fcntl.flock`` on ``.results.lock``, POSIX only) before it starts, so it is run once. A
  claim of a process that has died on this host is taken over; one of another host is only
  released by deleting ``claims.json``.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import multiprocessing
import os
import socket
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one writer per results folder there
    fcntl = None  # type: ignore[assignment]

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

import crm_envs  # noqa: F401  (registers the ids)
from crm_envs.core.oracle import evaluate, random_policy

__all__ = [
    "AGENTS",
    "SUITES",
    "ResultsFileError",
    "Run",
    "append_result",
    "closest",
    "latest_rows",
    "load_results",
    "plan_runs",
    "read_rows",
    "reference_kind",
    "row_status",
    "run_benchmark",
    "run_one",
    "unsupported",
]

EVAL_OFFSET = 10_000
RESULTS = "results.jsonl"
CLAIMS = "claims.json"
LOCK = ".results.lock"
#: Largest training seed: SB3 and NumPy's legacy generators take 32-bit seeds.
SEED_MAX = 2**32 - 1


def closest(name: str, known: Iterable[str]) -> str:
    """A hint for an unknown ``name``: the closest of ``known`` (difflib), or all of them.

    Args:
        name: The unknown name.
        known: The valid names.

    Returns:
        ``"did you mean 'x'?"`` (up to three names), or ``"known: [...]"`` when none is close.
    """
    known = sorted(set(known))

    def similarity(k: str) -> float:  # also the short form of an id ("CustomerJourney-v1")
        full = difflib.SequenceMatcher(None, name, k).ratio()
        short = difflib.SequenceMatcher(None, name.lower(), k.rsplit("/", 1)[-1].lower())
        return max(full, short.ratio())

    scored = sorted(((similarity(k), k) for k in known), reverse=True)
    hits = [k for r, k in scored[:3] if r >= 0.6 and r >= scored[0][0] - 0.05]
    if hits:
        return "did you mean " + " or ".join(repr(h) for h in hits) + "?"
    return f"known: {known}"


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

    def __post_init__(self) -> None:
        for name in ("env_id", "agent"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"Run.{name} must be a str, got {getattr(self, name)!r}")
        for name, low, high in (("seed", 0, SEED_MAX), ("budget", 0, None),
                                ("eval_episodes", 2, None)):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"Run.{name} must be an int, got {value!r}")
            if value < low or (high is not None and value > high):
                why = " (a standard error needs two episodes)" if name == "eval_episodes" else ""
                bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
                raise ValueError(f"Run.{name} must be {bound}{why}, got {value}")

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


class _Declared:
    """A baseline the env's task declares (``"random"`` or ``"reference"``): nothing to train.

    It is evaluated by :func:`_declared_returns` with the task's own policy, which may read
    ``info`` (the B2B planners read the belief there), so it has no ``predict``.
    """

    def __init__(self, role: str) -> None:
        self.role = role


#: Agent name -> factory(env, seed, budget) returning a trained object with ``predict``.
AGENTS: dict[str, Callable[[gym.Env, int, int], Any]] = {
    "random": lambda env, seed, budget: _Declared("random"),
    "reference": lambda env, seed, budget: _Declared("reference"),
    "q_learning": _ours("agents.tabular.QLearning"),
    "double_q": _ours("agents.tabular.DoubleQLearning"),
    "sarsa": _ours("agents.tabular.SARSA"),
    "expected_sarsa": _ours("agents.tabular.ExpectedSARSA"),
    "reinforce": _ours("agents.reinforce.TabularReinforce"),
    "reinforce_mlp": _ours("agents.reinforce.MLPReinforce"),
    "epsilon_greedy": _ours("agents.bandits.EpsilonGreedy", epsilon=0.1, alpha=None),
    "ucb1": _ours("agents.bandits.UCB1", scale=100.0, c=0.1),
    "thompson": _ours("agents.bandits.ThompsonSampling", sigma=1.5, prior_sd=100.0),
    "campaign_learner": _ours("crm_envs.papers.mandania2025.learner.CampaignLearner"),
    "ppo": _sb3("PPO"),
    "a2c": _sb3("A2C"),
    "dqn": _sb3("DQN"),
    "sac": _sb3("SAC"),
}

_ANY_OBS = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)
_TABLE_OBS = (gym.spaces.Discrete, gym.spaces.MultiDiscrete)
_DISCRETE = (gym.spaces.Discrete,)
#: Agent (or lower-case SB3 algorithm) -> (action spaces, observation spaces) it supports;
#: None: any. SB3's ``MlpPolicy`` takes no Dict observations.
SPACES: dict[str, tuple[tuple[type, ...] | None, tuple[type, ...] | None]] = {
    "random": (None, None),
    "reference": (None, None),
    **dict.fromkeys(
        ("q_learning", "double_q", "sarsa", "expected_sarsa", "reinforce"), (_DISCRETE, _TABLE_OBS)
    ),
    "reinforce_mlp": (_DISCRETE, (gym.spaces.Box, *_TABLE_OBS)),
    **dict.fromkeys(("epsilon_greedy", "ucb1", "thompson"), (_DISCRETE, None)),
    "campaign_learner": (None, None),
    "ppo": ((gym.spaces.Box, *_TABLE_OBS, gym.spaces.MultiBinary), _ANY_OBS),
    "a2c": ((gym.spaces.Box, *_TABLE_OBS, gym.spaces.MultiBinary), _ANY_OBS),
    "dqn": (_DISCRETE, _ANY_OBS),
    "sac": ((gym.spaces.Box,), _ANY_OBS),
    "td3": ((gym.spaces.Box,), _ANY_OBS),
}


def _names(types: tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in types)


def unsupported(env: gym.Env, agent: str) -> str | None:
    """Why ``agent`` cannot run on ``env``, or None when it can.

    Args:
        env: The environment (as made by ``gym.make``).
        agent: A key of :data:`SPACES` (the agents, and SB3's algorithms in lower case).

    Returns:
        A sentence naming the agent, the space it needs and the env's space; None if supported.

    Raises:
        ValueError: ``agent`` is not a key of :data:`SPACES`.
    """
    if agent not in SPACES:
        raise ValueError(f"agent must be one of {sorted(SPACES)}, got {agent!r}; "
                         f"{closest(agent, SPACES)}")  # fmt: skip
    actions, observations = SPACES[agent]
    env_id = env.spec.id if env.spec else type(env.unwrapped).__name__
    if actions is not None and not isinstance(env.action_space, actions):
        return (f"{agent} needs a {_names(actions)} action space; {env_id} has "
                f"{type(env.action_space).__name__}")  # fmt: skip
    if observations is not None and not isinstance(env.observation_space, observations):
        return (f"{agent} needs a {_names(observations)} observation space; {env_id} has "
                f"{type(env.observation_space).__name__}")  # fmt: skip
    base = env.unwrapped
    if agent == "campaign_learner" and not getattr(getattr(base, "setup", None), "campaign", 0):
        return f"campaign_learner needs a PromotionCampaign env; {env_id} is not one"
    return None


#: Suites: (env id, agent, budget) triples. ``quick`` finishes in minutes on 2 cores.
SUITES: dict[str, list[tuple[str, str, int]]] = {
    "quick": [
        ("crm_envs/CustomerJourney-v1", "random", 0),
        ("crm_envs/CustomerJourney-v1", "reference", 0),
        ("crm_envs/CustomerJourney-v1", "q_learning", 200_000),
        ("crm_envs/CustomerJourney-v1", "double_q", 200_000),
        ("crm_envs/CustomerJourney-v1", "reinforce", 100_000),
        ("crm_envs/CustomerJourney-v1", "ppo", 20_000),
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
    ("crm_envs/CustomerJourney-v1", "sarsa", 200_000),
    ("crm_envs/CustomerJourney-v1", "expected_sarsa", 200_000),
    ("crm_envs/CustomerJourney-v1", "dqn", 100_000),
    ("crm_envs/CustomerJourney-v1", "a2c", 100_000),
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
    """The kind of the id's declared reference: ``"exact"``, ``"planner"`` or ``"heuristic"``."""
    return gym.make(env_id).unwrapped.task.oracle().kind


def _declared_returns(env_id: str, role: str, episodes: int, seed: int) -> np.ndarray:
    """Returns of the task's declared random baseline or reference on the evaluation seeds."""
    from benchmarks.headroom import reference_policy

    env = gym.make(env_id)
    policy = reference_policy(env)[0] if role == "reference" else random_policy(
        env.action_space, seed)  # fmt: skip
    return evaluate(lambda: gym.make(env_id), policy, episodes, seed)


@lru_cache(maxsize=64)
def _baselines(env_id: str, episodes: int, seed: int) -> tuple[float, float]:
    """Mean return of the declared random baseline and reference on the evaluation episodes."""
    rand = _declared_returns(env_id, "random", episodes, seed).mean()
    ref = _declared_returns(env_id, "reference", episodes, seed).mean()
    return float(rand), float(ref)


def run_one(run: Run) -> dict[str, Any]:
    """Train and evaluate one run; returns its results row.

    The row has ``error`` (the exception and a short traceback) when the run raised, and
    ``skipped`` (the reason) when the agent does not support the env's spaces; both are None
    for a finished run.
    """
    row: dict[str, Any] = {**asdict(run), "error": None, "skipped": None}
    start = time.perf_counter()
    try:
        if run.agent not in AGENTS:
            raise ValueError(f"unknown agent {run.agent!r}; {closest(run.agent, AGENTS)}")
        env = gym.make(run.env_id)
        reason = unsupported(env, run.agent) if run.agent in SPACES else None
        if reason is not None:
            row["skipped"] = reason
            row["wall_seconds"] = time.perf_counter() - start
            return row
        trained = AGENTS[run.agent](env, run.seed, run.budget)
        train_time = time.perf_counter() - start
        eval_seed = run.seed + EVAL_OFFSET
        if isinstance(trained, _Declared):
            returns = _declared_returns(run.env_id, trained.role, run.eval_episodes, eval_seed)
        else:
            returns = _episode_returns(trained, run.env_id, run.eval_episodes, eval_seed)
        rand, ref = _baselines(run.env_id, run.eval_episodes, eval_seed)
        gap = ref - rand
        row.update(
            mean=float(returns.mean()),
            stderr=float(returns.std(ddof=1) / np.sqrt(len(returns))),
            random=rand,
            reference=ref,
            reference_kind=reference_kind(run.env_id),
            score=float((returns.mean() - rand) / gap) if gap != 0 else None,
            train_seconds=train_time,
            curve=learning_curve(trained),
            env_steps=run.budget,
            steps_per_s=run.budget / train_time if run.budget and train_time > 0 else None,
        )
    except Exception as exc:
        row["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    row["wall_seconds"] = time.perf_counter() - start
    return row


# --------------------------------------------------------------------------- results file
class ResultsFileError(ValueError):
    """A results file that cannot be read (a corrupt line other than the last)."""


def row_status(row: dict[str, Any]) -> str:
    """``"failed"`` (the row has an error), ``"skipped"`` (the agent does not fit) or ``"ok"``."""
    if row.get("error"):
        return "failed"
    return "skipped" if row.get("skipped") else "ok"


def _key(row: dict[str, Any]) -> tuple[str, str, int, int]:
    return (row["env_id"], row["agent"], row["seed"], row["budget"])


def _row(line: str | bytes) -> dict[str, Any]:
    """The row on one line; ValueError if it is not JSON or not a results row."""
    row = json.loads(line)
    if not isinstance(row, dict) or not {"env_id", "agent", "seed", "budget"} <= row.keys():
        raise ValueError("not a results row (an object with env_id, agent, seed, budget)")
    return row


def _parse(path: Path, text: str) -> list[dict[str, Any]]:
    """The rows of a results file's text; a bad last line is skipped with a warning."""
    lines = text.split("\n")
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    rows = []
    for i, (n, line) in enumerate(numbered):
        try:
            row = _row(line)
        except ValueError as exc:
            if i == len(numbered) - 1:
                warnings.warn(
                    f"{path}, line {n}: skipping a half-written last line (a crash mid-write?); "
                    f"its run counts as not done: {line[:80]!r}",
                    RuntimeWarning,
                    stacklevel=3,
                )
                break
            raise ResultsFileError(
                f"{path}, line {n} is not a results row ({exc}): {line[:80]!r}. Only the last "
                "line can be half-written by a crash; fix or delete this line and rerun"
            ) from None
        rows.append(row)
    return rows


def read_rows(out: str | Path) -> list[dict[str, Any]]:
    """Every row of ``out/results.jsonl`` in file order, duplicates included.

    Args:
        out: The results folder.

    Returns:
        The rows (empty if there is no results file). A half-written last line is skipped
        with a ``RuntimeWarning`` naming the file and line.

    Raises:
        ResultsFileError: Another line is not a results row (the message names the line).
    """
    path = Path(out) / RESULTS
    if not path.exists():
        return []
    return _parse(path, path.read_text(encoding="utf-8"))


def latest_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per run key (env, agent, seed, budget): the newest success, else the newest row.

    Args:
        rows: Rows in file order (oldest first).

    Returns:
        The winning rows, in the order their keys first appear.
    """
    best: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = _key(row)
        if key not in best or row_status(row) == "ok" or row_status(best[key]) != "ok":
            best[key] = row
    return list(best.values())


def load_results(out: str | Path) -> list[dict[str, Any]]:
    """The rows of ``out/results.jsonl``, one per run (see :func:`latest_rows`).

    Args:
        out: The results folder.

    Returns:
        The rows (empty if there is none).

    Raises:
        ResultsFileError: A line other than the last is not a results row.
    """
    return latest_rows(read_rows(out))


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, inf) replaced by None, for strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold the results folder's exclusive lock (no-op without ``fcntl``)."""
    with open(out / LOCK, "a+b") as fh:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _repair_tail(path: Path) -> None:
    """Cut a half-written last line off the results file (with a warning); call locked."""
    if not path.exists():
        return
    data = path.read_bytes()
    body = data.rstrip(b"\n")
    cut = body.rfind(b"\n") + 1
    last = body[cut:]
    if not last.strip():
        ok = True
    else:
        try:
            ok = data.endswith(b"\n") and bool(_row(last))
        except ValueError:
            ok = False
    if not ok:
        line = body.count(b"\n") + 1
        warnings.warn(
            f"{path}, line {line}: removing a half-written last line (a crash mid-write?) "
            f"before appending: {last[:80]!r}",
            RuntimeWarning,
            stacklevel=3,
        )
        with open(path, "r+b") as fh:
            fh.truncate(cut)


def _write_row(path: Path, row: dict[str, Any]) -> None:
    """Append one strict-JSON line in a single write, flushed to disk; call locked."""
    line = json.dumps(_finite(row), allow_nan=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def append_result(out: str | Path, row: dict[str, Any]) -> None:
    """Append ``row`` to ``out/results.jsonl`` under the folder's lock, as strict JSON.

    NaN and infinite values are written as ``null``. A half-written last line left by a crash
    is removed first (with a warning), and the run's claim (if any) is released.

    Args:
        out: The results folder (must exist).
        row: A results row (with ``env_id``, ``agent``, ``seed`` and ``budget``).
    """
    out = Path(out)
    with _locked(out):
        path = out / RESULTS
        _repair_tail(path)
        _write_row(path, row)
        claims = _read_claims(out)
        if claims.pop(_claim_id(_key(row)), None) is not None:
            _write_claims(out, claims)


# --------------------------------------------------------------------------- claims
def _claim_id(key: tuple) -> str:
    return json.dumps(list(key))


def _read_claims(out: Path) -> dict[str, dict[str, Any]]:
    try:
        claims = json.loads((out / CLAIMS).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):  # none, or torn by a crash: claims are advisory
        return {}
    return claims if isinstance(claims, dict) else {}


def _write_claims(out: Path, claims: dict[str, dict[str, Any]]) -> None:
    tmp = out / f"{CLAIMS}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(claims), encoding="utf-8")
    os.replace(tmp, out / CLAIMS)


def _alive(claim: dict[str, Any]) -> bool:
    """Whether the claiming process may still be running (unknowable on another host)."""
    if claim.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(claim["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, KeyError, TypeError, ValueError):
        return True
    return True


def _claim(out: Path, run: Run) -> str:
    """Claim ``run`` for this process, under the folder's lock.

    Returns:
        ``"claimed"``, ``"done"`` (it has a success row), or the claim of the live process
        running it (``"pid N on HOST"``).
    """
    with _locked(out):
        if any(row_status(r) == "ok" and _key(r) == run.key for r in read_rows(out)):
            return "done"
        claims = _read_claims(out)
        held = claims.get(_claim_id(run.key))
        if held is not None and held.get("pid") != os.getpid() and _alive(held):
            return f"pid {held.get('pid')} on {held.get('host')}"
        claims[_claim_id(run.key)] = {"pid": os.getpid(), "host": socket.gethostname(),
                                      "time": time.time()}  # fmt: skip
        _write_claims(out, claims)
        return "claimed"


def _release(out: Path, keys: Iterable[tuple]) -> None:
    """Drop this process's claims of ``keys`` (runs it will not finish)."""
    keys = list(keys)
    if not keys:
        return
    with _locked(out):
        claims = _read_claims(out)
        for key in keys:
            held = claims.get(_claim_id(key))
            if held is not None and held.get("pid") == os.getpid():
                del claims[_claim_id(key)]
        _write_claims(out, claims)


# --------------------------------------------------------------------------- planning
def plan_runs(
    suite: str,
    seeds: int,
    envs: Iterable[str] | None = None,
    agents: Iterable[str] | None = None,
    eval_episodes: int = 200,
) -> list[Run]:
    """The runs of a suite, filtered by env ids and agent names, for seeds 0..seeds-1.

    Args:
        suite: A key of :data:`SUITES`.
        seeds: Seeds per (env, agent) (>= 1).
        envs: Keep only these env ids of the suite (None or empty: all).
        agents: Keep only these agents of the suite (None or empty: all).
        eval_episodes: Evaluation episodes per run (>= 2).

    Returns:
        The runs.

    Raises:
        ValueError: An unknown suite, env id or agent (with the closest names), a name the
            suite does not have, filters that select no run, or a bad count.
        TypeError: ``seeds`` or ``eval_episodes`` is not an int.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; {closest(suite, SUITES)}")
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer)):
        raise TypeError(f"seeds must be an int, got {seeds!r}")
    if not 1 <= seeds <= SEED_MAX + 1:
        raise ValueError(f"seeds must be in [1, {SEED_MAX + 1}] (seeds 0..seeds-1), got {seeds}")
    if isinstance(envs, str) or isinstance(agents, str):
        raise TypeError("envs and agents must be lists of names, not a single string")
    env_set, agent_set = set(envs or []), set(agents or [])
    suite_envs = {e for e, _, _ in SUITES[suite]}
    suite_agents = {a for _, a, _ in SUITES[suite]}
    checks = (
        ("env id", env_set, _env_ids(), suite_envs),
        ("agent", agent_set, set(AGENTS), suite_agents),
    )
    for kind, wanted, known, in_suite in checks:
        for name in sorted(wanted):
            if name in in_suite:
                continue
            if name not in known:
                raise ValueError(f"unknown {kind} {name!r}; {closest(name, in_suite)}")
            raise ValueError(
                f"the {suite!r} suite has no {kind} {name!r}; it has {sorted(in_suite)}"
            )
    runs = []
    for env_id, agent, budget in SUITES[suite]:
        if (env_set and env_id not in env_set) or (agent_set and agent not in agent_set):
            continue
        runs += [Run(env_id, agent, s, budget, eval_episodes) for s in range(seeds)]
    if not runs:  # every name is in the suite, but not together
        on_envs = sorted({a for e, a, _ in SUITES[suite] if e in env_set})
        raise ValueError(
            f"the {suite!r} suite has no run of agents {sorted(agent_set)} on envs "
            f"{sorted(env_set)}; its agents on those envs are {on_envs}"
        )
    return runs


def _env_ids() -> set[str]:
    """Every registered Gymnasium id."""
    return set(gym.registry)


# --------------------------------------------------------------------------- running
def _still_skipped(row: dict[str, Any]) -> bool:
    """Whether a skipped row's agent still does not fit its env (then it is not rerun)."""
    if row_status(row) != "skipped" or row["agent"] not in SPACES:
        return False
    try:
        return unsupported(gym.make(row["env_id"]), row["agent"]) is not None
    except Exception:  # the env cannot be made any more: let the run record why
        return False


def run_benchmark(
    runs: list[Run],
    out: str | Path,
    jobs: int = 1,
    backend: str = "local",
    ray_address: str | None = None,
    progress_bar: bool = True,
) -> list[dict]:
    """Run everything not yet done, appending a row to ``out/results.jsonl`` per finished run.

    Done: the run has a success row, or a skipped row and its agent still does not fit the
    env. Failed runs are retried.

    Each run is claimed before it starts (see the module docstring), so concurrent calls on
    one folder share the work instead of repeating it; a run another live process holds is
    left to it, with a warning.

    Args:
        runs: The runs (see :func:`plan_runs`).
        out: Output folder (created).
        jobs: Parallel worker processes for the local backend (>= 1).
        backend: ``"local"`` (processes) or ``"ray"`` (Ray tasks; a local Ray instance, or
            ``ray_address``).
        ray_address: Address of a Ray cluster for the ray backend.
        progress_bar: Show runs done and time left.

    Returns:
        The rows written by this call.

    Raises:
        ValueError: A bad ``backend`` or ``jobs``, or ``out`` is a file.
        ResultsFileError: The results file has a corrupt line (other than the last).
    """
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out must be a folder, but {out} is a file; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    done = {_key(r) for r in load_results(out) if row_status(r) == "ok" or _still_skipped(r)}
    todo = [r for r in runs if r.key not in done]
    written: list[dict] = []
    busy: list[str] = []
    claimed: set[tuple] = set()
    bar = tqdm(total=len(todo), disable=not progress_bar, desc="benchmark runs")

    def claim(run: Run) -> bool:
        state = _claim(out, run)
        if state == "claimed":
            claimed.add(run.key)
            return True
        if state != "done":
            busy.append(f"{run.key} ({state})")
        bar.update(1)
        return False

    def record(row: dict) -> None:
        append_result(out, row)
        claimed.discard(_key(row))
        written.append(row)
        bar.update(1)

    try:
        if backend == "ray":
            import ray

            ray.init(address=ray_address, ignore_reinit_error=True, log_to_driver=False,
                     include_dashboard=False)  # fmt: skip
            remote = ray.remote(run_one)
            pending = {remote.remote(r): r for r in todo if claim(r)}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                record(ray.get(ready[0]))
                pending.pop(ready[0])
        elif jobs > 1:
            queue = iter(todo)
            # Workers start from a fresh server process: forking this one after numba's
            # worker threads started (any parallel kernel or solver) can abort the child.
            context = multiprocessing.get_context("forkserver")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                running: set[Future] = set()
                while True:
                    while len(running) < jobs:
                        run = next((r for r in queue if claim(r)), None)
                        if run is None:
                            break
                        running.add(pool.submit(run_one, run))
                    if not running:
                        break
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        record(fut.result())
        else:
            for r in todo:
                if claim(r):
                    record(run_one(r))
    finally:
        bar.close()
        _release(out, claimed)
    if busy:
        warnings.warn(
            f"{len(busy)} run(s) left to the other process(es) that claimed them in "
            f"{out / CLAIMS}: {', '.join(busy[:5])}{' ...' if len(busy) > 5 else ''}",
            RuntimeWarning,
            stacklevel=2,
        )
    return written
