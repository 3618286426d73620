"""Validation helpers and preset lookup shared by every environment.

Every helper raises :class:`ValueError` (or :class:`TypeError` for a wrong type) whose message
names the parameter, shows the value received and states what is allowed, so that a user can
fix the call without reading the source. Nothing is ever clipped or coerced silently.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "check_array",
    "check_bool",
    "check_choice",
    "check_int",
    "check_options",
    "check_prob",
    "check_prob_vector",
    "check_range_array",
    "check_scalar",
    "lookup_preset",
]

T = TypeVar("T")


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_options(options: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    """Validate the keys of a ``reset(options=...)`` mapping.

    Args:
        options: The mapping given to ``reset`` (None means no options).
        allowed: The option names the env understands.

    Returns:
        A copy of the options as a dict.

    Raises:
        ValueError: On any key outside ``allowed`` (nothing is silently ignored).
    """
    out = dict(options or {})
    unknown = sorted(set(out) - set(allowed))
    if unknown:
        raise ValueError(f"unknown reset option(s) {unknown}; allowed: {list(allowed)}")
    return out


def check_scalar(
    name: str,
    value: Any,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Validate a finite real number in a (half-)open or closed interval.

    Args:
        name: Parameter name used in the error message.
        value: The value to check.
        low: Lower bound.
        high: Upper bound.
        low_open: Whether ``low`` itself is excluded.
        high_open: Whether ``high`` itself is excluded.

    Returns:
        The value as a Python float.

    Raises:
        TypeError: If ``value`` is not a real number.
        ValueError: If it is NaN, infinite, or outside the interval.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    x = float(value)
    lo_br, hi_br = ("(" if low_open else "["), (")" if high_open else "]")
    allowed = f"{lo_br}{low}, {high}{hi_br}"
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number in {allowed}, got {x}")
    if (x < low) or (low_open and x == low) or (x > high) or (high_open and x == high):
        raise ValueError(f"{name} must lie in {allowed}, got {x}")
    return x


def check_prob(name: str, value: Any) -> float:
    """Validate a probability in [0, 1].

    Args:
        name: Parameter name used in the error message.
        value: The value to check.

    Returns:
        The probability as a Python float.
    """
    return check_scalar(name, value, low=0.0, high=1.0)


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """Validate an integer in the closed range [low, high].

    Args:
        name: Parameter name used in the error message.
        value: The value to check (bools are rejected).
        low: Smallest allowed value, or None for no bound.
        high: Largest allowed value, or None for no bound.

    Returns:
        The value as a Python int.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {v}")
    return v


def check_bool(name: str, value: Any) -> bool:
    """Validate a flag: only ``True``, ``False`` (or numpy bools) are accepted.

    Args:
        name: Parameter name used in the error message.
        value: The value to check. Strings such as ``"False"`` and numbers are refused rather
            than read by truthiness (``bool("False")`` is True).

    Returns:
        The value as a Python bool.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_describe(value)}")
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Validate that ``value`` is one of ``choices``, suggesting the closest one otherwise.

    Args:
        name: Parameter name used in the error message.
        value: The value to check.
        choices: The allowed strings.

    Returns:
        The value.
    """
    if value in choices:
        return value
    hint = difflib.get_close_matches(str(value), list(choices), n=1)
    did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
    raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}.{did_you_mean}")


def check_array(
    name: str,
    value: ArrayLike,
    *,
    shape: tuple[int | None, ...] | None = None,
    dtype: type = np.float64,
) -> NDArray[Any]:
    """Convert to a read-only numpy array and check its shape and finiteness.

    Args:
        name: Parameter name used in the error message.
        value: Array-like input.
        shape: Expected shape; ``None`` entries match any length.
        dtype: Target dtype (float arrays must be finite).

    Returns:
        A read-only copy of the array.
    """
    try:
        arr = np.array(value, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be array-like of {np.dtype(dtype).name}: {exc}") from None
    if shape is not None:
        ok = arr.ndim == len(shape) and all(
            want is None or want == got for want, got in zip(shape, arr.shape, strict=False)
        )
        if not ok:
            want_s = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want_s}, got {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{name} must be finite, found {arr[bad]} at index {bad}")
    arr.flags.writeable = False
    return arr


def check_range_array(name: str, arr: NDArray[Any], low: float, high: float) -> None:
    """Check that every entry of ``arr`` lies in [low, high], naming the first offender.

    Args:
        name: Parameter name used in the error message.
        arr: The array to check.
        low: Smallest allowed value.
        high: Largest allowed value.
    """
    bad = np.argwhere((arr < low) | (arr > high))
    if bad.size:
        idx = tuple(int(i) for i in bad[0])
        raise ValueError(
            f"{name} must lie in [{low}, {high}]; entry {idx} is {arr[idx]} "
            f"({len(bad)} entries out of range)"
        )


def check_prob_vector(name: str, arr: NDArray[Any], *, atol: float = 1e-8) -> None:
    """Check that the last axis of ``arr`` holds probability vectors (non-negative, sum 1).

    Args:
        name: Parameter name used in the error message.
        arr: Array whose last axis must sum to one.
        atol: Tolerance on the sums.
    """
    check_range_array(name, arr, 0.0, 1.0)
    sums = np.atleast_1d(arr.sum(axis=-1))
    bad = np.argwhere(np.abs(sums - 1.0) > atol)
    if bad.size:
        idx = tuple(int(i) for i in bad[0])
        raise ValueError(
            f"{name}: every row must sum to 1 (within {atol}); "
            f"row {idx} sums to {float(sums[idx]):.10g}"
        )


_PRESET_CACHE: dict[tuple[str, str], Any] = {}


def lookup_preset(kind: str, name: str, presets: Mapping[str, Callable[[], T]]) -> T:
    """Build a named preset once per process, or raise with the closest name suggested.

    Presets are immutable (frozen dataclasses of read-only arrays), so every env of a process
    shares one instance and a calibrated preset is never calibrated again on ``gym.make``.

    Args:
        kind: What the presets configure (used in the message), e.g. ``"CustomerJourney"``.
        name: The requested preset name.
        presets: Mapping from preset name to a zero-argument factory.

    Returns:
        The preset's params object.
    """
    if not isinstance(name, str):
        raise TypeError(f"{kind} preset must be a string name, got {_describe(name)}")
    if name not in presets:
        hint = difflib.get_close_matches(name, list(presets), n=1, cutoff=0.4)
        did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
        raise ValueError(
            f"unknown {kind} preset {name!r}; available: {sorted(presets)}.{did_you_mean}"
        )
    if (kind, name) not in _PRESET_CACHE:
        _PRESET_CACHE[kind, name] = presets[name]()
    return _PRESET_CACHE[kind, name]
