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
import json
import math
import multiprocessing
import os
import socket
import time
import traceback
import warnings
from collections.abc import Iterable, Iterator
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
from agents.common import masked_action
from benchmarks.registry import (
    AGENTS,
    SUITES,
    AgentSpec,
    closest,
    make_env,
    parse_config,
    unsupported,
)
from crm_envs.core.oracle import Policy, evaluate, evaluate_batch, random_policy

__all__ = [
    "AGENTS",
    "HEADROOM",
    "SUITES",
    "RegretMonitor",
    "ResultsFileError",
    "Run",
    "append_result",
    "baselines",
    "closest",
    "headroom_of",
    "latest_rows",
    "load_results",
    "plan_runs",
    "policy_of",
    "read_rows",
    "reference_kind",
    "row_status",
    "run_benchmark",
    "run_one",
    "sb3_class",
    "scoring",
    "select",
    "train",
    "unsupported",
]

EVAL_OFFSET = 10_000
RESULTS = "results.jsonl"
CLAIMS = "claims.json"
LOCK = ".results.lock"
#: Largest training seed: SB3 and NumPy's legacy generators take 32-bit seeds.
SEED_MAX = 2**32 - 1


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
class _Declared:
    """A baseline the env's task declares (``"random"`` or ``"reference"``): nothing to train.

    It plays the task's own policy (which may read ``info``: the B2B planners read the belief
    there) through :func:`policy_of`.
    """

    def __init__(self, role: str, env: gym.Env, seed: int) -> None:
        self.role = role
        if role == "reference":
            from benchmarks.headroom import reference_policy

            self.policy = reference_policy(env)[0]
        else:
            self.policy = random_policy(env.action_space, seed)


def sb3_class(spec: AgentSpec) -> type:
    """The Stable-Baselines3 (or sb3-contrib) algorithm class of an SB3 ``spec``."""
    import importlib

    package, algo = str(spec.build).split(":", 1)
    module = {"sb3": "stable_baselines3", "sb3_contrib": "sb3_contrib"}[package]
    return getattr(importlib.import_module(module), algo)


def _sb3_model(spec: AgentSpec, env: gym.Env, seed: int) -> Any:
    """A Stable-Baselines3 (or sb3-contrib) model of ``spec`` on ``env``."""
    import torch

    torch.set_num_threads(1)
    cls = sb3_class(spec)
    policy = "MlpLstmPolicy" if cls.__name__ == "RecurrentPPO" else "MlpPolicy"
    return cls(policy, env, seed=seed, verbose=0, **dict(spec.kwargs))


class _MaskFromInfo(gym.Wrapper):
    """Exposes the last ``info["action_mask"]`` as ``action_masks()`` (sb3-contrib's hook)."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._mask = np.asarray(info["action_mask"], dtype=bool)
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        out = self.env.step(action)
        self._mask = np.asarray(out[4]["action_mask"], dtype=bool)
        return out

    def action_masks(self) -> np.ndarray:
        """Valid actions after the last reset or step."""
        return self._mask


def train(agent: str, env: gym.Env, seed: int, budget: int, config: str | None = None) -> Any:
    """Build ``agent`` (a key of :data:`AGENTS`) on ``env`` and train it for ``budget`` steps.

    Args:
        agent: The agent's name.
        env: The training env (the harness wraps it to record returns and regret).
        seed: Training seed.
        budget: Env steps (0: untrained).
        config: The env configuration of ``env``; given, an SB3 agent with ``n_envs > 1``
            trains on that many copies through :mod:`crm_envs.sb3` instead of on ``env``.

    Returns:
        The trained object: one with ``predict``, or a declared baseline.
    """
    spec = AGENTS[agent]
    if spec.declared is not None:
        return _Declared(spec.declared, env, seed)
    if callable(spec.build):
        return spec.build(env, seed, budget)
    if spec.sb3 and config is not None and spec.n_envs > 1:
        from crm_envs.sb3 import make_sb3_vec_env

        env_id, kwargs = parse_config(config)
        venv = _VecReturns(make_sb3_vec_env(env_id, spec.n_envs, seed=seed, **kwargs))
        model = _sb3_model(spec, venv, seed)
        if budget:
            model.learn(total_timesteps=budget)
        model.episode_returns = venv.returns  # for the learning curve
        return model
    if spec.sb3:
        from stable_baselines3.common.monitor import Monitor

        monitored = Monitor(env)
        model = _sb3_model(spec, _MaskFromInfo(monitored) if "action_mask" in spec.needs
                           else monitored, seed)  # fmt: skip
        if budget:
            model.learn(total_timesteps=budget)
        model.episode_returns = monitored.get_episode_rewards()  # for the learning curve
        return model
    module, name = spec.build.rsplit(".", 1)
    cls = getattr(__import__(module, fromlist=[name]), name)
    return cls(env, seed=seed, **dict(spec.kwargs)).learn(budget)


def _VecReturns(venv: Any) -> Any:
    """``venv`` under SB3's ``VecMonitor``, keeping every finished episode's return in order."""
    from stable_baselines3.common.vec_env import VecMonitor

    class VecReturns(VecMonitor):
        def __init__(self, inner: Any) -> None:
            super().__init__(inner)
            self.returns: list[float] = []

        def step_wait(self) -> Any:
            obs, rew, done, infos = super().step_wait()
            self.returns += [float(i["episode"]["r"]) for i in infos if "episode" in i]
            return obs, rew, done, infos

    return VecReturns(venv)


def policy_of(agent: str, trained: Any) -> Policy:
    """The trained agent as a :class:`~crm_envs.core.oracle.Policy` (evaluated greedily).

    A masked agent gets ``info["action_mask"]``; a recurrent one keeps its LSTM state within an
    episode and starts each episode afresh. An SB3 model also gets ``act_batch``: one
    ``predict`` call acts for every copy of the vector env, as ``act`` does for each, so the
    evaluation plays all its episodes at once (a recurrent model's batch starts its episodes
    together, which is how :func:`~crm_envs.core.oracle.evaluate_batch` plays them).
    """
    if isinstance(trained, _Declared):
        return trained.policy
    spec = AGENTS[agent]
    if not spec.sb3:  # an agent of ours acts on one env's observation
        return Policy(agent, lambda obs, info: trained.predict(obs, deterministic=True)[0])
    if "action_mask" in spec.needs:

        def act_masked(obs: Any, info: dict[str, Any]) -> Any:
            return masked_action(trained, obs, info)

        return Policy(agent, act_masked, act_batch=act_masked)
    if spec.build == "sb3_contrib:RecurrentPPO":
        memory: dict[str, Any] = {}

        def start() -> None:
            memory.update(state=None, first=None)

        def step(obs: Any, n: int) -> Any:
            if memory["first"] is None:
                memory["first"] = np.ones(n, dtype=bool)
            action, memory["state"] = trained.predict(obs, state=memory["state"],
                                                      episode_start=memory["first"],
                                                      deterministic=True)  # fmt: skip
            memory["first"] = np.zeros(n, dtype=bool)
            return action

        def act(obs: Any, info: dict[str, Any]) -> Any:
            return step(obs, 1)

        def act_batch(obs: Any, info: dict[str, Any]) -> Any:
            return step(obs, len(next(iter(obs.values())) if isinstance(obs, dict) else obs))

        start()
        return Policy(agent, act, start=start, act_batch=act_batch)

    def act_plain(obs: Any, info: dict[str, Any]) -> Any:
        return trained.predict(obs, deterministic=True)[0]

    return Policy(agent, act_plain, act_batch=act_plain)


class RegretMonitor(gym.Wrapper):
    """Sums the regret of every step (``info["regret"]``) and what uniform random would lose.

    Random's expected regret of a step is the best arm's expected reward minus the mean of all
    arms' (``info["expected_rewards"]``), for the means in force at that step.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.regret = 0.0
        self.random_regret = 0.0
        self.pulls = 0

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Step the env and add the step's regret and random's expected regret."""
        out = self.env.step(action)
        info = out[4]
        means = np.asarray(info["expected_rewards"], dtype=float)
        self.regret += float(info["regret"])
        self.random_regret += float(means.max() - means.mean())
        self.pulls += 1
        return out


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


def _play(env: gym.Env, policy: Policy, steps: int, seed: int) -> None:
    """Play ``policy`` for ``steps`` env steps (a declared baseline's "training" on a bandit)."""
    obs, info = env.reset(seed=seed)
    if policy.start is not None:
        policy.start()
    for _ in range(steps):
        obs, _, terminated, truncated, info = env.step(policy.act(obs, info))
        if terminated or truncated:
            if policy.start is not None:
                policy.start()
            obs, info = env.reset()


def reference_kind(config: str) -> str:
    """The kind of the configuration's declared reference: exact, planner or heuristic."""
    return make_env(config).unwrapped.task.oracle().kind


def scoring(config: str) -> str:
    """How runs on ``config`` are scored: ``"return"`` or ``"regret"`` (see ``Task.scoring``)."""
    return getattr(make_env(config).unwrapped.task, "scoring", "return")


def _returns(config: str, policy: Policy, episodes: int, seed: int) -> np.ndarray:
    """Evaluation returns of ``policy`` on ``config``.

    All episodes at once on the vector env when the policy can act on a batch (the same
    returns, see :func:`~crm_envs.core.oracle.evaluate_batch`), else one by one.
    """
    if policy.act_batch is not None:
        env_id, kwargs = parse_config(config)
        return evaluate_batch(env_id, kwargs, policy, episodes, seed)
    return evaluate(lambda: make_env(config), policy, episodes, seed)


@lru_cache(maxsize=64)
def baselines(config: str, episodes: int, seed: int) -> tuple[float, float]:
    """Mean return of the declared random baseline and reference on the evaluation episodes."""
    env = make_env(config)
    rand = _returns(config, _Declared("random", env, seed).policy, episodes, seed).mean()
    ref = _returns(config, _Declared("reference", env, seed).policy, episodes, seed).mean()
    return float(rand), float(ref)


def run_one(run: Run) -> dict[str, Any]:
    """Train and evaluate one run; returns its results row.

    The row has ``error`` (the exception and a short traceback) when the run raised, and
    ``skipped`` (the reason) when the agent does not support the env's spaces; both are None
    for a finished run. ``score`` is the normalised return (random = 0, reference = 1) or, on
    an env scored by regret, ``1 - regret / random_regret`` over the training run's pulls
    (``pulls``; random's expected regret over as many); ``mean`` and ``stderr`` are always the
    raw evaluation return. ``env_steps`` is what the agent took in training, which for an SB3
    agent can exceed ``budget`` (it finishes its last rollout).
    """
    row: dict[str, Any] = {**asdict(run), "error": None, "skipped": None}
    start = time.perf_counter()
    try:
        if run.agent not in AGENTS:
            raise ValueError(f"unknown agent {run.agent!r}; {closest(run.agent, AGENTS)}")
        env = make_env(run.env_id)
        reason = unsupported(env, run.agent)
        if reason is not None:
            row["skipped"] = reason
            row["wall_seconds"] = time.perf_counter() - start
            return row
        by_regret = scoring(run.env_id) == "regret"
        if by_regret:
            env = RegretMonitor(env)
        trained = train(run.agent, env, run.seed, run.budget, None if by_regret else run.env_id)
        if isinstance(trained, _Declared) and by_regret:
            _play(env, trained.policy, run.budget, run.seed)
        train_time = time.perf_counter() - start
        # the steps taken, not the budget: SB3 finishes its last rollout (PPO's 256-step
        # rollouts make 1,024 pulls of a 1,000-pull budget)
        steps = int(getattr(trained, "num_timesteps", run.budget))
        eval_seed = run.seed + EVAL_OFFSET
        returns = _returns(run.env_id, policy_of(run.agent, trained), run.eval_episodes,
                           eval_seed)  # fmt: skip
        rand, ref = baselines(run.env_id, run.eval_episodes, eval_seed)
        if by_regret:
            score = 1.0 - env.regret / env.random_regret if env.random_regret > 0 else None
            row.update(regret=env.regret, random_regret=env.random_regret, pulls=env.pulls)
        else:
            score = (returns.mean() - rand) / (ref - rand) if ref != rand else None
        row.update(
            mean=float(returns.mean()),
            stderr=float(returns.std(ddof=1) / np.sqrt(len(returns))),
            random=rand,
            reference=ref,
            reference_kind=reference_kind(run.env_id),
            scoring="regret" if by_regret else "return",
            score=None if score is None else float(score),
            train_seconds=train_time,
            curve=learning_curve(trained),
            env_steps=steps,
            steps_per_s=steps / train_time if steps and train_time > 0 else None,
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
def _matches(config: str, names: set[str]) -> bool:
    """Whether an env filter names ``config`` or its registered id."""
    return config in names or parse_config(config)[0] in names


def plan_runs(
    suite: str,
    seeds: int | None = None,
    envs: Iterable[str] | None = None,
    agents: Iterable[str] | None = None,
    eval_episodes: int | None = None,
) -> list[Run]:
    """The runs a suite derives (every agent on every env it supports), for seeds 0..seeds-1.

    Headroom is not checked here (it needs evaluation): :func:`select` does that.

    Args:
        suite: A key of :data:`SUITES`.
        seeds: Seeds per (env, agent) (>= 1; None: the suite's).
        envs: Keep only these env configurations or ids (None or empty: all).
        agents: Keep only these agents of the suite (None or empty: all).
        eval_episodes: Evaluation episodes per run (>= 2; None: the suite's, per
            configuration).

    Returns:
        The runs.

    Raises:
        ValueError: An unknown suite, env id or agent (with the closest names), a name the
            suite does not have, filters that select no run, or a bad count.
        TypeError: ``seeds`` or ``eval_episodes`` is not an int.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; {closest(suite, SUITES)}")
    spec = SUITES[suite]
    seeds = spec.seeds if seeds is None else seeds
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer)):
        raise TypeError(f"seeds must be an int, got {seeds!r}")
    if not 1 <= seeds <= SEED_MAX + 1:
        raise ValueError(f"seeds must be in [1, {SEED_MAX + 1}] (seeds 0..seeds-1), got {seeds}")
    if isinstance(envs, str) or isinstance(agents, str):
        raise TypeError("envs and agents must be lists of names, not a single string")
    env_set, agent_set = set(envs or []), set(agents or [])
    suite_envs = set(spec.budgets) | {parse_config(c)[0] for c in spec.budgets}
    derived, _ = spec.pairs([c for c in spec.budgets if not env_set or _matches(c, env_set)])
    suite_agents = set(spec.agents)
    checks = (
        ("env id", env_set, _env_ids() | suite_envs, suite_envs),
        ("agent", agent_set, set(AGENTS), suite_agents),
    )
    for kind, wanted, known, in_suite in checks:
        for name in sorted(wanted):
            if name in in_suite:
                continue
            if (parse_config(name)[0] if kind == "env id" else name) not in known:
                raise ValueError(f"unknown {kind} {name!r}; {closest(name, in_suite)}")
            raise ValueError(
                f"the {suite!r} suite has no {kind} {name!r}; it has {sorted(in_suite)}"
            )
    runs = []
    for config, agent, budget in derived:
        if (env_set and not _matches(config, env_set)) or (agent_set and agent not in agent_set):
            continue
        episodes = spec.eval_episodes_of(config) if eval_episodes is None else eval_episodes
        runs += [Run(config, agent, s, budget, episodes) for s in range(seeds)]
    if not runs:  # every name is in the suite, but not together
        on_envs = sorted({a for c, a, _ in derived if _matches(c, env_set)})
        raise ValueError(
            f"the {suite!r} suite has no run of agents {sorted(agent_set)} on envs "
            f"{sorted(env_set)}; its agents on those envs are {on_envs}"
        )
    return runs


def _env_ids() -> set[str]:
    """Every registered Gymnasium id."""
    return set(gym.registry)


HEADROOM = "headroom.json"


def headroom_of(config: str, episodes: int, seed: int, budget: int) -> dict[str, Any]:
    """The headroom of one env configuration, as the suite filter reads it.

    On an env scored by return: the reference's gap over the best naive baseline in standard
    errors at ``episodes`` evaluation episodes (:func:`benchmarks.headroom.measure`). On an env
    scored by regret: uniform random's expected regret over ``budget`` pulls (always the best
    arm has none); the gap is then infinite when that regret is positive.

    Returns:
        ``{"gap_in_se", "gap", "reference_kind", "best_naive", "scoring"}``.
    """
    if scoring(config) == "regret":
        env = RegretMonitor(make_env(config))
        _play(env, random_policy(env.action_space, seed), budget, seed)
        gap = env.random_regret
        return {"gap_in_se": math.inf if gap > 0 else 0.0, "gap": gap, "scoring": "regret",
                "reference_kind": reference_kind(config), "best_naive": "random"}  # fmt: skip
    from benchmarks.headroom import measure

    env_id, kwargs = parse_config(config)
    h = measure(env_id, episodes, seed, kwargs)
    return {"gap_in_se": h.gap_in_se, "gap": h.gap, "scoring": "return",
            "reference_kind": h.reference_kind, "best_naive": h.best_naive.name}  # fmt: skip


def select(
    runs: list[Run],
    suite: str,
    out: str | Path | None = None,
    seed: int = 0,
    progress_bar: bool = True,
) -> tuple[list[Run], list[dict[str, Any]]]:
    """Keep the runs whose env configuration has the suite's minimum headroom.

    Each configuration's headroom (:func:`headroom_of`, at the runs' evaluation budget) is
    measured once and cached in ``out/headroom.json``; the suite's kept and left-out
    configurations are written to ``out/suite.json``, which the report reads.

    Args:
        runs: Runs of ``suite`` (see :func:`plan_runs`).
        suite: A key of :data:`SUITES` (its ``min_headroom_se`` applies).
        out: Results folder for the cache and ``suite.json`` (None: neither).
        seed: Seed of the headroom evaluation.
        progress_bar: Show a bar over the configurations.

    Returns:
        ``(kept, left_out)``: the runs to do, and one entry per configuration left out with its
        headroom and the reason.
    """
    spec = SUITES[suite]
    path = None if out is None else Path(out) / HEADROOM
    cache = json.loads(path.read_text(encoding="utf-8")) if path and path.exists() else {}
    budgets = {}
    for r in runs:
        budgets[(r.env_id, r.eval_episodes)] = max(budgets.get((r.env_id, r.eval_episodes), 0),
                                                   r.budget)  # fmt: skip
    measured: dict[tuple[str, int], dict[str, Any]] = {}
    for config, episodes in tqdm(budgets, desc="headroom", disable=not progress_bar):
        key = f"{config}|{episodes}|{seed}|{budgets[(config, episodes)]}"
        if key not in cache:
            cache[key] = _finite(headroom_of(config, episodes, seed, budgets[(config, episodes)]))
        h = dict(cache[key])
        h["gap_in_se"] = math.inf if h["gap_in_se"] is None else h["gap_in_se"]
        h["episodes"] = episodes
        measured[(config, episodes)] = h
    left_out = []
    for (config, episodes), h in measured.items():
        if h["gap_in_se"] < spec.min_headroom_se:
            left_out.append({"env_id": config, "eval_episodes": episodes, **h, "reason": (
                f"headroom {h['gap_in_se']:.1f} s.e. < {spec.min_headroom_se:g} at {episodes} "
                f"episodes: the {h['reference_kind']} reference does not beat the best naive "
                f"policy ({h['best_naive']}) by enough to rank algorithms")})  # fmt: skip
    dropped = {(e["env_id"], e["eval_episodes"]) for e in left_out}
    kept = [r for r in runs if (r.env_id, r.eval_episodes) not in dropped]
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cache, indent=1), encoding="utf-8")  # type: ignore[union-attr]
        _, unsupported_pairs = spec.pairs({r.env_id for r in runs})
        summary = {
            "suite": suite,
            "min_headroom_se": spec.min_headroom_se,
            "kept": sorted({r.env_id for r in kept}),
            "headroom": {c: h for (c, _), h in measured.items()},
            "left_out": left_out,
            "unsupported": [
                {"env_id": c, "agent": a, "reason": why} for c, a, why in unsupported_pairs
            ],
        }
        (Path(out) / "suite.json").write_text(json.dumps(_finite(summary), indent=1),
                                              encoding="utf-8")  # fmt: skip
    return kept, left_out


# --------------------------------------------------------------------------- running
def _still_skipped(row: dict[str, Any]) -> bool:
    """Whether a skipped row's agent still does not fit its env (then it is not rerun)."""
    if row_status(row) != "skipped" or row["agent"] not in AGENTS:
        return False
    try:
        return unsupported(make_env(row["env_id"]), row["agent"]) is not None
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
