"""Compile one kernel body into a parallel (vector env) and a serial (single env) variant."""

from __future__ import annotations

import hashlib
import inspect
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numba import njit

__all__ = ["entry_point", "parallel_and_serial"]


def _source_tag(fns: tuple[Callable[..., Any], ...]) -> str:
    """A short hash of the source files of ``fns``, of :mod:`crm_envs.core.rng` and of this file.

    Numba's on-disk cache checks only the file of the function it compiles, not the files of
    the functions inlined into it, nor the compile options set here; naming a driver after the
    hash of every file it inlines and of this one makes a change to any of them compile afresh
    instead of loading stale machine code.
    """
    from crm_envs.core import rng

    files = sorted({inspect.getfile(f) for f in fns} | {inspect.getfile(rng), __file__})
    digest = hashlib.sha1()
    for path in files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:10]


def _named_njit(
    fn: Callable[..., Any],
    name: str,
    parallel: bool,
    bound: dict[str, Any] | None = None,
    sources: tuple[Callable[..., Any], ...] = (),
) -> Any:
    globals_ = fn.__globals__ if bound is None else {**fn.__globals__, **bound}
    clone = types.FunctionType(fn.__code__, globals_, name, fn.__defaults__)
    # numba's on-disk cache is keyed by the qualified name
    clone.__qualname__ = f"{name}_{_source_tag((fn, *sources))}" if sources else name
    clone.__doc__ = fn.__doc__
    clone.__module__ = fn.__module__
    # No reference counting (numba's NRT): a kernel allocates nothing, and in the serial
    # variant the counts taken on every array read from ``kp`` or ``extra`` inside the loop
    # cost more than the step itself (CustomerJourney at 1,024 copies: 101 us with them, 32
    # without). A kernel that allocated would fail to compile, not run wrong.
    return njit(cache=True, parallel=parallel, _nrt=False)(clone)


def parallel_and_serial(
    fn: Callable[..., Any],
    name: str,
    bound: dict[str, Any] | None = None,
    sources: tuple[Callable[..., Any], ...] = (),
) -> tuple[Any, Any]:
    """Jit ``fn`` (whose loop uses ``prange``) as ``name`` and ``name + "_serial"``.

    The parallel variant vectorises over the batch; the serial one skips the start-up of a
    parallel region, which costs more than a whole step when the batch holds one environment.
    Numba treats ``prange`` as ``range`` in the serial variant, so both run the same code.

    Args:
        fn: Plain Python kernel body with a ``prange`` loop over the batch.
        name: Public name of the parallel variant.
        bound: Global names of ``fn`` to bind for this compilation (the shared driver of
            :mod:`crm_envs.core.kernels` binds an env's ``start_one`` and ``advance_one``).
        sources: Plain Python functions inlined into ``fn`` whose files key the on-disk cache.

    Returns:
        ``(parallel_dispatcher, serial_dispatcher)``.
    """
    return (
        _named_njit(fn, name, True, bound, sources),
        _named_njit(fn, name + "_serial", False, bound, sources),
    )


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
