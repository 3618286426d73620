"""ADBUDG response curves (Little 1970), as used by Streukens et al. (2011), Eq. 2 / A1.4.

``y(eff) = a + (b - a) * eff**c / (d + eff**c)``: ``a`` is the level with zero effort, ``b`` the
level as effort grows without bound, ``c`` the shape (concave for ``c <= 1``, S-shaped above)
and ``d`` the effort scale (with ``c = 1``, ``d`` is the effort that reaches half way).
All functions are vectorised over numpy arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crm_envs.core.params import check_scalar

__all__ = [
    "adbudg",
    "adbudg_derivative",
    "adbudg_from_interview",
    "adbudg_inverse",
    "check_adbudg",
]


def check_adbudg(a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike) -> None:
    """Raise ``ValueError`` unless c > 0, d > 0 and b > a (element-wise).

    Args:
        a: Level at zero effort.
        b: Level as effort grows without bound.
        c: Shape parameter.
        d: Effort scale.
    """
    a, b, c, d = (np.asarray(x, dtype=float) for x in (a, b, c, d))
    for name, arr in (("a", a), ("b", b), ("c", c), ("d", d)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"ADBUDG parameter {name} must be finite, got {arr}")
    if np.any(c <= 0):
        raise ValueError(f"ADBUDG shape c must be > 0, got {c}")
    if np.any(d <= 0):
        raise ValueError(f"ADBUDG scale d must be > 0, got {d}")
    if np.any(b <= a):
        raise ValueError(
            f"ADBUDG needs b > a (saturation above the zero-effort level); a={a}, b={b}"
        )


def _check_effort(effort: ArrayLike) -> NDArray[np.float64]:
    e = np.asarray(effort, dtype=float)
    if np.any(~np.isfinite(e)) or np.any(e < 0):
        raise ValueError(f"effort must be finite and >= 0, got {effort}")
    return e


def adbudg(effort: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike) -> NDArray:
    """Level reached with ``effort`` (Eq. A1.4).

    Args:
        effort: Effort (>= 0), e.g. dollars per period.
        a: Level at zero effort.
        b: Level as effort grows without bound.
        c: Shape parameter (> 0).
        d: Effort scale (> 0).

    Returns:
        The level(s), in [a, b).
    """
    e = _check_effort(effort)
    ec = e ** np.asarray(c, dtype=float)
    return a + (np.asarray(b) - a) * ec / (d + ec)


def adbudg_derivative(
    effort: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike
) -> NDArray:
    """dy/d(effort) = (b - a) c d eff**(c-1) / (d + eff**c)**2 (Streukens et al., Appendix A).

    Args:
        effort: Effort (>= 0).
        a: Level at zero effort.
        b: Level as effort grows without bound.
        c: Shape parameter (> 0).
        d: Effort scale (> 0).

    Returns:
        The marginal response per unit of effort.
    """
    e = _check_effort(effort)
    c = np.asarray(c, dtype=float)
    ec = e**c
    with np.errstate(divide="ignore"):
        return (np.asarray(b) - a) * c * d * e ** (c - 1.0) / (d + ec) ** 2


def adbudg_inverse(
    level: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike
) -> NDArray:
    """Effort that holds ``level``: ``eff = (d (y - a) / (b - y))**(1/c)``.

    This is Table 5's "effort to maintain current level" row (Streukens et al. 2011).

    Args:
        level: Level(s) in [a, b).
        a: Level at zero effort.
        b: Level as effort grows without bound.
        c: Shape parameter (> 0).
        d: Effort scale (> 0).

    Returns:
        The effort(s).
    """
    y = np.asarray(level, dtype=float)
    a_, b_ = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if np.any(~np.isfinite(y)) or np.any(y < a_) or np.any(y >= b_):
        raise ValueError(f"level must lie in [a, b) = [{a}, {b}), got {level}")
    return (d * (y - a_) / (b_ - y)) ** (1.0 / np.asarray(c, dtype=float))


def adbudg_from_interview(
    current_effort: float,
    current_level: float,
    level_at_zero: float,
    level_at_saturation: float,
    level_at_double_effort: float,
) -> tuple[float, float, float, float]:
    """Calibrate (a, b, c, d) from the four interview questions of Appendix A.

    The answers give ``a`` (level with zero effort), ``b`` (level with unlimited effort) and two
    points of the curve: (current effort, current level) and (twice the effort, the level it
    would reach). With ``r_k = (y_k - a) / (b - y_k) = eff_k**c / d`` for both points,
    ``c = log2(r_2 / r_1)`` and ``d = eff**c / r_1``.

    Args:
        current_effort: Current effort (> 0).
        current_level: Level it leads to, strictly between ``a`` and ``b``.
        level_at_zero: Level if the effort stopped (``a``).
        level_at_saturation: Level with unlimited effort (``b``).
        level_at_double_effort: Level if the effort doubled, above ``current_level`` and
            below ``b``.

    Returns:
        ``(a, b, c, d)``.
    """
    eff = check_scalar("current_effort", current_effort, low=0.0, low_open=True)
    a = check_scalar("level_at_zero", level_at_zero)
    b = check_scalar("level_at_saturation", level_at_saturation, low=a, low_open=True)
    y1 = check_scalar("current_level", current_level, low=a, high=b, low_open=True, high_open=True)
    y2 = check_scalar(
        "level_at_double_effort", level_at_double_effort, low=y1, high=b, low_open=True,
        high_open=True,
    )  # fmt: skip
    r1, r2 = (y1 - a) / (b - y1), (y2 - a) / (b - y2)
    c = float(np.log2(r2 / r1))
    d = float(eff**c / r1)
    return a, b, c, d
