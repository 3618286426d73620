"""Task: the definition of an env that its single and vector versions share.

A task holds what an env *is*: its params, spaces, horizon, reward scale and reset options,
and it declares, once, the reference a score is normalised with and the naive baselines an
algorithm must beat (see :mod:`crm_envs.core.oracle`). ``env.unwrapped.task`` gives it for
every registered id, single or vector.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from crm_envs.core.oracle import Exact, Heuristic, Planner, Policy
from crm_envs.core.vector import PARALLEL_MIN_ENVS

__all__ = ["Task"]


class Task:
    """Base class of every env's task.

    Subclasses set ``params``, ``horizon``, ``reward_scale``, ``observation_space`` and
    ``action_space`` in their constructor and implement :meth:`oracle` and :meth:`baselines`.

    Attributes:
        scoring: How the benchmark scores an agent on this task: ``"return"`` (the mean
            evaluation return, random = 0 and reference = 1) or ``"regret"`` (a bandit: the
            cumulative regret over the training run, uniform random = 0 and always the best
            arm = 1; the env's ``info`` then carries ``regret`` and ``expected_rewards`` at
            every step).
        encode_actions: ``None`` (the default): the wrappers validate actions with the shared
            validator of the action space's kind,
            :func:`~crm_envs.core.wrappers.check_batch_actions`. A task whose kernel reads
            something other than the validated actions sets it to a callable
            ``(actions, n) -> array`` that validates (through the shared validator) and
            translates a batch of ``n`` actions.
        parallel_min_envs: From this many copies the vector env runs the parallel variant of
            the kernels (default :data:`~crm_envs.core.vector.PARALLEL_MIN_ENVS`). A task whose
            step costs microseconds per copy lowers it, as the start of a parallel region then
            pays for itself at a few dozen copies.
    """

    scoring: str = "return"
    encode_actions: Any = None
    parallel_min_envs: int = PARALLEL_MIN_ENVS

    params: Any
    horizon: int
    reward_scale: float
    observation_space: gym.Space[Any]
    action_space: gym.Space[Any]

    def oracle(self) -> Exact | Planner | Heuristic:
        """The reference scores are normalised with, and its kind."""
        raise NotImplementedError

    def baselines(self, seed: int) -> list[tuple[str, Policy | Exact]]:
        """The naive policies an algorithm must beat, each with its role.

        Roles: ``"random"`` (uniform over the action space), ``"constant"`` (one entry per
        candidate constant action), ``"naive"`` (the env's natural naive policy) and
        ``"oracle"`` (a full-information policy, where one exists).

        Args:
            seed: Seed of the random baseline.

        Returns:
            ``(role, policy)`` pairs; an :class:`Exact` entry is solved by ``agents.dp``.
        """
        raise NotImplementedError
