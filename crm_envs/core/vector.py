"""Base class for numba-batched :class:`gymnasium.vector.VectorEnv` implementations.

A subclass owns one preallocated int64 ``state`` array of shape (num_envs, W) whose last two
columns are the random-stream key and counter of each copy (see :mod:`crm_envs.core.rng`), plus
preallocated output buffers (observations, rewards, terminations, truncations and the env's
info arrays), which ``reset``/``step`` hand to the environment's numba kernel.

What a caller may keep follows Gymnasium's vector ``copy`` convention (the ``copy`` argument of
every vector env):

* ``copy=True`` (the default, as in Gymnasium's ``SyncVectorEnv``): every array ``reset`` and
  ``step`` return, info arrays included, is new and the env never writes to it again. Each call
  allocates its outputs, which at N = 65,536 costs a few ns per env-step in page faults.
* ``copy=False``: the outputs come from two preallocated sets used in turn. What a call returns
  stays unchanged through the next call and is overwritten by the call after it, which is what
  an ``obs = next_obs`` loop (and Stable-Baselines3's rollout) needs. Copy what you keep longer.

Autoreset follows Gymnasium's ``NEXT_STEP`` mode: the step after an episode ends resets that copy
(reward 0, not terminated, not truncated) and returns its first observation. A subset of copies
can also be reset directly with ``reset(options={"reset_mask": mask})`` (Gymnasium's partial
reset), which is how :mod:`crm_envs.sb3` gives Stable-Baselines3 its same-step reset.
"""

from __future__ import annotations

import copy as copy_module
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from crm_envs.core.kernels import CTR, KEY
from crm_envs.core.params import check_bool, check_int
from crm_envs.core.rng import keys_from_generator, seed_keys

__all__ = [
    "CTR",
    "KEY",
    "MAX_ENVS",
    "PARALLEL_MIN_ENVS",
    "SEED_MAX",
    "NumbaVectorEnv",
    "check_seed",
    "seed_state",
]


PARALLEL_MIN_ENVS = 2048
"""Below this many copies a vector env runs the serial variant of its kernels.

Starting a parallel region costs more than stepping a few thousand copies, and after one,
numba's OpenMP threads spin while they wait for work, taking the cores from other threads in
the process: SB3's PPO on 8 copies ran 5x slower next to parallel kernels than next to serial
ones (PyTorch on one thread, 2 cores).
"""

MAX_ENVS = 2**24
"""Most copies one vector env holds (16,777,216): beyond it, ask for several vector envs."""
SEED_MAX = 2**64 - 1
"""Largest seed: keys are derived in 64-bit arithmetic."""


def _batch_space(space: gym.Space[Any], n: int) -> gym.Space[Any]:
    """Gymnasium's ``batch_space``, with a batched ``Box``'s bounds as read-only views.

    ``batch_space`` stores a ``Box``'s ``low``, ``high`` and boundedness per copy: 1.6 GB of
    identical rows for the 42-segment campaign at N = 1,000,000, more than its state. Here they
    are zero-stride views of one copy's bounds, which ``contains`` and ``sample`` read alike.
    """
    one = batch_space(space, 1)
    if not isinstance(one, gym.spaces.Box):
        return batch_space(space, n)
    out = copy_module.copy(one)
    out._shape = (n, *one.shape[1:])
    for name in ("low", "high", "bounded_below", "bounded_above"):
        setattr(out, name, np.broadcast_to(getattr(one, name)[0], out._shape))
    return out


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

    Subclasses set the spaces through this constructor, declare their info arrays with
    :meth:`_declare_output` (read them in the kernel call as ``self._out[name]``), list their
    per-copy state arrays in ``_per_copy`` and implement :meth:`_reset_envs` and
    :meth:`_step_envs`, which call the environment's kernel on the current output buffers.

    Args:
        num_envs: Number of environment copies N.
        single_observation_space: Observation space of one copy.
        single_action_space: Action space of one copy.
        state_width: Number of int64 state columns per copy, including the key and counter.
        copy: Whether returned arrays are new on every call (True) or taken in turn from two
            preallocated sets (False); see the module docstring.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}
    #: Attributes holding one row per copy; a partial reset gathers and scatters them.
    _per_copy: tuple[str, ...] = ("_state",)

    def __init__(
        self,
        num_envs: int,
        single_observation_space: gym.Space[Any],
        single_action_space: gym.Space[Any],
        state_width: int,
        copy: bool = True,
    ) -> None:
        self.num_envs = check_int("num_envs", num_envs, low=1, high=MAX_ENVS)
        self.copy = check_bool("copy", copy)
        self.single_observation_space = single_observation_space
        self.single_action_space = single_action_space
        self.observation_space = _batch_space(single_observation_space, self.num_envs)
        self.action_space = _batch_space(single_action_space, self.num_envs)
        self._state = np.zeros((self.num_envs, state_width), dtype=np.int64)
        self._specs: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
        self._ring: list[dict[str, NDArray[Any]]] = [{}, {}]
        self._slot = 0
        self._out: dict[str, NDArray[Any]] = {}
        n = self.num_envs
        self._declare_output("obs", self.observation_space.shape, self.observation_space.dtype)
        self._declare_output("rew", (n,), np.float64)
        self._declare_output("term", (n,), np.bool_)
        self._declare_output("trunc", (n,), np.bool_)
        self._has_stream = False
        self._has_reset = False

    def _declare_output(self, name: str, shape: tuple[int, ...], dtype: Any) -> None:
        """Declare an output array the kernel writes each call (e.g. an info array)."""
        self._specs[name] = (tuple(shape), np.dtype(dtype))
        for slot in self._ring:
            slot.pop(name, None)
        self._out[name] = np.zeros(shape, dtype)

    def _next_outputs(self) -> None:
        """Point the output buffers at fresh arrays (``copy``) or at the next ring slot."""
        if self.copy:
            self._out = {k: np.empty(shape, dt) for k, (shape, dt) in self._specs.items()}
        else:
            self._slot ^= 1
            slot = self._ring[self._slot]
            for k, (shape, dt) in self._specs.items():
                if k not in slot:
                    slot[k] = np.zeros(shape, dt)
            self._out = slot

    @property
    def _obs(self) -> NDArray[Any]:
        return self._out["obs"]

    @property
    def _rew(self) -> NDArray[np.float64]:
        return self._out["rew"]

    @property
    def _term(self) -> NDArray[np.bool_]:
        return self._out["term"]

    @property
    def _trunc(self) -> NDArray[np.bool_]:
        return self._out["trunc"]

    def reset(
        self,
        *,
        seed: int | list[int] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[NDArray[Any], dict[str, Any]]:
        """Reset every copy; copy ``i`` is seeded with ``seed + i`` when ``seed`` is an int.

        ``options={"reset_mask": mask}`` (a bool array of one entry per copy) resets only the
        copies where ``mask`` is True, as Gymnasium's partial reset: their streams continue
        (no seed is allowed), the other copies keep their last observation, and each info
        array ``info[k]`` comes with ``info["_" + k]``, the mask of the copies it is valid for.
        Other options cannot be combined with a mask.

        Args:
            seed: None, an int, or a list of one int per copy.
            options: Environment-specific reset options (see the subclass), or ``reset_mask``.

        Returns:
            The batched first observations and the info dict.
        """
        options = dict(options or {})
        if "reset_mask" in options:
            return self._reset_masked(seed, options)
        seed = check_seed(seed, self.num_envs)
        super().reset(seed=seed if isinstance(seed, int) else None)
        seed_state(self._state, seed, self.np_random, fresh=not self._has_stream)
        self._has_stream = True
        self._next_outputs()
        info = self._reset_envs(options)
        self._has_reset = True
        return self._obs, info

    def _reset_masked(
        self, seed: Any, options: dict[str, Any]
    ) -> tuple[NDArray[Any], dict[str, Any]]:
        mask = np.asarray(options.pop("reset_mask"))
        if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
            raise ValueError(
                f"options['reset_mask'] must be a bool array of shape ({self.num_envs},), got "
                f"shape {mask.shape} and dtype {mask.dtype}"
            )
        if seed is not None or options:
            raise ValueError(
                "a reset with options['reset_mask'] takes no seed and no other option (the "
                f"reset copies continue their streams); got seed={seed!r}, options "
                f"{sorted(options)}"
            )
        if not self._has_reset:
            raise RuntimeError("call reset() without a mask first, to start every copy")
        last = self._obs
        self._next_outputs()
        self._obs[...] = last
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return self._obs, {}
        full_out, full_n = self._out, self.num_envs
        full = {name: getattr(self, name) for name in self._per_copy}
        try:  # run the env's own reset on the gathered rows, then scatter them back
            for name, arr in full.items():
                setattr(self, name, arr[rows])
            self.num_envs = rows.size
            self._out = {k: np.empty((rows.size, *s[1:]), d) for k, (s, d) in self._specs.items()}
            sub_obs = self._obs
            sub_info = self._reset_envs({})
            for name, arr in full.items():
                arr[rows] = getattr(self, name)
        finally:
            for name, arr in full.items():
                setattr(self, name, arr)
            self.num_envs, self._out = full_n, full_out
        self._obs[rows] = sub_obs
        info: dict[str, Any] = {}
        for key, value in sub_info.items():
            value = np.asarray(value)
            whole = np.zeros((full_n, *value.shape[1:]), dtype=value.dtype)
            whole[rows] = value
            info[key], info["_" + key] = whole, mask.copy()
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
        self._next_outputs()
        info = self._step_envs(actions)
        return self._obs, self._rew, self._term, self._trunc, info

    def _kernel(self, parallel: Any, serial: Any) -> Any:
        """The kernel variant for this batch: serial below :data:`PARALLEL_MIN_ENVS` copies."""
        return parallel if self.num_envs >= PARALLEL_MIN_ENVS else serial

    @property
    def task(self) -> Any:
        """The env's :class:`~crm_envs.core.task.Task`: spaces, params, reference, baselines."""
        return self._setup

    def _reset_envs(self, options: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _step_envs(self, actions: Any) -> dict[str, Any]:
        raise NotImplementedError
