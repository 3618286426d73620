"""Base class of the single environments that run a serial numba kernel with batch size 1."""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym

from crm_envs.core.jit import entry_point
from crm_envs.core.vector import check_seed, seed_state

__all__ = ["JitInterface", "NumbaEnv"]


class JitInterface(NamedTuple):
    """A single env's kernel and buffers, for learners whose loop runs inside numba.

    ``step(kp, fstate, state, actions, obs, rew, term, trunc, extra)`` advances the env by one
    step (NEXT_STEP autoreset) writing into the batch-size-1 buffers: the serial driver of
    :mod:`crm_envs.core.kernels`.

    Attributes:
        step: The serial numba step kernel.
        kp: Its parameter tuple.
        fstate: (1, F) float64 state (the env's own).
        state: (1, W) int64 state (the env's own).
        obs: (1, D) observation buffer.
        rew: (1,) reward buffer.
        term: (1,) terminated buffer.
        trunc: (1,) truncated buffer.
        extra: The kernel's info buffers, a tuple (e.g. the action mask).
        n_actions: Size of the Discrete action space.
        obs_nvec: ``nvec`` of the MultiDiscrete observation space.
    """

    step: Any
    kp: Any
    fstate: Any
    state: Any
    obs: Any
    rew: Any
    term: Any
    trunc: Any
    extra: Any
    n_actions: int
    obs_nvec: Any


class NumbaEnv(gym.Env):
    """Shared machinery: seeding of the kernel's random stream, the bound kernel, pickling.

    A subclass keeps an int64 state array ``_state`` (whose last two columns are the stream
    key and counter) and a ``_setup`` object with ``params``; it implements
    :meth:`_step_kernel_args` and :meth:`_serial_step_kernel` and calls :meth:`_init_kernel`
    at the end of ``__init__``, :meth:`_seed_stream` at the start of ``reset`` and
    :meth:`_check_running` at the start of ``step``.
    """

    _setup: Any
    _state: Any

    def _serial_step_kernel(self) -> Any:
        """The serial numba step kernel of the environment."""
        raise NotImplementedError

    def _step_kernel_args(self) -> tuple[Any, ...]:
        """The arguments of every step-kernel call (parameters and preallocated buffers)."""
        raise NotImplementedError

    def _init_kernel(self) -> None:
        self._has_stream = False
        self._ended = True
        self._bind_kernel()

    def _bind_kernel(self) -> None:
        # Compiled entry point: skips numba's type dispatch on every step (see core.jit).
        self._step_kernel = entry_point(self._serial_step_kernel(), *self._step_kernel_args())

    def _seed_stream(self, seed: int | None) -> None:
        gym.Env.reset(self, seed=check_seed(seed, 1))
        seed_state(self._state, seed, self.np_random, fresh=not self._has_stream)
        self._has_stream = True

    def _check_running(self) -> None:
        if self._ended:
            raise RuntimeError("the episode has ended (or never started): call reset() first")

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_step_kernel"]  # compiled code does not pickle; rebound on load
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._bind_kernel()

    @property
    def params(self) -> Any:
        """The numeric parameters in force."""
        return self._setup.params

    @property
    def task(self) -> Any:
        """The env's :class:`~crm_envs.core.task.Task`: spaces, params, reference, baselines."""
        return self._setup
