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

from typing import Any, NamedTuple, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numba import njit
from numpy.typing import NDArray

from crm_envs.core.jit import entry_point
from crm_envs.core.params import check_choice
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
    compiled pass over the batch, with no temporary arrays of its size; from
    :data:`NUMPY_CHECK_MIN` entries up to :data:`NUMPY_CHECK_MAX_BYTES`, NumPy's minimum and
    maximum of the batch come first, and the compiled pass runs only when they show a bad
    entry, to name it.

    A C-contiguous float32 ``Box`` batch is returned as given, so a vector step copies
    nothing of size N for the float32 actions agents produce; every other ``Box`` batch is
    returned as float64 (float32 values are exact in float64). The kernels take either; the
    single env copies what it is given into its float64 buffer.

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
    spec = _spec(space)
    if arr.dtype.kind not in spec.kinds or arr.shape[:1] != (n,) or arr.shape[1:] != spec.tail:
        raise ValueError(
            f"actions must be {spec.what} of shape {(n, *spec.tail)} for {space}, got shape "
            f"{arr.shape} and dtype {arr.dtype}"
        )
    given = arr
    q = -1
    dtype = arr.dtype
    if dtype.kind == "u" and dtype.itemsize == 8 and not spec.box:  # int64 would wrap these
        too_big = (arr > np.iinfo(np.int64).max).reshape(-1)
        q = int(np.argmax(too_big)) if too_big.any() else -1
    f32 = dtype.kind == "f" and dtype.itemsize == 4 and dtype.isnative  # not '>f4' (numba)
    if not (spec.box and f32 and arr.flags.c_contiguous):
        arr = np.ascontiguousarray(arr, dtype=np.float64 if spec.box else np.int64)
    if q < 0:
        # One bound for every entry: a flat pass; else a pass over rows with bounds per column.
        view = arr.reshape(-1) if spec.uniform else arr.reshape(n, -1)
        loop_only = view.size < NUMPY_CHECK_MIN or view.nbytes > NUMPY_CHECK_MAX_BYTES
        if loop_only or not _within(view, spec):
            q = _compiled_check(view)(view, spec.low, spec.high)
    if q >= 0:
        where = tuple(int(j) for j in np.unravel_index(q, arr.shape))
        raise ValueError(
            f"actions must {'be finite and ' if spec.box else ''}lie in the action space "
            f"{space} (nothing is clipped); actions{list(where)} = {given[where]}"
        )
    return arr


class _Spec(NamedTuple):
    """What the validator reads of an action space, cached on it (see :func:`_spec`)."""

    kinds: str  # accepted dtype kinds
    what: str  # their description in errors
    tail: tuple[int, ...]  # shape of one action
    box: bool
    low: NDArray[np.float64]  # flat bounds of one action's entries, or of length 1 if all equal
    high: NDArray[np.float64]
    uniform: bool  # whether low and high have length 1


def _bound_attrs(space: gym.Space[Any]) -> tuple[Any, Any]:
    """The two attributes a space's bounds come from: ``low``/``high`` or ``start``/``n(vec)``."""
    if isinstance(space, spaces.Box):
        return space.low, space.high
    if isinstance(space, spaces.MultiDiscrete):
        return space.start, space.nvec
    if isinstance(space, spaces.Discrete):
        return space.start, space.n
    raise TypeError(f"no action validator for {type(space).__name__} spaces")


def _spec(space: gym.Space[Any]) -> _Spec:
    """The validator's view of ``space``, cached on it.

    Rebuilt if an attribute it comes from (``low``/``high``, ``start``/``n``/``nvec``) is
    reassigned.
    """
    cached = space.__dict__.get("_crm_spec")
    if cached is not None and len(cached) == 4:  # (attribute names, their values, the spec)
        names, a, b, spec = cached
        if getattr(space, names[0]) is a and getattr(space, names[1]) is b:
            return spec  # type: ignore[no-any-return]
    box, multi = isinstance(space, spaces.Box), isinstance(space, spaces.MultiDiscrete)
    a, b = _bound_attrs(space)
    if box:
        low, high = a, b
    elif multi:
        low, high = a, a + b - 1
    else:
        low, high = np.array([a]), np.array([a + b - 1])
    flat = [np.ascontiguousarray(x, dtype=np.float64).reshape(-1) for x in (low, high)]
    uniform = all(x.min() == x.max() for x in flat)
    if uniform:
        flat = [x[:1].copy() for x in flat]
    spec = _Spec(
        kinds="iuf" if box else "iu",  # "b" bool, "c" complex, ... refused
        what="real numbers (an integer or float array)" if box else "an integer array",
        tail=() if not (box or multi) else tuple(space.shape),
        box=box,
        low=flat[0],
        high=flat[1],
        uniform=uniform,
    )
    names = ("low", "high") if box else ("start", "nvec" if multi else "n")
    space.__dict__["_crm_spec"] = (names, a, b, spec)
    return spec


NUMPY_CHECK_MIN = 4096
"""From this many action entries up (to :data:`NUMPY_CHECK_MAX_BYTES`), a batch is first
checked by NumPy's minimum and maximum.

NumPy's reductions use SIMD instructions, which numba's loop over the entries did not get.
At 65,536 copies the range check alone took 0.37 ns per int64 entry by the loop and 0.17 by
the reductions (2.5 and 0.85 ns per copy for ROIAllocation's seven float32 entries); the
whole validation, conversions included, went from 0.41 to 0.27 ns per CustomerJourney copy
and to 1.3 per ROIAllocation copy. Below this size
the reductions' fixed cost (a few µs) is more than the compiled loop's, which also finds the
first bad entry for the error message after the reductions found that there is one.
"""


NUMPY_CHECK_MAX_BYTES = 2**21
"""Up to this many bytes (2 MiB), a batch is first checked by NumPy's minimum and maximum.

The two reductions read the batch twice; a larger batch no longer stays in cache between them,
and one compiled pass is faster: for the campaign's 65,536 copies x 42 int64 entries (22 MB)
the reductions took 19-24 ns per copy against the compiled loop's 17, even block by block.
"""


def _within(view: NDArray[Any], spec: _Spec) -> bool:
    """Whether every entry of ``view`` is finite and within the bounds, by min and max.

    A NaN makes the minimum NaN and fails the comparisons; an infinite entry makes the minimum
    or maximum infinite, which fails the finiteness test even against infinite bounds.
    """
    axis = None if spec.uniform else 0
    low, high = view.min(axis=axis), view.max(axis=axis)
    if spec.box:
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            return False
    return bool(np.all(low >= spec.low) and np.all(high <= spec.high))


_CHECKS: dict[tuple[Any, ...], Any] = {}


def _compiled_check(view: NDArray[Any]) -> Any:
    """The compiled range check for a C-contiguous ``view`` (1-D flat, or 2-D rows).

    An entry point per dtype, dimension and writeability: numba's own dispatch would cost
    about as much as the check of a few copies' actions.
    """
    key = (view.dtype, view.ndim, view.flags.writeable)
    found = _CHECKS.get(key)
    if found is None:
        bounds = np.zeros(1)
        kernel = _first_outside if view.ndim == 1 else _first_outside_columns
        found = _CHECKS[key] = entry_point(kernel, view, bounds, bounds)
    return found


@njit(cache=True)
def _first_outside(flat, lows, highs):  # type: ignore[no-untyped-def]
    """Flat index of the first bad entry of the flat batch, or -1.

    An entry is bad if it is not finite (``x - x`` is NaN) or lies outside [low, high], the
    one bound ``lows[0]``, ``highs[0]`` of every entry. Each block is checked without a branch
    per entry, so the check vectorises; only a block holding a bad entry is searched again for
    its first one.
    """
    low, high = lows[0], highs[0]
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

    def _compiled(self, kernel: Any, act: NDArray[Any] | None = None) -> Any:
        """The compiled entry point of ``kernel`` for this env's buffers and ``act``'s type.

        Skips numba's type dispatch (a few µs per call for the task's NamedTuple ``kp``,
        which dominates a step of a few copies). The buffers are allocated by this class with
        fixed dtypes, dimensions and layouts, so only the params (rebound when swapped) and
        the action batch's dtype, dimensions and flags select the entry point.
        """
        kp = self._setup.kp
        if self.__dict__.get("_entries_kp") is not kp:
            self._entries: dict[Any, Any] = {}
            self._entries_kp = kp
        key = (kernel,) if act is None else (kernel, act.dtype, act.ndim, act.flags.num)
        found = self._entries.get(key)
        if found is None:
            args = [kp, self._fstate, self._state]
            if act is not None:
                args += [act, self._obs, self._rew, self._term, self._trunc]
            else:
                args.append(self._obs)
            found = self._entries[key] = entry_point(kernel, *args, self._extra())
        return found

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_entries", "_entries_kp"):  # compiled code does not pickle
            state.pop(name, None)
        return state

    def _reset_envs(self, options: dict[str, Any]) -> dict[str, Any]:
        task = self._setup
        task.apply_options(options, self._fstate, self._state)
        kernels = task.kernels
        self._compiled(self._kernel(kernels.reset, kernels.reset_serial))(
            task.kp, self._fstate, self._state, self._obs, self._extra()
        )
        return self._info()

    def _step_envs(self, actions: Any) -> dict[str, Any]:
        task = self._setup
        act = encode_batch(task, actions, self.num_envs)
        kernels = task.kernels
        self._compiled(self._kernel(kernels.step, kernels.step_serial), act)(
            task.kp, self._fstate, self._state, act, self._obs, self._rew, self._term,
            self._trunc, self._extra(),
        )  # fmt: skip
        return self._info()


class TaskEnv(NumbaEnv):
    """The single env of a task: its serial driver on batch-size-1 buffers.

    Subclasses set ``task_cls`` and pass their arguments to :meth:`__init__`'s
    ``task_kwargs``, and their ``render_mode``, which is checked against
    ``metadata["render_modes"]`` (an env without rendering declares ``[]`` and accepts only
    None). ``info`` has the same keys as the vector env's; an info array of one value per copy
    becomes a Python scalar.

    Args:
        render_mode: One of ``metadata["render_modes"]``, or None.
        **task_kwargs: The task's arguments.

    Raises:
        ValueError: ``render_mode`` is not one of the env's render modes.
    """

    task_cls: type
    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, render_mode: str | None = None, **task_kwargs: Any) -> None:
        modes = self.metadata.get("render_modes", [])
        if render_mode is not None and not modes:
            raise ValueError(
                f"{type(self).__name__}: render_mode must be None (it has no render modes), "
                f"got {render_mode!r}"
            )
        if render_mode is not None:
            check_choice("render_mode", render_mode, modes)  # suggests the closest mode
        self.render_mode = render_mode
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
        # A plain Box (float) or MultiDiscrete (integer) array action is cast into the bound
        # buffer and checked there by one compiled call (the shared validator costs 1-2 µs of
        # Python on one small action).
        space = task.action_space
        kinds = "f" if isinstance(space, spaces.Box) else "i"  # uint64 needs the validator
        plain = task.encode_actions is None and isinstance(
            space, (spaces.Box, spaces.MultiDiscrete)
        )
        self._array_kinds = kinds if plain else ""
        self._array_bounds: tuple[Any, ...] = ()
        # The attributes the bounds come from, read at each step to notice a reassignment.
        self._bound_names = ("low", "high") if kinds == "f" else ("start", "nvec")
        self._init_kernel()

    def _serial_step_kernel(self) -> Any:
        return self._setup.kernels.step_serial

    def _bind_kernel(self) -> None:
        super()._bind_kernel()
        self._reset_kernel = entry_point(
            self._setup.kernels.reset_serial, self._setup.kp, self._fstate, self._state,
            self._obs, self._extra,
        )  # fmt: skip
        if self._array_kinds:
            rows = self._act.reshape(1, -1)  # a view: the check reads the bound buffer
            bounds = np.zeros(rows.shape[1])
            self._array_check = entry_point(_first_outside_columns, rows, bounds, bounds)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        del state["_reset_kernel"]  # compiled code does not pickle; rebound on load
        state.pop("_array_check", None)
        state["_array_bounds"] = ()  # holds a view of the action buffer: rebuilt on load
        return state

    def _checked_array_action(self, action: Any) -> bool:
        """Whether ``action``, an array of the space's shape, was valid and is now bound.

        For a Box, a float array; for a MultiDiscrete, a signed integer one (unsigned ones go
        to the validator, which refuses what an int64 cannot hold). Casts it into the action
        buffer and checks the buffer (in bounds, and finite) by one compiled call: the checks
        of the shared validator. ``False`` for anything else, which the shared validator then
        takes and explains.
        """
        space = self._setup.action_space
        if type(action) is not np.ndarray or action.dtype.kind not in self._array_kinds:
            return False
        a, b = getattr(space, self._bound_names[0]), getattr(space, self._bound_names[1])
        bounds = self._array_bounds
        if not bounds or bounds[0] is not a or bounds[1] is not b:
            rows = self._act.reshape(1, -1)
            spec = _spec(space)
            low, high = (np.broadcast_to(x, rows[0].shape).copy() for x in (spec.low, spec.high))
            bounds = self._array_bounds = (a, b, low, high, space.shape, rows)
        if action.shape != bounds[4]:
            return False
        self._act[0] = action
        return self._array_check(bounds[5], bounds[2], bounds[3]) < 0  # type: ignore[no-any-return]

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
        elif self._array_kinds and self._checked_array_action(action):
            pass
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
