"""Exact dynamic programming over :class:`crm_envs.core.models.TabularMDP`.

Bellman backups run in numba over dense (A, S, S) transition arrays:
``Q[s, a] = R[a, s] + gamma * sum_s' P[a, s, s'] V[s']``. Ties between actions go to the
lowest action index, so the policies are deterministic functions of the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from crm_envs.core.models import TabularMDP
from crm_envs.core.params import check_int, check_scalar

__all__ = ["FiniteHorizonSolution", "MDPSolution", "backward_induction", "value_iteration"]


@njit(cache=True, parallel=True)
def _bellman(p, r, gamma, v_next, q_out, v_out, pi_out):
    """One Bellman backup: q_out (S, A), v_out (S,), pi_out (S,) from v_next (S,)."""
    n_a, n_s = r.shape
    for s in prange(n_s):
        best = -np.inf
        best_a = 0
        for a in range(n_a):
            acc = 0.0
            for s2 in range(n_s):
                acc += p[a, s, s2] * v_next[s2]
            q = r[a, s] + gamma * acc
            q_out[s, a] = q
            if q > best:
                best = q
                best_a = a
        v_out[s] = best
        pi_out[s] = best_a


@dataclass(frozen=True)
class FiniteHorizonSolution:
    """Optimal values and policy of a finite-horizon MDP.

    Attributes:
        V: (H + 1, S) optimal value with ``t`` steps taken; ``V[H] = 0``.
        Q: (H, S, A) optimal action values.
        policy: (H, S) optimal action at step ``t`` in state ``s``.
    """

    V: NDArray[np.float64]
    Q: NDArray[np.float64]
    policy: NDArray[np.int64]

    def value(self, initial: NDArray[np.float64]) -> float:
        """Expected optimal return from an initial state distribution."""
        return float(np.dot(initial, self.V[0]))


@dataclass(frozen=True)
class MDPSolution:
    """Optimal values and policy of an infinite-horizon discounted MDP.

    Attributes:
        V: (S,) optimal values.
        Q: (S, A) optimal action values.
        policy: (S,) greedy optimal action.
        iterations: Bellman sweeps performed.
        residual: Sup-norm change of V in the last sweep.
        converged: Whether ``residual`` fell below the requested tolerance.
    """

    V: NDArray[np.float64]
    Q: NDArray[np.float64]
    policy: NDArray[np.int64]
    iterations: int
    residual: float
    converged: bool


def backward_induction(mdp: TabularMDP) -> FiniteHorizonSolution:
    """Solve a finite-horizon MDP exactly by backward induction.

    Args:
        mdp: A model with ``horizon`` set (time-indexed P and R are allowed).

    Returns:
        The :class:`FiniteHorizonSolution`.
    """
    if mdp.horizon is None:
        raise ValueError("backward_induction needs a finite horizon; use value_iteration")
    h, n_s, n_a = mdp.horizon, mdp.n_states, mdp.n_actions
    v = np.zeros((h + 1, n_s))
    q = np.zeros((h, n_s, n_a))
    pi = np.zeros((h, n_s), dtype=np.int64)
    for t in range(h - 1, -1, -1):
        p = np.ascontiguousarray(mdp.transition(t))
        r = np.ascontiguousarray(mdp.reward(t))
        _bellman(p, r, mdp.gamma, v[t + 1], q[t], v[t], pi[t])
    return FiniteHorizonSolution(V=v, Q=q, policy=pi)


def value_iteration(mdp: TabularMDP, tol: float = 1e-10, max_iter: int = 100_000) -> MDPSolution:
    """Solve an infinite-horizon discounted MDP by value iteration.

    Stops when the sup-norm change of V falls below ``tol * (1 - gamma) / (2 * gamma)``, which
    bounds the distance of the greedy policy's value from the optimum by ``tol``.

    Args:
        mdp: A model with ``horizon=None`` and ``gamma < 1`` and stationary P and R.
        tol: Target accuracy of the values, > 0.
        max_iter: Maximum number of sweeps.

    Returns:
        The :class:`MDPSolution` (check ``converged``).
    """
    if mdp.horizon is not None:
        raise ValueError(
            f"value_iteration solves infinite-horizon MDPs; this one has horizon {mdp.horizon}: "
            "use backward_induction"
        )
    tol = check_scalar("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    p = np.ascontiguousarray(mdp.P)
    r = np.ascontiguousarray(mdp.R)
    g = mdp.gamma
    threshold = tol * (1.0 - g) / (2.0 * g) if g > 0 else tol
    n_s, n_a = mdp.n_states, mdp.n_actions
    v, v_new = np.zeros(n_s), np.zeros(n_s)
    q = np.zeros((n_s, n_a))
    pi = np.zeros(n_s, dtype=np.int64)
    residual = np.inf
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        _bellman(p, r, g, v, q, v_new, pi)
        residual = float(np.max(np.abs(v_new - v)))
        v, v_new = v_new, v
        if residual < threshold:
            break
    _bellman(p, r, g, v, q, v_new, pi)  # Q and policy consistent with the returned V
    return MDPSolution(
        V=v,
        Q=q.copy(),
        policy=pi.copy(),
        iterations=it,
        residual=residual,
        converged=residual < threshold,
    )
