"""Exact finite models that environments expose for the solvers in :mod:`agents`.

An environment whose model is finite returns one of these from ``env.unwrapped.model()``;
``agents.dp`` and ``agents.pomdp`` compute the optimum from it and the benchmark normalises
scores with that optimum (random = 0, optimal = 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from crm_envs.core.params import check_array, check_int, check_scalar

__all__ = ["TabularMDP", "TabularPOMDP"]

_ROW_ATOL = 1e-8


def _check_stochastic(name: str, arr: NDArray[np.float64], axes: str) -> None:
    """Raise if ``arr`` has negative entries or rows (last axis) not summing to one."""
    neg = np.argwhere(arr < 0.0)
    if neg.size:
        idx = tuple(int(i) for i in neg[0])
        raise ValueError(f"{name}[{axes}] must be non-negative; {name}{list(idx)} = {arr[idx]}")
    sums = np.atleast_1d(arr.sum(axis=-1))
    bad = np.argwhere(np.abs(sums - 1.0) > _ROW_ATOL)
    if bad.size:
        idx = tuple(int(i) for i in bad[0])
        where = f"row {name}{list(idx)}" if arr.ndim > 1 else name
        raise ValueError(
            f"{name}[{axes}] rows must sum to 1 within {_ROW_ATOL}; {where} "
            f"sums to {float(sums[idx]):.10g}"
        )


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite Markov decision process.

    Attributes:
        P: Transition probabilities ``P[a, s, s']`` of shape (A, S, S), or (H, A, S, S) when
            they vary with the time step (then ``horizon`` must equal H).
        R: Expected immediate reward ``R[a, s]`` of shape (A, S), or (H, A, S) for time-indexed
            rewards (then ``horizon`` must equal H).
        gamma: Discount factor in [0, 1]. An infinite-horizon model needs ``gamma < 1``.
        horizon: Number of decision steps, or None for an infinite horizon.
        initial: Initial state distribution (S,), or None when the model has no fixed start.
    """

    P: NDArray[np.float64]
    R: NDArray[np.float64]
    gamma: float
    horizon: int | None = None
    initial: NDArray[np.float64] | None = None

    def __init__(
        self,
        P: ArrayLike,
        R: ArrayLike,
        gamma: float,
        horizon: int | None = None,
        initial: ArrayLike | None = None,
    ) -> None:
        p = check_array("P", P)
        r = check_array("R", R)
        g = check_scalar("gamma", gamma, low=0.0, high=1.0)
        if p.ndim not in (3, 4) or p.shape[-1] != p.shape[-2]:
            raise ValueError(f"P must have shape (A, S, S) or (H, A, S, S), got {p.shape}")
        n_a, n_s = p.shape[-3], p.shape[-1]
        if r.ndim not in (2, 3) or r.shape[-2:] != (n_a, n_s):
            raise ValueError(
                f"R must have shape (A, S) = ({n_a}, {n_s}) or (H, {n_a}, {n_s}) to match P, "
                f"got {r.shape}"
            )
        h = None if horizon is None else check_int("horizon", horizon, low=1)
        time_dims = ([p.shape[0]] if p.ndim == 4 else []) + ([r.shape[0]] if r.ndim == 3 else [])
        for t_len in time_dims:
            if h is None or t_len != h:
                raise ValueError(
                    f"time-indexed P or R has {t_len} steps but horizon is {h}; pass "
                    f"horizon={t_len} or give stationary arrays"
                )
        if h is None and g >= 1.0:
            raise ValueError(
                "an infinite-horizon MDP (horizon=None) needs gamma < 1, got gamma = 1.0; "
                "set a horizon or discount"
            )
        _check_stochastic("P", p, "..., s, :")
        init = None
        if initial is not None:
            init = check_array("initial", initial, shape=(n_s,))
            _check_stochastic("initial", init, ":")
        object.__setattr__(self, "P", p)
        object.__setattr__(self, "R", r)
        object.__setattr__(self, "gamma", g)
        object.__setattr__(self, "horizon", h)
        object.__setattr__(self, "initial", init)

    @property
    def n_states(self) -> int:
        """Number of states S."""
        return int(self.P.shape[-1])

    @property
    def n_actions(self) -> int:
        """Number of actions A."""
        return int(self.P.shape[-3])

    def transition(self, t: int) -> NDArray[np.float64]:
        """Transition array (A, S, S) in force at step ``t``."""
        return self.P[t] if self.P.ndim == 4 else self.P

    def reward(self, t: int) -> NDArray[np.float64]:
        """Expected reward array (A, S) in force at step ``t``."""
        return self.R[t] if self.R.ndim == 3 else self.R


@dataclass(frozen=True, eq=False)
class TabularPOMDP:
    """A finite partially observable Markov decision process.

    Attributes:
        P: Transition probabilities ``P[a, s, s']``, shape (A, S, S).
        O: Observation probabilities ``O[a, s', z] = P(z | s', a)``, shape (A, S, Z).
        R: Expected immediate reward ``R[a, s]``, shape (A, S).
        gamma: Discount factor in [0, 1).
        initial: Initial belief over states, shape (S,).
    """

    P: NDArray[np.float64]
    O: NDArray[np.float64]
    R: NDArray[np.float64]
    gamma: float
    initial: NDArray[np.float64]

    def __init__(
        self, P: ArrayLike, O: ArrayLike, R: ArrayLike, gamma: float, initial: ArrayLike
    ) -> None:
        p = check_array("P", P)
        if p.ndim != 3 or p.shape[1] != p.shape[2]:
            raise ValueError(f"P must have shape (A, S, S), got {p.shape}")
        n_a, n_s = p.shape[0], p.shape[1]
        o = check_array("O", O)
        if o.ndim != 3 or o.shape[:2] != (n_a, n_s):
            raise ValueError(f"O must have shape (A, S, Z) = ({n_a}, {n_s}, Z), got {o.shape}")
        r = check_array("R", R, shape=(n_a, n_s))
        g = check_scalar("gamma", gamma, low=0.0, high=1.0, high_open=True)
        init = check_array("initial", initial, shape=(n_s,))
        _check_stochastic("P", p, "a, s, :")
        _check_stochastic("O", o, "a, s', :")
        _check_stochastic("initial", init, ":")
        object.__setattr__(self, "P", p)
        object.__setattr__(self, "O", o)
        object.__setattr__(self, "R", r)
        object.__setattr__(self, "gamma", g)
        object.__setattr__(self, "initial", init)

    @property
    def n_states(self) -> int:
        """Number of hidden states S."""
        return int(self.P.shape[1])

    @property
    def n_actions(self) -> int:
        """Number of actions A."""
        return int(self.P.shape[0])

    @property
    def n_observations(self) -> int:
        """Number of observation symbols Z."""
        return int(self.O.shape[2])
