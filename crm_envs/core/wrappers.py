"""The single and the vector env of a :class:`~crm_envs.core.task.Task`, written once.

An env whose task declares its compiled driver (:mod:`crm_envs.core.kernels`) is two short
classes: ``class MyEnv(TaskEnv)`` and ``class MyVectorEnv(TaskVectorEnv)``, each setting
``task_cls`` and documenting the arguments. Everything else is here: buffers, seeding,
reset/step, reset options (the ``params`` swap included), action validation, the info schema,
pickling, the compiled entry point of the single env and the numba interface of the tabular
agents.

What a task declares for these wrappers (see :class:`~crm_envs.core.task.Task`):

* ``kernels`` (a :class:`~crm_envs.core.kernels.Kernels`), ``kp``, ``state_width`` and
  ``float_width``;
* ``outputs``: the info arrays, ``{name: (per-copy shape, dtype)}``, in the order of the
  kernels' ``extra`` tuple; the single env returns the same keys as the vector env;
* ``apply_options(options, fstate, istate)``: validates the reset options and writes the
  reset requests into the state (swapping ``params`` and ``kp`` where asked);
* ``encode_actions``: ``None`` (the default of :class:`~crm_envs.core.task.Task`) for
  :func:`check_batch_actions` of the action space, or a callable ``(actions, n)`` that
  validates through it and translates the batch for the kernel.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numba import njit
from numpy.typing import NDArray

from crm_envs.core.jit import entry_point
from crm_envs.core.single import JitInterface, NumbaEnv
from crm_envs.core.vector import NumbaVectorEnv

__all__ = ["TaskEnv", "TaskVectorEnv", "check_batch_actions", "encode_batch"]


def check_batch_actions(space: gym.Space[Any], actions: Any, n: int) -> NDArray[Any]:
    """Validate ``n`` actions of ``space`` (one per copy); return them as a contiguous array.

    The one validator per space kind, shared by every env: ``Discrete`` gives (n,) int64,
    ``MultiDiscrete`` (n, k) int64 and ``Box`` (n, *shape) floats. Nothing is clipped or
    coerced: a float for a discrete space, a non-numeric (bool, complex, string) ``Box``
    batch, a wrong shape, a value outside the space or a non-finite ``Box`` entry raises.
    Integer ``Box`` batches are accepted as the numbers they are. The range check is one
    compiled pass over the batch, with no temporary arrays of its size.

    A C-contiguous float32 ``Box`` batch of more than one copy is returned as given, so a
    vector step copies nothing of size N for the float32 actions agents produce; every other
    ``Box`` batch, and every batch of one copy (the single env's, whose compiled step is bound
    to one type), is returned as float64. float32 values are exact in float64.

    Args:
        space: The single env's action space.
        actions: Array-like with one action per copy.
        n: Number of copies.

    Returns:
        The actions, ready for the kernel.

    Raises:
        ValueError: For a wrong shape, dtype or value.
        TypeError: For an unsupported space.
    """
    arr = np.asarray(actions)
    box = isinstance(space, spaces.Box)
    kind = arr.dtype.kind  # "i"/"u" integers, "f" floats ("b" bool, "c" complex, ... refused)
    if box:
        what = "real numbers (an integer or float array)"
        ok = kind in "iuf"
    elif isinstance(space, (spaces.Discrete, spaces.MultiDiscrete)):
        what = "an integer array"
        ok = kind in "iu"
    else:
        raise TypeError(f"no action validator for {type(space).__name__} spaces")
    shape = (n,) if isinstance(space, spaces.Discrete) else (n, *space.shape)
    if arr.shape != shape or not ok:
        raise ValueError(
            f"actions must be {what} of shape {shape} for {space}, got shape {arr.shape} and "
            f"dtype {arr.dtype}"
        )
    if not (box and n > 1 and arr.dtype == np.float32 and arr.flags.c_contiguous):
        # A cast to int64 cannot carry an out-of-range integer into the range: only uint64
        # values above 2**63 - 1 change, and they become negative.
        arr = np.ascontiguousarray(arr, dtype=np.float64 if box else np.int64)
    low, high = _bounds(space)
    if low.shape[0] == 1:  # one bound for every entry: a flat pass
        q = _first_outside(arr.reshape(-1), low[0], high[0])
    else:
        q = _first_outside_columns(arr.reshape(n, -1), low, high)
    if q >= 0:
        where = tuple(int(j) for j in np.unravel_index(q, arr.shape))
        raise ValueError(
            f"actions must {'be finite and ' if box else ''}lie in the action space {space} "
            f"(nothing is clipped); actions{list(where)} = {arr[where]}"
        )
    return arr


def _bounds(space: gym.Space[Any]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Flat float64 (low, high) of each entry of one action of ``space``, or of length 1.

    Length 1 when every entry has the same bounds. Cached on the space (the validator reads
    them every step) and rebuilt if an attribute they come from is reassigned.
    """
    cached = space.__dict__.get("_crm_bounds")
    box, multi = isinstance(space, spaces.Box), isinstance(space, spaces.MultiDiscrete)
    a, b = (space.low, space.high) if box else (space.start, space.nvec if multi else space.n)
    if cached is not None and cached[0] is a and cached[1] is b:
        return cached[2]
    if box:
        low, high = a, b
    elif multi:
        low, high = a, a + b - 1
    else:
        low, high = np.array([a]), np.array([a + b - 1])
    flat = tuple(np.ascontiguousarray(x, dtype=np.float64).reshape(-1) for x in (low, high))
    if all(x.min() == x.max() for x in flat):
        flat = tuple(x[:1].copy() for x in flat)
    space.__dict__["_crm_bounds"] = (a, b, flat)
    return flat


@njit(cache=True)
def _first_outside(flat, low, high):  # type: ignore[no-untyped-def]
    """Flat index of the first bad entry of the flat batch, or -1.

    An entry is bad if it is not finite (``x - x`` is NaN) or lies outside [low, high]. Each
    block is checked without a branch per entry, so the check vectorises; only a block holding
    a bad entry is searched again for its first one.
    """
    m = flat.shape[0]
    for start in range(0, m, 512):
        stop = min(start + 512, m)
        ok = True
        for q in range(start, stop):
            x = flat[q]
            ok &= (x >= low) & (x <= high) & (x - x == 0)
        if not ok:
            for q in range(start, stop):
                x = flat[q]
                if not ((x >= low) & (x <= high) & (x - x == 0)):
                    return q
    return -1


@njit(cache=True)
def _first_outside_columns(batch, low, high):  # type: ignore[no-untyped-def]
    """As :func:`_first_outside` for an (N, d) batch with bounds per column (d,)."""
    n, d = batch.shape
    for i in range(n):
        for j in range(d):
            x = batch[i, j]
            if not ((x >= low[j]) & (x <= high[j]) & (x - x == 0)):
                return i * d + j
    return -1


def _lowest_action(space: gym.Space[Any]) -> NDArray[Any]:
    """A valid action of ``space`` (its lowest), as a template of the kernel's action buffer."""
    if isinstance(space, (spaces.Discrete, spaces.MultiDiscrete)):
        # A copy: the env's action buffer is built from it and written into at every step.
        return np.array(space.start, dtype=np.int64)
    if isinstance(space, spaces.Box):
        return np.clip(np.zeros(space.shape), space.low, space.high)
    raise TypeError(f"no action validator for {type(space).__name__} spaces")


def encode_batch(task: Any, actions: Any, n: int) -> NDArray[Any]:
    """Validate ``n`` actions of ``task`` and return them as its kernel reads them.

    The task's ``encode_actions`` if it sets one, else :func:`check_batch_actions` of its
    action space: what both wrappers call on every step.

    Args:
        task: A :class:`~crm_envs.core.task.Task`.
        actions: Array-like with one action per copy.
        n: Number of copies.

    Returns:
        The kernel's action batch.
    """
    if task.encode_actions is None:
        return check_batch_actions(task.action_space, actions, n)
    return task.encode_actions(actions, n)


class TaskVectorEnv(NumbaVectorEnv):
    """N copies of a task's env stepped together by its compiled driver.

    Subclasses set ``task_cls`` and pass their arguments to it. Copy ``i`` reset with
    ``seed`` behaves exactly as the single env reset with ``seed + i``. Autoreset mode:
    ``NEXT_STEP``.

    Args:
        num_envs: Number of copies N.
        copy: Whether returned arrays are new each call (see :mod:`crm_envs.core.vector`).
        **task_kwargs: The task's arguments (the single env's).
    """

    task_cls: type
    _per_copy = ("_state", "_fstate")

    def __init__(self, num_envs: int = 1, copy: bool = True, **task_kwargs: Any) -> None:
        self._setup = self.task_cls(**task_kwargs)
        task = self._setup
        super().__init__(
            num_envs, task.observation_space, task.action_space, task.state_width, copy
        )
        self._fstate = np.zeros((self.num_envs, task.float_width))
        for name, (shape, dtype) in task.outputs.items():
            self._declare_output(name, (self.num_envs, *shape), dtype)

    @property
    def params(self) -> Any:
        """The numeric parameters in force."""
        return self._setup.params

    def _extra(self) -> tuple[NDArray[Any], ...]:
        return tuple(self._out[name] for name in self._setup.outputs)

    def _kernel(self, parallel: Any, serial: Any) -> Any:
        """The parallel variant from the task's ``parallel_min_envs`` copies, else serial."""
        return parallel if self.num_envs >= self._setup.parallel_min_envs else serial

    def _info(self) -> dict[str, Any]:
        return {name: self._out[name] for name in self._setup.outputs}

    def _reset_envs(self, options: dict[str, Any]) -> dict[str, Any]:
        task = self._setup
        task.apply_options(options, self._fstate, self._state)
        kernels = task.kernels
        self._kernel(kernels.reset, kernels.reset_serial)(
            task.kp, self._fstate, self._state, self._obs, self._extra()
        )
        return self._info()

    def _step_envs(self, actions: Any) -> dict[str, Any]:
        task = self._setup
        act = encode_batch(task, actions, self.num_envs)
        kernels = task.kernels
        self._kernel(kernels.step, kernels.step_serial)(
            task.kp, self._fstate, self._state, act, self._obs, self._rew, self._term,
            self._trunc, self._extra(),
        )  # fmt: skip
        return self._info()


class TaskEnv(NumbaEnv):
    """The single env of a task: its serial driver on batch-size-1 buffers.

    Subclasses set ``task_cls`` and pass their arguments to :meth:`__init__`'s
    ``task_kwargs``. ``info`` has the same keys as the vector env's; an info array of one value
    per copy becomes a Python scalar.

    Args:
        **task_kwargs: The task's arguments.
    """

    task_cls: type

    def __init__(self, **task_kwargs: Any) -> None:
        self._setup = self.task_cls(**task_kwargs)
        task = self._setup
        self.observation_space = task.observation_space
        self.action_space = task.action_space
        obs_space = task.observation_space
        self._state = np.zeros((1, task.state_width), dtype=np.int64)
        self._fstate = np.zeros((1, task.float_width))
        self._obs = np.zeros((1, *obs_space.shape), dtype=obs_space.dtype)
        self._rew = np.zeros(1)
        self._term = np.zeros(1, dtype=np.bool_)
        self._trunc = np.zeros(1, dtype=np.bool_)
        self._extra = tuple(
            np.zeros((1, *shape), dtype=dtype) for shape, dtype in task.outputs.values()
        )
        self._info_items = tuple(  # (name, the copy's row view or None for a scalar, array)
            (name, arr[0] if arr.ndim > 1 else None, arr)
            for name, arr in zip(task.outputs, self._extra, strict=True)
        )
        discrete = isinstance(task.action_space, spaces.Discrete)
        self._n_discrete = task.action_space.n if discrete else 0
        self._plain_actions = discrete and task.encode_actions is None
        self._act = encode_batch(task, _lowest_action(task.action_space)[None], 1)
        self._init_kernel()

    def _serial_step_kernel(self) -> Any:
        return self._setup.kernels.step_serial

    def _bind_kernel(self) -> None:
        super()._bind_kernel()
        self._reset_kernel = entry_point(
            self._setup.kernels.reset_serial, self._setup.kp, self._fstate, self._state,
            self._obs, self._extra,
        )  # fmt: skip

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        del state["_reset_kernel"]  # compiled code does not pickle; rebound on load
        return state

    def _step_kernel_args(self) -> tuple[Any, ...]:
        return (
            self._setup.kp, self._fstate, self._state, self._act, self._obs, self._rew,
            self._term, self._trunc, self._extra,
        )  # fmt: skip

    def _info(self) -> dict[str, Any]:
        return {
            name: arr.item(0) if row is None else row.copy() for name, row, arr in self._info_items
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Start a new episode (see the env's docstring for ``options``)."""
        self._seed_stream(seed)
        task = self._setup
        kp = task.kp
        task.apply_options(options, self._fstate, self._state)
        if task.kp is not kp:  # the params were swapped: the entry point takes the new types
            self._bind_kernel()
        self._reset_kernel(task.kp, self._fstate, self._state, self._obs, self._extra)
        self._ended = False
        return self._obs[0].copy(), self._info()

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Take ``action`` (see the env's docstring)."""
        if self._ended:
            self._check_running()
        if (
            self._plain_actions
            and isinstance(action, (int, np.integer))
            and not isinstance(action, bool)
            and 0 <= action < self._n_discrete
        ):
            self._act[0] = action  # fast path of a valid int action
        else:  # copied into the buffer the compiled step was bound to
            self._act[...] = encode_batch(self._setup, np.asarray(action)[None], 1)
        self._step_kernel(
            self._setup.kp, self._fstate, self._state, self._act, self._obs, self._rew,
            self._term, self._trunc, self._extra,
        )  # fmt: skip
        term, trunc = bool(self._term[0]), bool(self._trunc[0])
        self._ended = term or trunc
        return self._obs[0].copy(), float(self._rew[0]), term, trunc, self._info()

    def jit_interface(self) -> JitInterface:
        """The env's serial driver and buffers, for learners that loop inside numba.

        ``step(kp, fstate, istate, actions, obs, rew, term, trunc, extra)`` advances this env
        by one step on its batch-size-1 buffers, with NEXT_STEP autoreset (the call after an
        episode ended returns the next episode's first observation, reward 0). Call
        ``reset(seed=...)`` first; stepping from numba advances this env.

        The observation buffer is handed out as (1, D), D = 1 for a ``Discrete`` observation
        (a view sharing its memory): the tabular loop reads an observation row ``obs[0, :]``.

        Returns:
            A :class:`~crm_envs.core.single.JitInterface`.

        Raises:
            RuntimeError: Before :meth:`reset`, or after an episode ended.
            TypeError: If the action space is not ``Discrete`` or the observation space is
                neither ``Discrete`` nor ``MultiDiscrete`` (the tabular agents' spaces).
        """
        space = self.observation_space
        if not isinstance(self.action_space, spaces.Discrete) or not isinstance(
            space, (spaces.Discrete, spaces.MultiDiscrete)
        ):
            raise TypeError(
                "jit_interface() serves tabular learners: it needs a Discrete action space and "
                f"a Discrete or MultiDiscrete observation space, got {self.action_space} and "
                f"{space}"
            )
        if self._ended:
            raise RuntimeError("call reset() before jit_interface()")
        nvec = space.nvec if isinstance(space, spaces.MultiDiscrete) else np.array([space.n])
        return JitInterface(
            step=self._setup.kernels.step_serial, kp=self._setup.kp, fstate=self._fstate,
            state=self._state, obs=self._obs.reshape(1, -1), rew=self._rew, term=self._term,
            trunc=self._trunc, extra=self._extra, n_actions=int(self.action_space.n),
            obs_nvec=np.asarray(nvec, dtype=np.int64),
        )  # fmt: skip
