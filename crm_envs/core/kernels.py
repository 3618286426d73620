"""The one kernel ABI: per-copy ``start_one`` / ``advance_one`` and the shared NEXT_STEP driver.

An env writes two functions for one copy ``i`` of the batch, jitted with
``@njit(cache=True, inline="always")``:

* ``start_one(kp, fstate, istate, i, obs, extra)`` starts copy ``i``: it draws the first
  state from the copy's random stream, writes the first observation into ``obs[i]`` and the
  copy's info arrays into ``extra`` (a tuple of the env's declared outputs, in its order).
* ``advance_one(kp, fstate, istate, i, actions, obs, rew, extra)`` takes row ``actions[i]`` of
  the batch seen as 2-D, (N, k) (a ``Discrete`` or one-number action is ``actions[i, 0]``), writes
  ``obs[i]``, ``rew[i]`` (already scaled: the reward scale is applied here, in one place) and
  the info arrays, and returns ``(terminated, truncated)``.

``kp`` is the env's kernel-parameter tuple (``params.to_kernel()`` plus tables), ``fstate`` a
(N, F) float64 and ``istate`` a (N, W) int64 state array. The last three columns of ``istate``
belong to the driver: ``DONE`` (the copy's episode ended) and the random-stream key and counter
(:mod:`crm_envs.core.rng`). A reset request (e.g. a start cell from ``reset`` options) is put in
the state by the env before a reset and consumed by ``start_one``. The state must say "sample"
again by the episode's end (``start_one`` clears the request, or ``advance_one`` marks a
finished episode), so that the autoreset after the episode samples afresh (Gymnasium applies
options only to the reset they were given to).

:func:`make_kernels` compiles the driver around an env's two functions: ``reset`` starts every
copy; ``step`` advances every running copy and restarts the copies whose episode ended at the
previous step (Gymnasium's ``NEXT_STEP`` autoreset: reward 0, not terminated, not truncated).
Each is compiled parallel (``prange`` over the batch, for vector envs from
:data:`~crm_envs.core.vector.PARALLEL_MIN_ENVS` copies) and serial (single envs and small
batches), from one body.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, NamedTuple

from numba import prange

from crm_envs.core.jit import parallel_and_serial

__all__ = ["CTR", "DONE", "DRIVER_COLUMNS", "KEY", "Kernels", "make_kernels"]

DONE = -3
"""Column of ``istate`` holding 1 once the copy's episode ended (the next step restarts it)."""
KEY = -2
"""Column of ``istate`` holding the random-stream key of each copy."""
CTR = -1
"""Column of ``istate`` holding the random-stream counter of each copy."""
DRIVER_COLUMNS = 3
"""Columns at the end of ``istate`` that belong to the driver: ``DONE``, key and counter."""


class Kernels(NamedTuple):
    """An env's compiled driver: reset and step, each parallel and serial, and pure Python.

    ``reset(kp, fstate, istate, obs, extra)`` and ``step(kp, fstate, istate, actions, obs, rew,
    term, trunc, extra)``; see the module docstring. ``reset_python`` and ``step_python`` run
    the same driver and the env's functions uncompiled (their ``py_func``), for tests.
    """

    reset: Any
    reset_serial: Any
    step: Any
    step_serial: Any
    reset_python: Any
    step_python: Any


def _reset(kp, fstate, istate, obs, extra):  # pragma: no cover - compiled by numba
    """Start every copy (the requests in the state are consumed by ``start_one``)."""
    for i in prange(istate.shape[0]):
        start_one(kp, fstate, istate, i, obs, extra)  # noqa: F821 - bound by make_kernels
        istate[i, DONE] = 0


def _step(kp, fstate, istate, actions, obs, rew, term, trunc, extra):  # pragma: no cover
    """Advance every copy by one step; a copy whose episode ended is restarted instead."""
    # The batch as 2-D once, here: a reshape per copy inside advance_one cost ROI 14 ns of
    # its 70 per env-step at 65,536 copies.
    rows = actions.reshape(actions.shape[0], -1)
    for i in prange(istate.shape[0]):
        if istate[i, DONE] != 0:
            start_one(kp, fstate, istate, i, obs, extra)  # noqa: F821
            istate[i, DONE] = 0
            rew[i] = 0.0
            term[i] = False
            trunc[i] = False
        else:
            ended, cut = advance_one(kp, fstate, istate, i, rows, obs, rew, extra)  # noqa: F821
            term[i] = ended
            trunc[i] = cut
            istate[i, DONE] = 1 if (ended or cut) else 0


def make_kernels(
    start_one: Callable[..., Any], advance_one: Callable[..., Any], name: str
) -> Kernels:
    """Compile the NEXT_STEP driver around an env's ``start_one`` and ``advance_one``.

    Args:
        start_one: The env's jitted ``start_one`` (``inline="always"``).
        advance_one: The env's jitted ``advance_one`` (``inline="always"``).
        name: Prefix of the compiled functions' names (e.g. ``"journey"``).

    Returns:
        The :class:`Kernels`.
    """
    bound = {"start_one": start_one, "advance_one": advance_one}
    sources = (start_one.py_func, advance_one.py_func)
    reset, reset_serial = parallel_and_serial(_reset, f"{name}_reset", bound, sources)
    step, step_serial = parallel_and_serial(_step, f"{name}_step", bound, sources)
    plain = {**_reset.__globals__, "start_one": sources[0], "advance_one": sources[1]}
    reset_python = types.FunctionType(_reset.__code__, plain, f"{name}_reset_python")
    step_python = types.FunctionType(_step.__code__, plain, f"{name}_step_python")
    return Kernels(reset, reset_serial, step, step_serial, reset_python, step_python)
