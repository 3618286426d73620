"""Fan (2015), Essay 1, section 1.4.2: the numeric example of the value of learning.

The model is the ``fan2015_essay1`` preset (see its docstring for the reading of what the
text leaves open). Fan reports the policy "MKT 2 below a belief of 0.378, MKT 3 above" for both
the adaptive (POMDP) and the open-loop (HMM) planner, an HMM steady-state belief of 0.66 and
average DCVs of 83.5 (HMM) and 96.1 (POMDP) over 100 months. :func:`run_essay1` computes our
counterparts with the package's planner and simulator (100-point grid, as Fan).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.models import TabularPOMDP
from crm_envs.envs.b2b_customer.params import B2BCustomerParams
from crm_envs.envs.b2b_customer.presets import fan2015_essay1
from crm_envs.envs.b2b_customer.solver import solve
from crm_envs.papers.fan2015.value_of_learning import value_of_learning

__all__ = [
    "Essay1Reading", "Essay1Result", "essay1_pomdp", "hmm_steady_state", "run_essay1",
    "scan_essay1_readings",
]  # fmt: skip


def essay1_pomdp(params: B2BCustomerParams | None = None) -> TabularPOMDP:
    """A customer without TSLP, promotion or maintenance effects as a 2-state ``TabularPOMDP``.

    Args:
        params: The model (default ``fan2015_essay1``); TSLP effects must be zero.

    Returns:
        States low=0/high=1, actions = spend levels; ``R[a, s]`` is the expected reward of the
        month (the purchase is made in the state the customer moves to) minus the spend cost.
    """
    p = fan2015_essay1() if params is None else params
    if p.low_high_log_tslp or p.high_high_log_tslp or p.low_high_promotion:
        raise ValueError("essay1_pomdp needs a model without TSLP and promotion effects")
    P = np.stack([p.transition_matrix(m) for m in p.spend_grid])
    O = np.stack([p.emission_matrix(m) for m in p.spend_grid])  # (A, S', Z)
    R = np.einsum("ast,atz,z->as", P, O, p.revenue) - p.spend_cost * p.spend_grid[:, None]
    return TabularPOMDP(P, O, R, p.discount, initial=[1.0 - p.initial_high, p.initial_high])


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
        dcv_hmm: Mean discounted value over the months, HMM policy.
        dcv_pomdp: Mean discounted value over the months, POMDP policy.
        vol: ``dcv_pomdp - dcv_hmm`` (paired sequences).
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


def _threshold(actions: NDArray[np.int64], grid: NDArray[np.float64]) -> tuple[float, tuple]:
    change = np.flatnonzero(np.diff(actions) != 0)
    if change.size == 0:
        return float("nan"), (int(actions[0]), int(actions[0]))
    return float(grid[change[0] + 1]), (int(actions[0]), int(actions[-1]))


def run_essay1(
    params: B2BCustomerParams | None = None,
    months: int = 100,
    n_sequences: int = 2000,
    seed: int = 0,
    resolution: int = 100,
) -> Essay1Result:
    """Solve both planners on Fan's 100-point grid and simulate them from the low state.

    Args:
        params: The model (default ``fan2015_essay1``).
        months: Simulated months per sequence (Fan: 100).
        n_sequences: Simulated sequences (Fan: 10); both policies face the same random numbers.
        seed: Seed of the simulation.
        resolution: Belief grid resolution (Fan: 100 points).

    Returns:
        The :class:`Essay1Result`.
    """
    p = fan2015_essay1() if params is None else params
    adaptive = solve(p, adaptive=True, resolution=resolution)
    hmm = solve(p, adaptive=False, resolution=resolution)
    t_p, a_p = _threshold(adaptive.policy[1], adaptive.grid)
    t_h, a_h = _threshold(hmm.policy[1], hmm.grid)
    r = value_of_learning(p, horizon=months, n_sims=n_sequences, seed=seed, resolution=resolution)
    return Essay1Result(
        pomdp_threshold=t_p, hmm_threshold=t_h, pomdp_actions=a_p, hmm_actions=a_h,
        steady_state=hmm_steady_state(essay1_pomdp(p), a_h[1]), dcv_hmm=float(r.dcv_hmm[0]),
        dcv_pomdp=float(r.dcv_pomdp[0]), vol=float(r.vol[0]), vol_se=float(r.se_vol[0]),
    )  # fmt: skip


@dataclass(frozen=True)
class Essay1Reading:
    """One structural reading of section 1.4.2 and what its planners do.

    Attributes:
        transition_scale: Divisor of the transition utilities.
        cut_points: The two emission cut points.
        discount: Monthly discount factor.
        pomdp_actions: Distinct POMDP actions over the 100-point belief grid (no TSLP).
        hmm_actions: The same for the HMM planner.
        mkt3_optimal: Whether MKT 3 is optimal at any belief for either planner.
        max_steady_state: Long-run share of the high state of the chain with the largest
            low -> high and the largest high -> high probability over all MKT levels: no
            policy keeps the customer high more of the time.
    """

    transition_scale: float
    cut_points: tuple[float, float]
    discount: float
    pomdp_actions: tuple[int, ...]
    hmm_actions: tuple[int, ...]
    mkt3_optimal: bool
    max_steady_state: float


def scan_essay1_readings(
    transition_scales: tuple[float, ...] = (1.0, 10.0),
    cut_points: tuple[tuple[float, float], ...] = ((-1.0, 1.0), (0.0, 1.0), (0.0, 2.0)),
    discounts: tuple[float, ...] = (0.9, 0.95, 0.99, 0.999),
    resolution: int = 100,
) -> list[Essay1Reading]:
    """Re-run the scan of readings of Essay 1's example (what the text leaves open).

    Fan reports "MKT 2 below a belief of 0.378, MKT 3 above" and a POMDP state of 0.86 on
    average. For every combination of transition utility scale, emission cut points and
    discount factor (24 readings by default) both planners are solved on a 100-point grid.
    A two-state chain's long-run share of the high state, ``q01 / (q01 + 1 - q11)``, is
    increasing in both probabilities, so the chain with each at its largest over the MKT
    levels bounds how often *any* policy keeps the customer high.

    The readings are those :func:`~crm_envs.envs.b2b_customer.presets.fan2015_essay1`
    exposes; the error law (logit) and the timing (transition, then the purchase in the new
    state) are the package's and are not varied here.

    Args:
        transition_scales: Divisors of the transition utilities.
        cut_points: Emission cut-point pairs.
        discounts: Discount factors in (0, 1).
        resolution: Belief grid points (Fan: 100).

    Returns:
        One :class:`Essay1Reading` per combination.
    """
    out = []
    for c in transition_scales:
        for cuts in cut_points:
            for g in discounts:
                p = fan2015_essay1(transition_scale=c, cut_points=cuts).replace(discount=g)
                acts = [tuple(sorted({int(a) for a in solve(p, ad, resolution).policy[1]}))
                        for ad in (True, False)]  # fmt: skip
                P = essay1_pomdp(p).P
                q01, q11 = float(P[:, 0, 1].max()), float(P[:, 1, 1].max())
                steady = q01 / (q01 + 1.0 - q11)
                out.append(Essay1Reading(c, tuple(cuts), g, acts[0], acts[1],
                                         3 in acts[0] or 3 in acts[1], steady))  # fmt: skip
    return out
