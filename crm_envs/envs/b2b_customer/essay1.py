"""Fan (2015), Essay 1, section 1.4.2: the numeric example of the value of learning.

Two relationship states (low, high), five marketing levels MKT = 0..4 at zero cost, three
purchase levels rewarded 0, 1, 2. Emission utilities (ordered logit): low ``.45 + .3 MKT -
.2 MKT^2``, high ``.2 + .5 MKT - .15 MKT^2``; transition utilities (binary logit against
staying/leaving): low -> high ``2 + 1.5 MKT - .235 MKT^2``, high -> high ``4 + 2 MKT - .235
MKT^2``. Every customer starts low. Fan reports the policy "MKT 2 below a belief of 0.378,
MKT 3 above" for both the adaptive (POMDP) and the open-loop (HMM) planner, an HMM steady-state
belief of 0.66 and average DCVs of 83.5 (HMM) and 96.1 (POMDP) over 100 months.

What the text leaves open, and our reading:

* Utility scale of the transition logit: 10 (utilities divided by 10, as Essay 2 divides
  marketing by 10). This is the scale at which the open-loop steady-state belief under MKT 3
  is the reported 0.66 (:func:`hmm_steady_state` checks it); scale 1 would give 0.9996.
* Ordered-logit cut points of the emissions: (-1, 1), with unit scale -- a neutral choice, not
  tuned to the reported figures.
* Discount factor: 0.99 per month, for planning and for the DCV over 100 months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.models import TabularPOMDP
from crm_envs.envs.b2b_customer.belief import filter_step, open_loop

__all__ = ["Essay1Result", "essay1_pomdp", "hmm_steady_state", "run_essay1"]

MKT = np.arange(5, dtype=float)


def _logistic(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-x))


def essay1_pomdp(
    transition_scale: float = 10.0,
    cut_points: tuple[float, float] = (-1.0, 1.0),
    discount: float = 0.99,
) -> TabularPOMDP:
    """The Essay 1 example as a :class:`TabularPOMDP` (states low=0, high=1; actions MKT 0..4).

    Args:
        transition_scale: Divisor of the transition utilities (see the module docstring).
        cut_points: Increasing ordered-logit cut points of purchase levels 0 | 1 | 2.
        discount: Monthly discount factor in [0, 1).

    Returns:
        The model; ``R[a, s]`` is the expected purchase reward of the month (the purchase is
        made in the state the customer moves to).
    """
    c1, c2 = cut_points
    if not c1 < c2:
        raise ValueError(f"cut_points must be increasing, got {cut_points}")
    if transition_scale <= 0:
        raise ValueError(f"transition_scale must be > 0, got {transition_scale}")
    q01 = _logistic((2 + 1.5 * MKT - 0.235 * MKT**2) / transition_scale)
    q11 = _logistic((4 + 2 * MKT - 0.235 * MKT**2) / transition_scale)
    P = np.stack([np.array([[1 - a, a], [1 - b, b]]) for a, b in zip(q01, q11, strict=True)])
    utility = np.stack([0.45 + 0.3 * MKT - 0.2 * MKT**2, 0.2 + 0.5 * MKT - 0.15 * MKT**2], 1)
    le0, le1 = _logistic(c1 - utility), _logistic(c2 - utility)  # (A, S) cumulative
    O = np.stack([le0, le1 - le0, 1 - le1], axis=-1)  # (A, S', Z)
    reward = O @ np.array([0.0, 1.0, 2.0])  # (A, S') expected reward in the new state
    R = np.einsum("ast,at->as", P, reward)
    return TabularPOMDP(P, O, R, discount, initial=[1.0, 0.0])


def hmm_steady_state(pomdp: TabularPOMDP, action: int) -> float:
    """Fixed point of the open-loop belief under a constant action: q01 / (q01 + 1 - q11)."""
    q01, q11 = pomdp.P[action, 0, 1], pomdp.P[action, 1, 1]
    return float(q01 / (q01 + 1 - q11))


@dataclass(frozen=True)
class Essay1Result:
    """Computed counterparts of Fan's reported figures.

    Attributes:
        pomdp_threshold: Belief at which the POMDP policy's action changes (NaN if constant).
        hmm_threshold: Same for the HMM policy.
        pomdp_actions: (2,) actions below and above the POMDP threshold.
        hmm_actions: (2,) actions below and above the HMM threshold.
        steady_state: Open-loop steady-state belief under the HMM's long-run action.
        dcv_hmm: Mean discounted value over 100 months, HMM policy.
        dcv_pomdp: Mean discounted value over 100 months, POMDP policy.
        vol: ``dcv_pomdp - dcv_hmm`` with its standard error ``vol_se`` (paired sequences).
        vol_se: Standard error of ``vol``.
    """

    pomdp_threshold: float
    hmm_threshold: float
    pomdp_actions: tuple[int, int]
    hmm_actions: tuple[int, int]
    steady_state: float
    dcv_hmm: float
    dcv_pomdp: float
    vol: float
    vol_se: float


def _threshold(solution, grid: NDArray[np.float64]) -> tuple[float, tuple[int, int]]:
    acts = solution.action(grid)
    change = np.flatnonzero(np.diff(acts) != 0)
    if change.size == 0:
        return float("nan"), (int(acts[0]), int(acts[0]))
    return float(grid[change[0] + 1]), (int(acts[0]), int(acts[-1]))


def run_essay1(pomdp: TabularPOMDP | None = None, months: int = 100, n_sequences: int = 2000,
               seed: int = 0, resolution: int = 100) -> Essay1Result:  # fmt: skip
    """Solve both planners on Fan's 100-point grid and simulate them from the low state.

    Both policies face the same random numbers (paired sequences), so the VOL's standard
    error is small.

    Args:
        pomdp: The model (default :func:`essay1_pomdp`).
        months: Simulated months per sequence (Fan: 100).
        n_sequences: Simulated sequences (Fan: 10).
        seed: Seed of the simulation.
        resolution: Belief grid resolution (Fan: 100 points).

    Returns:
        The :class:`Essay1Result`.
    """
    from agents.pomdp import solve

    m = essay1_pomdp() if pomdp is None else pomdp
    adaptive = solve(m, resolution=resolution, tol=1e-9)
    hmm = solve(m, resolution=resolution, tol=1e-9, open_loop=True)
    grid = np.linspace(0.0, 1.0, 1001)
    t_p, a_p = _threshold(adaptive, grid)
    t_h, a_h = _threshold(hmm, grid)
    rng = np.random.default_rng(seed)
    u_state = rng.random((n_sequences, months))
    u_obs = rng.random((n_sequences, months))
    values = {}
    for name, sol, adaptive_belief in (("hmm", hmm, False), ("pomdp", adaptive, True)):
        total = np.zeros(n_sequences)
        for i in range(n_sequences):
            state, b = 0, 0.0
            for t in range(months):
                a = int(sol.action(b))
                state = int(u_state[i, t] < m.P[a, state, 1])
                cum = np.cumsum(m.O[a, state])
                z = int((u_obs[i, t] >= cum[:-1]).sum())
                total[i] += m.gamma**t * z
                q01, q11 = m.P[a, 0, 1], m.P[a, 1, 1]
                if adaptive_belief:
                    b = filter_step(b, q01, q11, m.O[a, 1, z], m.O[a, 0, z])
                else:
                    b = open_loop(b, q01, q11)
        values[name] = total
    diff = values["pomdp"] - values["hmm"]
    return Essay1Result(
        pomdp_threshold=t_p, hmm_threshold=t_h, pomdp_actions=a_p, hmm_actions=a_h,
        steady_state=hmm_steady_state(m, a_h[1]), dcv_hmm=float(values["hmm"].mean()),
        dcv_pomdp=float(values["pomdp"].mean()), vol=float(diff.mean()),
        vol_se=float(diff.std(ddof=1) / np.sqrt(n_sequences)),
    )  # fmt: skip
