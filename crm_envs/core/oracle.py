"""The reference and the naive baselines each env declares, and their evaluation: headroom.

Every env's task declares, once:

* ``oracle()``: the reference a score is normalised with, and its *kind*:

  - :class:`Exact`: a finite model (``TabularMDP``) whose solution (by :mod:`agents.dp`) is the
    optimum;
  - :class:`Planner`: a planner's policy (e.g. the POMDP grid planner), optimal up to its own
    approximation;
  - :class:`Heuristic`: a sensible policy with no claim to optimality.

* ``baselines(seed)``: the naive policies an algorithm must beat: uniform random, every
  constant action (the best one is picked by evaluation), the env's natural naive policy
  (e.g. myopic), and the full-information oracle where one exists (a policy that sees what the
  agent cannot, which bounds every agent from above).

Headroom is the gap between the reference and the best naive policy, in standard errors of
that gap over the evaluation episodes (:func:`headroom`). An env in which the reference does not
beat the naive policies by many standard errors cannot rank algorithms.

Nothing here imports :mod:`agents`: an :class:`Exact` reference is solved by
``agents.dp.exact_policy``, which the benchmark passes in as ``solve``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from tqdm.auto import tqdm

from crm_envs.core.models import TabularMDP
from crm_envs.core.params import check_int

__all__ = [
    "KINDS",
    "BaselineResult",
    "Exact",
    "Headroom",
    "Heuristic",
    "Planner",
    "Policy",
    "constant_policy",
    "episodes_to_separate",
    "evaluate",
    "evaluate_batch",
    "headroom",
    "play_episodes",
    "random_policy",
]

KINDS = ("exact", "planner", "heuristic")
"""Kinds of reference, from the strongest claim to the weakest."""


@dataclass(frozen=True)
class Policy:
    """A fixed policy for one single env.

    Attributes:
        name: Short name used in tables (``"random"``, ``"myopic"``...).
        act: ``act(obs, info) -> action`` for the single env's last observation and info.
        description: One line on what the policy does.
        full_information: Whether it reads what an agent cannot see (e.g. the hidden state in
            ``info``): such a policy bounds every agent instead of competing with them.
        start: Called before every episode (a policy with memory, e.g. an LSTM, forgets the
            last episode there); None for a memoryless policy.
        act_batch: Optional ``act_batch(obs, info) -> actions`` for a batch of copies of the
            vector env (batched observations and info arrays). Given, :func:`headroom` plays
            the policy on the vector env, all episodes at once; it must act exactly as ``act``
            does on each copy, so that both give the same returns.
    """

    name: str
    act: Callable[[Any, dict[str, Any]], Any]
    description: str = ""
    full_information: bool = False
    start: Callable[[], None] | None = None
    act_batch: Callable[[Any, dict[str, Any]], Any] | None = None


@dataclass(frozen=True)
class Exact:
    """An exact reference: the optimum of a finite model, solved by :mod:`agents.dp`.

    Attributes:
        model: The finite MDP (its optimal policy is the reference).
        state_index: Maps (obs, info) to the model's state index.
        time_index: Maps (obs, info) to the decision step of a finite-horizon model.
        description: One line on what the model is.
        action_map: Maps the model's action index to the env's action (None: the index).
        full_information: Whether ``state_index`` reads what an agent cannot see.
    """

    model: TabularMDP
    state_index: Callable[[Any, dict[str, Any]], int]
    time_index: Callable[[Any, dict[str, Any]], int] | None = None
    description: str = "the exact optimum of the env's finite model"
    action_map: Callable[[int], Any] | None = None
    full_information: bool = False
    kind: str = field(default="exact", init=False)


@dataclass(frozen=True)
class Planner:
    """A planner's policy: optimal up to the planner's own approximation.

    Attributes:
        policy: The planner's policy.
        description: One line on the planner and its approximation.
    """

    policy: Policy
    description: str
    kind: str = field(default="planner", init=False)


@dataclass(frozen=True)
class Heuristic:
    """A sensible reference with no claim to optimality: scores above 1 are possible.

    Attributes:
        policy: The heuristic policy.
        description: One line on the heuristic.
    """

    policy: Policy
    description: str
    kind: str = field(default="heuristic", init=False)


Reference = Exact | Planner | Heuristic


def random_policy(space: gym.Space[Any], seed: int) -> Policy:
    """Uniformly random actions of ``space`` (no action mask), seeded.

    Args:
        space: The env's action space.
        seed: Seed of the action sampler.

    Returns:
        The policy.
    """
    sampler = copy.deepcopy(space)  # its own seeded sampler; the env's space is untouched
    sampler.seed(check_int("seed", seed, low=0))
    return Policy("random", lambda obs, info: sampler.sample(), "uniform over the action space")


def constant_policy(action: Any, label: str) -> Policy:
    """Always the same ``action``.

    Args:
        action: The action taken at every step.
        label: How the action reads in tables (e.g. ``"spend $50"``).

    Returns:
        The policy, named ``"constant: <label>"``.
    """
    one = np.asarray(action)

    def act_batch(obs: Any, info: dict[str, Any]) -> NDArray[Any]:
        return np.repeat(one[None], len(obs), axis=0)

    return Policy(
        f"constant: {label}",
        lambda obs, info: action,
        "the same action every step",
        act_batch=act_batch,
    )


def evaluate(
    make_env: Callable[[], gym.Env],
    policy: Policy,
    episodes: int,
    seed: int,
) -> NDArray[np.float64]:
    """Undiscounted return of each of ``episodes`` episodes of ``policy``.

    Episode ``k`` is reset with seed ``seed + k``, so two policies evaluated with the same seed
    meet the same customers as far as their actions allow (common random numbers).

    Args:
        make_env: Builds the single env (e.g. ``lambda: gym.make(env_id, **kwargs)``).
        policy: The policy to play.
        episodes: Number of episodes (>= 2, so that a standard error exists).
        seed: Seed of the first episode.

    Returns:
        (episodes,) returns.
    """
    episodes = check_int("episodes", episodes, low=2)
    seed = check_int("seed", seed, low=0)
    env = make_env()
    out = play_episodes(env, policy.act, episodes, seed, policy.start)
    env.close()
    return out


def play_episodes(
    env: gym.Env,
    act: Callable[[Any, dict[str, Any]], Any],
    episodes: int,
    seed: int,
    start: Callable[[], None] | None = None,
) -> NDArray[np.float64]:
    """The one episode loop: undiscounted return of each episode of ``act`` on ``env``.

    Episode ``k`` is reset with seed ``seed + k``. Used by :func:`evaluate` and by
    ``agents.common.evaluate_policy``.

    Args:
        env: A single Gymnasium env.
        act: ``act(obs, info) -> action``.
        episodes: Number of episodes (>= 1).
        seed: Seed of the first episode (>= 0).
        start: Called before each episode (a policy's per-episode reset), or None.

    Returns:
        (episodes,) returns.
    """
    episodes = check_int("episodes", episodes, low=1)
    seed = check_int("seed", seed, low=0)
    out = np.empty(episodes)
    for k in range(episodes):
        if start is not None:
            start()
        obs, info = env.reset(seed=seed + k)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(act(obs, info))
            total += float(reward)
            done = terminated or truncated
        out[k] = total
    return out


def evaluate_batch(
    env_id: str, kwargs: dict[str, Any], policy: Policy, episodes: int, seed: int
) -> NDArray[np.float64]:
    """:func:`evaluate` of a policy with ``act_batch``: every episode at once, one per copy.

    Copy ``k`` of the vector env reset with ``seed`` is episode ``k`` reset with ``seed + k``,
    so the returns equal :func:`evaluate`'s. ``policy.start`` is called once, before the
    episodes, which all start together. A copy's later episodes (NEXT_STEP autoreset) are
    not counted.

    Args:
        env_id: A registered id with a vector entry point.
        kwargs: Its ``gym.make`` kwargs.
        policy: A policy with ``act_batch``.
        episodes: Number of episodes (>= 2).
        seed: Seed of the first episode.

    Returns:
        (episodes,) returns.
    """
    episodes = check_int("episodes", episodes, low=2)
    seed = check_int("seed", seed, low=0)
    if policy.act_batch is None:
        raise ValueError(f"policy {policy.name!r} has no act_batch; use evaluate()")
    venv = gym.make_vec(env_id, num_envs=episodes, vectorization_mode="vector_entry_point",
                        copy=False, **kwargs)  # fmt: skip
    if policy.start is not None:
        policy.start()
    obs, info = venv.reset(seed=seed)
    out = np.zeros(episodes)
    running = np.ones(episodes, dtype=bool)
    while running.any():
        obs, reward, terminated, truncated, info = venv.step(policy.act_batch(obs, info))
        out += np.where(running, reward, 0.0)
        running &= ~(terminated | truncated)
    venv.close()
    return out


@dataclass(frozen=True)
class BaselineResult:
    """Returns of one policy over the evaluation episodes.

    Attributes:
        role: ``"random"``, ``"constant"``, ``"naive"``, ``"reference"`` or ``"oracle"``.
        name: The policy's name.
        returns: (episodes,) episode returns.
    """

    role: str
    name: str
    returns: NDArray[np.float64]

    @property
    def mean(self) -> float:
        """Mean return."""
        return float(self.returns.mean())

    @property
    def se(self) -> float:
        """Standard error of the mean return."""
        return float(self.returns.std(ddof=1) / math.sqrt(len(self.returns)))


@dataclass(frozen=True)
class Headroom:
    """How far the reference is above the naive policies of one env configuration.

    Attributes:
        env_id: The env id.
        kwargs: Its registration kwargs beyond the defaults.
        reference_kind: ``"exact"``, ``"planner"`` or ``"heuristic"``.
        results: Every evaluated policy, the reference included.
        episodes: Evaluation episodes per policy.
    """

    env_id: str
    kwargs: dict[str, Any]
    reference_kind: str
    results: tuple[BaselineResult, ...]
    episodes: int

    def by_role(self, role: str) -> BaselineResult | None:
        """The result of ``role`` (the best constant for ``"constant"``), or None."""
        found = [r for r in self.results if r.role == role]
        return max(found, key=lambda r: r.mean) if found else None

    @property
    def best_naive(self) -> BaselineResult:
        """The best of random, the best constant action and the naive policy."""
        naive = [self.by_role(r) for r in ("random", "constant", "naive")]
        return max((r for r in naive if r is not None), key=lambda r: r.mean)

    @property
    def gap(self) -> float:
        """Reference mean minus the best naive mean."""
        return self.by_role("reference").mean - self.best_naive.mean  # type: ignore[union-attr]

    @property
    def gap_se(self) -> float:
        """Standard error of :attr:`gap` (paired over the common episode seeds)."""
        diff = self.by_role("reference").returns - self.best_naive.returns  # type: ignore[union-attr]
        return float(diff.std(ddof=1) / math.sqrt(len(diff)))

    @property
    def gap_in_se(self) -> float:
        """The gap in standard errors (inf when the paired difference has no spread)."""
        if self.gap_se == 0.0:
            return math.inf if self.gap > 0 else 0.0
        return self.gap / self.gap_se

    def episodes_to_separate(self, z: float = 2.0) -> float:
        """Episodes needed for the gap to reach ``z`` standard errors (inf when gap <= 0).

        Args:
            z: Required separation in standard errors.

        Returns:
            ``ceil((z * sd_diff / gap)**2)``, at least 2.
        """
        if self.gap <= 0:
            return math.inf
        return episodes_to_separate(self.gap_in_se, self.episodes, z)


def episodes_to_separate(gap_in_se: float, episodes: int, z: float = 2.0) -> float:
    """Episodes at which a gap of ``gap_in_se`` s.e. at ``episodes`` episodes reaches ``z`` s.e.

    The standard error shrinks as one over the square root of the episodes, so the answer is
    ``ceil(episodes * (z / gap_in_se)**2)``, at least 2 (inf when the gap is not positive).

    Args:
        gap_in_se: The measured gap in standard errors.
        episodes: The episodes it was measured at.
        z: Required separation in standard errors.

    Returns:
        The number of episodes (a float, so that it can be inf).
    """
    if not gap_in_se > 0:
        return math.inf
    # The tolerance keeps a whole number that rounding pushed up by an ulp whole.
    return float(max(2, math.ceil(episodes * (z / gap_in_se) ** 2 - 1e-9)))


def headroom(
    env_id: str,
    reference: Policy,
    reference_kind: str,
    baselines: Sequence[tuple[str, Policy]],
    episodes: int,
    seed: int = 0,
    kwargs: dict[str, Any] | None = None,
    progress_bar: bool = False,
) -> Headroom:
    """Evaluate the reference and every baseline of one env configuration on common seeds.

    Args:
        env_id: A registered id.
        reference: The reference's policy (an :class:`Exact` one already solved).
        reference_kind: One of :data:`KINDS`.
        baselines: ``(role, policy)`` pairs; roles ``"random"``, ``"constant"`` (one per
            candidate action), ``"naive"`` and ``"oracle"``.
        episodes: Episodes per policy (>= 2).
        seed: Seed of the first episode.
        kwargs: Extra ``gym.make`` kwargs.
        progress_bar: Show a tqdm bar over the policies.

    Returns:
        The :class:`Headroom`.
    """
    if reference_kind not in KINDS:
        raise ValueError(f"reference_kind must be one of {KINDS}, got {reference_kind!r}")
    kwargs = dict(kwargs or {})
    roles = [("reference", reference), *baselines]
    results = []
    vector = gym.spec(env_id).vector_entry_point is not None
    for role, policy in tqdm(roles, desc=env_id, disable=not progress_bar, leave=False):
        if vector and policy.act_batch is not None:
            returns = evaluate_batch(env_id, kwargs, policy, episodes, seed)
        else:
            returns = evaluate(lambda: gym.make(env_id, **kwargs), policy, episodes, seed)
        results.append(BaselineResult(role, policy.name, returns))
    return Headroom(env_id, kwargs, reference_kind, tuple(results), episodes)
