"""Throughput of every crm_envs environment next to Gymnasium's CartPole, in the same run.

Speed is reported as nanoseconds per environment step and steps per second, for the single
env (``gym.make``) and the numba-batched vector env (``gym.make_vec(...,
vectorization_mode="vector_entry_point")``) at several batch sizes, each next to
``CartPole-v1`` and Gymnasium's own vectorised CartPole measured in the same process. The
ratio column (our steps/s over CartPole's) is what to compare across machines: this machine's
absolute speed drifts (shared virtual CPUs), so each figure is the best of several repeats.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

import crm_envs  # noqa: F401  (registers the ids)
from crm_envs.registration import ENV_INFO

__all__ = ["Measurement", "format_table", "measure_single", "measure_vector", "run_throughput"]

REFERENCE_ID = "CartPole-v1"


@dataclass(frozen=True)
class Measurement:
    """One throughput figure.

    Attributes:
        env_id: Environment id.
        mode: ``"single"``, ``"vector"`` (Gymnasium's default ``copy=True``: new arrays every
            step) or ``"vector copy=False"`` (arrays from the env's two preallocated sets; see
            :mod:`crm_envs.core.vector`).
        num_envs: Batch size (1 for single).
        ns_per_step: Best wall time per environment step, in nanoseconds.
    """

    env_id: str
    mode: str
    num_envs: int
    ns_per_step: float

    @property
    def steps_per_s(self) -> float:
        """Environment steps per second."""
        return 1e9 / self.ns_per_step


def measure_single(env_id: str, steps: int, repeats: int, seed: int = 0) -> Measurement:
    """Time ``env.step`` of ``gym.make(env_id)`` with random actions, resetting on episode end.

    Args:
        env_id: Registered id.
        steps: Steps per repeat.
        repeats: Repeats; the best is kept.
        seed: Seed of the env and of the actions.

    Returns:
        The :class:`Measurement`.
    """
    env = gym.make(env_id)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(steps)]
    env.reset(seed=seed)
    best = np.inf
    for _ in range(repeats):
        env.reset()
        start = time.perf_counter()
        for a in actions:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
        best = min(best, (time.perf_counter() - start) / steps)
    env.close()
    return Measurement(env_id, "single", 1, best * 1e9)


def measure_vector(
    env_id: str,
    num_envs: int,
    steps: int,
    repeats: int,
    seed: int = 0,
    seconds_per_repeat: float = 1.0,
    copy: bool | None = None,
) -> Measurement:
    """Time ``step`` of the id's vector entry point with random batched actions.

    Args:
        env_id: Registered id with a ``vector_entry_point``.
        num_envs: Batch size N.
        steps: Batched steps per repeat (fewer, at least 2, if they would take longer than
            ``seconds_per_repeat``: heavy envs at large N).
        repeats: Repeats; the best is kept.
        seed: Seed of the env and of the actions.
        seconds_per_repeat: Time budget of one repeat.
        copy: The vector env's ``copy`` argument (None: not passed, e.g. for CartPole).

    Returns:
        The :class:`Measurement` (time per single environment step).
    """
    kwargs = {} if copy is None else {"copy": copy}
    env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    env.action_space.seed(seed)
    batches = [env.action_space.sample() for _ in range(min(steps, 8))]
    env.reset(seed=seed)
    env.step(batches[0])  # compile / warm up
    start = time.perf_counter()
    env.step(batches[-1])
    one = time.perf_counter() - start
    steps = int(max(2, min(steps, seconds_per_repeat / max(one, 1e-9))))
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            env.step(batches[i % len(batches)])
        best = min(best, (time.perf_counter() - start) / (steps * num_envs))
    env.close()
    mode = "vector copy=False" if copy is False else "vector"
    return Measurement(env_id, mode, num_envs, best * 1e9)


def run_throughput(
    env_ids: Sequence[str] | None = None,
    sizes: Sequence[int] = (1, 1024, 65536),
    single_steps: int = 20_000,
    vector_env_steps: int = 4_000_000,
    repeats: int = 5,
    progress_bar: bool = True,
) -> list[Measurement]:
    """Measure every env and the CartPole reference in one run.

    Args:
        env_ids: Ids to measure (default: every crm_envs id).
        sizes: Batch sizes of the vector measurements.
        single_steps: Steps per repeat of each single-env measurement.
        vector_env_steps: Environment steps per repeat of each vector measurement
            (batched steps = this / N, at least 20 and at most ``single_steps``).
        repeats: Repeats per measurement (the best is kept).
        progress_bar: Show a tqdm progress bar.

    Returns:
        All measurements, the reference's included.
    """
    ids = list(env_ids) if env_ids else [info.env_id for info in ENV_INFO]
    jobs: list[tuple[str, int | None, bool | None]] = [
        (i, None, None) for i in [REFERENCE_ID, *ids]
    ]
    for n in sizes:
        jobs += [(REFERENCE_ID, n, None)]
        jobs += [(i, n, copy) for copy in (True, False) for i in ids]
    out = []
    for env_id, n, copy in tqdm(jobs, desc="throughput", disable=not progress_bar):
        if n is None:
            out.append(measure_single(env_id, single_steps, repeats))
        else:
            steps = min(single_steps, max(20, vector_env_steps // n))
            out.append(measure_vector(env_id, n, steps, repeats, copy=copy))
    return out


def format_table(results: Sequence[Measurement]) -> str:
    """Markdown table with ratios against the CartPole reference of the same mode and N.

    Args:
        results: Output of :func:`run_throughput`.

    Returns:
        The table as Markdown text.
    """
    ref = {(m.mode, m.num_envs): m for m in results if m.env_id == REFERENCE_ID}
    for (mode, n), m in list(ref.items()):  # CartPole's vector env has no copy argument
        if mode == "vector":
            ref[("vector copy=False", n)] = m
    lines = [
        "| env | mode | N | ns / env-step | steps / s | x CartPole |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for m in results:
        r = ref.get((m.mode, m.num_envs))
        ratio = f"{m.steps_per_s / r.steps_per_s:.2f}" if r is not None else "n/a"
        lines.append(
            f"| {m.env_id} | {m.mode} | {m.num_envs} | {m.ns_per_step:,.1f} | "
            f"{m.steps_per_s:,.0f} | {ratio} |"
        )
    return "\n".join(lines)
