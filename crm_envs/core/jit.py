"""Compile one kernel body into a parallel (vector env) and a serial (single env) variant."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from numba import njit

__all__ = ["entry_point", "parallel_and_serial"]


def _named_njit(fn: Callable[..., Any], name: str, parallel: bool) -> Any:
    clone = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__)
    clone.__qualname__ = name  # numba's on-disk cache is keyed by the qualified name
    clone.__doc__ = fn.__doc__
    clone.__module__ = fn.__module__
    return njit(cache=True, parallel=parallel)(clone)


def parallel_and_serial(fn: Callable[..., Any], name: str) -> tuple[Any, Any]:
    """Jit ``fn`` (whose loop uses ``prange``) as ``name`` and ``name + "_serial"``.

    The parallel variant vectorises over the batch; the serial one skips the start-up of a
    parallel region, which costs more than a whole step when the batch holds one environment.
    Numba treats ``prange`` as ``range`` in the serial variant, so both run the same code.

    Args:
        fn: Plain Python kernel body with a ``prange`` loop over the batch.
        name: Public name of the parallel variant.

    Returns:
        ``(parallel_dispatcher, serial_dispatcher)``.
    """
    return _named_njit(fn, name, True), _named_njit(fn, name + "_serial", False)


def entry_point(dispatcher: Any, *example_args: Any) -> Callable[..., Any]:
    """The compiled function of ``dispatcher`` for the types of ``example_args``.

    Calling it skips numba's per-call type dispatch (several µs for a NamedTuple of arrays),
    which matters for single environments stepped from Python. Only call it with arguments of
    exactly the example types: the single envs build their buffers and kernel parameters once,
    with fixed dtypes and dimensions, so this holds by construction.

    Args:
        dispatcher: A numba ``@njit`` dispatcher.
        *example_args: Arguments whose numba types select (or compile) the specialisation.

    Returns:
        The compiled entry point.
    """
    from numba import typeof

    return dispatcher.compile(tuple(typeof(a) for a in example_args))
