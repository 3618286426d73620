"""Exact-in-the-limit POMDP planning over a finite belief set (point-based value iteration).

The value function of a finite POMDP is the upper envelope of "alpha vectors" (one linear
function of the belief per conditional plan). :func:`solve` keeps one alpha vector per point of
a belief set and applies the point-based Bellman backup (Pineau, Gordon & Thrun 2003) until the
values at the points stop changing:

    g[a, z, k](s) = gamma * sum_s' P[a, s, s'] O[a, s', z] alpha_k(s')
    backup(b)     = argmax_a  R[a] . b + sum_z max_k g[a, z, k] . b

With two states the belief set is a grid on [0, 1]: the value is exact at the grid points'
supporting planes and exact in the limit of a fine grid (Fan 2015 solves the B2B POMDP on such
a grid). With more states the points are a regular grid on the simplex (small S) or beliefs
sampled from random rollouts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numpy.typing import ArrayLike, NDArray

from crm_envs.core.models import TabularPOMDP
from crm_envs.core.params import check_array, check_bool, check_int, check_scalar

__all__ = ["POMDPSolution", "belief_grid", "solve"]


@njit(cache=True, parallel=True)
def _backup(p, o, r, gamma, beliefs, alphas, new_alphas, new_actions, open_loop):
    """One point-based backup of every belief point (writes new_alphas, new_actions).

    With ``open_loop`` the same continuation vector serves every observation: the policy
    ignores what it observes (Fan's "HMM" policy, pure exploitation).
    """
    n_a, n_s, _ = p.shape
    n_z = o.shape[2]
    n_k = alphas.shape[0]
    # g[a, z, k, s] = gamma * sum_s' P[a,s,s'] O[a,s',z] alpha_k(s')
    g = np.zeros((n_a, n_z, n_k, n_s))
    for a in range(n_a):
        for z in range(n_z):
            for k in range(n_k):
                for s in range(n_s):
                    acc = 0.0
                    for s2 in range(n_s):
                        acc += p[a, s, s2] * o[a, s2, z] * alphas[k, s2]
                    g[a, z, k, s] = gamma * acc
    for i in prange(beliefs.shape[0]):
        b = beliefs[i]
        best_val = -np.inf
        best_a = 0
        cand = np.zeros(n_s)
        best_vec = np.zeros(n_s)
        for a in range(n_a):
            for s in range(n_s):
                cand[s] = r[a, s]
            if open_loop:
                top, top_k = -np.inf, 0
                for k in range(n_k):
                    v = 0.0
                    for z in range(n_z):
                        for s in range(n_s):
                            v += g[a, z, k, s] * b[s]
                    if v > top:
                        top, top_k = v, k
                for z in range(n_z):
                    for s in range(n_s):
                        cand[s] += g[a, z, top_k, s]
            for z in range(n_z if not open_loop else 0):
                top, top_k = -np.inf, 0
                for k in range(n_k):
                    v = 0.0
                    for s in range(n_s):
                        v += g[a, z, k, s] * b[s]
                    if v > top:
                        top, top_k = v, k
                for s in range(n_s):
                    cand[s] += g[a, z, top_k, s]
            val = 0.0
            for s in range(n_s):
                val += cand[s] * b[s]
            if val > best_val:
                best_val, best_a = val, a
                best_vec[:] = cand
        new_alphas[i] = best_vec
        new_actions[i] = best_a


@dataclass(frozen=True)
class POMDPSolution:
    """A POMDP policy as alpha vectors.

    Attributes:
        alphas: (K, S) alpha vectors.
        actions: (K,) action of each alpha vector.
        beliefs: (K, S) the belief points they were backed up at.
        iterations: Backups performed.
        residual: Largest change of the value at a belief point in the last backup.
        converged: Whether ``residual`` fell below the tolerance (always True with a horizon).
    """

    alphas: NDArray[np.float64]
    actions: NDArray[np.int64]
    beliefs: NDArray[np.float64]
    iterations: int
    residual: float
    converged: bool

    def _beliefs(self, belief: ArrayLike) -> NDArray[np.float64]:
        b = np.asarray(belief, dtype=float)
        n_s = self.alphas.shape[1]
        if n_s == 2 and (b.ndim == 0 or b.shape[-1] != 2):
            b = np.stack([1.0 - b, b], axis=-1)  # P(state 1) given
        bad = not np.all(np.isfinite(b)) or np.any(b < -1e-12)
        if bad or b.shape[-1] != n_s or np.any(np.abs(b.sum(-1) - 1) > 1e-8):
            raise ValueError(
                f"belief must be a probability vector over {n_s} states (or P(state 1) in "
                f"[0, 1] for 2 states), got {belief!r}"
            )
        return b

    def value(self, belief: ArrayLike) -> NDArray[np.float64] | float:
        """Value of a belief (or of many): the upper envelope of the alpha vectors."""
        v = (self._beliefs(belief) @ self.alphas.T).max(axis=-1)
        return float(v) if np.ndim(v) == 0 else v

    def action(self, belief: ArrayLike) -> NDArray[np.int64] | int:
        """Optimal action of a belief (or of many)."""
        k = (self._beliefs(belief) @ self.alphas.T).argmax(axis=-1)
        a = self.actions[k]
        return int(a) if np.ndim(a) == 0 else a


def belief_grid(n_states: int, resolution: int) -> NDArray[np.float64]:
    """Every belief whose probabilities are multiples of 1 / ``resolution`` (simplex grid).

    Args:
        n_states: Number of states S >= 2.
        resolution: Grid resolution r >= 1 (2 states: r + 1 points on [0, 1]).

    Returns:
        (K, S) belief points.
    """
    n_states = check_int("n_states", n_states, low=2)
    resolution = check_int("resolution", resolution, low=1)
    pts = [c for c in itertools.product(range(resolution + 1), repeat=n_states - 1)
           if sum(c) <= resolution]  # fmt: skip
    out = np.array([[resolution - sum(c), *c] for c in pts], dtype=float) / resolution
    return out


def solve(
    pomdp: TabularPOMDP,
    beliefs: ArrayLike | None = None,
    resolution: int | None = None,
    horizon: int | None = None,
    tol: float = 1e-8,
    max_iter: int = 10_000,
    open_loop: bool = False,
) -> POMDPSolution:
    """Point-based value iteration over a belief set.

    Args:
        pomdp: The model.
        beliefs: (K, S) belief points (default: :func:`belief_grid` with ``resolution``).
        resolution: Grid resolution when ``beliefs`` is None (default 200 for 2 states,
            20 for 3, else 8).
        horizon: Number of backups for a finite-horizon value (None: iterate to ``tol``).
        tol: Stop when no point's value changes by more than ``tol`` (infinite horizon).
        max_iter: Cap on the number of backups.
        open_loop: Solve for the best policy that ignores observations (its belief evolves
            as ``b P_a``): Fan's "HMM" policy. Its value never exceeds the adaptive one.

    Returns:
        The :class:`POMDPSolution`.
    """
    n_s = pomdp.n_states
    if beliefs is None:
        res = resolution if resolution is not None else {2: 200, 3: 20}.get(n_s, 8)
        b = belief_grid(n_s, res)
    else:
        b = np.array(check_array("beliefs", beliefs, shape=(None, n_s)))  # finite floats
        if np.any(b < 0) or np.any(np.abs(b.sum(axis=1) - 1) > 1e-8):
            raise ValueError("every belief point must be a probability vector")
    tol = check_scalar("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    n_iter = max_iter if horizon is None else check_int("horizon", horizon, low=1)
    open_loop = check_bool("open_loop", open_loop)
    p, o, r = (np.ascontiguousarray(x) for x in (pomdp.P, pomdp.O, pomdp.R))
    alphas = np.zeros((len(b), n_s))  # one per belief point
    actions = np.zeros(len(b), dtype=np.int64)
    new_alphas, new_actions = np.zeros_like(alphas), np.zeros_like(actions)
    residual, it = np.inf, 0
    for it in range(1, n_iter + 1):  # noqa: B007
        # Many points share a vector: back up against the distinct ones only.
        distinct = np.unique(alphas, axis=0)
        _backup(p, o, r, pomdp.gamma, b, distinct, new_alphas, new_actions, bool(open_loop))
        residual = float(np.abs((b * new_alphas).sum(1) - (b * alphas).sum(1)).max())
        alphas, new_alphas = new_alphas, alphas
        actions, new_actions = new_actions.copy(), actions
        if horizon is None and residual < tol:
            break
    converged = horizon is not None or residual < tol
    keep = np.unique(np.column_stack([alphas, actions]), axis=0, return_index=True)[1]
    return POMDPSolution(alphas[keep].copy(), actions[keep].copy(), b, it, residual, converged)
