"""The exact promotion plan under the paper's business rules (Mandania et al. 2025).

A plan gives every segment (group x contribution level) either no promotion or one promotion
type k for D months. The objective is the total expected uplift of discounted profit over the
planning horizon (an uplift table ``(G, C, K, S)`` from ``PromotionModel.uplift``):

* rule 1 -- each segment independently gets its best (k, D), or nothing when no promotion is
  profitable for it;
* rule 2 -- if any segment is promoted, all are, with the same type k; durations may differ;
* rule 3 -- if any segment is promoted, all get the same (k, D);
* rule 4 (the paper's Figure 8) -- if any segment is promoted, all are; type and duration are
  free per segment.

An optional resource budget bounds the total resource the plan uses (a ``(G, C, K, S)``
table, e.g. ``PromotionModel.resource()``: the discount paid on customary sales). Without a
budget the plans follow by enumeration; with one, rules 1, 2 and 4 are multiple-choice
knapsacks solved exactly with ``scipy.optimize.milp`` (rule 2: one per promotion type), and
rule 3 enumerates its (k, D) choices that fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = ["RULES", "Plan", "plan"]

RULES = (1, 2, 3, 4)
"""The business rules: 1-3 of the paper's text and 4 of its Figure 8."""


@dataclass(frozen=True)
class Plan:
    """A promotion plan.

    Attributes:
        promotion: (G, C) promotion type per segment, -1 for none.
        duration: (G, C) months, 0 for none.
        uplift: (G, C) expected uplift of each segment under the table the plan was made with.
        total: Sum of ``uplift``.
        rule: The business rule.
        budget: The resource budget (None = none).
    """

    promotion: NDArray[np.int64]
    duration: NDArray[np.int64]
    uplift: NDArray[np.float64]
    total: float
    rule: int
    budget: float | None

    def evaluate(self, uplift_table: NDArray[np.float64]) -> NDArray[np.float64]:
        """(G, C) uplift of this plan under another table (e.g. the true one)."""
        return _plan_uplift(uplift_table, self.promotion, self.duration)


def _plan_uplift(table, promotion, duration) -> NDArray[np.float64]:
    g, c = np.indices(promotion.shape)
    vals = table[g, c, np.maximum(promotion, 0), np.maximum(duration - 1, 0)]
    return np.where(promotion >= 0, vals, 0.0)


def _check(table, rule, budget, resource):
    table = np.asarray(table, dtype=float)
    if table.ndim != 4 or not np.all(np.isfinite(table)):
        raise ValueError(f"uplift table must be a finite (G, C, K, S) array, got {table.shape}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES} (the paper's business rules), got {rule!r}")
    if budget is not None:
        if not np.isfinite(budget) or budget < 0:
            raise ValueError(f"budget must be a finite number >= 0 or None, got {budget}")
        if resource is None or np.shape(resource) != table.shape:
            raise ValueError("a budget needs the resource table of the same (G, C, K, S) shape")
    return table


def plan(
    uplift_table: NDArray[np.float64],
    rule: int = 1,
    budget: float | None = None,
    resource: NDArray[np.float64] | None = None,
) -> Plan:
    """The exact optimal plan for an uplift table under a business rule and budget.

    Args:
        uplift_table: (G, C, K, S) expected uplift of promotion k for D = 1..S months.
        rule: Business rule 1, 2, 3 or 4.
        budget: Bound on the total resource used (None = no budget).
        resource: (G, C, K, S) resource each choice uses (needed with a budget).

    Returns:
        The optimal :class:`Plan`.
    """
    table = _check(uplift_table, rule, budget, resource)
    n_g, n_c, n_k, n_s = table.shape
    none_p = np.full((n_g, n_c), -1, dtype=np.int64)
    none_d = np.zeros((n_g, n_c), dtype=np.int64)
    best = (0.0, none_p, none_d)

    def consider(p, d):
        nonlocal best
        if budget is not None and _plan_uplift(resource, p, d).sum() > budget + 1e-9:
            return
        total = float(_plan_uplift(table, p, d).sum())
        if total > best[0] + 1e-12:
            best = (total, p, d)

    if rule == 3:
        for k in range(n_k):
            for s in range(n_s):
                consider(np.full((n_g, n_c), k), np.full((n_g, n_c), s + 1))
    elif budget is None and rule == 1:
        flat = table.reshape(n_g, n_c, -1)
        idx = flat.argmax(axis=-1)
        gain = flat.max(axis=-1)
        consider(np.where(gain > 0, idx // n_s, -1), np.where(gain > 0, idx % n_s + 1, 0))
    elif budget is None and rule == 2:
        for k in range(n_k):
            d = table[:, :, k, :].argmax(axis=-1) + 1
            consider(np.full((n_g, n_c), k), d)
    elif budget is None and rule == 4:
        idx = table.reshape(n_g, n_c, -1).argmax(axis=-1)
        consider(idx // n_s, idx % n_s + 1)
    else:  # budgeted rule 1, 2 or 4: multiple-choice knapsack
        for k in range(n_k) if rule == 2 else [None]:
            p, d = _knapsack(table, resource, budget, k, every=rule != 1)
            if p is not None:
                consider(p, d)
    total, p, d = best
    return Plan(p, d, _plan_uplift(table, p, d), total, rule, budget)


def _knapsack(table, resource, budget, k, every):
    """Best choice per segment under the budget (one choice each; only type k if given).

    With ``every`` each segment must be promoted (rules 2 and 4); the problem may then be
    infeasible, and None is returned.
    """
    n_g, n_c, n_k, n_s = table.shape
    ks = range(n_k) if k is None else [k]
    choices = [(kk, s) for kk in ks for s in range(n_s)]
    n_seg, n_ch = n_g * n_c, len(choices)
    value = np.array([[table[g, c, kk, s] for kk, s in choices] for g in range(n_g)
                      for c in range(n_c)])  # fmt: skip
    use = np.array([[resource[g, c, kk, s] for kk, s in choices] for g in range(n_g)
                    for c in range(n_c)])  # fmt: skip
    one = np.kron(np.eye(n_seg), np.ones(n_ch))
    lower = np.ones(n_seg) if every else np.zeros(n_seg)
    cons = [LinearConstraint(one, lower, np.ones(n_seg)),
            LinearConstraint(use.ravel()[None, :], -np.inf, budget)]  # fmt: skip
    res = milp(-value.ravel(), constraints=cons, integrality=np.ones(n_seg * n_ch),
               bounds=Bounds(0, 1))  # fmt: skip
    if not res.success:
        return None, None
    pick = np.round(res.x).reshape(n_seg, n_ch)
    p = np.full(n_seg, -1, dtype=np.int64)
    d = np.zeros(n_seg, dtype=np.int64)
    for seg, j in zip(*np.nonzero(pick), strict=True):
        p[seg], d[seg] = choices[j][0], choices[j][1] + 1
    return p.reshape(n_g, n_c), d.reshape(n_g, n_c)
