"""Exact value of a planner's policy: forward propagation of the joint distribution, no sampling.

A planner (:func:`~crm_envs.envs.b2b_customer.solver.solve`) decides on a *decision belief*
``d`` (the Bayes belief for the POMDP planner, the open-loop belief for the HMM planner) and
the recency class ``k``. Played against the true hidden chain (the env's dynamics, and Appendix
B of Fan 2015 read as a simulation of the model), the triple ``(s, k, d)`` is a Markov chain:

* ``s`` moves by the transition probabilities of the month's spend and recency class
  (maintenance, unseen by the planner, is averaged at its monthly rate, which is exact because
  it is drawn independently each month);
* the purchase level ``y`` is drawn from the emission row of the new state;
* ``k`` moves with ``y`` and, after a purchase, the promotion offer (rate ``promotion_rate``);
* ``d`` moves deterministically: Bayes update on ``y`` (adaptive) or open loop (HMM).

:func:`policy_values` pushes the distribution of ``(s, k, d)`` forward month by month and sums
the expected rewards, so the values have no Monte Carlo noise. The only approximation is
where ``d`` is held: on a fine grid of ``fine`` points, a next belief that falls between two
points is split between them in proportion to its distance (the split keeps the mean belief).
The state ``s`` is carried exactly, so each month's expected reward given the action is
exact; the split only blurs *which* action later months take. Refining the grid changes the
values by cents (the tests check this), and paired Monte Carlo agrees within its standard
error.

``state_from_belief=True`` replaces the hidden chain by Appendix B's procedure taken
literally: each month the emitting state is drawn afresh from the *planner's own* predicted
belief (the Bayes belief for the POMDP planner, the open-loop belief for the HMM planner), so
only ``(k, d)`` is carried. For the POMDP planner this gives the same distribution of
purchases as the hidden chain (its Bayes belief is the exact predictive probability, given
everything it sees), so the value is the same. For the HMM planner it is not: the drawn
states then agree with the open-loop belief by construction, and the HMM policy is credited
with the value it *expects*, not the value it earns against a customer whose state persists.
The hidden chain is the correct simulation of the model; the belief draw is offered to
compare with Fan's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from crm_envs.core.params import check_int, check_scalar
from crm_envs.envs.b2b_customer import kernels
from crm_envs.envs.b2b_customer.kernels import next_class, q11_expected
from crm_envs.envs.b2b_customer.params import B2BCustomerParams
from crm_envs.envs.b2b_customer.solver import B2BSolution, month_tables

__all__ = ["FINE_GRID", "PolicyValues", "policy_values", "state_policy_values"]

FINE_GRID = 2001
"""Default number of points of the decision-belief grid of the propagation."""


@njit(cache=True)
def _spread(D, s, k, d, w, n_fine):
    """Add mass ``w`` at belief ``d`` to ``D[s, k]``, split between the two nearest points."""
    x = d * (n_fine - 1)
    i = min(int(x), n_fine - 2)
    f = x - i
    D[s, k, i] += w * (1.0 - f)
    D[s, k, i + 1] += w * f


@njit(cache=True)
def propagate(kp, cust, grid, tables, policy, adaptive, n_fine, months, promo_force, out,
              from_belief=False, belief_shift=0.0):  # fmt: skip
    """Forward propagation of ``(s, k, d)`` under a policy table, in place.

    Args:
        kp: Kernel parameters of the true customer.
        cust: The true customer row.
        grid: (K,) spend levels.
        tables: :func:`~crm_envs.envs.b2b_customer.solver.month_tables` of the true customer.
        policy: (classes, n_grid) spend index of the planner.
        adaptive: The decision belief is Bayes-updated (True) or open loop (False).
        n_fine: Points of the decision-belief grid.
        months: Months to propagate.
        promo_force: Whether the *decision belief* uses the promotion force of class 0 (True
            for every planner of the model; False for a planner that ignores promotions).
        out: (months, 5) written: expected reward, expected true state after the month,
            expected spend, expected decision belief, probability of a purchase.
        from_belief: Draw the emitting state from the planner's predicted belief each month
            (Appendix B read literally) instead of following the hidden chain.
        belief_shift: Added to the low -> high logit of the *decision belief's* model in every
            month and class (0: the planner's model has the true intercept). A planner solved
            for a customer whose low -> high intercept differs from the true one by ``-x``
            updates its belief with shift ``-x``.
    """
    E, Q01, Q11P, Q11M = tables
    n_class = Q01.shape[1]
    n_grid = policy.shape[1]
    n_lev = E.shape[2]
    rho = cust[kernels.C_PROMO]
    b0 = cust[kernels.C_INITIAL]
    D = np.zeros((2, n_class, n_fine))
    Dn = np.zeros((2, n_class, n_fine))
    _spread(D, 1, 1, b0, b0, n_fine)
    _spread(D, 0, 1, b0, 1.0 - b0, n_fine)
    lh_promo = kp.lh_promo
    for t in range(months):
        Dn[:] = 0.0
        rew = 0.0
        high = 0.0
        spend = 0.0
        belief = 0.0
        buy = 0.0
        for k in range(n_class):
            k_none = next_class(kp, k, 0, False)
            for g in range(n_fine):
                w0 = D[0, k, g]
                w1 = D[1, k, g]
                w = w0 + w1
                if w <= 0.0:
                    continue
                d = g / (n_fine - 1)
                a = policy[k, int(d * (n_grid - 1) + 0.5)]
                q01 = Q01[a, k]
                q11 = q11_expected(cust, Q11P[a, k], Q11M[a, k])
                # The planner's own view of the low -> high force (promotion ignored or not).
                q01d = q01
                drop_promo = k == 0 and not promo_force
                if drop_promo or belief_shift != 0.0:
                    x = np.log(q01 / (1.0 - q01)) + belief_shift
                    if drop_promo:
                        x -= lh_promo
                    q01d = 1.0 / (1.0 + np.exp(-x))
                phi = d * q11 + (1.0 - d) * q01d
                m = grid[a]
                spend += w * m
                belief += w * d
                rew -= w * kp.spend_cost * m
                # Probability of each next true state.
                p1 = w * phi if from_belief else w0 * q01 + w1 * q11
                p0 = w - p1
                high += p1
                for y in range(n_lev):
                    if adaptive:
                        num = phi * E[1, a, y]
                        den = num + (1.0 - phi) * E[0, a, y]
                        dn = num / den if den > 0.0 else phi
                    else:
                        dn = phi
                    for s2 in range(2):
                        mass = (p1 if s2 == 1 else p0) * E[s2, a, y]
                        if mass <= 0.0:
                            continue
                        rew += mass * kp.revenue[y]
                        if y == 0:
                            _spread(Dn, s2, k_none, dn, mass, n_fine)
                        else:
                            buy += mass
                            if rho > 0.0:
                                _spread(Dn, s2, 0, dn, mass * rho, n_fine)
                            if rho < 1.0:
                                _spread(Dn, s2, 1, dn, mass * (1.0 - rho), n_fine)
        out[t, 0] = rew
        out[t, 1] = high
        out[t, 2] = spend
        out[t, 3] = belief
        out[t, 4] = buy
        D, Dn = Dn, D


@dataclass(frozen=True)
class PolicyValues:
    """Exact expected path of one policy against the true hidden chain.

    Attributes:
        reward: (T,) expected reward of each month (revenue minus spend cost, dollars).
        state: (T,) probability that the customer is high after each month's transition.
        spend: (T,) expected spend of each month.
        belief: (T,) expected decision belief at each month's decision.
        purchase: (T,) probability of a purchase in each month.
        discount: The discount factor of the DCV.
    """

    reward: NDArray[np.float64]
    state: NDArray[np.float64]
    spend: NDArray[np.float64]
    belief: NDArray[np.float64]
    purchase: NDArray[np.float64]
    discount: float

    def dcv(self, months: int | None = None) -> float:
        """Expected discounted value of the first ``months`` months (default: all)."""
        n = self.reward.size if months is None else check_int("months", months, low=1,
                                                                high=self.reward.size)  # fmt: skip
        return float(self.reward[:n] @ self.discount ** np.arange(n))

    def total(self, months: int | None = None) -> float:
        """Expected undiscounted return of the first ``months`` months (the env's return)."""
        n = self.reward.size if months is None else check_int("months", months, low=1,
                                                                high=self.reward.size)  # fmt: skip
        return float(self.reward[:n].sum())


def policy_values(
    params: B2BCustomerParams,
    solution: B2BSolution,
    months: int = 60,
    fine: int = FINE_GRID,
    open_loop_decisions: bool | None = None,
    promotion_aware: bool = True,
    state_from_belief: bool = False,
    belief_low_high_shift: float = 0.0,
) -> PolicyValues:
    """Exact expected rewards, states and spends of a planner's policy against the true chain.

    Args:
        params: The true customer (its dynamics generate the states and purchases).
        solution: The policy table to follow (solved for ``params`` or for another model).
        months: Months to propagate.
        fine: Points of the decision-belief grid (see the module docstring).
        open_loop_decisions: Decide on the open-loop belief (default: ``not
            solution.adaptive``, as each planner assumes).
        promotion_aware: Whether the decision belief uses the promotion force after an offer
            (False for a planner that does not track promotions, Fan 2015 section 2.5.3).
        state_from_belief: Draw each month's emitting state from the planner's own predicted
            belief (Fan's Appendix B read literally; see the module docstring) instead of
            following the true hidden chain (the default, and the correct simulation).
        belief_low_high_shift: Added to the low -> high logit of the model the decision belief
            is updated with, every month (default 0: the true customer's). For a planner
            solved for a customer whose low -> high intercept is the true one minus ``x``
            (e.g. without the expected promotion force, Fan 2015 section 2.4.4), pass ``-x``
            so that its belief follows its own model.

    Returns:
        The :class:`PolicyValues`.
    """
    if not isinstance(params, B2BCustomerParams):
        raise TypeError(f"params must be B2BCustomerParams, got {type(params).__name__}")
    if not isinstance(solution, B2BSolution):
        raise TypeError(f"solution must be a B2BSolution, got {type(solution).__name__}")
    if solution.policy.shape[0] != params.max_tslp + 1 or solution.params.n_spend != params.n_spend:
        raise ValueError("solution must have the customer's spend grid and max_tslp")
    months = check_int("months", months, low=1)
    fine = check_int("fine", fine, low=2)
    shift = check_scalar("belief_low_high_shift", belief_low_high_shift)
    if open_loop_decisions is None:
        open_loop_decisions = not solution.adaptive
    kp = params.to_kernel()
    grid = np.array(params.spend_grid)
    tables = month_tables(kp, kp.customer, grid)
    out = np.zeros((months, 5))
    propagate(kp, kp.customer, grid, tables, solution.policy, not open_loop_decisions, fine,
              months, bool(promotion_aware), out, bool(state_from_belief), shift)  # fmt: skip
    return PolicyValues(out[:, 0].copy(), out[:, 1].copy(), out[:, 2].copy(), out[:, 3].copy(),
                        out[:, 4].copy(), params.discount)  # fmt: skip


def state_policy_values(
    params: B2BCustomerParams, actions: NDArray[np.int64], months: int = 60
) -> PolicyValues:
    """Exact expected path of a policy over the fully observed states (relationship, recency).

    This evaluates the full-information oracle (which sees the state) and every constant
    spend (the same action in every state) on :func:`~crm_envs.envs.b2b_customer.env.state_mdp`,
    a finite Markov chain once the policy is fixed.

    Args:
        params: The customer.
        actions: (2 * (max_tslp + 1),) spend index in each state ``s * (max_tslp + 1) + k``.
        months: Months to propagate.

    Returns:
        The :class:`PolicyValues` (``belief`` holds the probability of the high state before
        each month's decision, the belief of an agent that sees the state).
    """
    from crm_envs.envs.b2b_customer.env import state_mdp

    mdp = state_mdp(params)
    n_s = mdp.P.shape[1]
    acts = np.asarray(actions)
    if acts.shape != (n_s,) or not np.issubdtype(acts.dtype, np.integer):
        raise ValueError(f"actions must be {n_s} integer spend indices, got shape {acts.shape}")
    if acts.min() < 0 or acts.max() >= params.n_spend:
        raise ValueError(f"actions must lie in 0..{params.n_spend - 1}, got {acts.tolist()}")
    months = check_int("months", months, low=1)
    rows = np.arange(n_s)
    P, R = mdp.P[acts, rows], mdp.R[acts, rows]
    n_class = params.max_tslp + 1
    high = np.arange(n_s) >= n_class
    spend = params.spend_grid[acts]
    x = np.asarray(mdp.initial, dtype=np.float64)
    out = np.zeros((months, 5))
    for t in range(months):
        out[t, 3] = x[high].sum()
        out[t, 2] = x @ spend
        out[t, 0] = x @ R
        x = x @ P
        out[t, 1] = x[high].sum()
    return PolicyValues(out[:, 0].copy(), out[:, 1].copy(), out[:, 2].copy(), out[:, 3].copy(),
                        np.full(months, np.nan), params.discount)  # fmt: skip
