"""Base class for numba-batched :class:`gymnasium.vector.VectorEnv` implementations.

A subclass owns one preallocated int64 ``state`` array of shape (num_envs, W) whose last two
columns are the random-stream key and counter of each copy (see :mod:`crm_envs.core.rng`), plus
preallocated observation, reward, termination and truncation buffers. ``reset``/``step`` hand
these buffers to the environment's numba kernel and return copies, so a caller that keeps an
observation never sees it change.

Autoreset follows Gymnasium's ``NEXT_STEP`` mode: the step after an episode ends resets that copy
(reward 0, not terminated, not truncated) and returns its first observation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from crm_envs.core.params import check_int
from crm_envs.core.rng import keys_from_generator, seed_keys

__all__ = ["CTR", "KEY", "MAX_ENVS", "SEED_MAX", "NumbaVectorEnv", "check_seed", "seed_state"]

KEY = -2
"""Column of the state array holding the random-stream key of each copy."""
CTR = -1
"""Column of the state array holding the random-stream counter of each copy."""


MAX_ENVS = 2**24
"""Most copies one vector env holds (16,777,216): beyond it, ask for several vector envs."""
SEED_MAX = 2**64 - 1
"""Largest seed: keys are derived in 64-bit arithmetic."""


def check_seed(seed: Any, n: int) -> int | list[int] | None:
    """Validate a ``reset`` seed: None, an int in [0, SEED_MAX], or ``n`` such ints.

    Args:
        seed: The seed given to ``reset``.
        n: Number of env copies.

    Returns:
        The seed as None, a Python int or a list of Python ints.

    Raises:
        TypeError: For a float, string or other non-integer seed.
        ValueError: For a negative or too large seed, or a list of the wrong length.
    """
    if seed is None:
        return None
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return check_int("seed", seed, low=0, high=SEED_MAX)
    if not isinstance(seed, (list, tuple, np.ndarray)):
        raise TypeError(f"seed must be None, an int or a list of {n} ints, got {seed!r}")
    seeds = list(seed)
    if len(seeds) != n:
        raise ValueError(f"seed must be an int or a list of {n} ints, got {len(seeds)} seeds")
    return [check_int(f"seed[{i}]", s, low=0, high=SEED_MAX) for i, s in enumerate(seeds)]


def seed_state(
    state: NDArray[np.int64],
    seed: int | Sequence[int] | None,
    np_random: np.random.Generator,
    fresh: bool,
) -> None:
    """Set the random-stream key and counter columns of ``state`` for a reset.

    Args:
        state: The (n, W) state array; columns ``KEY`` and ``CTR`` are written.
        seed: None, one int (copy ``i`` gets ``seed + i``) or one int per copy.
        np_random: The wrapper's Generator, used for keys when no seed was ever given.
        fresh: Whether the copies have no stream yet (first reset); ignored when seeded.
    """
    n = state.shape[0]
    seed = check_seed(seed, n)
    if seed is None:
        if fresh:
            state[:, KEY] = keys_from_generator(np_random, n)
            state[:, CTR] = 0
        return
    if isinstance(seed, int):
        state[:, KEY] = seed_keys(seed, n)
    else:
        for i, s in enumerate(seed):
            state[i, KEY] = seed_keys(s, 1)[0]
    state[:, CTR] = 0


class NumbaVectorEnv(VectorEnv):
    """Shared machinery of the numba-batched vector environments.

    Subclasses set the spaces through this constructor and implement :meth:`_reset_envs` and
    :meth:`_step_envs`, which call the environment's kernel on the preallocated buffers.

    Args:
        num_envs: Number of environment copies N.
        single_observation_space: Observation space of one copy.
        single_action_space: Action space of one copy.
        state_width: Number of int64 state columns per copy, including the key and counter.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int,
        single_observation_space: gym.Space[Any],
        single_action_space: gym.Space[Any],
        state_width: int,
    ) -> None:
        self.num_envs = check_int("num_envs", num_envs, low=1, high=MAX_ENVS)
        self.single_observation_space = single_observation_space
        self.single_action_space = single_action_space
        self.observation_space = batch_space(single_observation_space, self.num_envs)
        self.action_space = batch_space(single_action_space, self.num_envs)
        self._state = np.zeros((self.num_envs, state_width), dtype=np.int64)
        self._obs = np.zeros(self.observation_space.shape, dtype=self.observation_space.dtype)
        self._rew = np.zeros(self.num_envs, dtype=np.float64)
        self._term = np.zeros(self.num_envs, dtype=np.bool_)
        self._trunc = np.zeros(self.num_envs, dtype=np.bool_)
        self._has_stream = False
        self._has_reset = False

    def reset(
        self,
        *,
        seed: int | list[int] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[NDArray[Any], dict[str, Any]]:
        """Reset every copy; copy ``i`` is seeded with ``seed + i`` when ``seed`` is an int.

        Args:
            seed: None, an int, or a list of one int per copy.
            options: Environment-specific reset options (see the subclass).

        Returns:
            The batched first observations and the info dict.
        """
        seed = check_seed(seed, self.num_envs)
        super().reset(seed=seed if isinstance(seed, int) else None)
        seed_state(self._state, seed, self.np_random, fresh=not self._has_stream)
        self._has_stream = True
        self._fresh_outputs()
        info = self._reset_envs(dict(options or {}))
        self._has_reset = True
        return self._obs, info

    def step(
        self, actions: Any
    ) -> tuple[NDArray[Any], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict]:
        """Advance every copy by one step (copies whose episode ended are reset instead).

        Args:
            actions: One action per copy.

        Returns:
            Batched observations, rewards, terminations, truncations and the info dict.
        """
        if not self._has_reset:
            raise RuntimeError("call reset() before step() on a vector environment")
        self._fresh_outputs()
        info = self._step_envs(actions)
        return self._obs, self._rew, self._term, self._trunc, info

    @property
    def task(self) -> Any:
        """The env's :class:`~crm_envs.core.task.Task`: spaces, params, reference, baselines."""
        return self._setup

    def _fresh_outputs(self) -> None:
        """Give the kernel new output arrays, so arrays returned earlier never change.

        Allocating is cheaper than copying: the kernel writes every entry anyway.
        """
        self._obs = np.empty_like(self._obs)
        self._rew = np.empty_like(self._rew)
        self._term = np.empty_like(self._term)
        self._trunc = np.empty_like(self._trunc)

    def _reset_envs(self, options: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _step_envs(self, actions: Any) -> dict[str, Any]:
        raise NotImplementedError

    def check_discrete_actions(self, actions: Any, n: int) -> NDArray[np.int64]:
        """Validate a batch of ``Discrete(n)`` actions; return them as contiguous int64.

        Args:
            actions: Array-like of shape (num_envs,) of integers.
            n: Number of discrete actions.

        Returns:
            The actions as an int64 array.
        """
        arr = np.asarray(actions)
        if arr.shape != (self.num_envs,) or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                f"actions must be an integer array of shape ({self.num_envs},), got "
                f"shape {arr.shape} and dtype {arr.dtype}"
            )
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= n:
            bad = int(np.flatnonzero((arr < 0) | (arr >= n))[0])
            raise ValueError(
                f"actions must lie in the action space Discrete({n}) = {{0, ..., {n - 1}}}; "
                f"actions[{bad}] = {int(arr[bad])}"
            )
        return np.ascontiguousarray(arr, dtype=np.int64)
