"""Train a Stable-Baselines3 agent on a crm_envs id and score it on held-out seeds.

The score is normalised as in the harness (:mod:`benchmarks.harness`): uniformly random
actions score 0 and the env's declared reference (``task.oracle()``) scores 1: an exact
optimum, a planner, or a heuristic (which a learner may beat).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import gymnasium as gym
import numpy as np

import crm_envs  # noqa: F401  (registers the ids)

__all__ = ["SB3Result", "evaluate_vector", "train_sb3"]

ALGOS = ("PPO", "A2C", "SAC", "TD3", "DQN")
EVAL_SEED_OFFSET = 10_000


@dataclass(frozen=True)
class SB3Result:
    """Outcome of one SB3 training run.

    Attributes:
        env_id: Environment id.
        algo: SB3 algorithm name.
        seed: Training seed (evaluation uses ``seed + 10_000``).
        timesteps: Training budget in env steps.
        mean: Mean evaluation return.
        stderr: Standard error of ``mean``.
        random_mean: Mean return of random actions on the same evaluation seeds.
        reference: Return of the reference (exact optimum or reference policy).
        reference_kind: ``"exact"``, ``"planner"`` or ``"heuristic"``.
        score: ``(mean - random_mean) / (reference - random_mean)``.
        train_seconds: Wall time of ``learn``.
    """

    env_id: str
    algo: str
    seed: int
    timesteps: int
    mean: float
    stderr: float
    random_mean: float
    reference: float
    reference_kind: str
    score: float
    train_seconds: float

    def as_dict(self) -> dict:
        """The fields as a plain dict (one results row)."""
        return asdict(self)


def evaluate_vector(env_id: str, policy, episodes: int, seed: int) -> tuple[float, float]:
    """Mean and standard error of the return of ``policy(obs_batch) -> actions``.

    All episodes run together in the id's vector env, reset with ``seed`` (copy i gets
    ``seed + i``); each copy's first episode is counted.
    """
    env = gym.make_vec(env_id, num_envs=episodes, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=seed)
    returns = np.zeros(episodes)
    active = np.ones(episodes, dtype=bool)
    while active.any():
        obs, rew, term, trunc, _ = env.step(policy(obs))
        returns += np.where(active, rew, 0.0)
        active &= ~(term | trunc)
    env.close()
    return float(returns.mean()), float(returns.std(ddof=1) / np.sqrt(episodes))


def train_sb3(
    env_id: str,
    algo: str = "PPO",
    timesteps: int = 30_000,
    seed: int = 0,
    eval_episodes: int = 200,
    progress_bar: bool = False,
) -> SB3Result:
    """Train ``algo`` on ``env_id`` for ``timesteps`` steps and evaluate it.

    Args:
        env_id: Registered crm_envs id.
        algo: One of ``ALGOS`` (DQN needs a Discrete action space; SAC and TD3 a Box one).
        timesteps: Training budget.
        seed: Training seed; evaluation uses ``seed + 10_000`` and the next seeds.
        eval_episodes: Evaluation episodes (also used for the random and reference baselines).
        progress_bar: Show SB3's progress bar during training.

    Returns:
        The :class:`SB3Result`.

    Raises:
        ValueError: An unknown ``algo``, a count or seed out of range (checked before
            training).
        TypeError: ``algo`` does not support the env's action or observation space.
    """
    import stable_baselines3 as sb3
    import torch

    from benchmarks.harness import SEED_MAX, unsupported

    if algo not in ALGOS:
        raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")
    for name, value, low, high in (("timesteps", timesteps, 1, None), ("seed", seed, 0, SEED_MAX),
                                   ("eval_episodes", eval_episodes, 2, None)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise ValueError(f"{name} must be {bound}, got {value}")
    env = gym.make(env_id)
    reason = unsupported(env, algo.lower())
    if reason is not None:
        raise TypeError(f"algo={algo!r} cannot train on {env_id}: {reason}")
    torch.set_num_threads(1)
    cls = getattr(sb3, algo)
    kwargs = {"n_steps": 1200, "batch_size": 120} if algo == "PPO" else {}
    model = cls("MlpPolicy", env, seed=seed, verbose=0, **kwargs)
    start = time.perf_counter()
    model.learn(total_timesteps=timesteps, progress_bar=progress_bar)
    seconds = time.perf_counter() - start
    eval_seed = seed + EVAL_SEED_OFFSET
    mean, stderr = evaluate_vector(
        env_id, lambda obs: model.predict(obs, deterministic=True)[0], eval_episodes, eval_seed
    )
    # The same baselines as the harness (one implementation of the scoring).
    from benchmarks.harness import baselines, reference_kind

    random_mean, reference = baselines(env_id, eval_episodes, eval_seed)
    kind = reference_kind(env_id)
    gap = reference - random_mean
    score = (mean - random_mean) / gap if gap != 0 else float("nan")
    return SB3Result(env_id, algo, seed, timesteps, mean, stderr, random_mean, reference, kind,
                     score, seconds)  # fmt: skip
